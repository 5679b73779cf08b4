package quorum

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fastConfig is a single voter on 127.0.0.1:0 with test timeouts.
func fastConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.Dir = dir
	cfg.BindAddr = "127.0.0.1:0"
	cfg.Voters = map[int32]string{1: "127.0.0.1:0"}
	cfg.HeartbeatTimeout = 100 * time.Millisecond
	cfg.ElectionTimeout = 100 * time.Millisecond
	cfg.LeaderLeaseTimeout = 50 * time.Millisecond
	cfg.CommitTimeout = 5 * time.Millisecond
	cfg.SnapshotInterval = time.Hour // tests snapshot explicitly unless they say otherwise
	cfg.SnapshotThreshold = 1 << 20
	return cfg
}

// recorder is a Publisher that keeps what it saw.
type recorder struct {
	mu     sync.Mutex
	deltas []*metadata.Delta
	imgs   []*metadata.Image
}

func (r *recorder) Publish(d *metadata.Delta, img *metadata.Image) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deltas = append(r.deltas, d)
	r.imgs = append(r.imgs, img)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.imgs)
}

func (r *recorder) last() *metadata.Image {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.imgs) == 0 {
		return nil
	}
	return r.imgs[len(r.imgs)-1]
}

func (r *recorder) first() (*metadata.Delta, *metadata.Image) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.imgs) == 0 {
		return nil, nil
	}
	return r.deltas[0], r.imgs[0]
}

// startNode starts a node and closes it at cleanup (Close is idempotent).
func startNode(t testing.TB, cfg Config, pubs ...Publisher) *Node {
	t.Helper()
	n, err := New(cfg, zaptest.NewLogger(t), pubs...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := n.Start(testCtx(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

// waitController waits until n leads.
func waitController(t testing.TB, n *Node) {
	t.Helper()
	wait.Until(t, 20*time.Second, "node to lead", n.IsController)
}

// registerBrokers registers and unfences brokers ids so topics can be placed.
func registerBrokers(t testing.TB, n *Node, ids ...int32) {
	t.Helper()
	ctx := testCtx(t)
	for _, id := range ids {
		epoch, err := n.RegisterBroker(ctx, metadata.BrokerRegistration{
			ID: id, IncarnationID: metadata.RandomUuid(),
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id), SecurityProtocol: 0}},
		})
		if err != nil {
			t.Fatalf("register broker %d: %v", id, err)
		}
		if err := n.UnfenceBroker(ctx, id, epoch); err != nil {
			t.Fatalf("unfence broker %d: %v", id, err)
		}
	}
}

func createTopic(t testing.TB, n *Node, name string, partitions int32) {
	t.Helper()
	errs := n.CreateTopics(testCtx(t), []metadata.CreateTopicSpec{{Name: name, NumPartitions: partitions, ReplicationFactor: -1}}, false)
	if errs[0] != nil {
		t.Fatalf("create topic %s: %v", name, errs[0])
	}
}

// applyRaw appends data as one raft entry on the leader n and returns the FSM result.
func applyRaw(t testing.TB, n *Node, data []byte) *applyResult {
	t.Helper()
	f := n.raft.Load().Apply(data, 10*time.Second)
	if err := f.Error(); err != nil {
		t.Fatalf("raft apply: %v", err)
	}
	res, ok := f.Response().(*applyResult)
	if !ok {
		t.Fatalf("response %T", f.Response())
	}
	return res
}

// cluster is n voters on raft.InmemTransport, each with its own dir.
type cluster struct {
	t     testing.TB
	cfgs  []Config
	nodes []*Node
	trans []*raft.InmemTransport
	recs  []*recorder
}

func inmemAddr(id int32) raft.ServerAddress {
	return raft.ServerAddress("node" + string(rune('0'+id)))
}

func newCluster(t testing.TB, size int, tweak func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t}
	voters := map[int32]string{}
	for i := 1; i <= size; i++ {
		voters[int32(i)] = string(inmemAddr(int32(i)))
	}
	for i := 1; i <= size; i++ {
		cfg := fastConfig(t.TempDir())
		cfg.NodeID = int32(i)
		cfg.Voters = voters
		cfg.HeartbeatTimeout = 250 * time.Millisecond
		cfg.ElectionTimeout = 250 * time.Millisecond
		cfg.LeaderLeaseTimeout = 125 * time.Millisecond
		if tweak != nil {
			tweak(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
		c.nodes = append(c.nodes, nil)
		c.trans = append(c.trans, nil)
		c.recs = append(c.recs, nil)
	}
	for i := range c.cfgs {
		c.start(i)
	}
	return c
}

// start (re)starts node i with a fresh transport connected to all others.
func (c *cluster) start(i int) {
	c.t.Helper()
	_, tr := raft.NewInmemTransport(inmemAddr(c.cfgs[i].NodeID))
	for j, other := range c.trans {
		if j == i || other == nil {
			continue
		}
		tr.Connect(other.LocalAddr(), other)
		other.Connect(tr.LocalAddr(), tr)
	}
	c.trans[i] = tr
	cfg := c.cfgs[i]
	cfg.transport = tr
	c.recs[i] = &recorder{}
	c.nodes[i] = startNode(c.t, cfg, c.recs[i])
}

func (c *cluster) stop(i int) {
	c.t.Helper()
	if err := c.nodes[i].Close(); err != nil {
		c.t.Fatalf("close node %d: %v", i+1, err)
	}
	for j, other := range c.trans {
		if j != i && other != nil {
			other.Disconnect(c.trans[i].LocalAddr())
		}
	}
	c.trans[i] = nil
}

// isolate cuts node i off from every other node, both ways.
func (c *cluster) isolate(i int) {
	c.trans[i].DisconnectAll()
	for j, other := range c.trans {
		if j != i && other != nil {
			other.Disconnect(c.trans[i].LocalAddr())
		}
	}
}

// heal reconnects node i to every running node.
func (c *cluster) heal(i int) {
	for j, other := range c.trans {
		if j != i && other != nil {
			c.trans[i].Connect(other.LocalAddr(), other)
			other.Connect(c.trans[i].LocalAddr(), c.trans[i])
		}
	}
}

// leader waits until exactly one running node among idx leads and returns its index.
func (c *cluster) leader(idx ...int) int {
	c.t.Helper()
	if len(idx) == 0 {
		for i := range c.nodes {
			idx = append(idx, i)
		}
	}
	found := -1
	wait.Until(c.t, 20*time.Second, "a single leader", func() bool {
		found = -1
		for _, i := range idx {
			if c.nodes[i].IsController() {
				if found >= 0 {
					return false
				}
				found = i
			}
		}
		return found >= 0
	})
	return found
}
