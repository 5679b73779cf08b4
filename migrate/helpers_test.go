package migrate

import (
	"context"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/brokertest"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
	"github.com/zkraft/zkraft/quorum"
	"github.com/zkraft/zkraft/quorum/quorumtest"
)

// zkBroker starts a ZooKeeper-mode backend for broker id and registers it.
func zkBroker(t testing.TB, addr, chroot string, id int32) *zk.Backend {
	t.Helper()
	return brokertest.Broker(t, brokertest.Config(addr, chroot, id))
}

// controllerNode starts a single-voter quorum (node 3000) with the
// ZooKeeper cluster id.
func controllerNode(t testing.TB, clusterID string, pubs ...quorum.Publisher) *quorum.Node {
	t.Helper()
	cfg := quorumtest.Voter(t.TempDir(), 3000)
	cfg.ClusterID = clusterID
	return quorumtest.Start(t, "controller", cfg, pubs...)
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
