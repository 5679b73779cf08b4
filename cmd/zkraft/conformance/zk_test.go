package conformance

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/broker/server/sourcetest"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
	"github.com/zkraft/zkraft/migrate"
	"github.com/zkraft/zkraft/quorum"
)

var (
	_ server.Source  = (*zk.Source)(nil)
	_ server.Epocher = (*zk.Source)(nil)
	_ server.Source  = (*migrate.BrokerSource)(nil)
	_ server.Runner  = (*migrate.BrokerSource)(nil)
	_ server.Epocher = (*migrate.BrokerSource)(nil)
)

// zkSourceConfig is broker sourcetest.BrokerID's ZooKeeper side under
// chroot, with test timeouts.
func zkSourceConfig(addr, chroot string) zk.SourceConfig {
	cfg := zk.DefaultConfig()
	cfg.Servers, cfg.Chroot, cfg.BrokerID = []string{addr}, chroot, sourcetest.BrokerID
	cfg.SessionTimeout, cfg.ConnectionTimeout = 2*time.Second, 20*time.Second
	scfg := zk.SourceConfig{Backend: cfg, Endpoints: sourcetest.Endpoints, Shutdown: zk.DefaultShutdownConfig()}
	scfg.Shutdown.RetryBackoff = 100 * time.Millisecond
	return scfg
}

// freshChroot names a chroot no earlier factory call used: each call is a
// fresh cluster on the one ZooKeeper server of the test.
func freshChroot(prefix string, n *atomic.Int32) string {
	return fmt.Sprintf("/%s%d", prefix, n.Add(1))
}

// TestZooKeeperSource: a ZooKeeper-mode broker (zk.Source), the only broker
// of its cluster, hence its controller.
func TestZooKeeperSource(t *testing.T) {
	noLeaks(t)
	srv := zktest.Start(t)
	var n atomic.Int32
	sourcetest.Run(t, func(t *testing.T) server.Source {
		src, err := zk.NewSource(zkSourceConfig(srv.Addr, freshChroot("zk", &n)), zaptest.NewLogger(t).Named("zk-source"))
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}

// TestMigratingSource: a ZooKeeper-mode broker with the migration flag
// (migrate.BrokerSource) beside a controller quorum that has not migrated
// (no driver: the log is in NONE), so its images and writes are
// ZooKeeper's while it is registered with both.
func TestMigratingSource(t *testing.T) {
	noLeaks(t)
	srv := zktest.Start(t)
	var n atomic.Int32
	sourcetest.Run(t, func(t *testing.T) server.Source {
		chroot := freshChroot("mig", &n)
		return migratingSource(t, srv.Addr, chroot, migratingQuorum(t, srv.Addr, chroot, false))
	})
}

// TestMigratedSource: the same broker once the migration driver of the
// quorum has loaded the tree into the log (MIGRATION): Start returns once
// the source has switched its images to the log (the publisher's chain of
// deltas goes on across the switch), and its writes go to the quorum.
func TestMigratedSource(t *testing.T) {
	noLeaks(t)
	srv := zktest.Start(t)
	var n atomic.Int32
	sourcetest.Run(t, func(t *testing.T) server.Source {
		chroot := freshChroot("migrated", &n)
		return untilMigrated{migratingSource(t, srv.Addr, chroot, migratingQuorum(t, srv.Addr, chroot, true))}
	})
}

// noLeaks checks, after every cleanup of t, that t left no goroutine.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

func migratingSource(t *testing.T, addr, chroot string, node *quorum.Node) *migrate.BrokerSource {
	t.Helper()
	ccfg := quorum.DefaultClientConfig()
	ccfg.NodeID, ccfg.Endpoints = sourcetest.BrokerID, sourcetest.Endpoints
	ccfg.Voters = map[int32]string{3000: node.Addr().String()}
	ccfg.HeartbeatInterval, ccfg.FetchMaxWait, ccfg.RequestTimeout = 50*time.Millisecond, 100*time.Millisecond, 2*time.Second
	src, err := migrate.NewBrokerSource(migrate.BrokerSourceConfig{ZooKeeper: zkSourceConfig(addr, chroot), Quorum: ccfg,
		RecheckInterval: 50 * time.Millisecond}, zaptest.NewLogger(t).Named("migrating-source"))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// untilMigrated is a BrokerSource whose Start also waits until its images
// come from the log and show the broker unfenced by the quorum (which its
// heartbeats do soon after the load): the suite's writes place replicas on
// it.
type untilMigrated struct{ *migrate.BrokerSource }

func (u untilMigrated) Start(ctx context.Context, pub metadata.Publisher) error {
	if err := u.BrokerSource.Start(ctx, pub); err != nil {
		return err
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !u.Migrated() || fenced(u.Image()) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the switch to the log: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

func fenced(img *metadata.Image) bool {
	b, ok := img.Broker(sourcetest.BrokerID)
	return !ok || b.Fenced
}

// migratingQuorum writes a /cluster/id under chroot and starts a single
// voter (node 3000) of that cluster, as controllers started with the
// ZooKeeper keys take ZooKeeper's cluster id; with driver, it runs the
// migration driver, which loads the tree once the broker registered.
func migratingQuorum(t *testing.T, addr, chroot string, driver bool) *quorum.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := migrate.Connect(ctx, []string{addr}, 4*time.Second, 20*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := metadata.RandomUuid().String()
	data := zk.EncodeClusterID(id)
	acl := gozk.WorldACL(gozk.PermAll)
	for _, p := range []string{chroot, chroot + "/cluster"} {
		if _, err := conn.Create(p, nil, 0, acl); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	if _, err := conn.Create(chroot+zk.ClusterIDPath, data, 0, acl); err != nil {
		t.Fatalf("create %s: %v", chroot+zk.ClusterIDPath, err)
	}
	qcfg := quorum.DefaultConfig()
	qcfg.NodeID, qcfg.Dir, qcfg.BindAddr, qcfg.ClusterID = 3000, t.TempDir(), "127.0.0.1:0", id
	qcfg.Voters = map[int32]string{3000: "127.0.0.1:0"}
	qcfg.HeartbeatTimeout, qcfg.ElectionTimeout = 100*time.Millisecond, 100*time.Millisecond
	qcfg.LeaderLeaseTimeout, qcfg.CommitTimeout = 50*time.Millisecond, 5*time.Millisecond
	qcfg.BrokerSessionTimeout = 2 * time.Second
	var pubs []quorum.Publisher
	var drv *migrate.Driver
	if driver {
		mcfg := migrate.DefaultConfig()
		mcfg.Servers, mcfg.Chroot, mcfg.NodeID = []string{addr}, chroot, 3000
		mcfg.SessionTimeout, mcfg.ConnectionTimeout, mcfg.PollInterval = 4*time.Second, 20*time.Second, 50*time.Millisecond
		if drv, err = migrate.New(mcfg, zaptest.NewLogger(t).Named("driver")); err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, drv)
	}
	node, err := quorum.New(qcfg, zaptest.NewLogger(t).Named("controller"), pubs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	if _, err := node.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if drv != nil {
		if err := drv.Start(ctx, node); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = drv.Close() }) // before node.Close
	}
	return node
}
