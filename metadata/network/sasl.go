package network

// SASL on a listener (Kafka's SaslServerAuthenticator): SaslHandshake (17)
// v0-1 and SaslAuthenticate (36) v0-2 are answered here, per connection,
// and never reach the Handler.
//
// Connection states on a SASL listener:
//
//	start --ApiVersions--> start
//	start --SaslHandshake v1, known mechanism--> authenticate
//	start --SaslHandshake v0, known mechanism--> raw (the next frames are bare SASL tokens)
//	start --SaslHandshake, unknown mechanism--> UNSUPPORTED_SASL_MECHANISM, closed
//	authenticate --SaslAuthenticate, more to come--> authenticate
//	authenticate --SaslAuthenticate, done--> authenticated (Principal set)
//	authenticate, raw --failure--> SASL_AUTHENTICATION_FAILED (raw: nothing), closed
//	any other request before authenticated --> closed
//
// Only SASL listeners list SaslHandshake and SaslAuthenticate in their
// ApiVersions answers and accept them; elsewhere they close the connection
// like any key the Handler does not serve (Kafka lists them everywhere and
// answers ILLEGAL_SASL_STATE). Once authenticated they are answered
// ILLEGAL_SASL_STATE: zkraft offers no re-authentication (KIP-368),
// session_lifetime_ms is 0.

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Api keys answered by the server itself, and the versions it serves.
const (
	saslHandshakeKey    = 17
	saslAuthenticateKey = 36
)

var saslVersions = map[int16][2]int16{
	saslHandshakeKey:    {0, 1},
	saslAuthenticateKey: {0, 2},
}

// DefaultSASLMaxReceiveSize is Kafka's sasl.server.max.receive.size.
const DefaultSASLMaxReceiveSize = 524288

// SASLMechanism is the server side of one SASL mechanism on a listener
// (PLAIN, SCRAM-SHA-256, ...). It must be safe for concurrent use: every
// connection of the listener calls Start.
type SASLMechanism interface {
	// Name is the mechanism's SASL name, as clients send it in
	// SaslHandshake ("SCRAM-SHA-512").
	Name() string
	// Start begins one authentication exchange; the exchange belongs to
	// the connection's reader goroutine.
	Start() SASLExchange
}

// SASLExchange is one authentication of one connection. Not safe for
// concurrent use.
type SASLExchange interface {
	// Step takes the client's next token and returns the server's reply.
	// done is true once the client is authenticated (the reply, possibly
	// empty, is still sent); an error means authentication failed and the
	// connection is answered SASL_AUTHENTICATION_FAILED and closed. The
	// error is logged at debug level and never sent to the client.
	Step(token []byte) (reply []byte, done bool, err error)
	// Principal is the authenticated principal ("User:alice") once Step
	// returned done.
	Principal() string
}

// ListenOption configures one listener of Listen or Serve.
type ListenOption func(*listener)

// WithSASL makes the listener a SASL listener (SASL_PLAINTEXT) serving
// mechs: before a connection authenticated with one of them it may send
// only ApiVersions, SaslHandshake and SaslAuthenticate, and its frames are
// bounded by Config.SASLMaxReceiveSize. Listen fails on an empty list or
// a name given twice.
func WithSASL(mechs ...SASLMechanism) ListenOption {
	return func(l *listener) {
		l.sasl = append([]SASLMechanism{}, mechs...)
		l.saslSet = true
	}
}

// checkListener validates the options of l.
func checkListener(l *listener) error {
	if !l.saslSet {
		return nil
	}
	if len(l.sasl) == 0 {
		return fmt.Errorf("%w: listener %s: SASL with no mechanism", ErrInvalidConfig, l.name)
	}
	seen := map[string]bool{}
	for _, m := range l.sasl {
		if m == nil || m.Name() == "" {
			return fmt.Errorf("%w: listener %s: unnamed SASL mechanism", ErrInvalidConfig, l.name)
		}
		if seen[m.Name()] {
			return fmt.Errorf("%w: listener %s: SASL mechanism %s given twice", ErrInvalidConfig, l.name, m.Name())
		}
		seen[m.Name()] = true
	}
	return nil
}

type saslState int8

const (
	saslStart          saslState = iota // before SaslHandshake
	saslAuthenticating                  // after SaslHandshake v1: SaslAuthenticate requests
	saslRaw                             // after SaslHandshake v0: bare tokens
	saslDone                            // authenticated
)

// saslConn is a SASL connection's authentication state; only the reader
// goroutine touches it.
type saslConn struct {
	mechs    []SASLMechanism
	state    saslState
	mech     string
	exchange SASLExchange
}

func newSASLConn(l *listener) *saslConn {
	if !l.saslSet {
		return nil
	}
	return &saslConn{mechs: l.sasl}
}

// authenticating reports whether c's frames are still bounded by the SASL
// receive size (a SASL connection not yet authenticated).
func (c *conn) authenticating() bool { return c.sasl != nil && c.sasl.state != saslDone }

// rawSASL reports whether the next frame is a bare SASL token.
func (c *conn) rawSASL() bool { return c.sasl != nil && c.sasl.state == saslRaw }

// maxFrame is the largest frame the connection accepts now, and the key
// that sets it.
func (c *conn) maxFrame() (int32, string) {
	if c.authenticating() {
		return c.s.cfg.SASLMaxReceiveSize, "sasl.server.max.receive.size"
	}
	return c.s.cfg.MaxRequestBytes, "socket.request.max.bytes"
}

// gate decides what happens to a decoded request before the Handler sees
// it. handled is false when the Handler should serve it; otherwise resp is
// the answer (nil: none) and keep false closes the connection (after resp
// is written, when there is one).
func (c *conn) gate(h header, body kmsg.Request) (resp kmsg.Response, keep, handled bool) {
	switch h.key {
	case saslHandshakeKey, saslAuthenticateKey:
		if c.sasl == nil || c.sasl.state == saslDone { // nil: a Handler without Versions
			return illegalSASLState(body), true, true
		}
		if h.key == saslHandshakeKey {
			resp, keep = c.saslHandshake(h, body.(*kmsg.SASLHandshakeRequest))
			return resp, keep, true
		}
		if c.sasl.state != saslAuthenticating {
			c.logger.Info("closing connection: SaslAuthenticate before SaslHandshake")
			return nil, false, true
		}
		resp, keep = c.saslAuthenticate(body.(*kmsg.SASLAuthenticateRequest))
		return resp, keep, true
	case apiVersionsKey:
		if c.sasl != nil && c.sasl.state == saslAuthenticating {
			c.logger.Info("closing connection: ApiVersions during SASL authentication")
			return nil, false, true
		}
		return nil, true, false
	}
	if c.authenticating() {
		// Kafka's IllegalSaslStateException: the connection is closed
		// without an answer.
		c.logger.Info("closing connection: request before SASL authentication",
			zap.String("api", kmsg.NameForKey(h.key)))
		return nil, false, true
	}
	return nil, true, false
}

// handshake answers SaslHandshake: the mechanism must be one of the
// listener's.
func (c *conn) saslHandshake(h header, req *kmsg.SASLHandshakeRequest) (kmsg.Response, bool) {
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	for _, m := range c.sasl.mechs {
		resp.SupportedMechanisms = append(resp.SupportedMechanisms, m.Name())
	}
	if c.sasl.state != saslStart {
		c.logger.Info("closing connection: second SaslHandshake")
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, false
	}
	i := slices.IndexFunc(c.sasl.mechs, func(m SASLMechanism) bool { return m.Name() == req.Mechanism })
	if i < 0 {
		c.logger.Info("closing connection: unsupported SASL mechanism", zap.String("mechanism", req.Mechanism))
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return resp, false
	}
	c.sasl.mech = req.Mechanism
	c.sasl.exchange = c.sasl.mechs[i].Start()
	c.sasl.state = saslAuthenticating
	if h.version == 0 {
		c.sasl.state = saslRaw
	}
	return resp, true
}

// authenticate answers SaslAuthenticate with the exchange's next step.
func (c *conn) saslAuthenticate(req *kmsg.SASLAuthenticateRequest) (kmsg.Response, bool) {
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	reply, ok := c.step(req.SASLAuthBytes)
	if !ok {
		msg := authFailedMessage(c.sasl.mech)
		resp.ErrorCode, resp.ErrorMessage = kerr.SaslAuthenticationFailed.Code, &msg
		return resp, false
	}
	resp.SASLAuthBytes = reply
	resp.SessionLifetimeMillis = 0 // no re-authentication (KIP-368)
	return resp, true
}

// step runs the exchange on one token; false means authentication failed.
func (c *conn) step(token []byte) ([]byte, bool) {
	reply, done, err := c.sasl.exchange.Step(token)
	if err != nil {
		c.logger.Info("SASL authentication failed, closing connection", zap.String("mechanism", c.sasl.mech), zap.Error(err))
		c.sasl.exchange = nil
		return nil, false
	}
	if done {
		p := c.sasl.exchange.Principal()
		if p == "" {
			c.logger.Error("SASL exchange done without a principal, closing connection", zap.String("mechanism", c.sasl.mech))
			return nil, false
		}
		c.principal = p
		c.sasl.state, c.sasl.exchange = saslDone, nil
		c.logger.Debug("SASL authenticated", zap.String("mechanism", c.sasl.mech), zap.String("principal", p))
	}
	if reply == nil {
		reply = []byte{}
	}
	return reply, true
}

// serveRawSASL serves one bare token after SaslHandshake v0: the reply
// goes back as a bare size-prefixed token. A failure closes the connection
// without an answer, as Kafka does (v0 has no way to carry an error).
func (c *conn) serveRawSASL(token []byte) (outFrame, bool) {
	reply, ok := c.step(token)
	if !ok {
		return outFrame{}, false
	}
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(reply)), uint32(len(reply)))
	return outFrame{buf: append(out, reply...)}, true
}

// authFailedMessage is the text Kafka's SaslServerAuthenticator sends for
// a failed exchange: the same whatever failed, so that nothing tells an
// unknown user from a wrong password.
func authFailedMessage(mech string) string {
	return "Authentication failed during authentication due to invalid credentials with SASL mechanism " + mech
}

// illegalSASLState answers SaslHandshake or SaslAuthenticate where no
// authentication is going on.
func illegalSASLState(body kmsg.Request) kmsg.Response {
	switch req := body.(type) {
	case *kmsg.SASLHandshakeRequest:
		resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp
	case *kmsg.SASLAuthenticateRequest:
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SASL authentication is not enabled on this listener or already complete"
		resp.ErrorMessage = &msg
		return resp
	}
	return nil
}

// withSASLVersions adds the keys the server answers itself on SASL
// listeners to a Versioner's map.
func withSASLVersions(versions map[int16][2]int16) map[int16][2]int16 {
	if versions == nil {
		return nil
	}
	for k, v := range saslVersions {
		versions[k] = v
	}
	return versions
}

// addSASLKeys lists SaslHandshake and SaslAuthenticate in a SASL
// listener's ApiVersions response if the handler did not,
// keeping the keys in order.
func addSASLKeys(resp kmsg.Response) {
	av, ok := resp.(*kmsg.ApiVersionsResponse)
	if !ok || av.ErrorCode != 0 && av.ErrorCode != kerr.UnsupportedVersion.Code {
		return
	}
	added := false
	for _, key := range []int16{saslHandshakeKey, saslAuthenticateKey} {
		if slices.ContainsFunc(av.ApiKeys, func(k kmsg.ApiVersionsResponseApiKey) bool { return k.ApiKey == key }) {
			continue
		}
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = key, saslVersions[key][0], saslVersions[key][1]
		av.ApiKeys = append(av.ApiKeys, k)
		added = true
	}
	if added {
		slices.SortStableFunc(av.ApiKeys, func(a, b kmsg.ApiVersionsResponseApiKey) int { return int(a.ApiKey) - int(b.ApiKey) })
	}
}
