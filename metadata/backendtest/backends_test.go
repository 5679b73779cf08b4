package backendtest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
	"github.com/zkraft/zkraft/quorum"
)

var _ metadata.Backend = (*quorum.Node)(nil)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestQuorumBackend(t *testing.T) {
	Run(t, func(t *testing.T, pub *Recorder) metadata.Backend {
		cfg := quorum.DefaultConfig()
		addr := freeAddr(t)
		cfg.NodeID, cfg.Dir, cfg.BindAddr = 1, t.TempDir(), addr
		cfg.Voters = map[int32]string{1: addr}
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 100*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
		n, err := quorum.New(cfg, zaptest.NewLogger(t), pub)
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
	})
}

func TestZooKeeperBackend(t *testing.T) {
	s := zktest.Start(t)
	n := 0
	Run(t, func(t *testing.T, pub *Recorder) metadata.Backend {
		n++
		cfg := zk.DefaultConfig()
		cfg.Servers = []string{s.Addr}
		cfg.Chroot = fmt.Sprintf("/conformance-%d", n) // a fresh tree per test
		cfg.BrokerID = 1
		cfg.SessionTimeout = 2 * time.Second
		b, err := zk.New(cfg, zaptest.NewLogger(t), pub)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
