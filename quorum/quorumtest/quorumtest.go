package quorumtest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/quorum"
)

// Voter is the config of a single voter id on 127.0.0.1:0 keeping its
// files in dir, with test raft timeouts (100 ms heartbeat and election,
// 50 ms lease, 5 ms commit) and snapshots only when the test asks.
func Voter(dir string, id int32) quorum.Config {
	cfg := quorum.DefaultConfig()
	cfg.NodeID = id
	cfg.Dir = dir
	cfg.BindAddr = "127.0.0.1:0"
	cfg.Voters = map[int32]string{id: "127.0.0.1:0"}
	cfg.HeartbeatTimeout = 100 * time.Millisecond
	cfg.ElectionTimeout = 100 * time.Millisecond
	cfg.LeaderLeaseTimeout = 50 * time.Millisecond
	cfg.CommitTimeout = 5 * time.Millisecond
	cfg.SnapshotInterval = time.Hour
	cfg.SnapshotThreshold = 1 << 20
	return cfg
}

// Start builds a node from cfg (logging to the test, named name), starts
// it, waits until it leads and closes it at the test's cleanup.
func Start(t testing.TB, name string, cfg quorum.Config, pubs ...quorum.Publisher) *quorum.Node {
	t.Helper()
	n, err := quorum.New(cfg, zaptest.NewLogger(t).Named(name), pubs...)
	if err != nil {
		t.Fatalf("new quorum node %d: %v", cfg.NodeID, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatalf("start quorum node %d: %v", cfg.NodeID, err)
	}
	t.Cleanup(func() { _ = n.Close() })
	if _, err := n.WaitLeader(ctx); err != nil {
		t.Fatalf("quorum node %d did not lead: %v", cfg.NodeID, err)
	}
	return n
}
