package conformance

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/broker/server/sourcetest"
	"github.com/zkraft/zkraft/quorum"
)

// voterConfig is a single voter with test timeouts on addr.
func voterConfig(t *testing.T, id int32, addr string) quorum.Config {
	cfg := quorum.DefaultConfig()
	cfg.NodeID, cfg.Dir, cfg.BindAddr = id, t.TempDir(), addr
	cfg.Voters = map[int32]string{id: addr}
	cfg.HeartbeatTimeout, cfg.ElectionTimeout = 100*time.Millisecond, 100*time.Millisecond
	cfg.LeaderLeaseTimeout, cfg.CommitTimeout = 50*time.Millisecond, 5*time.Millisecond
	cfg.BrokerSessionTimeout = 2 * time.Second
	return cfg
}

func clientConfig(voters map[int32]string) quorum.ClientConfig {
	ccfg := quorum.DefaultClientConfig()
	ccfg.NodeID = sourcetest.BrokerID
	ccfg.Voters = voters
	ccfg.Endpoints = sourcetest.Endpoints
	ccfg.HeartbeatInterval = 50 * time.Millisecond
	ccfg.FetchMaxWait = 100 * time.Millisecond
	ccfg.RequestTimeout = 2 * time.Second
	return ccfg
}

func gossipConfig(id int32, seeds map[int32]string) quorum.GossipConfig {
	gcfg := quorum.DefaultGossipConfig()
	gcfg.NodeID, gcfg.Seeds = id, seeds
	return gcfg
}

// freeAddr is a loopback address that was free a moment ago (the combined
// node's voter port must be known before it binds).
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestBrokerSource: a process.roles=broker source following a single
// controller (node 3000).
func TestBrokerSource(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) server.Source {
		n, err := quorum.New(voterConfig(t, 3000, "127.0.0.1:0"), zaptest.NewLogger(t).Named("controller"))
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
		voters := map[int32]string{3000: n.Addr().String()}
		src, err := quorum.NewBrokerSource(quorum.BrokerSourceConfig{Client: clientConfig(voters), Gossip: gossipConfig(sourcetest.BrokerID, voters)},
			zaptest.NewLogger(t).Named("broker"))
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}

// TestCombinedSource: a process.roles=broker,controller node, alone.
func TestCombinedSource(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) server.Source {
		addr := freeAddr(t)
		voters := map[int32]string{sourcetest.BrokerID: addr}
		src, err := quorum.NewCombinedSource(voterConfig(t, sourcetest.BrokerID, addr), clientConfig(voters),
			gossipConfig(sourcetest.BrokerID, voters), zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
