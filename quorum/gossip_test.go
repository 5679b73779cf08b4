package quorum

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zkraft/zkraft/metadata/wait"
)

// fastGossip probes every 50 ms: a stopped member is dead within ~0.5 s.
func fastGossip(id int32, seeds map[int32]string) GossipConfig {
	cfg := DefaultGossipConfig()
	cfg.NodeID, cfg.Seeds = id, seeds
	cfg.ProbeInterval, cfg.ProbeTimeout = 50*time.Millisecond, 25*time.Millisecond
	cfg.SuspicionMult, cfg.SuspicionMaxTimeoutMult = 2, 2
	cfg.GossipInterval = 20 * time.Millisecond
	cfg.RejoinInterval = 50 * time.Millisecond
	return cfg
}

func newTestMux(t *testing.T) *mux {
	t.Helper()
	m, err := newMux("127.0.0.1:0", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = m.raft.Close()
	t.Cleanup(m.close)
	return m
}

// TestGossipTransport: two memberlists over the mux transport find each
// other from one seed, and one declares the other dead once it stops.
func TestGossipTransport(t *testing.T) {
	m1, m2 := newTestMux(t), newTestMux(t)
	seeds := map[int32]string{1: m1.ln.Addr().String()} // node 2 knows only node 1
	deadCh := make(chan int32, 4)
	cfg1 := fastGossip(1, seeds)
	cfg1.OnDead = func(id int32) { deadCh <- id }
	g1, err := startGossip(cfg1, m1, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g1.Close()
	g2, err := startGossip(fastGossip(2, seeds), m2, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Gossip{g1, g2} {
		wait.Until(t, 20*time.Second, "both members alive", func() bool { return slices.Equal(g.Members(), []int32{1, 2}) })
	}
	if err := g2.Close(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	select {
	case id := <-deadCh:
		if id != 2 {
			t.Fatalf("member %d declared dead, want 2", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("stopped member 2 never declared dead")
	}
	t.Logf("gossip declared the stopped member dead after %v (50 ms probes)", time.Since(stopped).Round(time.Millisecond))
	if !slices.Equal(g1.Dead(), []int32{2}) || !slices.Equal(g1.Members(), []int32{1}) {
		t.Fatalf("after the stop: members %v, dead %v", g1.Members(), g1.Dead())
	}
}

// TestGossipRejoinAfterRestart: a member that comes back on the same
// address is alive again and no longer dead.
func TestGossipRejoinAfterRestart(t *testing.T) {
	m1 := newTestMux(t)
	seeds := map[int32]string{1: m1.ln.Addr().String()}
	aliveCh := make(chan int32, 8)
	cfg1 := fastGossip(1, seeds)
	cfg1.OnAlive = func(id int32) { aliveCh <- id }
	g1, err := startGossip(cfg1, m1, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g1.Close()
	m2 := newTestMux(t)
	addr2 := m2.ln.Addr().String()
	g2, err := startGossip(fastGossip(2, seeds), m2, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	wait.Until(t, 20*time.Second, "member 2 alive", func() bool { return slices.Equal(g1.Members(), []int32{1, 2}) })
	_ = g2.Close()
	m2.close()
	wait.Until(t, 20*time.Second, "member 2 dead", func() bool { return slices.Equal(g1.Dead(), []int32{2}) })

	m2b, err := newMux(addr2, zaptest.NewLogger(t))
	if err != nil {
		t.Skipf("address %s taken again meanwhile: %v", addr2, err)
	}
	defer m2b.close()
	_ = m2b.raft.Close()
	g2b, err := startGossip(fastGossip(2, seeds), m2b, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g2b.Close()
	wait.Until(t, 20*time.Second, "member 2 alive again", func() bool {
		return slices.Equal(g1.Members(), []int32{1, 2}) && len(g1.Dead()) == 0
	})
}

// TestSharedListenerSorts: a broker's shared listener gives Kafka
// connections their first byte back, closes raft ones, and closes gossip
// ones until gossip runs.
func TestSharedListenerSorts(t *testing.T) {
	s, err := ListenShared("127.0.0.1:0", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, first := range []byte{connRaft, connGossip} {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte{first, 'S'})
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isConnReset(err) {
			t.Fatalf("connection opening with %#x: read %v, want it closed", first, err)
		}
		c.Close()
	}
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte{0x00, 0x00, 0x00, 0x07})
	kc, err := s.Kafka().Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	got := make([]byte, 4)
	if _, err := io.ReadFull(kc, got); err != nil || !bytes.Equal(got, []byte{0, 0, 0, 7}) {
		t.Fatalf("kafka side read %x, %v", got, err)
	}
}

func isConnReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestGossipFencesStoppedBroker: a broker that stops without controlled
// shutdown is fenced by the active controller on gossip's word. The
// session timeout is an hour, so only gossip can fence it.
func TestGossipFencesStoppedBroker(t *testing.T) {
	cfg := tcpVoter(t, t.TempDir())
	cfg.BrokerSessionTimeout = time.Hour
	n := startNode(t, cfg)
	waitController(t, n)
	voters := map[int32]string{1: n.Addr().String()}
	if err := n.StartGossip(DefaultGossipConfig()); err != nil {
		t.Fatal(err)
	}
	if err := n.StartGossip(DefaultGossipConfig()); err == nil {
		t.Fatal("second StartGossip accepted")
	}

	sl, err := ListenShared("127.0.0.1:0", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	gcfg := DefaultGossipConfig()
	gcfg.NodeID, gcfg.Seeds = 2, voters
	g, err := StartGossip(gcfg, sl, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	c := startClient(t, 2, voters)
	if err := c.WaitUnfenced(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, 20*time.Second, "the controller to see broker 2 in gossip", func() bool {
		return slices.Equal(n.gossip.Load().Members(), []int32{1, 2})
	})

	// Stop without Shutdown: heartbeats and gossip end as in a crash.
	_ = c.Close()
	_ = g.Close()
	stopped := time.Now()
	wait.Until(t, 20*time.Second, "broker 2 fenced", func() bool {
		b, _ := n.Image().Broker(2)
		return b.Fenced
	})
	t.Logf("broker fenced %v after it stopped (gossip, default config; session timeout 1h)", time.Since(stopped).Round(time.Millisecond))
}

// TestGossipLogLevels: memberlist's "[LEVEL] memberlist: msg" lines reach
// zap at a matching level, the prefix removed.
func TestGossipLogLevels(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var mute atomic.Bool
	l := newGossipLogger(zap.New(core), &mute)
	for _, tc := range []struct {
		line string
		want zapcore.Level
		msg  string
	}{
		{"[DEBUG] memberlist: Stream connection from=1.2.3.4:5", zapcore.DebugLevel, "Stream connection from=1.2.3.4:5"},
		{"[INFO] memberlist: Suspect 2 has failed", zapcore.InfoLevel, "Suspect 2 has failed"},
		{"[WARN] memberlist: Was able to connect", zapcore.InfoLevel, "Was able to connect"},
		{"[ERR] memberlist: Failed to send ping", zapcore.WarnLevel, "Failed to send ping"},
		{"no level here", zapcore.DebugLevel, "no level here"},
	} {
		l.Print(tc.line)
		all := logs.TakeAll()
		if len(all) != 1 || all[0].Level != tc.want || all[0].Message != tc.msg {
			t.Errorf("%q logged %+v, want %v %q", tc.line, all, tc.want, tc.msg)
		}
	}
	mute.Store(true) // after Close
	l.Print("[ERR] memberlist: late")
	if n := logs.Len(); n != 0 {
		t.Errorf("%d lines logged after mute", n)
	}
}

func TestGossipConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		key   string
		tweak func(*GossipConfig)
	}{
		{"", func(*GossipConfig) {}},
		{"node.id", func(c *GossipConfig) { c.NodeID = -1 }},
		{"controller.quorum.voters", func(c *GossipConfig) { c.Seeds = nil }},
		{"controller.quorum.voters", func(c *GossipConfig) { c.Seeds = map[int32]string{1: "nohostport"} }},
		{"gossip advertise address", func(c *GossipConfig) { c.Advertise = "x" }},
		{"gossip probe interval", func(c *GossipConfig) { c.ProbeInterval = 0 }},
		{"gossip probe timeout", func(c *GossipConfig) { c.ProbeTimeout = c.ProbeInterval }},
		{"gossip suspicion mult", func(c *GossipConfig) { c.SuspicionMult = 0 }},
		{"gossip suspicion max timeout mult", func(c *GossipConfig) { c.SuspicionMaxTimeoutMult = 0 }},
		{"gossip interval", func(c *GossipConfig) { c.GossipInterval = 0 }},
		{"gossip push/pull interval", func(c *GossipConfig) { c.PushPullInterval = -1 }},
		{"gossip rejoin interval", func(c *GossipConfig) { c.RejoinInterval = 0 }},
	} {
		cfg := DefaultGossipConfig()
		tc.tweak(&cfg)
		err := cfg.Validate()
		switch {
		case tc.key == "" && err != nil:
			t.Errorf("default config: %v", err)
		case tc.key != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), tc.key+":")):
			t.Errorf("want an error naming %q, got %v", tc.key, err)
		}
	}
}

func TestGossipAdvertise(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
	for _, tc := range []struct{ adv, want string }{
		{"", "127.0.0.1:4242"},
		{"127.0.0.2:0", "127.0.0.2:4242"},
		{"localhost:9092", ""}, // resolved: checked below
		{"0.0.0.0:9092", "error"},
		{"[::1]:9092", "[::1]:9092"},
	} {
		got, err := gossipAdvertise(tc.adv, bound)
		switch {
		case tc.want == "error":
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%q: got %q %v, want ErrInvalidConfig", tc.adv, got, err)
			}
		case tc.want == "":
			if host, port, _ := net.SplitHostPort(got); err != nil || net.ParseIP(host) == nil || port != "9092" {
				t.Errorf("%q: got %q %v, want an ip:9092", tc.adv, got, err)
			}
		case got != tc.want || err != nil:
			t.Errorf("%q: got %q %v, want %q", tc.adv, got, err, tc.want)
		}
	}
}

func TestGossipFrames(t *testing.T) {
	good := appendGossipPacketHeader(nil, "10.0.0.1:9092")[2:] // after 0xA2 'P'
	good = appendGossipFrame(good, []byte("ping"))
	good = appendGossipFrame(good, bytes.Repeat([]byte{7}, gossipMaxPacket))
	from, frames, err := decodeGossipPackets(good)
	if err != nil || from != "10.0.0.1:9092" || len(frames) != 2 || string(frames[0]) != "ping" || len(frames[1]) != gossipMaxPacket {
		t.Fatalf("round trip: %q %d frames %v", from, len(frames), err)
	}
	hdr := appendGossipPacketHeader(nil, "10.0.0.1:9092")[2:]
	for _, tc := range []struct {
		name string
		in   []byte
		bad  bool // ErrBadGossipFrame, else a truncation
	}{
		{"empty", nil, false},
		{"short sender", []byte{20, '1'}, false},
		{"sender not host:port", append([]byte{3}, "abc"...), true},
		{"zero frame", append(slices.Clone(hdr), 0, 0, 0, 0), true},
		{"frame too long", append(slices.Clone(hdr), 0, 1, 0, 1), true},
		{"truncated frame header", append(slices.Clone(hdr), 0, 0), false},
		{"truncated frame", append(slices.Clone(hdr), 0, 0, 0, 5, 'a'), false},
		{"frame header without body", append(slices.Clone(hdr), 0, 0, 0, 5), false},
	} {
		_, _, err := decodeGossipPackets(tc.in)
		if err == nil || errors.Is(err, ErrBadGossipFrame) != tc.bad {
			t.Errorf("%s: got %v, want bad frame %v", tc.name, err, tc.bad)
		}
	}
}

// decodeGossipPackets reads what follows 0xA2 'P' on a packet connection
// until the input ends at a frame boundary.
func decodeGossipPackets(b []byte) (string, [][]byte, error) {
	r := bytes.NewReader(b)
	from, err := readGossipPacketHeader(r)
	if err != nil {
		return "", nil, err
	}
	var frames [][]byte
	for {
		f, err := readGossipFrame(r)
		if errors.Is(err, io.EOF) {
			return from, frames, nil
		}
		if err != nil {
			return from, frames, err
		}
		frames = append(frames, f)
	}
}

func FuzzGossipPackets(f *testing.F) {
	f.Add(appendGossipFrame(appendGossipPacketHeader(nil, "127.0.0.1:1")[2:], []byte("x")))
	f.Add([]byte{0})
	f.Add([]byte{255, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		from, frames, err := decodeGossipPackets(b)
		if err != nil {
			return
		}
		// A clean decode re-encodes to the same bytes.
		again := appendGossipPacketHeader(nil, from)[2:]
		for _, fr := range frames {
			again = appendGossipFrame(again, fr)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, decoded from %x", again, b)
		}
	})
}
