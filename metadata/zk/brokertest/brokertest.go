package brokertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// Config is the backend config of broker id on the ZooKeeper at addr
// under chroot ("" for none), with a 2 s session and a 20 s connection
// timeout.
func Config(addr, chroot string, id int32) zk.Config {
	cfg := zk.DefaultConfig()
	cfg.Servers, cfg.Chroot, cfg.BrokerID = []string{addr}, chroot, id
	cfg.SessionTimeout, cfg.ConnectionTimeout = 2*time.Second, 20*time.Second
	return cfg
}

// Start builds a backend from cfg (logging to the test as zkbroker<id>),
// starts it, waits until it has caught up with the tree and closes it at
// the test's cleanup. The broker is not registered.
func Start(t testing.TB, cfg zk.Config, pubs ...zk.Publisher) *zk.Backend {
	t.Helper()
	b, err := zk.New(cfg, zaptest.NewLogger(t).Named(fmt.Sprint("zkbroker", cfg.BrokerID)), pubs...)
	if err != nil {
		t.Fatalf("new zookeeper backend for broker %d: %v", cfg.BrokerID, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("start zookeeper backend for broker %d: %v", cfg.BrokerID, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := b.WaitCaughtUp(ctx); err != nil {
		t.Fatalf("zookeeper backend for broker %d did not catch up: %v", cfg.BrokerID, err)
	}
	return b
}

// Broker is Start, then registers the broker with one PLAINTEXT endpoint
// on 127.0.0.1, port 9000+id (nothing listens there).
func Broker(t testing.TB, cfg zk.Config, pubs ...zk.Publisher) *zk.Backend {
	t.Helper()
	b := Start(t, cfg, pubs...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := cfg.BrokerID
	if _, err := b.RegisterBroker(ctx, metadata.BrokerRegistration{ID: id,
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}}); err != nil {
		t.Fatalf("register broker %d: %v", id, err)
	}
	return b
}
