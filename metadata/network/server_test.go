package network

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/wait"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeHandler answers ApiVersions and Metadata (one fake broker: itself).
// Metadata requests naming special topics steer it: "block" waits for
// release (or the context), "silent" sends no response, "fail" returns an
// error, "panic" panics, "wrongkey" answers with another api's response.
type fakeHandler struct {
	host    string
	port    int32
	release chan struct{}

	inflight    atomic.Int32
	maxInflight atomic.Int32
	entered     atomic.Int32
	cancelled   atomic.Int32

	mu   sync.Mutex
	seen []int32 // correlation ids in handling order
}

func newFakeHandler() *fakeHandler { return &fakeHandler{release: make(chan struct{})} }

func (h *fakeHandler) Versions() map[int16][2]int16 {
	return map[int16][2]int16{18: {0, 4}, 3: {0, 12}}
}

func (h *fakeHandler) Handle(ctx context.Context, req *Request) (kmsg.Response, error) {
	n := h.inflight.Add(1)
	defer h.inflight.Add(-1)
	for {
		m := h.maxInflight.Load()
		if n <= m || h.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	h.entered.Add(1)
	h.mu.Lock()
	h.seen = append(h.seen, req.CorrelationID)
	h.mu.Unlock()

	switch body := req.Body.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := body.ResponseKind().(*kmsg.ApiVersionsResponse)
		for _, k := range sortedKeys(h.Versions()) {
			ak := kmsg.NewApiVersionsResponseApiKey()
			ak.ApiKey, ak.MinVersion, ak.MaxVersion = k, h.Versions()[k][0], h.Versions()[k][1]
			resp.ApiKeys = append(resp.ApiKeys, ak)
		}
		return resp, nil
	case *kmsg.MetadataRequest:
		if len(body.Topics) > 0 && body.Topics[0].Topic != nil {
			switch *body.Topics[0].Topic {
			case "block":
				select {
				case <-h.release:
				case <-ctx.Done():
					h.cancelled.Add(1)
					return nil, ctx.Err()
				}
			case "silent":
				return nil, nil
			case "fail":
				return nil, errors.New("handler refuses")
			case "panic":
				panic("handler bug")
			case "wrongkey":
				return kmsg.NewPtrApiVersionsResponse(), nil
			}
		}
		resp := body.ResponseKind().(*kmsg.MetadataResponse)
		b := kmsg.NewMetadataResponseBroker()
		b.NodeID, b.Host, b.Port = 1, h.host, h.port
		resp.Brokers = append(resp.Brokers, b)
		resp.ControllerID = 1
		resp.ClusterID = kmsg.StringPtr("fake-cluster")
		return resp, nil
	}
	return nil, errors.New("unexpected request")
}

func (h *fakeHandler) seenIDs() []int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int32(nil), h.seen...)
}

// startServer starts a server with h on a PLAINTEXT listener at 127.0.0.1:0.
func startServer(t *testing.T, cfg Config, h *fakeHandler) (*Server, string) {
	t.Helper()
	s := NewServer(cfg, h, zaptest.NewLogger(t))
	addr, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
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
	return s, addr.String()
}

// rawConn is a hand-driven client connection.
type rawConn struct {
	t  testing.TB
	nc net.Conn
}

func dial(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second)) // a hung test fails instead of hanging
	return &rawConn{t: t, nc: nc}
}

func (c *rawConn) send(req kmsg.Request, version int16, corr int32) {
	c.t.Helper()
	req.SetVersion(version)
	c.write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("test")).AppendRequest(nil, req, corr))
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// recv reads one response to a request of key at version; it returns its
// correlation id.
func (c *rawConn) recv(resp kmsg.Response, version int16) int32 {
	c.t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		c.t.Fatalf("read response size: %v", err)
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.nc, buf); err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	corr := int32(binary.BigEndian.Uint32(buf))
	buf = buf[4:]
	resp.SetVersion(version)
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		if len(buf) == 0 || buf[0] != 0 {
			c.t.Fatalf("flexible response header: want empty tagged fields, got % x", buf[:min(len(buf), 1)])
		}
		buf = buf[1:]
	}
	if err := resp.ReadFrom(buf); err != nil {
		c.t.Fatalf("decode %s v%d response: %v", kmsg.NameForKey(resp.Key()), version, err)
	}
	return corr
}

// expectClosed asserts the server closes the connection (EOF or reset).
func (c *rawConn) expectClosed() {
	c.t.Helper()
	var b [1]byte
	n, err := c.nc.Read(b[:])
	if err == nil {
		c.t.Fatalf("connection still open: read %d bytes", n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open: %v", err)
	}
}

func metadataFor(topic string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	return req
}

// roundTrip checks that a connection to addr still serves requests.
func roundTrip(t *testing.T, addr string) {
	t.Helper()
	c := dial(t, addr)
	c.send(kmsg.NewPtrApiVersionsRequest(), 3, 77)
	resp := kmsg.NewPtrApiVersionsResponse()
	if corr := c.recv(resp, 3); corr != 77 || resp.ErrorCode != 0 || len(resp.ApiKeys) != 2 {
		t.Fatalf("ApiVersions round trip: corr %d, error %d, %d keys", corr, resp.ErrorCode, len(resp.ApiKeys))
	}
}

func TestKgoClient(t *testing.T) {
	h := newFakeHandler()
	_, addr := startServer(t, Config{}, h)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	for _, version := range []int16{0, 9, 12} { // v9+ flexible
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(version)
		kresp, err := cl.Request(ctx, req)
		if err != nil {
			t.Fatalf("metadata v%d: %v", version, err)
		}
		resp := kresp.(*kmsg.MetadataResponse)
		if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 || resp.Brokers[0].Port != h.port {
			t.Fatalf("metadata v%d brokers: %+v", version, resp.Brokers)
		}
	}
	kresp, err := cl.Request(ctx, kmsg.NewPtrApiVersionsRequest())
	if err != nil {
		t.Fatal(err)
	}
	if got := kresp.(*kmsg.ApiVersionsResponse); got.ErrorCode != 0 || len(got.ApiKeys) != 2 {
		t.Fatalf("api versions: %+v", got)
	}
}

func TestResponseVersionFollowsRequest(t *testing.T) {
	h := newFakeHandler()
	_, addr := startServer(t, Config{}, h)
	c := dial(t, addr)
	for i, version := range []int16{0, 1, 4, 8, 9, 12} {
		c.send(kmsg.NewPtrMetadataRequest(), version, int32(i))
		resp := kmsg.NewPtrMetadataResponse()
		if corr := c.recv(resp, version); corr != int32(i) {
			t.Fatalf("v%d: correlation id %d, want %d", version, corr, i)
		}
		if len(resp.Brokers) != 1 || resp.Brokers[0].Host != h.host {
			t.Fatalf("v%d: brokers %+v", version, resp.Brokers)
		}
	}
}

// Requests of one connection are handled one at a time, in order, and the
// responses come back in request order even when the first one is slow.
func TestPipelinedRequestsInOrder(t *testing.T) {
	h := newFakeHandler()
	_, addr := startServer(t, Config{}, h)
	c := dial(t, addr)
	c.send(metadataFor("block"), 12, 1)
	for i := int32(2); i <= 10; i++ {
		c.send(kmsg.NewPtrMetadataRequest(), 12, i)
	}
	wait.Until(t, 10*time.Second, "first request in handler", func() bool { return h.entered.Load() == 1 })

	// Another connection is not held up by the blocked one.
	roundTrip(t, addr)

	close(h.release)
	for i := int32(1); i <= 10; i++ {
		if corr := c.recv(kmsg.NewPtrMetadataResponse(), 12); corr != i {
			t.Fatalf("response %d has correlation id %d", i, corr)
		}
	}
	if m := h.maxInflight.Load(); m != 2 { // the blocked request + the other connection's
		t.Fatalf("max concurrent handler calls = %d, want 2", m)
	}
	seen := h.seenIDs()
	var ours []int32
	for _, id := range seen {
		if id != 77 {
			ours = append(ours, id)
		}
	}
	for i, id := range ours {
		if id != int32(i+1) {
			t.Fatalf("handling order %v", ours)
		}
	}
}

func TestNilResponseSendsNothing(t *testing.T) {
	_, addr := startServer(t, Config{}, newFakeHandler())
	c := dial(t, addr)
	c.send(metadataFor("silent"), 12, 1)
	c.send(kmsg.NewPtrMetadataRequest(), 12, 2)
	if corr := c.recv(kmsg.NewPtrMetadataResponse(), 12); corr != 2 {
		t.Fatalf("first response has correlation id %d, want 2 (1 sends none)", corr)
	}
}

// KIP-511: an ApiVersions request newer than the server gets a v0 answer
// with UNSUPPORTED_VERSION and the supported keys, in a non-flexible header.
func TestApiVersionsUnsupportedVersion(t *testing.T) {
	h := newFakeHandler()
	_, addr := startServer(t, Config{}, h)
	for _, version := range []int16{5, 99, 32767} {
		t.Run(strconv.Itoa(int(version)), func(t *testing.T) {
			c := dial(t, addr)
			// A future version's body is unknown to us: send arbitrary bytes.
			frame := binary.BigEndian.AppendUint32(nil, 0)
			frame = binary.BigEndian.AppendUint16(frame, apiVersionsKey)
			frame = binary.BigEndian.AppendUint16(frame, uint16(version))
			frame = binary.BigEndian.AppendUint32(frame, 5)
			frame = binary.BigEndian.AppendUint16(frame, 0xffff) // null client id
			frame = append(frame, 0xde, 0xad, 0xbe, 0xef)
			binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
			c.write(frame)
			resp := kmsg.NewPtrApiVersionsResponse()
			if corr := c.recv(resp, 0); corr != 5 {
				t.Fatalf("correlation id %d", corr)
			}
			if resp.ErrorCode != kerr.UnsupportedVersion.Code {
				t.Fatalf("error code %d, want %d", resp.ErrorCode, kerr.UnsupportedVersion.Code)
			}
			want := h.Versions()
			if len(resp.ApiKeys) != len(want) {
				t.Fatalf("api keys %+v", resp.ApiKeys)
			}
			for _, k := range resp.ApiKeys {
				if v := want[k.ApiKey]; v != [2]int16{k.MinVersion, k.MaxVersion} {
					t.Fatalf("key %d: got v%d..v%d, want %v", k.ApiKey, k.MinVersion, k.MaxVersion, v)
				}
			}
			// The connection stays usable: the client retries at a lower version.
			c.send(kmsg.NewPtrApiVersionsRequest(), 3, 6)
			if corr := c.recv(kmsg.NewPtrApiVersionsResponse(), 3); corr != 6 {
				t.Fatalf("retry correlation id %d", corr)
			}
		})
	}
	if h.entered.Load() != 3 {
		t.Fatalf("handler saw %d requests, want only the 3 retries", h.entered.Load())
	}
}

// Each bad input closes its own connection; other connections keep working.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	header := func(key, version int16, corr int32) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(version))
		b = binary.BigEndian.AppendUint32(b, uint32(corr))
		return binary.BigEndian.AppendUint16(b, 0xffff)
	}
	frame := func(body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	sized := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"oversized frame", sized(1025)},
		{"huge frame", sized(0x7fffffff)},
		{"negative size", sized(0xffffffff)},
		{"frame below header", frame([]byte{0, 3, 0, 1})},
		{"empty frame", sized(0)},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"unknown api key", frame(header(9999, 0, 1))},
		{"api key not served", frame(header(0, 3, 1))}, // Produce: kmsg knows it, the handler does not
		{"version above handler", frame(header(3, 13, 1))},
		{"negative version", frame(header(3, -1, 1))},
		{"garbage body", frame(append(header(3, 4, 1), 0x7f, 0xff, 0xff, 0xff))},
		{"truncated client id", frame([]byte{0, 3, 0, 4, 0, 0, 0, 1, 0, 50, 'a'})},
		{"handler error", metadataFrame("fail", 12)},
		{"handler panic", metadataFrame("panic", 12)},
		{"mismatched response", metadataFrame("wrongkey", 12)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHandler()
			_, addr := startServer(t, Config{MaxRequestBytes: 1024}, h)
			good := dial(t, addr)
			good.send(kmsg.NewPtrMetadataRequest(), 12, 1)
			good.recv(kmsg.NewPtrMetadataResponse(), 12)

			bad := dial(t, addr)
			bad.write(tc.bytes)
			bad.expectClosed()

			good.send(kmsg.NewPtrMetadataRequest(), 12, 2)
			if corr := good.recv(kmsg.NewPtrMetadataResponse(), 12); corr != 2 {
				t.Fatalf("correlation id %d", corr)
			}
			roundTrip(t, addr)
		})
	}
}

func metadataFrame(topic string, version int16) []byte {
	req := metadataFor(topic)
	req.SetVersion(version)
	return kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)
}

// A valid request pipelined ahead of garbage is still answered.
func TestResponseBeforeBadFrameIsDelivered(t *testing.T) {
	_, addr := startServer(t, Config{MaxRequestBytes: 1024}, newFakeHandler())
	c := dial(t, addr)
	b := metadataFrame("", 12)
	b = append(b, 0x7f, 0xff, 0xff, 0xff)
	c.write(b)
	if corr := c.recv(kmsg.NewPtrMetadataResponse(), 12); corr != 1 {
		t.Fatalf("correlation id %d", corr)
	}
	c.expectClosed()
}

func TestIdleConnectionClosed(t *testing.T) {
	_, addr := startServer(t, Config{ConnectionsMaxIdle: 50 * time.Millisecond}, newFakeHandler())
	c := dial(t, addr)
	c.expectClosed()
}

// Close cancels the context of an in-flight handler and leaves no goroutine.
func TestCloseCancelsInFlight(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := newFakeHandler()
	s := NewServer(Config{}, h, zaptest.NewLogger(t))
	addr, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	c := dial(t, addr.String())
	c.send(metadataFor("block"), 12, 1)
	idle := dial(t, addr.String())
	wait.Until(t, 10*time.Second, "handler entered", func() bool { return h.entered.Load() == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if h.cancelled.Load() != 1 {
		t.Fatal("in-flight handler context not cancelled")
	}
	c.expectClosed()
	idle.expectClosed()
	if _, err := s.Listen("OTHER", "127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("listen after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	c.nc.Close()
	idle.nc.Close()
}

func TestSeveralListeners(t *testing.T) {
	h := &listenerHandler{}
	s := NewServer(Config{}, h, zaptest.NewLogger(t))
	defer s.Close()
	a, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	// A listener added after Start accepts at once.
	b, err := s.Listen("CONTROLLER", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen("CONTROLLER", "127.0.0.1:0"); !errors.Is(err, ErrDuplicateListener) {
		t.Fatalf("duplicate listener: %v", err)
	}
	if got, ok := s.Addr("CONTROLLER"); !ok || got.String() != b.String() {
		t.Fatalf("Addr(CONTROLLER) = %v, %v", got, ok)
	}
	for name, addr := range map[string]net.Addr{"PLAINTEXT": a, "CONTROLLER": b} {
		c := dial(t, addr.String())
		c.send(kmsg.NewPtrApiVersionsRequest(), 3, 1)
		resp := kmsg.NewPtrApiVersionsResponse()
		c.recv(resp, 3)
		if len(resp.ApiKeys) != 1 || resp.ApiKeys[0].ApiKey != int16(len(name)) {
			t.Fatalf("listener %s: request seen as from %+v", name, resp.ApiKeys)
		}
		if resp.ApiKeys[0].MinVersion != 1 {
			t.Fatalf("listener %s: an unauthenticated connection's request did not carry %s", name, AnonymousPrincipal)
		}
	}
}

// listenerHandler has no Versions: kmsg's ranges apply. It encodes the
// length of the listener name in its answer, and MinVersion 1 when the
// request's principal is AnonymousPrincipal.
type listenerHandler struct{}

func (listenerHandler) Handle(_ context.Context, req *Request) (kmsg.Response, error) {
	resp := req.Body.ResponseKind().(*kmsg.ApiVersionsResponse)
	k := kmsg.NewApiVersionsResponseApiKey()
	k.ApiKey = int16(len(req.Listener))
	if req.Principal == AnonymousPrincipal {
		k.MinVersion = 1
	}
	resp.ApiKeys = append(resp.ApiKeys, k)
	return resp, nil
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"request size", func(c *Config) { c.MaxRequestBytes = 5 }, "socket.request.max.bytes=5"},
		{"idle", func(c *Config) { c.ConnectionsMaxIdle = -time.Second }, "connections.max.idle.ms=-1000"},
		{"queue", func(c *Config) { c.ResponseQueue = 0 }, "ResponseQueue=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.cfg(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error naming %q", err, tc.want)
			}
		})
	}
	s := NewServer(Config{MaxRequestBytes: 3}, listenerHandler{}, zaptest.NewLogger(t))
	defer s.Close()
	if _, err := s.Listen("PLAINTEXT", "127.0.0.1:0"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("listen with bad config: %v", err)
	}
}
