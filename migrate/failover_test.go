package migrate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
	"github.com/zkraft/zkraft/quorum"
)

// controllers is a quorum of voters 3001.. on TCP, each running a
// migration driver, as process.roles=controller nodes with the migration
// flag do.
type controllers struct {
	t       testing.TB
	nodes   []*quorum.Node
	drivers []*Driver
}

func startControllers(t testing.TB, clusterID, zkAddr, chroot string, n int) *controllers {
	t.Helper()
	voters := map[int32]string{}
	var held []net.Listener // held until all are picked: no port twice
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		voters[int32(3001+i)] = ln.Addr().String()
	}
	for _, ln := range held {
		ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &controllers{t: t}
	for i := 0; i < n; i++ {
		id := int32(3001 + i)
		dcfg := testDriverConfig(zkAddr, chroot)
		dcfg.NodeID = id
		drv, err := New(dcfg, zaptest.NewLogger(t).Named(fmt.Sprint("driver", id)))
		if err != nil {
			t.Fatal(err)
		}
		cfg := quorum.DefaultConfig()
		cfg.NodeID, cfg.Voters, cfg.BindAddr = id, voters, voters[id]
		cfg.Dir, cfg.ClusterID = t.TempDir(), clusterID
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = time.Second, time.Second, 500*time.Millisecond
		cfg.BrokerSessionTimeout = 10 * time.Minute // the test registers brokers but sends no heartbeats
		node, err := quorum.New(cfg, zaptest.NewLogger(t).Named(fmt.Sprint("controller", id)), drv)
		if err != nil {
			t.Fatal(err)
		}
		if err := node.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = node.Close() })
		if err := drv.Start(ctx, node); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = drv.Close() }) // runs before the node's Close
		c.nodes, c.drivers = append(c.nodes, node), append(c.drivers, drv)
	}
	return c
}

// dualWriter is the index of the node whose driver is in DUAL_WRITE among
// the running ones (-1 if none).
func (c *controllers) dualWriter(skip int) int {
	for i, d := range c.drivers {
		if i != skip && d.State() == DualWrite {
			return i
		}
	}
	return -1
}

// write runs op on the active controller among the nodes other than skip,
// retrying while leadership moves.
func (c *controllers) write(skip int, what string, op func(n *quorum.Node) error) {
	c.t.Helper()
	var last error
	wait.For(c.t, 30*time.Second, what, func() error {
		for i, n := range c.nodes {
			if i == skip || !n.IsController() {
				continue
			}
			last = op(n)
			if errors.Is(last, quorum.ErrNotController) {
				return last
			}
			return nil
		}
		return errors.New("no active controller")
	})
	if last != nil {
		c.t.Fatalf("%s: %v", what, last)
	}
}

// TestMigrationControllerFailover: three controllers, a real ZooKeeper.
// After the migration reached DUAL_WRITE the active controller stops
// mirroring, commits changes ZooKeeper never sees, and is closed. The new
// active controller takes /controller over with a higher
// kraftControllerEpoch and a bumped /controller_epoch, resyncs ZooKeeper
// from the log (SYNC_KRAFT_TO_ZK) and keeps dual-writing; a write with the
// old controller's fence (its /controller_epoch and /migration zkVersions)
// is refused and changes nothing.
func TestMigrationControllerFailover(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	b1 := zkBroker(t, srv.Addr, chroot, 1)
	b2 := zkBroker(t, srv.Addr, chroot, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	wait.For(t, 20*time.Second, "both brokers in broker 1's image", func() error {
		if n := b1.Image().BrokerCount(); n != 2 {
			return fmt.Errorf("%d brokers", n)
		}
		return nil
	})
	if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "foo", NumPartitions: 2, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.For(t, 20*time.Second, "foo in broker 2's image", func() error {
		if _, ok := b2.Image().Topic("foo"); !ok {
			return errors.New("no foo")
		}
		return nil
	})
	conn := rawConn(t, srv)

	c := startControllers(t, b1.ClusterID(), srv.Addr, chroot, 3)
	for _, id := range []int32{1, 2} {
		reg := metadata.BrokerRegistration{ID: id, IncarnationID: metadata.RandomUuid(), IsMigratingZkBroker: true,
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}}
		c.write(-1, fmt.Sprint("register broker ", id), func(n *quorum.Node) error {
			if b, ok := n.Image().Broker(id); ok && b.IsMigratingZkBroker {
				return nil // an earlier try committed
			}
			_, err := n.RegisterBroker(ctx, reg)
			return err
		})
	}
	old := -1
	wait.For(t, 60*time.Second, "a controller in DUAL_WRITE", func() error {
		if old = c.dualWriter(-1); old < 0 {
			return errors.New("none yet")
		}
		return nil
	})
	for _, id := range []int32{1, 2} {
		c.write(-1, fmt.Sprint("unfence broker ", id), func(n *quorum.Node) error {
			return n.UnfenceBroker(ctx, id, mustBroker(t, n.Image(), id).Epoch)
		})
	}
	first, _ := readController(t, conn, chroot)
	firstEpoch := readEpoch(t, conn, chroot)
	if !first.IsKRaft() || first.BrokerID != int32(3001+old) {
		t.Fatalf("/controller after the migration: %+v, active controller %d", first, 3001+old)
	}

	// The active controller stops mirroring (its driver is closed: the
	// loop has ended, so its fence can be read), then commits a topic and a
	// leader change that ZooKeeper never sees, and dies.
	c.drivers[old].Close()
	zombie := c.drivers[old].fence
	if zombie == nil {
		t.Fatal("the active controller's driver holds no fence")
	}
	oldNode := c.nodes[old]
	if errs := oldNode.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "unmirrored", NumPartitions: 2, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0]) // still the leader: nothing else ran for it to lose leadership
	}
	foo, _ := oldNode.Image().Topic("foo")
	move := leaderChange(foo, 0)
	if _, err := oldNode.AppendRecords(ctx, "test: move leadership", nil, []metadata.Record{move}); err != nil {
		t.Fatal(err)
	}
	unmirrored, _ := oldNode.Image().Topic("unmirrored")
	if ok, _, _ := conn.Exists(chroot + zk.TopicPath("unmirrored")); ok {
		t.Fatal("a closed driver mirrored a topic")
	}
	if err := oldNode.Close(); err != nil {
		t.Fatal(err)
	}

	cur := -1
	wait.For(t, 60*time.Second, "a new controller in DUAL_WRITE", func() error {
		if cur = c.dualWriter(old); cur < 0 {
			return errors.New("none yet")
		}
		return nil
	})
	// The takeover: persistent /controller with the new raft term, epoch bumped.
	ctrl, cstat := readController(t, conn, chroot)
	if !ctrl.IsKRaft() || ctrl.BrokerID != int32(3001+cur) || ctrl.KRaftControllerEpoch <= first.KRaftControllerEpoch || cstat.EphemeralOwner != 0 {
		t.Fatalf("/controller after the failover: %+v (owner %d), before %+v", ctrl, cstat.EphemeralOwner, first)
	}
	if e := readEpoch(t, conn, chroot); e != firstEpoch+1 {
		t.Fatalf("/controller_epoch %d after the failover, want %d", e, firstEpoch+1)
	}
	// SYNC_KRAFT_TO_ZK: what the old controller committed but never
	// mirrored is in ZooKeeper, stamped with the new controller epoch.
	st := readState(t, conn, chroot, "foo", 0)
	if st.Leader != move.Leader || st.LeaderEpoch != foo.Partitions[0].LeaderEpoch+1 || st.ControllerEpoch != firstEpoch+1 {
		t.Fatalf("foo-0 state after the resync: %+v, want leader %d", st, move.Leader)
	}
	data, _, err := conn.Get(chroot + zk.TopicPath("unmirrored"))
	if err != nil {
		t.Fatalf("unmirrored after the resync: %v", err)
	}
	if tz, err := zk.DecodeTopic(data); err != nil || tz.TopicID != unmirrored.ID {
		t.Fatalf("unmirrored znode %+v (%v), want id %v", tz, err, unmirrored.ID)
	}
	m, _, _, err := newSession(conn, chroot).readMigration()
	if err != nil || m.KRaftControllerID != int32(3001+cur) || m.KRaftControllerEpoch != ctrl.KRaftControllerEpoch ||
		m.KRaftMetadataOffset < oldNode.Image().Offset() {
		t.Fatalf("/migration %+v (%v) after the failover", m, err)
	}

	// Dual-write goes on.
	c.write(old, "create after", func(n *quorum.Node) error {
		if _, ok := n.Image().Topic("after"); ok {
			return nil
		}
		return n.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "after", NumPartitions: 1, ReplicationFactor: 2}}, false)[0]
	})
	after, _ := c.nodes[cur].Image().Topic("after")
	wait.For(t, 30*time.Second, "after and unmirrored in the ZooKeeper brokers' image", func() error {
		for name, id := range map[string]metadata.Uuid{"after": after.ID, "unmirrored": unmirrored.ID} {
			if zt, ok := b2.Image().Topic(name); !ok || zt.ID != id {
				return fmt.Errorf("%s in broker 2: %v %+v", name, ok, zt)
			}
		}
		return nil
	})

	// The old controller's fence is stale: its write is refused whole.
	s := newSession(conn, chroot)
	before, _, _, _ := s.readMigration()
	err = s.writeFenced(zombie, []zk.Op{{Kind: zk.OpCreate, Path: "/zombie", Data: []byte("x"), Tolerant: true}}, 1<<40, int32(first.KRaftControllerEpoch), 1000)
	if !errors.Is(err, ErrControllerMoved) {
		t.Fatalf("write with the old controller's fence: %v, want ErrControllerMoved", err)
	}
	if ok, _, _ := conn.Exists(chroot + "/zombie"); ok {
		t.Fatal("the old controller wrote /zombie")
	}
	if now, _, _, _ := s.readMigration(); now != before {
		t.Fatalf("/migration changed by the old controller: %+v -> %+v", before, now)
	}
	if b1.IsController() || b2.IsController() {
		t.Fatal("a ZooKeeper-mode broker became controller during the failover")
	}
}

// staleQuorum is a leader whose image lags the log it leads until
// LeaderImage returns (a raft leader still applying earlier terms).
type staleQuorum struct {
	mu       sync.Mutex
	img      *metadata.Image
	caughtUp *metadata.Image
	entered  chan struct{}
	release  chan struct{}
	once     sync.Once
	loads    int
}

func (q *staleQuorum) Image() *metadata.Image {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.img
}

func (q *staleQuorum) LeaderTerm() (int64, bool) { return 7, true }

func (q *staleQuorum) LeaderImage(ctx context.Context) (*metadata.Image, int64, error) {
	q.once.Do(func() { close(q.entered) })
	select {
	case <-q.release:
	case <-ctx.Done():
		return nil, -1, ctx.Err()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.img = q.caughtUp
	return q.img, 7, nil
}

func (q *staleQuorum) AppendRecords(context.Context, string, func(*metadata.Image) error, []metadata.Record) (*metadata.Image, error) {
	return nil, errors.New("unexpected AppendRecords")
}

func (q *staleQuorum) AppendTransaction(context.Context, string, func(*metadata.Image) error, [][]metadata.Record, func(int, int)) (*metadata.Image, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.loads++
	return nil, ErrWrongState // what the check says on the caught-up image
}

// TestNewLeaderWaitsForCaughtUpImage: a new leader whose image still says
// PRE_MIGRATION (every broker registered) although the log it leads holds
// the load must neither take ZooKeeper over nor load again; once caught
// up it takes over, resyncs ZooKeeper from the log and dual-writes.
func TestNewLeaderWaitsForCaughtUpImage(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	zkBroker(t, srv.Addr, chroot, 1)
	conn := rawConn(t, srv)
	reg := &metadata.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 3, IsMigratingZkBroker: true}
	stale := image(t, metadata.EmptyImage(), &metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationPreMigration}, reg)
	id := metadata.RandomUuid()
	q := &staleQuorum{img: stale, entered: make(chan struct{}), release: make(chan struct{}),
		caughtUp: image(t, stale, &metadata.TopicRecord{Name: "loaded", TopicID: id},
			&metadata.PartitionRecord{TopicID: id, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
			&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationMigration})}
	drv, err := New(testDriverConfig(srv.Addr, chroot), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := drv.Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	select {
	case <-q.entered:
	case <-ctx.Done():
		t.Fatal("the driver never asked for the caught-up image")
	}
	// The loop is inside LeaderImage: nothing was taken over or loaded.
	if c, _ := readController(t, conn, chroot); c.IsKRaft() {
		t.Fatalf("took /controller over on a stale image: %+v", c)
	}
	if s := drv.State(); s != WaitForControllerQuorum {
		t.Fatalf("driver %s while waiting for the log", s)
	}
	close(q.release)
	wait.For(t, 20*time.Second, "dual-write", func() error {
		if s := drv.State(); s != DualWrite {
			return fmt.Errorf("driver %s", s)
		}
		return nil
	})
	q.mu.Lock()
	loads := q.loads
	q.mu.Unlock()
	if loads != 0 {
		t.Fatalf("%d load attempts on a log that holds the load", loads)
	}
	if c, _ := readController(t, conn, chroot); !c.IsKRaft() || c.KRaftControllerEpoch != 7 {
		t.Fatalf("/controller %+v", c)
	}
	data, _, err := conn.Get(chroot + zk.TopicPath("loaded"))
	if err != nil {
		t.Fatalf("the resync did not write the log's topic: %v", err)
	}
	if tz, err := zk.DecodeTopic(data); err != nil || tz.TopicID != id {
		t.Fatalf("loaded znode %+v (%v)", tz, err)
	}
}
