package network

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/network/tlstest"
)

// principalHandler records the principal of every request it serves.
type principalHandler struct {
	*fakeHandler
	mu         sync.Mutex
	principals []string
}

func (h *principalHandler) Handle(ctx context.Context, req *Request) (kmsg.Response, error) {
	h.mu.Lock()
	h.principals = append(h.principals, req.Principal)
	h.mu.Unlock()
	return h.fakeHandler.Handle(ctx, req)
}

func (h *principalHandler) last() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.principals) == 0 {
		return ""
	}
	return h.principals[len(h.principals)-1]
}

// pki is a CA made for the test, a server certificate for 127.0.0.1 and a
// client certificate for alice, with a second CA nobody trusts.
type pki struct {
	ca, rogue            *tlstest.CA
	srvChain, srvKey     []byte
	aliceChain, aliceKey []byte
	rogueChain, rogueKey []byte
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	var p pki
	var err error
	if p.ca, err = tlstest.NewCA("test-ca"); err != nil {
		t.Fatal(err)
	}
	if p.rogue, err = tlstest.NewCA("rogue-ca"); err != nil {
		t.Fatal(err)
	}
	if p.srvChain, p.srvKey, err = p.ca.Issue(pkix.Name{CommonName: "broker"}, "127.0.0.1", "localhost"); err != nil {
		t.Fatal(err)
	}
	alice := pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"eng"}, Organization: []string{"acme"}}
	if p.aliceChain, p.aliceKey, err = p.ca.Issue(alice); err != nil {
		t.Fatal(err)
	}
	if p.rogueChain, p.rogueKey, err = p.rogue.Issue(alice); err != nil {
		t.Fatal(err)
	}
	return &p
}

func (p *pki) server(clientAuth string) TLSSettings {
	return TLSSettings{CertChainPEM: p.srvChain, KeyPEM: p.srvKey, TrustPEM: p.ca.CertPEM, ClientAuth: clientAuth}
}

func (p *pki) client(t *testing.T, chain, key []byte) ClientSecurity {
	t.Helper()
	cfg, err := TLSSettings{CertChainPEM: chain, KeyPEM: key, TrustPEM: p.ca.CertPEM}.Client()
	if err != nil {
		t.Fatal(err)
	}
	return ClientSecurity{TLS: cfg}
}

// apiVersions dials addr with sec and sends one ApiVersions.
func apiVersions(ctx context.Context, sec ClientSecurity, addr string) error {
	nc, err := sec.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = exchange(context.Background(), nc, 7, kmsg.NewPtrApiVersionsRequest())
	return err
}

// TestTLSClientAuth: ssl.client.auth none, requested and required, with
// and without a client certificate (KIP-651 PEM keystores; the principal
// is Kafka's DefaultKafkaPrincipalBuilder's: User:<RFC 2253 subject>).
func TestTLSClientAuth(t *testing.T) {
	p := newPKI(t)
	const alice = "User:CN=alice,OU=eng,O=acme"
	for _, tc := range []struct {
		auth      string
		cert      string // "", "alice" or "rogue"
		ok        bool
		principal string
	}{
		{ClientAuthNone, "", true, AnonymousPrincipal},
		{ClientAuthNone, "alice", true, AnonymousPrincipal}, // not asked for, not used
		{ClientAuthRequested, "", true, AnonymousPrincipal},
		{ClientAuthRequested, "alice", true, alice},
		// A client offers only a certificate of a CA the server names.
		{ClientAuthRequested, "rogue", true, AnonymousPrincipal},
		{ClientAuthRequested, "rogue-forced", false, ""},
		{ClientAuthRequired, "", false, ""},
		{ClientAuthRequired, "alice", true, alice},
		{ClientAuthRequired, "rogue", false, ""},
		{ClientAuthRequired, "rogue-forced", false, ""},
	} {
		t.Run(tc.auth+"/"+tc.cert, func(t *testing.T) {
			h := &principalHandler{fakeHandler: newFakeHandler()}
			cfg := DefaultConfig()
			cfg.TLS = map[string]TLSSettings{"PLAINTEXT": p.server(tc.auth)}
			s := NewServer(cfg, h, zaptest.NewLogger(t))
			a, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			t.Cleanup(func() { _ = s.Close() })
			var sec ClientSecurity
			switch tc.cert {
			case "alice":
				sec = p.client(t, p.aliceChain, p.aliceKey)
			case "rogue":
				sec = p.client(t, p.rogueChain, p.rogueKey)
			case "rogue-forced":
				sec = p.client(t, p.rogueChain, p.rogueKey)
				cert := sec.TLS.Certificates[0]
				sec.TLS.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
			default:
				sec = p.client(t, nil, nil)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = apiVersions(ctx, sec, a.String())
			if tc.ok != (err == nil) {
				t.Fatalf("ApiVersions over TLS: %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && h.last() != tc.principal {
				t.Fatalf("principal %q, want %q", h.last(), tc.principal)
			}
			if !tc.ok && h.last() != "" {
				t.Fatalf("a request reached the handler (principal %q) after a failed handshake", h.last())
			}
		})
	}
}

// TestTLSPlaintextClientOnTLSPort: a plaintext Kafka client on a TLS
// listener gets its connection closed, and the listener keeps serving.
func TestTLSPlaintextClientOnTLSPort(t *testing.T) {
	p := newPKI(t)
	cfg := DefaultConfig()
	cfg.TLS = map[string]TLSSettings{"PLAINTEXT": p.server(ClientAuthNone)}
	h := newFakeHandler()
	_, addr := startServer(t, cfg, h)

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("plain"))
	if _, err := nc.Write(f.AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := io.ReadAtLeast(nc, buf, len(buf))
	if err == nil || errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("plaintext client read %d bytes and no close: %v", n, err)
	}
	// Whatever came back (a TLS alert at most) is no Kafka response.
	if n >= 8 && buf[0] == 0 && buf[4] == 0 && buf[7] == 1 {
		t.Fatalf("plaintext client got what looks like a Kafka response: % x", buf[:n])
	}
	if h.entered.Load() != 0 {
		t.Fatalf("%d requests reached the handler", h.entered.Load())
	}

	// Still serving TLS clients, with a real Kafka client.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), p.client(t, nil, nil).KgoOpts()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.Request(ctx, kmsg.NewPtrMetadataRequest()); err != nil {
		t.Fatalf("metadata over TLS after a plaintext client: %v", err)
	}
}

// TestTLSHandshakeTimeoutDoesNotBlockAccept: a client that connects and
// sends nothing holds only its own connection.
func TestTLSSilentClientDoesNotBlockAccept(t *testing.T) {
	p := newPKI(t)
	cfg := DefaultConfig()
	cfg.TLS = map[string]TLSSettings{"PLAINTEXT": p.server(ClientAuthNone)}
	_, addr := startServer(t, cfg, newFakeHandler())
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := apiVersions(ctx, p.client(t, nil, nil), addr); err != nil {
		t.Fatalf("ApiVersions beside a silent connection: %v", err)
	}
}

func TestTLSSettingsErrors(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name string
		s    TLSSettings
		want string
	}{
		{"no keystore", TLSSettings{TrustPEM: p.ca.CertPEM}, "no keystore"},
		{"key of another cert", TLSSettings{CertChainPEM: p.srvChain, KeyPEM: p.aliceKey}, "keystore"},
		{"TLSv1.1", TLSSettings{CertChainPEM: p.srvChain, KeyPEM: p.srvKey, Protocols: []string{"TLSv1.1"}}, `"TLSv1.1"`},
		{"required without truststore", TLSSettings{CertChainPEM: p.srvChain, KeyPEM: p.srvKey, ClientAuth: ClientAuthRequired}, "truststore"},
		{"bad client auth", TLSSettings{CertChainPEM: p.srvChain, KeyPEM: p.srvKey, ClientAuth: "sometimes"}, "ssl.client.auth"},
		{"empty truststore", TLSSettings{CertChainPEM: p.srvChain, KeyPEM: p.srvKey, TrustPEM: []byte("junk")}, "truststore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.Server()
			if !errors.Is(err, ErrInvalidTLS) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Server() = %v, want ErrInvalidTLS mentioning %q", err, tc.want)
			}
		})
	}
	// Listen names the listener.
	cfg := DefaultConfig()
	cfg.TLS = map[string]TLSSettings{"SSL": {}}
	s := NewServer(cfg, newFakeHandler(), zaptest.NewLogger(t))
	defer s.Close()
	if _, err := s.Listen("SSL", "127.0.0.1:0"); !errors.Is(err, ErrInvalidTLS) || !strings.Contains(err.Error(), "listener SSL") {
		t.Fatalf("Listen = %v, want ErrInvalidTLS naming listener SSL", err)
	}
}

// TestTLSVersions: ssl.enabled.protocols=TLSv1.3 refuses a TLS 1.2 client.
func TestTLSVersions(t *testing.T) {
	p := newPKI(t)
	cfg := DefaultConfig()
	st := p.server(ClientAuthNone)
	st.Protocols = []string{TLSv13}
	cfg.TLS = map[string]TLSSettings{"PLAINTEXT": st}
	_, addr := startServer(t, cfg, newFakeHandler())
	sec := p.client(t, nil, nil)
	sec.TLS.MaxVersion = tls.VersionTLS12
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := apiVersions(ctx, sec, addr); err == nil {
		t.Fatal("a TLS 1.2 client was served by a TLSv1.3-only listener")
	}
	sec.TLS.MaxVersion = 0
	if err := apiVersions(ctx, sec, addr); err != nil {
		t.Fatalf("TLS 1.3 client: %v", err)
	}
}

// TestTLSNoHostnameVerification: with an empty
// ssl.endpoint.identification.algorithm the chain is still verified.
func TestTLSNoHostnameVerification(t *testing.T) {
	p := newPKI(t)
	cfg := DefaultConfig()
	cfg.TLS = map[string]TLSSettings{"PLAINTEXT": p.server(ClientAuthNone)}
	_, addr := startServer(t, cfg, newFakeHandler())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The server certificate names 127.0.0.1 and localhost only.
	strict := p.client(t, nil, nil)
	strict.TLS.ServerName = "elsewhere.example"
	if err := apiVersions(ctx, strict, addr); err == nil {
		t.Fatal("hostname verification passed for a name the certificate lacks")
	}
	loose, err := TLSSettings{TrustPEM: p.ca.CertPEM, NoHostnameVerification: true}.Client()
	if err != nil {
		t.Fatal(err)
	}
	loose.ServerName = "elsewhere.example"
	if err := apiVersions(ctx, ClientSecurity{TLS: loose}, addr); err != nil {
		t.Fatalf("without hostname verification: %v", err)
	}
	rogue, err := TLSSettings{TrustPEM: p.rogue.CertPEM, NoHostnameVerification: true}.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := apiVersions(ctx, ClientSecurity{TLS: rogue}, addr); err == nil {
		t.Fatal("a server signed by an untrusted CA was accepted")
	}
}

// testPlain is a PLAIN server mechanism (RFC 4616) with one user.
type testPlain struct{ user, pass string }

func (m testPlain) Name() string        { return "PLAIN" }
func (m testPlain) Start() SASLExchange { return &testPlainExchange{m: m} }

type testPlainExchange struct {
	m    testPlain
	user string
}

func (e *testPlainExchange) Step(token []byte) ([]byte, bool, error) {
	parts := strings.Split(string(token), "\x00")
	if len(parts) != 3 || parts[1] != e.m.user || parts[2] != e.m.pass {
		return nil, false, errors.New("bad credentials")
	}
	e.user = parts[1]
	return nil, true, nil
}

func (e *testPlainExchange) Principal() string { return "User:" + e.user }

// TestClientSecuritySASLSSL: ClientSecurity.Dial's SaslHandshake v1 +
// SaslAuthenticate v1 exchange, driven by franz-go's PLAIN mechanism,
// against the server's SASL_SSL listener; a wrong password fails the dial.
func TestClientSecuritySASLSSL(t *testing.T) {
	p := newPKI(t)
	cfg := DefaultConfig()
	cfg.TLS = map[string]TLSSettings{"SASL_SSL": p.server(ClientAuthNone)}
	h := &principalHandler{fakeHandler: newFakeHandler()}
	s := NewServer(cfg, h, zaptest.NewLogger(t))
	a, err := s.Listen("SASL_SSL", "127.0.0.1:0", WithSASL(testPlain{"broker", "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	sec := p.client(t, nil, nil)
	sec.SASL = plain.Auth{User: "broker", Pass: "s3cret"}.AsMechanism()
	if sec.Protocol() != "SASL_SSL" {
		t.Fatalf("protocol %s", sec.Protocol())
	}
	if err := apiVersions(ctx, sec, a.String()); err != nil {
		t.Fatalf("SASL_SSL dial: %v", err)
	}
	if got := h.last(); got != "User:broker" {
		t.Fatalf("principal %q, want User:broker", got)
	}
	sec.SASL = plain.Auth{User: "broker", Pass: "wrong"}.AsMechanism()
	if err := apiVersions(ctx, sec, a.String()); !errors.Is(err, ErrSASLClient) {
		t.Fatalf("wrong password: %v, want ErrSASLClient", err)
	}
	// A kgo client with the same security works too.
	sec.SASL = plain.Auth{User: "broker", Pass: "s3cret"}.AsMechanism()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(a.String())}, sec.KgoOpts()...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Request(ctx, kmsg.NewPtrMetadataRequest()); err != nil {
		t.Fatalf("kgo over SASL_SSL: %v", err)
	}
}
