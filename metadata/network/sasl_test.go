package network

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	ksasl "github.com/twmb/franz-go/pkg/sasl"
	kplain "github.com/twmb/franz-go/pkg/sasl/plain"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/sasl"
	"github.com/zkraft/zkraft/metadata"
)

// The test's mechanisms: broker/sasl's servers behind the small adapters
// broker/server has too (network cannot import broker/..., the test may).
type plainMech struct{ s *sasl.PlainServer }

func (plainMech) Name() string          { return "PLAIN" }
func (m plainMech) Start() SASLExchange { return &plainExchange{s: m.s} }

type plainExchange struct {
	s         *sasl.PlainServer
	principal string
}

func (e *plainExchange) Step(tok []byte) ([]byte, bool, error) {
	p, err := e.s.Authenticate(tok)
	if err != nil {
		return nil, false, err
	}
	e.principal = p
	return nil, true, nil
}
func (e *plainExchange) Principal() string { return e.principal }

type scramMech struct{ s *sasl.ScramServer }

func (m scramMech) Name() string        { return m.s.Mechanism().String() }
func (m scramMech) Start() SASLExchange { return m.s.Start() }

// testMechanisms: PLAIN with alice/alice-secret, both SCRAMs with
// bob/bob-secret.
func testMechanisms(t testing.TB) []SASLMechanism {
	t.Helper()
	creds := map[metadata.ScramMechanism]*metadata.ScramCredential{}
	for _, m := range metadata.ScramMechanisms {
		c, err := sasl.CredentialFromPassword(m, "bob", "bob-secret", nil, 4096)
		if err != nil {
			t.Fatal(err)
		}
		creds[m] = c
	}
	lookup := func(u string, m metadata.ScramMechanism) (*metadata.ScramCredential, bool) {
		c, ok := creds[m]
		return c, ok && u == "bob"
	}
	mechs := []SASLMechanism{plainMech{sasl.NewPlainServer(map[string]string{"alice": "alice-secret"})}}
	for _, m := range metadata.ScramMechanisms {
		s, err := sasl.NewScramServer(m, lookup)
		if err != nil {
			t.Fatal(err)
		}
		mechs = append(mechs, scramMech{s})
	}
	return mechs
}

// apiPrincipalHandler is fakeHandler recording who sent each request.
type apiPrincipalHandler struct {
	*fakeHandler
	mu   sync.Mutex
	seen []string // "api principal"
}

func (h *apiPrincipalHandler) Handle(ctx context.Context, req *Request) (kmsg.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, kmsg.NameForKey(req.APIKey)+" "+req.Principal)
	h.mu.Unlock()
	return h.fakeHandler.Handle(ctx, req)
}

func (h *apiPrincipalHandler) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.seen)
}

// startSASLServer serves h on a SASL listener (and a PLAINTEXT one).
func startSASLServer(t *testing.T, cfg Config) (*apiPrincipalHandler, string, string) {
	t.Helper()
	h := &apiPrincipalHandler{fakeHandler: newFakeHandler()}
	s := NewServer(cfg, h, zaptest.NewLogger(t))
	addr, err := s.Listen("SASL_PLAINTEXT", "127.0.0.1:0", WithSASL(testMechanisms(t)...))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp := addr.(*net.TCPAddr)
	h.host, h.port = tcp.IP.String(), int32(tcp.Port)
	s.Start()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return h, addr.String(), plain.String()
}

func kgoMetadata(t *testing.T, addr string, mech ksasl.Mechanism) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(mech), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = cl.Request(ctx, kmsg.NewPtrMetadataRequest())
	return err
}

// TestSASLFranzGoClients: franz-go's PLAIN and SCRAM clients (KIP-152
// SaslHandshake v1 + SaslAuthenticate) authenticate, and the handler sees
// their principal.
func TestSASLFranzGoClients(t *testing.T) {
	h, addr, _ := startSASLServer(t, Config{})
	for _, tc := range []struct {
		name string
		mech ksasl.Mechanism
		want string
	}{
		{"PLAIN", kplain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism(), "User:alice"},
		{"SCRAM-SHA-256", kscram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism(), "User:bob"},
		{"SCRAM-SHA-512", kscram.Auth{User: "bob", Pass: "bob-secret"}.AsSha512Mechanism(), "User:bob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.requests())
			if err := kgoMetadata(t, addr, tc.mech); err != nil {
				t.Fatal(err)
			}
			got := h.requests()[before:]
			if !slices.Contains(got, "Metadata "+tc.want) {
				t.Fatalf("handler saw %v, want a Metadata from %s", got, tc.want)
			}
			for _, r := range got {
				if strings.HasSuffix(r, AnonymousPrincipal) && !strings.HasPrefix(r, "ApiVersions") {
					t.Fatalf("handler saw %q before authentication", r)
				}
			}
		})
	}
}

// TestSASLBadCredentials: a wrong password and an unknown user get the
// same SASL_AUTHENTICATION_FAILED with Kafka's text, for each mechanism;
// the server keeps serving.
func TestSASLBadCredentials(t *testing.T) {
	_, addr, _ := startSASLServer(t, Config{})
	for _, tc := range []struct {
		mech       string
		wrong, who ksasl.Mechanism
	}{
		{"PLAIN", kplain.Auth{User: "alice", Pass: "nope"}.AsMechanism(), kplain.Auth{User: "mallory", Pass: "nope"}.AsMechanism()},
		{"SCRAM-SHA-256", kscram.Auth{User: "bob", Pass: "nope"}.AsSha256Mechanism(), kscram.Auth{User: "mallory", Pass: "nope"}.AsSha256Mechanism()},
		{"SCRAM-SHA-512", kscram.Auth{User: "bob", Pass: "nope"}.AsSha512Mechanism(), kscram.Auth{User: "mallory", Pass: "nope"}.AsSha512Mechanism()},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			wrong, unknown := kgoMetadata(t, addr, tc.wrong), kgoMetadata(t, addr, tc.who)
			for _, err := range []error{wrong, unknown} {
				if !errors.Is(err, kerr.SaslAuthenticationFailed) {
					t.Fatalf("got %v, want SASL_AUTHENTICATION_FAILED", err)
				}
				want := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + tc.mech
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q does not carry Kafka's message %q", err, want)
				}
			}
			if wrong.Error() != unknown.Error() {
				t.Fatalf("wrong password %q and unknown user %q differ", wrong, unknown)
			}
		})
	}
	if err := kgoMetadata(t, addr, kplain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
}

func handshakeReq(c *rawConn, version int16, mech string, corr int32) *kmsg.SASLHandshakeResponse {
	c.t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = mech
	c.send(req, version, corr)
	resp := kmsg.NewPtrSASLHandshakeResponse()
	if got := c.recv(resp, version); got != corr {
		c.t.Fatalf("handshake correlation %d, want %d", got, corr)
	}
	return resp
}

func authenticateReq(c *rawConn, version int16, tok []byte, corr int32) *kmsg.SASLAuthenticateResponse {
	c.t.Helper()
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = tok
	c.send(req, version, corr)
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	if got := c.recv(resp, version); got != corr {
		c.t.Fatalf("authenticate correlation %d, want %d", got, corr)
	}
	return resp
}

// TestSASLGate: before authentication only ApiVersions, SaslHandshake and
// SaslAuthenticate pass; anything else closes the connection unanswered
// and never reaches the handler.
func TestSASLGate(t *testing.T) {
	h, addr, plainAddr := startSASLServer(t, Config{})
	t.Run("api versions lists the SASL keys", func(t *testing.T) {
		c := dial(t, addr)
		c.send(kmsg.NewPtrApiVersionsRequest(), 3, 1)
		resp := kmsg.NewPtrApiVersionsResponse()
		c.recv(resp, 3)
		var keys []int16
		for _, k := range resp.ApiKeys {
			keys = append(keys, k.ApiKey)
			if k.ApiKey == saslHandshakeKey && k.MaxVersion != 1 || k.ApiKey == saslAuthenticateKey && k.MaxVersion != 2 {
				t.Fatalf("key %d up to v%d", k.ApiKey, k.MaxVersion)
			}
		}
		if !slices.Equal(keys, []int16{3, saslHandshakeKey, apiVersionsKey, saslAuthenticateKey}) {
			t.Fatalf("keys %v", keys)
		}
		p := dial(t, plainAddr) // a PLAINTEXT listener does not offer SASL
		p.send(kmsg.NewPtrApiVersionsRequest(), 3, 1)
		presp := kmsg.NewPtrApiVersionsResponse()
		p.recv(presp, 3)
		if len(presp.ApiKeys) != 2 {
			t.Fatalf("PLAINTEXT listener keys %+v", presp.ApiKeys)
		}
	})
	for _, tc := range []struct {
		name string
		do   func(c *rawConn)
	}{
		{"metadata first", func(c *rawConn) { c.send(metadataFor("t"), 12, 1) }},
		{"metadata after api versions", func(c *rawConn) {
			c.send(kmsg.NewPtrApiVersionsRequest(), 3, 1)
			c.recv(kmsg.NewPtrApiVersionsResponse(), 3)
			c.send(metadataFor("t"), 12, 2)
		}},
		{"metadata after handshake", func(c *rawConn) {
			if r := handshakeReq(c, 1, "PLAIN", 1); r.ErrorCode != 0 {
				t.Fatalf("handshake error %d", r.ErrorCode)
			}
			c.send(metadataFor("t"), 12, 2)
		}},
		{"authenticate before handshake", func(c *rawConn) {
			req := kmsg.NewPtrSASLAuthenticateRequest()
			req.SASLAuthBytes = []byte("\x00alice\x00alice-secret")
			c.send(req, 2, 1)
		}},
		{"unknown mechanism", func(c *rawConn) {
			r := handshakeReq(c, 1, "GSSAPI", 1)
			if r.ErrorCode != kerr.UnsupportedSaslMechanism.Code ||
				!slices.Equal(r.SupportedMechanisms, []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
				t.Fatalf("handshake %+v", r)
			}
		}},
		{"wrong password", func(c *rawConn) {
			handshakeReq(c, 1, "PLAIN", 1)
			r := authenticateReq(c, 2, []byte("\x00alice\x00nope"), 2)
			if r.ErrorCode != kerr.SaslAuthenticationFailed.Code || r.ErrorMessage == nil ||
				*r.ErrorMessage != "Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN" {
				t.Fatalf("authenticate %+v", r)
			}
		}},
		{"frame over sasl.server.max.receive.size", func(c *rawConn) {
			c.write(binary.BigEndian.AppendUint32(nil, DefaultSASLMaxReceiveSize+1))
		}},
		{"bare token without a v0 handshake", func(c *rawConn) {
			c.write(append(binary.BigEndian.AppendUint32(nil, 4), 0, 'a', 0, 'b'))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.requests())
			c := dial(t, addr)
			tc.do(c)
			c.expectClosed()
			for _, r := range h.requests()[before:] {
				if !strings.HasPrefix(r, "ApiVersions") {
					t.Fatalf("handler saw %q", r)
				}
			}
		})
	}
	roundTrip(t, plainAddr)
}

// TestSASLAuthenticated: after SaslAuthenticate v0..v2 succeeded, requests
// carry the principal, session_lifetime_ms is 0, frames up to
// socket.request.max.bytes pass, and another handshake is
// ILLEGAL_SASL_STATE.
func TestSASLAuthenticated(t *testing.T) {
	h, addr, _ := startSASLServer(t, Config{SASLMaxReceiveSize: 200})
	for version := int16(0); version <= 2; version++ {
		c := dial(t, addr)
		handshakeReq(c, 1, "PLAIN", 1)
		r := authenticateReq(c, version, []byte("\x00alice\x00alice-secret"), 2)
		if r.ErrorCode != 0 || r.SessionLifetimeMillis != 0 {
			t.Fatalf("v%d authenticate %+v", version, r)
		}
		c.send(metadataFor(strings.Repeat("x", 300)), 12, 3) // over the SASL bound, fine now
		if got := c.recv(kmsg.NewPtrMetadataResponse(), 12); got != 3 {
			t.Fatalf("metadata correlation %d", got)
		}
		if again := handshakeReq(c, 1, "PLAIN", 4); again.ErrorCode != kerr.IllegalSaslState.Code {
			t.Fatalf("second handshake error %d", again.ErrorCode)
		}
		if again := authenticateReq(c, version, nil, 5); again.ErrorCode != kerr.IllegalSaslState.Code {
			t.Fatalf("authenticate after authentication: error %d", again.ErrorCode)
		}
	}
	if got := h.requests(); len(got) != 3 || got[0] != "Metadata User:alice" {
		t.Fatalf("handler saw %v", got)
	}
	// Before authentication the SASL bound applies.
	c := dial(t, addr)
	c.send(metadataFor(strings.Repeat("x", 300)), 12, 1)
	c.expectClosed()
}

func writeToken(c *rawConn, tok []byte) {
	c.t.Helper()
	c.write(append(binary.BigEndian.AppendUint32(nil, uint32(len(tok))), tok...))
}

func readToken(c *rawConn) []byte {
	c.t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		c.t.Fatalf("read token size: %v", err)
	}
	tok := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.nc, tok); err != nil {
		c.t.Fatalf("read token: %v", err)
	}
	return tok
}

// TestSASLHandshakeV0: after SaslHandshake v0 the tokens travel as bare
// size-prefixed frames (Kafka 0.10.0's framing, still accepted by Kafka):
// PLAIN and a SCRAM exchange driven by franz-go's client session.
func TestSASLHandshakeV0(t *testing.T) {
	h, addr, _ := startSASLServer(t, Config{})
	c := dial(t, addr)
	handshakeReq(c, 0, "PLAIN", 1)
	writeToken(c, []byte("\x00alice\x00alice-secret"))
	if tok := readToken(c); len(tok) != 0 {
		t.Fatalf("PLAIN reply %q", tok)
	}
	c.send(metadataFor("t"), 12, 2)
	c.recv(kmsg.NewPtrMetadataResponse(), 12)

	c = dial(t, addr)
	handshakeReq(c, 0, "SCRAM-SHA-512", 1)
	sess, first, err := kscram.Auth{User: "bob", Pass: "bob-secret"}.AsSha512Mechanism().Authenticate(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	tok := first
	for done := false; !done; {
		writeToken(c, tok)
		done, tok, err = sess.Challenge(readToken(c))
		if err != nil {
			t.Fatal(err)
		}
	}
	c.send(metadataFor("t"), 12, 2)
	c.recv(kmsg.NewPtrMetadataResponse(), 12)
	if got := h.requests(); !slices.Equal(got, []string{"Metadata User:alice", "Metadata User:bob"}) {
		t.Fatalf("handler saw %v", got)
	}

	c = dial(t, addr) // a failure closes, nothing to answer it with
	handshakeReq(c, 0, "PLAIN", 1)
	writeToken(c, []byte("\x00alice\x00nope"))
	c.expectClosed()
}

func TestSASLListenerConfig(t *testing.T) {
	s := NewServer(Config{}, listenerHandler{}, zaptest.NewLogger(t))
	defer s.Close()
	mechs := testMechanisms(t)
	for name, opts := range map[string][]ListenOption{
		"none":  {WithSASL()},
		"twice": {WithSASL(mechs[0], mechs[0])},
	} {
		if _, err := s.Listen("L", "127.0.0.1:0", opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: listen = %v, want ErrInvalidConfig", name, err)
		}
	}
	cfg := DefaultConfig()
	cfg.SASLMaxReceiveSize = -1
	if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "sasl.server.max.receive.size") {
		t.Fatalf("validate: %v", err)
	}
}

// FuzzSASLFrames feeds arbitrary frames to a SASL connection's frame
// handling (requests, tokens, in any state): nothing panics, and nothing
// but ApiVersions reaches the handler unauthenticated.
func FuzzSASLFrames(f *testing.F) {
	fmtr := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Mechanism = "PLAIN"
	au := kmsg.NewPtrSASLAuthenticateRequest()
	au.SASLAuthBytes = []byte("\x00alice\x00x")
	frame := func(r kmsg.Request, v int16) []byte {
		r.SetVersion(v)
		return fmtr.AppendRequest(nil, r, 1)[4:]
	}
	f.Add(frame(hs, 1), frame(au, 2), frame(metadataFor("t"), 12))
	f.Add(frame(hs, 0), []byte("\x00alice\x00alice-secret"), frame(metadataFor("t"), 9))
	f.Add(frame(kmsg.NewPtrApiVersionsRequest(), 3), frame(hs, 1), []byte("n,,n=bob,r=abc"))
	h := &apiPrincipalHandler{fakeHandler: newFakeHandler()}
	s := NewServer(Config{}, h, zap.NewNop()) // f.Log may not be called from the fuzz function
	defer s.Close()
	l := &listener{name: "SASL"}
	WithSASL(testMechanisms(f)...)(l)
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		nc, peer := net.Pipe()
		defer nc.Close()
		defer peer.Close()
		cn := &conn{s: s, nc: nc, listener: "SASL", logger: s.logger, principal: AnonymousPrincipal, sasl: newSASLConn(l)}
		cn.ctx, cn.cancel = context.WithCancel(context.Background())
		defer cn.cancel()
		for _, fr := range [][]byte{a, b, c} {
			if limit, _ := cn.maxFrame(); len(fr) > int(limit) || len(fr) < minFrameSize && !cn.rawSASL() {
				return
			}
			if _, ok := cn.serve(fr); !ok || cn.closeAfter {
				return
			}
		}
		for _, r := range h.requests() {
			if strings.HasSuffix(r, AnonymousPrincipal) && !strings.HasPrefix(r, "ApiVersions") {
				t.Fatalf("handler saw %q unauthenticated", r)
			}
		}
	})
}
