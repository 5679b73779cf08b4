package network

import "errors"

// Sentinel errors of the network package. They are wrapped with %w and the
// facts (listener, remote address, sizes) where they are returned.
var (
	// ErrMalformedResponse: a response frame read by RoundTrip that does
	// not make sense (size, correlation id, header, body).
	ErrMalformedResponse = errors.New("network: malformed response from peer")
	// ErrClosed is returned by Listen and Start after Close.
	ErrClosed = errors.New("network: server closed")
	// ErrDuplicateListener is returned when Listen is called twice with one name.
	ErrDuplicateListener = errors.New("network: duplicate listener name")
	// ErrFrameTooLarge means a request's size prefix exceeds MaxRequestBytes.
	ErrFrameTooLarge = errors.New("network: request frame too large")
	// ErrFrameTooSmall means a request's size prefix is below the smallest header.
	ErrFrameTooSmall = errors.New("network: request frame too small")
	// ErrUnknownAPIKey means the request's api key is unknown to kmsg or to the handler.
	ErrUnknownAPIKey = errors.New("network: unknown api key")
	// ErrUnsupportedVersion means the request's version is outside what kmsg or the handler supports.
	ErrUnsupportedVersion = errors.New("network: unsupported api version")
	// ErrMalformedRequest means the request header or body could not be decoded.
	ErrMalformedRequest = errors.New("network: malformed request")
	// ErrInvalidConfig is wrapped by Config.Validate.
	ErrInvalidConfig = errors.New("network: invalid config")
	// ErrInvalidTLS means a listener's or a client's TLS settings do not
	// build (no keystore, a key that does not match, an unknown protocol).
	ErrInvalidTLS = errors.New("network: invalid tls settings")
	// ErrSASLClient means a client-side SASL exchange with a broker or
	// controller failed.
	ErrSASLClient = errors.New("network: sasl authentication to a peer failed")
	// ErrBadResponse means the handler returned a response that does not fit the request.
	ErrBadResponse = errors.New("network: handler returned a mismatched response")
	// ErrShortRegion means a FileResponse region's file ended before the
	// region did (truncated after the handler located it); the connection
	// is closed rather than sent a torn frame.
	ErrShortRegion = errors.New("network: file region read short")
)
