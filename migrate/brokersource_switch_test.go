package migrate

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/brokertest"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestBrokerSourceKeepsTreeAfterRollback: a migrating broker whose image
// came from the quorum's log goes back to the tree when a ZooKeeper-mode
// broker holds /controller (rollback). When that controller broker stops,
// its /brokers/ids znode goes while /controller still names it, then
// /controller goes, until another broker wins the election. In that gap
// the source keeps the tree and sends writes to ZooKeeper: before, it went
// back to the stopped quorum's stale log for the gap and then to the tree
// again, and the replica layer acted on the log's old registrations (a
// follower of a stopped leader; a leader that took the log's ISR at a
// higher partition epoch and then ignored the tree's as older, so it never
// sent the expansion the ZooKeeper ISR needed). A KRaft controller's
// takeover of /controller still switches it to the log.
func TestBrokerSourceKeepsTreeAfterRollback(t *testing.T) {
	srv := zktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := Connect(ctx, []string{srv.Addr}, 10*time.Second, 20*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// /controller names ZooKeeper-mode broker 1 (persistent here, so that
	// it outlives broker 1's session as the real one does for a moment).
	ctrl := zk.EncodeController(zk.ControllerZNode{BrokerID: 1, Timestamp: time.Now().UnixMilli(), KRaftControllerEpoch: -1})
	if _, err := conn.Create(zk.ControllerPath, ctrl, 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	b1 := brokertest.Broker(t, brokertest.Config(srv.Addr, "", 1))

	s := newBrokerSource(zaptest.NewLogger(t).Named("source2"))
	// Its tree side touches nothing but zkImg until pub is set (under mu).
	s.zk = brokertest.Broker(t, brokertest.Config(srv.Addr, "", 2), treeSide{s})
	wait.For(t, 30*time.Second, "broker 2 sees broker 1 and the controller", func() error {
		if _, ok := s.zk.Image().Broker(1); !ok {
			return fmt.Errorf("broker 1 not in the tree")
		}
		if id, _ := s.zk.Controller(); id != 1 {
			return fmt.Errorf("controller %d", id)
		}
		return nil
	})

	// The source as it is after the takeover: image and writes from the
	// log (MIGRATION); the quorum's controllers are stopped from here on.
	logImg := image(t, metadata.EmptyImage(), &metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationMigration})
	pub := &lastPublished{}
	s.mu.Lock()
	s.pub, s.logImg, s.last, s.useLog = pub, logImg, logImg, true
	s.mu.Unlock()
	reconcile := func() {
		s.mu.Lock()
		s.reconcileLocked()
		s.mu.Unlock()
	}
	onTree := func(what string) {
		t.Helper()
		reconcile()
		if s.Migrated() || pub.get() == logImg || s.toQuorum() {
			t.Fatalf("%s: image from the log %v (published the log's: %v), writes to the quorum %v; want the tree and ZooKeeper",
				what, s.Migrated(), pub.get() == logImg, s.toQuorum())
		}
	}
	onTree("ZooKeeper-mode broker 1 is controller (rollback)")

	// Broker 1 stops: its registration goes, /controller still names it.
	_ = b1.Close()
	wait.For(t, 30*time.Second, "broker 1 gone from broker 2's tree", func() error {
		if _, ok := s.zk.Image().Broker(1); ok {
			return fmt.Errorf("broker 1 still registered")
		}
		return nil
	})
	onTree("/controller names a broker no longer registered")

	// A KRaft controller's takeover (a new migration): the log again.
	kraft := zk.EncodeController(zk.ControllerZNode{BrokerID: 3000, Timestamp: time.Now().UnixMilli(), KRaftControllerEpoch: 1})
	if _, err := conn.Set(zk.ControllerPath, kraft, -1); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 30*time.Second, "broker 2 sees the KRaft controller", func() error {
		if !s.zk.KRaftController() {
			id, _ := s.zk.Controller()
			return fmt.Errorf("controller %d, not KRaft", id)
		}
		return nil
	})
	reconcile()
	if !s.Migrated() || pub.get() != logImg || !s.toQuorum() {
		t.Fatalf("after a KRaft controller's takeover: image from the log %v (published the log's: %v), writes to the quorum %v; want both",
			s.Migrated(), pub.get() == logImg, s.toQuorum())
	}
}

// lastPublished is a metadata.Publisher that keeps the last image.
type lastPublished struct {
	mu  sync.Mutex
	img *metadata.Image
}

func (p *lastPublished) Publish(_ *metadata.Delta, img *metadata.Image) {
	p.mu.Lock()
	p.img = img
	p.mu.Unlock()
}

func (p *lastPublished) get() *metadata.Image {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.img
}
