package quorum

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// ErrBadGossipFrame: a gossip connection sent bytes that are not a frame
// (gossip_transport.go has the layout).
var ErrBadGossipFrame = errors.New("quorum: bad gossip frame")

// GossipConfig configures memberlist gossip among all nodes (controllers
// and brokers) for membership and fast failure detection. It needs no port
// of its own: it rides on the voter port or the broker's Kafka listener.
type GossipConfig struct {
	// NodeID is this node's id (node.id); memberlist node names are the
	// decimal ids.
	NodeID int32
	// Seeds are the nodes joined at start and rejoined whenever one is not
	// a live member (controller.quorum.voters). This node's own entry is
	// skipped.
	Seeds map[int32]string
	// Advertise is the ip:port other nodes reach this node's port at. Empty:
	// the listener's bound address. A host name is resolved once at start.
	Advertise string
	// ProbeInterval, ProbeTimeout, SuspicionMult, SuspicionMaxTimeoutMult,
	// GossipInterval and PushPullInterval are memberlist's (see
	// memberlist.Config); the defaults are DefaultLANConfig with faster
	// probes for a LAN or loopback.
	ProbeInterval           time.Duration
	ProbeTimeout            time.Duration
	SuspicionMult           int
	SuspicionMaxTimeoutMult int
	GossipInterval          time.Duration
	PushPullInterval        time.Duration
	// RejoinInterval is how often seeds missing from the live members are
	// joined again (a node that started before its seeds, clusters that
	// formed apart after restarts).
	RejoinInterval time.Duration
	// OnDead is called with the id of a member gossip declared dead (suspect
	// past the suspicion timeout) or that left; OnAlive when a member joins
	// or comes back. Called one at a time from memberlist's goroutines;
	// they must not block. Either may be nil.
	OnDead  func(id int32)
	OnAlive func(id int32)
}

// DefaultGossipConfig: memberlist's DefaultLANConfig with 200 ms probes
// (suspicion timeout 0.8 s, up to 2.4 s without confirmations).
// A crashed node is typically declared dead 1-2 s after it stopped
// answering (docs/quorum.md has the measurement).
func DefaultGossipConfig() GossipConfig {
	return GossipConfig{
		NodeID:                  1,
		Seeds:                   map[int32]string{1: "127.0.0.1:9093"},
		ProbeInterval:           200 * time.Millisecond,
		ProbeTimeout:            100 * time.Millisecond,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 3,
		GossipInterval:          100 * time.Millisecond,
		PushPullInterval:        15 * time.Second,
		RejoinInterval:          time.Second,
	}
}

// Validate names the bad key.
func (c GossipConfig) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %w", key, fmt.Sprintf(format, args...), ErrInvalidConfig)
	}
	if c.NodeID < 0 {
		return bad("node.id", "%d is negative", c.NodeID)
	}
	if len(c.Seeds) == 0 {
		return bad("controller.quorum.voters", "no gossip seed")
	}
	for id, addr := range c.Seeds {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return bad("controller.quorum.voters", "seed %d address %q: %v", id, addr, err)
		}
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			return bad("gossip advertise address", "%q: %v", c.Advertise, err)
		}
	}
	if c.ProbeInterval <= 0 {
		return bad("gossip probe interval", "%v must be > 0", c.ProbeInterval)
	}
	if c.ProbeTimeout <= 0 || c.ProbeTimeout >= c.ProbeInterval {
		return bad("gossip probe timeout", "%v must be in (0, probe interval %v)", c.ProbeTimeout, c.ProbeInterval)
	}
	if c.SuspicionMult < 1 {
		return bad("gossip suspicion mult", "%d must be >= 1", c.SuspicionMult)
	}
	if c.SuspicionMaxTimeoutMult < 1 {
		return bad("gossip suspicion max timeout mult", "%d must be >= 1", c.SuspicionMaxTimeoutMult)
	}
	if c.GossipInterval <= 0 {
		return bad("gossip interval", "%v must be > 0", c.GossipInterval)
	}
	if c.PushPullInterval < 0 {
		return bad("gossip push/pull interval", "%v must be >= 0", c.PushPullInterval)
	}
	if c.RejoinInterval <= 0 {
		return bad("gossip rejoin interval", "%v must be > 0", c.RejoinInterval)
	}
	return nil
}

// gossipAwarenessMax caps how far Lifeguard stretches the probe interval
// when this node finds itself slow (memberlist's default is 8).
const gossipAwarenessMax = 4

// Gossip is this node's member of the cluster-wide memberlist. It owns
// memberlist's goroutines, the transport's (gossip_transport.go) and one
// rejoin loop; Close stops all of them. Close does not leave the cluster:
// to the others a closed node is a failed one, which is what a broker
// that exits without controlled shutdown is.
type Gossip struct {
	cfg   GossipConfig
	log   *zap.Logger
	trans *gossipTransport
	ml    *memberlist.Memberlist

	mu   sync.Mutex
	dead map[int32]bool // members declared dead or left, until they come back
	// closed silences memberlist's log and events: its probe goroutines
	// may finish a round after Shutdown returns.
	closed atomic.Bool

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// startGossip runs memberlist on the gossip side of m.
func startGossip(cfg GossipConfig, m *mux, logger *zap.Logger) (*Gossip, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	log := logger.Named("gossip")
	adv, err := gossipAdvertise(cfg.Advertise, m.ln.Addr())
	if err != nil {
		return nil, err
	}
	trans, err := newGossipTransport(m.gossip, adv, log.Named("transport"))
	if err != nil {
		return nil, err
	}
	g := &Gossip{cfg: cfg, log: log, trans: trans, dead: map[int32]bool{}, stop: make(chan struct{})}
	mc := memberlist.DefaultLANConfig()
	mc.Name = strconv.FormatInt(int64(cfg.NodeID), 10)
	mc.Transport = trans
	mc.ProbeInterval, mc.ProbeTimeout = cfg.ProbeInterval, cfg.ProbeTimeout
	mc.SuspicionMult, mc.SuspicionMaxTimeoutMult = cfg.SuspicionMult, cfg.SuspicionMaxTimeoutMult
	mc.GossipInterval, mc.PushPullInterval = cfg.GossipInterval, cfg.PushPullInterval
	mc.TCPTimeout = 5 * time.Second
	mc.AwarenessMaxMultiplier = gossipAwarenessMax
	mc.EnableCompression = false         // small LAN packets
	mc.DeadNodeReclaimTime = time.Second // a restarted node may come back on another port
	mc.Events = gossipEvents{g}
	mc.Logger = newGossipLogger(log, &g.closed)
	m.gossipOn.Store(true)
	ml, err := memberlist.Create(mc)
	if err != nil {
		m.gossipOn.Store(false)
		_ = trans.Shutdown()
		return nil, fmt.Errorf("quorum: start gossip on %s: %w", adv, err)
	}
	g.ml = ml
	g.wg.Add(1)
	go g.rejoin()
	log.Info("gossip started", zap.String("advertise", adv), zap.String("seeds", FormatVoters(cfg.Seeds)))
	return g, nil
}

// gossipAdvertise resolves the advertised address (or the bound one) to ip:port.
func gossipAdvertise(adv string, bound net.Addr) (string, error) {
	if adv == "" {
		adv = bound.String()
	}
	host, port, err := net.SplitHostPort(adv)
	if err != nil {
		return "", fmt.Errorf("quorum: gossip advertise address %q: %w: %w", adv, err, ErrInvalidConfig)
	}
	if port == "0" {
		_, port, _ = net.SplitHostPort(bound.String())
	}
	ip := net.ParseIP(host)
	if ip == nil {
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return "", fmt.Errorf("quorum: resolve gossip advertise host %q: %w: %w", host, err, ErrInvalidConfig)
		}
		ip = ips[0]
	}
	if ip.IsUnspecified() {
		return "", fmt.Errorf("quorum: gossip advertise address %q is unspecified: %w", adv, ErrInvalidConfig)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// rejoin joins the seeds that are not live members, at once and then every
// RejoinInterval; while a seed stays unreachable the interval doubles, up
// to 8 times (memberlist logs every failed join).
func (g *Gossip) rejoin() {
	defer g.wg.Done()
	wait, backoff := g.cfg.RejoinInterval, 0
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		wait = g.cfg.RejoinInterval
		if missing := g.missingSeeds(); len(missing) > 0 {
			if n, err := g.ml.Join(missing); err != nil {
				g.log.Debug("gossip join", zap.Strings("seeds", missing), zap.Int("joined", n), zap.Error(err))
			}
			if len(g.missingSeeds()) > 0 {
				backoff = min(max(backoff*2, 1), 8)
				wait *= time.Duration(backoff)
			} else {
				backoff = 0
			}
		} else {
			backoff = 0
		}
		t.Reset(wait)
	}
}

// missingSeeds are the seed addresses whose node is not a live member.
func (g *Gossip) missingSeeds() []string {
	live := map[string]bool{}
	for _, m := range g.ml.Members() {
		live[m.Name] = true
	}
	var out []string
	for _, id := range sortedIDs(g.cfg.Seeds) {
		if id != g.cfg.NodeID && !live[strconv.FormatInt(int64(id), 10)] {
			out = append(out, g.cfg.Seeds[id])
		}
	}
	return out
}

// Members are the ids of the live members (this node included), sorted.
func (g *Gossip) Members() []int32 {
	var ids []int32
	for _, m := range g.ml.Members() {
		if id, err := strconv.ParseInt(m.Name, 10, 32); err == nil {
			ids = append(ids, int32(id))
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Dead are the ids of members declared dead or left and not back, sorted.
func (g *Gossip) Dead() []int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	ids := make([]int32, 0, len(g.dead))
	for id := range g.dead {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Close stops gossip without leaving (see Gossip). It takes about one
// probe interval: memberlist's last probe has to time out.
func (g *Gossip) Close() error {
	var err error
	g.once.Do(func() {
		g.closed.Store(true)
		close(g.stop)
		if serr := g.ml.Shutdown(); serr != nil { // also ends a Join in flight
			err = fmt.Errorf("quorum: stop gossip: %w", serr)
		}
		g.wg.Wait()
		// memberlist's Shutdown does not wait for a probe in flight, which
		// ends when its ack timer fires: one probe interval scaled by the
		// local health score (Lifeguard awareness). Wait that long so that
		// nothing of gossip outlives Close.
		wait := g.cfg.ProbeInterval * time.Duration(g.ml.GetHealthScore()+1)
		t := time.NewTimer(wait + 50*time.Millisecond)
		<-t.C
	})
	return err
}

// gossipEvents turns memberlist's events into OnDead/OnAlive.
type gossipEvents struct{ g *Gossip }

func (e gossipEvents) id(n *memberlist.Node) (int32, bool) {
	id, err := strconv.ParseInt(n.Name, 10, 32)
	if err != nil || int32(id) == e.g.cfg.NodeID || e.g.closed.Load() {
		return 0, false
	}
	return int32(id), true
}

func (e gossipEvents) NotifyJoin(n *memberlist.Node) {
	id, ok := e.id(n)
	if !ok {
		return
	}
	e.g.mu.Lock()
	wasDead := e.g.dead[id]
	delete(e.g.dead, id)
	e.g.mu.Unlock()
	e.g.log.Info("gossip member alive", zap.Int32("member", id), zap.String("addr", n.Address()), zap.Bool("was_dead", wasDead))
	if e.g.cfg.OnAlive != nil {
		e.g.cfg.OnAlive(id)
	}
}

func (e gossipEvents) NotifyLeave(n *memberlist.Node) {
	id, ok := e.id(n)
	if !ok {
		return
	}
	e.g.mu.Lock()
	e.g.dead[id] = true
	e.g.mu.Unlock()
	how := "dead"
	if n.State == memberlist.StateLeft {
		how = "left"
	}
	e.g.log.Info("gossip member "+how, zap.Int32("member", id), zap.String("addr", n.Address()))
	if e.g.cfg.OnDead != nil {
		e.g.cfg.OnDead(id)
	}
}

func (e gossipEvents) NotifyUpdate(*memberlist.Node) {}

// newGossipLogger sends memberlist's log lines ("[LEVEL] memberlist: msg")
// to zap at their level.
// Lines written once *mute is set are dropped.
func newGossipLogger(l *zap.Logger, mute *atomic.Bool) *log.Logger {
	return log.New(gossipLogWriter{l.WithOptions(zap.AddCallerSkip(3)), mute}, "", 0)
}

type gossipLogWriter struct {
	log  *zap.Logger
	mute *atomic.Bool
}

var _ io.Writer = gossipLogWriter{}

func (w gossipLogWriter) Write(p []byte) (int, error) {
	if w.mute.Load() {
		return len(p), nil
	}
	line := bytes.TrimSpace(p)
	level, msg := "", line
	if len(line) > 0 && line[0] == '[' {
		if i := bytes.IndexByte(line, ']'); i > 0 {
			level, msg = string(line[1:i]), bytes.TrimSpace(line[i+1:])
		}
	}
	msg = bytes.TrimPrefix(msg, []byte("memberlist: "))
	switch level {
	case "ERR", "ERROR":
		w.log.Warn(string(msg)) // a peer's trouble, not ours: warn
	case "WARN":
		w.log.Info(string(msg))
	case "INFO":
		w.log.Info(string(msg))
	default:
		w.log.Debug(string(msg))
	}
	return len(p), nil
}

// StartGossip runs memberlist gossip on the voter port (connections that
// open with 0xA2) and makes this node fence brokers gossip declares dead
// when it is the active controller (BrokerDead); heartbeats stay the
// authority for unfencing. cfg.OnDead/OnAlive are replaced. Call after
// Start; Close stops it.
func (n *Node) StartGossip(cfg GossipConfig) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started || n.mux == nil {
		return fmt.Errorf("quorum: gossip needs a started node with its own port: %w", ErrClosed)
	}
	if n.gossip.Load() != nil {
		return errors.New("quorum: gossip already started")
	}
	cfg.NodeID = n.cfg.NodeID
	if cfg.Advertise == "" {
		cfg.Advertise = n.cfg.Voters[n.cfg.NodeID]
	}
	cfg.OnDead = n.BrokerDead
	cfg.OnAlive = n.brokerAlive
	g, err := startGossip(cfg, n.mux, n.log)
	if err != nil {
		return err
	}
	n.gossip.Store(g)
	return nil
}

// brokerAlive: gossip sees broker id again, so it is no reason to fence it
// any more (its heartbeats decide whether it is unfenced).
func (n *Node) brokerAlive(id int32) {
	n.sessMu.Lock()
	defer n.sessMu.Unlock()
	delete(n.gossipDead, id)
}

// reseedGossipDead marks the members gossip holds dead right now (a new
// active controller starts with fresh sessions).
func (n *Node) reseedGossipDead() {
	if g := n.gossip.Load(); g != nil {
		for _, id := range g.Dead() {
			n.BrokerDead(id)
		}
	}
}

// closeGossip stops gossip (Close, before the mux).
func (n *Node) closeGossip() {
	if g := n.gossip.Load(); g != nil {
		if err := g.Close(); err != nil {
			n.log.Warn("stop gossip", zap.Error(err))
		}
	}
}

// SharedListener is a broker's Kafka listener shared with gossip:
// connections that open with 0xA2 go to gossip (StartGossip), all others,
// first byte given back, to Kafka().
type SharedListener struct{ m *mux }

// ListenShared listens on addr (a broker listener's host:port).
func ListenShared(addr string, logger *zap.Logger) (*SharedListener, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	m, err := newMux(addr, logger.Named("mux"))
	if err != nil {
		return nil, err
	}
	_ = m.raft.Close() // no raft on a broker: such connections are closed
	return &SharedListener{m: m}, nil
}

// Kafka is the listener for Kafka connections (network.Server.Serve).
// Closing it stops only that side.
func (s *SharedListener) Kafka() net.Listener { return s.m.kafka }

// Addr is the bound address.
func (s *SharedListener) Addr() net.Addr { return s.m.ln.Addr() }

// Close closes the port and waits for connections still in their first byte.
func (s *SharedListener) Close() error {
	s.m.close()
	return nil
}

// StartGossip runs memberlist gossip on the gossip side of s (a broker).
// cfg.Advertise empty means s's bound address.
func StartGossip(cfg GossipConfig, s *SharedListener, logger *zap.Logger) (*Gossip, error) {
	return startGossip(cfg, s.m, logger)
}
