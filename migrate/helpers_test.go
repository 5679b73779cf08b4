package migrate

import (
	"context"
	"fmt"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
	"github.com/zkraft/zkraft/quorum"
)

// eventually polls cond until it returns nil or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not true after %s: %v", what, timeout, err)
}

// zkBroker starts a ZooKeeper-mode backend for broker id and registers it.
func zkBroker(t testing.TB, addr, chroot string, id int32) *zk.Backend {
	t.Helper()
	cfg := zk.DefaultConfig()
	cfg.Servers, cfg.Chroot, cfg.BrokerID = []string{addr}, chroot, id
	cfg.SessionTimeout, cfg.ConnectionTimeout = 2*time.Second, 20*time.Second
	b, err := zk.New(cfg, zaptest.NewLogger(t).Named(fmt.Sprint("zkbroker", id)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := b.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RegisterBroker(ctx, metadata.BrokerRegistration{ID: id,
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}}); err != nil {
		t.Fatal(err)
	}
	return b
}

// controllerNode starts a single-voter quorum with the ZooKeeper cluster id.
func controllerNode(t testing.TB, clusterID string, pubs ...quorum.Publisher) *quorum.Node {
	t.Helper()
	cfg := quorum.DefaultConfig()
	cfg.NodeID = 3000
	cfg.Voters = map[int32]string{3000: "127.0.0.1:0"}
	cfg.BindAddr = "127.0.0.1:0"
	cfg.Dir = t.TempDir()
	cfg.ClusterID = clusterID
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 200*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
	n, err := quorum.New(cfg, zaptest.NewLogger(t).Named("controller"), pubs...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	if _, err := n.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

func rawConn(t testing.TB, s *zktest.Server) *gozk.Conn {
	t.Helper()
	c, err := Connect(context.Background(), []string{s.Addr}, 10*time.Second, 20*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testDriverConfig(addr, chroot string) Config {
	cfg := DefaultConfig()
	cfg.Servers, cfg.Chroot, cfg.NodeID = []string{addr}, chroot, 3000
	cfg.SessionTimeout, cfg.ConnectionTimeout = 4*time.Second, 20*time.Second
	cfg.BatchSize = 3 // several entries even for a small tree
	cfg.PollInterval = 50 * time.Millisecond
	return cfg
}
