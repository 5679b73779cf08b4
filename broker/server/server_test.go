package server_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/broker/server/sourcetest"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// orderSource is a Mem that opens its listener itself (to learn the port)
// and records the calls Run makes, with what it sees at each.
type orderSource struct {
	*sourcetest.Mem
	failStart error
	loopErr   chan error // non-nil: a Runner whose loop returns what is sent

	mu     sync.Mutex
	calls  []string
	addr   string
	served bool // a Kafka connection could be made when Close was called
}

func (s *orderSource) record(c string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *orderSource) Start(ctx context.Context, pub metadata.Publisher) error {
	s.record("start")
	if s.failStart != nil {
		return s.failStart
	}
	return s.Mem.Start(ctx, pub)
}

func (s *orderSource) Shutdown(ctx context.Context, stop func()) (int, error) {
	s.record("shutdown")
	return s.Mem.Shutdown(ctx, stop)
}

func (s *orderSource) Close() error {
	s.record("close")
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	if addr != "" {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			s.mu.Lock()
			s.served = true
			s.mu.Unlock()
		}
	}
	return s.Mem.Close()
}

func (s *orderSource) OpenListener(name, addr string) (net.Listener, bool, error) {
	s.record("listen " + name)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	return ln, true, nil
}

func (s *orderSource) snapshot() ([]string, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls), s.addr, s.served
}

// loopSource adds a Runner to orderSource.
type loopSource struct{ *orderSource }

func (s loopSource) Run(ctx context.Context) error {
	s.record("run")
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-s.loopErr:
		return err
	}
}

func testConfig(t *testing.T) server.Config {
	cfg := server.DefaultConfig()
	cfg.Storage.Dirs = []string{t.TempDir()}
	cfg.Listeners = []server.Listener{{Name: "PLAINTEXT", Addr: "127.0.0.1:0"}}
	cfg.Logger = zaptest.NewLogger(t)
	cfg.StartupTimeout = 10 * time.Second
	return cfg
}

func newOrderSource() *orderSource {
	return &orderSource{Mem: sourcetest.NewMem(1, []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}})}
}

// TestRunServesThenStopsInOrder: the broker serves Kafka requests on the
// source's image once Start returned, and on cancel Run shuts down in its
// documented order: controlled shutdown while serving, listeners closed
// before the source, then returns nil.
func TestRunServesThenStopsInOrder(t *testing.T) {
	src := newOrderSource()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, testConfig(t), src) }()

	var addr string
	wait.For(t, 20*time.Second, "listener open", func() error {
		_, addr, _ = src.snapshot()
		if addr == "" {
			return errors.New("no listener yet")
		}
		return nil
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "served", 2, 1
	create.Topics = append(create.Topics, ct)
	seed := cl.SeedBrokers()[0]
	raw, err := seed.Request(rctx, create)
	if err != nil {
		t.Fatal(err)
	}
	if code := raw.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("CreateTopics through the broker: error code %d", code)
	}
	mreq := kmsg.NewPtrMetadataRequest()
	raw, err = seed.Request(rctx, mreq)
	if err != nil {
		t.Fatal(err)
	}
	mresp := raw.(*kmsg.MetadataResponse)
	if len(mresp.Brokers) != 1 || mresp.Brokers[0].NodeID != 1 || mresp.ClusterID == nil || *mresp.ClusterID != "sourcetest-mem-cluster" {
		t.Fatalf("metadata: brokers %+v cluster %v", mresp.Brokers, mresp.ClusterID)
	}
	if len(mresp.Topics) != 1 || len(mresp.Topics[0].Partitions) != 2 {
		t.Fatalf("metadata topics: %+v", mresp.Topics)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	calls, _, served := src.snapshot()
	if want := []string{"start", "listen PLAINTEXT", "shutdown", "close"}; !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	if served {
		t.Fatal("the listener still accepted connections when the source was closed")
	}
	if !src.StoppedFetching() {
		t.Fatal("Shutdown got no working stopFetching")
	}
}

func TestRunStartFailureClosesSource(t *testing.T) {
	src := newOrderSource()
	src.failStart = errors.New("no quorum")
	err := server.Run(context.Background(), testConfig(t), src)
	if err == nil || !errors.Is(err, src.failStart) {
		t.Fatalf("Run: %v, want the Start error", err)
	}
	calls, _, _ := src.snapshot()
	if want := []string{"start", "close"}; !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
}

func TestRunBadConfigClosesSource(t *testing.T) {
	src := newOrderSource()
	cfg := testConfig(t)
	cfg.Storage.SegmentBytes = 1 // storage refuses it
	if err := server.Run(context.Background(), cfg, src); err == nil {
		t.Fatal("Run with a bad storage config succeeded")
	}
	calls, _, _ := src.snapshot()
	if want := []string{"close"}; !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
}

// TestRunLoopFailureStopsNode: a Runner's loop ending while serving stops
// the node (after a controlled shutdown) with ErrSourceStopped.
func TestRunLoopFailureStopsNode(t *testing.T) {
	src := loopSource{newOrderSource()}
	src.loopErr = make(chan error, 1)
	done := make(chan error, 1)
	go func() { done <- server.Run(context.Background(), testConfig(t), src) }()
	wait.For(t, 20*time.Second, "loop running", func() error {
		calls, _, _ := src.snapshot()
		if !slices.Contains(calls, "run") {
			return errors.New("not yet")
		}
		return nil
	})
	boom := errors.New("zookeeper session lost")
	src.loopErr <- boom
	select {
	case err := <-done:
		if !errors.Is(err, server.ErrSourceStopped) || !errors.Is(err, boom) {
			t.Fatalf("Run: %v, want ErrSourceStopped wrapping the loop's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the loop failed")
	}
	calls, _, _ := src.snapshot()
	if want := []string{"start", "listen PLAINTEXT", "run", "shutdown", "close"}; !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*server.Config)
	}{
		{"no listener", func(c *server.Config) { c.Listeners = nil }},
		{"listener without address", func(c *server.Config) { c.Listeners = []server.Listener{{Name: "PLAINTEXT"}} }},
		{"listener twice", func(c *server.Config) {
			c.Listeners = []server.Listener{{Name: "A", Addr: "127.0.0.1:1"}, {Name: "A", Addr: "127.0.0.1:2"}}
		}},
		{"node ids differ", func(c *server.Config) { c.Replica.NodeID = c.Broker.NodeID + 1 }},
		{"no startup timeout", func(c *server.Config) { c.StartupTimeout = 0 }},
		{"no shutdown timeout", func(c *server.Config) { c.ShutdownTimeout = 0 }},
		{"negative drain", func(c *server.Config) { c.ShutdownDrain = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			tc.edit(&cfg)
			if err := cfg.Validate(); !errors.Is(err, server.ErrInvalidConfig) {
				t.Fatalf("Validate: %v, want ErrInvalidConfig", err)
			}
		})
	}
	if err := server.DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
}
