package network

// TLS on a listener (Kafka's SslChannelBuilder): a listener named in
// Config.TLS wraps every accepted connection in crypto/tls. The handshake
// runs in the connection's reader goroutine, bounded by
// tlsHandshakeTimeout, so a client that never finishes it holds only its
// own connection; the accept loop never blocks on it. A failed handshake (a
// plaintext client on a TLS port, an untrusted or missing client
// certificate) closes that connection, logged at debug level.
//
// With a verified client certificate the connection's principal is
// "User:" + the certificate's subject in RFC 2253 form, as Kafka's
// DefaultKafkaPrincipalBuilder names it ("User:CN=alice,OU=eng,O=acme").

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"
)

// tlsHandshakeTimeout bounds one server-side TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// Values of TLSSettings.ClientAuth (ssl.client.auth).
const (
	ClientAuthNone      = "none"
	ClientAuthRequested = "requested"
	ClientAuthRequired  = "required"
)

// TLS protocol names of ssl.enabled.protocols that zkraft accepts.
const (
	TLSv12 = "TLSv1.2"
	TLSv13 = "TLSv1.3"
)

// TLSSettings are one listener's resolved ssl.* keys (KIP-651's PEM form),
// as data: Server and Client turn them into a crypto/tls configuration.
// The key is unencrypted PEM (the config loader rejects what it cannot
// decrypt).
type TLSSettings struct {
	// CertChainPEM is ssl.keystore.certificate.chain: the listener's
	// certificate first, then its intermediates. With KeyPEM it is the
	// server certificate, and the client certificate when dialling.
	CertChainPEM []byte
	// KeyPEM is ssl.keystore.key: the private key of the first certificate.
	KeyPEM []byte
	// TrustPEM is ssl.truststore.certificates: the CAs that sign client
	// certificates (server side) and servers' certificates (client side).
	// Empty: the system roots when dialling; no client certificate can be
	// verified when serving.
	TrustPEM []byte
	// ClientAuth is ssl.client.auth: none (default), requested or required.
	ClientAuth string
	// Protocols is ssl.enabled.protocols (default TLSv1.2 and TLSv1.3).
	Protocols []string
	// NoHostnameVerification is ssl.endpoint.identification.algorithm set
	// empty: a client verifies the server's chain but not its name.
	NoHostnameVerification bool
}

// versions maps Protocols to tls.Config's version bounds.
func (s TLSSettings) versions() (lo, hi uint16, err error) {
	ps := s.Protocols
	if len(ps) == 0 {
		ps = []string{TLSv12, TLSv13}
	}
	for _, p := range ps {
		var v uint16
		switch p {
		case TLSv12:
			v = tls.VersionTLS12
		case TLSv13:
			v = tls.VersionTLS13
		default:
			return 0, 0, fmt.Errorf("%w: ssl.enabled.protocols has %q (want TLSv1.2 and/or TLSv1.3)", ErrInvalidTLS, p)
		}
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	return lo, hi, nil
}

func (s TLSSettings) keyPair() (tls.Certificate, error) {
	if len(s.CertChainPEM) == 0 || len(s.KeyPEM) == 0 {
		return tls.Certificate{}, fmt.Errorf("%w: no keystore (ssl.keystore.certificate.chain and ssl.keystore.key, or ssl.keystore.location)", ErrInvalidTLS)
	}
	cert, err := tls.X509KeyPair(s.CertChainPEM, s.KeyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: keystore: %w", ErrInvalidTLS, err)
	}
	return cert, nil
}

func (s TLSSettings) trustPool() (*x509.CertPool, error) {
	if len(s.TrustPEM) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	rest, n := s.TrustPEM, 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: truststore certificate %d: %w", ErrInvalidTLS, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: truststore holds no PEM CERTIFICATE", ErrInvalidTLS)
	}
	return pool, nil
}

// Server is the listener's TLS configuration: its certificate, and client
// certificates verified against TrustPEM as ClientAuth says.
func (s TLSSettings) Server() (*tls.Config, error) {
	cert, err := s.keyPair()
	if err != nil {
		return nil, err
	}
	lo, hi, err := s.versions()
	if err != nil {
		return nil, err
	}
	pool, err := s.trustPool()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: lo, MaxVersion: hi, ClientCAs: pool}
	switch s.ClientAuth {
	case "", ClientAuthNone:
		cfg.ClientAuth = tls.NoClientCert
	case ClientAuthRequested:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case ClientAuthRequired:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("%w: ssl.client.auth=%q (want none, requested or required)", ErrInvalidTLS, s.ClientAuth)
	}
	if cfg.ClientAuth != tls.NoClientCert && pool == nil {
		return nil, fmt.Errorf("%w: ssl.client.auth=%s needs a truststore to verify client certificates", ErrInvalidTLS, s.ClientAuth)
	}
	return cfg, nil
}

// Client is the configuration for dialling a listener with these settings:
// servers verified against TrustPEM (the system roots when empty), and the
// keystore, when there is one, offered as the client certificate. The
// server name is left empty: the dialler sets it to the host it dials
// (kgo does; Dial here does).
func (s TLSSettings) Client() (*tls.Config, error) {
	lo, hi, err := s.versions()
	if err != nil {
		return nil, err
	}
	pool, err := s.trustPool()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: lo, MaxVersion: hi}
	if len(s.CertChainPEM) > 0 || len(s.KeyPEM) > 0 {
		cert, err := s.keyPair()
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if s.NoHostnameVerification {
		// Verify the chain, not the name (Kafka's empty
		// ssl.endpoint.identification.algorithm).
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("%w: server sent no certificate", ErrInvalidTLS)
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}

// serverTLS is the tls.Config of the listener named name, nil when it is
// not a TLS listener.
func (s *Server) serverTLS(name string) (*tls.Config, error) {
	st, ok := s.cfg.TLS[name]
	if !ok {
		return nil, nil
	}
	cfg, err := st.Server()
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", name, err)
	}
	return cfg, nil
}

// PrincipalFromCert is Kafka's principal of a client certificate:
// "User:" + the subject distinguished name in RFC 2253 form.
func PrincipalFromCert(c *x509.Certificate) string {
	return "User:" + c.Subject.String()
}

// handshake runs the TLS handshake of a TLS connection (a no-op on a
// plaintext one) and sets the principal from a verified client
// certificate; false means the connection must close.
func (c *conn) handshake() bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(c.ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		if c.ctx.Err() == nil {
			var rec tls.RecordHeaderError
			if errors.As(err, &rec) {
				err = fmt.Errorf("%w (a plaintext client on a TLS listener?)", err)
			}
			c.logger.Debug("tls handshake failed, closing connection", zap.Error(err))
		}
		return false
	}
	st := tc.ConnectionState()
	if len(st.VerifiedChains) > 0 && len(st.PeerCertificates) > 0 {
		c.principal = PrincipalFromCert(st.PeerCertificates[0])
	}
	c.logger.Debug("tls handshake done", zap.String("principal", c.principal),
		zap.String("version", tls.VersionName(st.Version)))
	return true
}

// tlsProtocols are the accepted ssl.enabled.protocols values.
var tlsProtocols = []string{TLSv12, TLSv13}

// ValidTLSProtocol reports whether p is an ssl.enabled.protocols value
// zkraft serves.
func ValidTLSProtocol(p string) bool { return slices.Contains(tlsProtocols, p) }
