package network

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
)

// ClientSecurity is how one node dials another's listener: the
// inter-broker listener (replica fetchers, ZooKeeper-mode controlled
// shutdown) or the controller listener (broker registration, heartbeats,
// the metadata fetch). The zero value is PLAINTEXT.
type ClientSecurity struct {
	// TLS, when set, wraps the connection (SSL, SASL_SSL). Its ServerName
	// is left empty: the host dialled is verified.
	TLS *tls.Config
	// SASL, when set, authenticates the connection (SASL_PLAINTEXT,
	// SASL_SSL) with SaslHandshake v1 and SaslAuthenticate v1.
	SASL sasl.Mechanism
}

// Protocol is the security protocol this dials with, as
// listener.security.protocol.map names it.
func (s ClientSecurity) Protocol() string {
	switch {
	case s.TLS != nil && s.SASL != nil:
		return "SASL_SSL"
	case s.TLS != nil:
		return "SSL"
	case s.SASL != nil:
		return "SASL_PLAINTEXT"
	}
	return "PLAINTEXT"
}

// KgoOpts are the franz-go options that dial with s.
func (s ClientSecurity) KgoOpts() []kgo.Opt {
	var opts []kgo.Opt
	if s.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(s.TLS.Clone()))
	}
	if s.SASL != nil {
		opts = append(opts, kgo.SASL(s.SASL))
	}
	return opts
}

// saslClientMaxBytes bounds a SASL response frame read by Dial.
const saslClientMaxBytes = 1 << 20

// Dial connects to addr (host:port) with s: TCP, then the TLS handshake,
// then the SASL exchange, all bounded by ctx. The connection returned is
// ready for Kafka requests; its deadlines are cleared.
func (s ClientSecurity) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	if s.TLS != nil {
		cfg := s.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		nc = tc
	}
	if s.SASL != nil {
		if err := saslAuthenticate(ctx, nc, host, s.SASL); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("%w: %s to %s: %w", ErrSASLClient, s.SASL.Name(), addr, err)
		}
	}
	if !stop() {
		_ = nc.Close()
		return nil, ctx.Err()
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return nc, nil
}

// saslAuthenticate is the client side of KIP-152: SaslHandshake v1 naming
// the mechanism, then SaslAuthenticate v1 requests carrying the
// mechanism's messages until it is done.
func saslAuthenticate(ctx context.Context, nc net.Conn, host string, mech sasl.Mechanism) error {
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version = 1
	hs.Mechanism = mech.Name()
	raw, err := exchange(ctx, nc, 1, hs)
	if err != nil {
		return err
	}
	hsr := raw.(*kmsg.SASLHandshakeResponse)
	if err := kerr.ErrorForCode(hsr.ErrorCode); err != nil {
		return fmt.Errorf("SaslHandshake (server offers %v): %w", hsr.SupportedMechanisms, err)
	}
	session, msg, err := mech.Authenticate(ctx, host)
	if err != nil {
		return err
	}
	for corr := int32(2); ; corr++ {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.Version = 1
		req.SASLAuthBytes = msg
		raw, err := exchange(ctx, nc, corr, req)
		if err != nil {
			return err
		}
		resp := raw.(*kmsg.SASLAuthenticateResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			if resp.ErrorMessage != nil {
				return fmt.Errorf("SaslAuthenticate: %w: %s", err, *resp.ErrorMessage)
			}
			return fmt.Errorf("SaslAuthenticate: %w", err)
		}
		var done bool
		done, msg, err = session.Challenge(resp.SASLAuthBytes)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// exchange writes req and reads its response (RoundTrip, fresh buffers).
func exchange(ctx context.Context, nc net.Conn, corr int32, req kmsg.Request) (kmsg.Response, error) {
	return RoundTrip(ctx, nc, "zkraft", corr, req, saslClientMaxBytes, nil)
}

// Buffers are RoundTrip's buffers, reused from call to call by one
// connection's owner. Keep bounds what is kept: a read buffer grown past
// it by one large answer is dropped after that answer.
type Buffers struct {
	Keep    int
	out, in []byte
}

// RoundTrip writes req (its version set) on nc with correlation id corr
// and reads its response: framed by kmsg's RequestFormatter, the size
// prefix bounded by maxBytes, the correlation id checked, a flexible
// response header's tags skipped (ApiVersions keeps header v0), the body
// decoded by kmsg, all bounded by ctx (nc's deadline). With bufs nil
// every call allocates; with bufs the response's byte fields alias bufs
// until the next call. On an error the caller closes nc: the stream is
// lost.
func RoundTrip(ctx context.Context, nc net.Conn, clientID string, corr int32, req kmsg.Request, maxBytes int32, bufs *Buffers) (kmsg.Response, error) {
	name := kmsg.NameForKey(req.Key())
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	} else {
		_ = nc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	resp, err := writeRead(nc, clientID, corr, req, maxBytes, bufs)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", name, ctx.Err())
	}
	return resp, err
}

func writeRead(nc net.Conn, clientID string, corr int32, req kmsg.Request, maxBytes int32, bufs *Buffers) (kmsg.Response, error) {
	if bufs == nil {
		bufs = &Buffers{}
	}
	name := kmsg.NameForKey(req.Key())
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))
	bufs.out = f.AppendRequest(bufs.out[:0], req, corr)
	if _, err := nc.Write(bufs.out); err != nil {
		return nil, fmt.Errorf("write %s: %w", name, err)
	}
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		return nil, fmt.Errorf("read %s response: %w", name, err)
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > maxBytes {
		return nil, fmt.Errorf("%s response of %d bytes (limit %d): %w", name, n, maxBytes, ErrMalformedResponse)
	}
	if cap(bufs.in) < int(n) || cap(bufs.in) > bufs.Keep {
		bufs.in = make([]byte, n)
	}
	buf := bufs.in[:n]
	if _, err := io.ReadFull(nc, buf); err != nil {
		return nil, fmt.Errorf("read %s response: %w", name, err)
	}
	if got := int32(binary.BigEndian.Uint32(buf)); got != corr {
		return nil, fmt.Errorf("%s response has correlation id %d, want %d: %w", name, got, corr, ErrMalformedResponse)
	}
	body := buf[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		r := kbin.Reader{Src: body}
		kmsg.SkipTags(&r)
		if !r.Ok() {
			return nil, fmt.Errorf("%s response header tags: %w", name, ErrMalformedResponse)
		}
		body = r.Src
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode %s response: %w: %w", name, ErrMalformedResponse, err)
	}
	return resp, nil
}
