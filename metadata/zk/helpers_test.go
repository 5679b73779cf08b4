package zk

import (
	"context"
	"fmt"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// testBackend starts a backend for broker id against addr and registers it.
func testBackend(t testing.TB, addr string, id int32, opts ...func(*Config)) *Backend {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Servers = []string{addr}
	cfg.BrokerID = id
	cfg.SessionTimeout = 2 * time.Second
	cfg.ConnectionTimeout = 20 * time.Second
	for _, o := range opts {
		o(&cfg)
	}
	b, err := New(cfg, zaptest.NewLogger(t).Named(fmt.Sprint("b", id)))
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

// rawConn is a plain ZooKeeper client for checking the tree.
func rawConn(t testing.TB, s *zktest.Server) *gozk.Conn {
	t.Helper()
	c, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func controllerOf(t testing.TB, c *gozk.Conn) (int32, error) {
	data, _, err := c.Get(ControllerPath)
	if err != nil {
		return -1, err
	}
	n, err := DecodeController(data)
	return n.BrokerID, err
}

func epochOf(t testing.TB, c *gozk.Conn) int32 {
	data, _, err := c.Get(ControllerEpochPath)
	if err != nil {
		t.Fatal(err)
	}
	e, err := DecodeControllerEpoch(data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitController waits until /controller names one of bs and that backend
// knows it is controller.
func waitController(t testing.TB, raw *gozk.Conn, bs map[int32]*Backend) int32 {
	t.Helper()
	var ctrl int32
	wait.For(t, 20*time.Second, "a controller", func() error {
		id, err := controllerOf(t, raw)
		if err == nil && (bs[id] == nil || !bs[id].IsController()) {
			err = fmt.Errorf("/controller names %d, which does not know it yet", id)
		}
		ctrl = id
		return err
	})
	return ctrl
}
