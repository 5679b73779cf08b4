package network

import (
	"fmt"
	"time"
)

// Config configures a Server.
type Config struct {
	// MaxRequestBytes bounds the size prefix of one request frame
	// (socket.request.max.bytes, default 104857600). A larger frame closes
	// the connection before its body is read or allocated.
	MaxRequestBytes int32
	// ConnectionsMaxIdle closes a connection on which no request arrived for
	// this long (connections.max.idle.ms, default 10 minutes). It also bounds
	// how long one response write may block on a client that does not read.
	ConnectionsMaxIdle time.Duration
	// ResponseQueue is how many encoded responses of one connection may wait
	// for the writer goroutine (default 8). The reader blocks when it is full.
	ResponseQueue int
	// TLS names the listeners that speak TLS (SSL and SASL_SSL in
	// listener.security.protocol.map), by listener name, with their ssl.*
	// keys (tls.go). Listen and Serve fail on settings that do not build.
	TLS map[string]TLSSettings
	// SASLMaxReceiveSize bounds every frame of a SASL listener's
	// connection until it authenticated: its requests and bare SASL
	// tokens (sasl.server.max.receive.size, default 524288).
	SASLMaxReceiveSize int32
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		MaxRequestBytes:    104857600,
		ConnectionsMaxIdle: 10 * time.Minute,
		ResponseQueue:      8,
		SASLMaxReceiveSize: DefaultSASLMaxReceiveSize,
	}
}

// Validate reports the first bad field, naming the Kafka key it comes from.
func (c Config) Validate() error {
	if c.MaxRequestBytes < minFrameSize {
		return fmt.Errorf("%w: socket.request.max.bytes=%d is below the %d-byte request header",
			ErrInvalidConfig, c.MaxRequestBytes, minFrameSize)
	}
	if c.ConnectionsMaxIdle <= 0 {
		return fmt.Errorf("%w: connections.max.idle.ms=%d must be positive",
			ErrInvalidConfig, c.ConnectionsMaxIdle.Milliseconds())
	}
	if c.SASLMaxReceiveSize < 1 {
		return fmt.Errorf("%w: sasl.server.max.receive.size=%d must be positive", ErrInvalidConfig, c.SASLMaxReceiveSize)
	}
	if c.ResponseQueue < 1 {
		return fmt.Errorf("%w: ResponseQueue=%d must be at least 1", ErrInvalidConfig, c.ResponseQueue)
	}
	return nil
}
