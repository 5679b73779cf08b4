package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// serveZooKeeper runs a ZooKeeper-mode broker (zookeeper.connect and
// broker.id, no process.roles): the LogManager, the ZooKeeper backend
// (registration in /brokers/ids, the /controller election, the image kept
// from the tree by watches), the replication manager (as in quorum mode;
// its ISR changes go through Backend.AlterPartition, a setData of the
// partition state conditioned on its zkVersion = partition epoch), the
// broker handlers and the socket server. Every ZooKeeper-mode broker is a
// controller candidate, as in Kafka. On SIGTERM it runs controlled shutdown
// (zkControlledShutdown) while still serving, then closes.
func serveZooKeeper(ctx context.Context, cfg *config.Config, logger *zap.Logger) (err error) {
	if cfg.ZooKeeperMigrationEnable {
		return serveMigratingZooKeeper(ctx, cfg, logger) // serve_migrating_zk.go
	}
	endpoints, logs, err := openBroker(cfg, logger)
	if err != nil {
		return err
	}
	defer closeInto(&err, "close logs", logs.Close)

	zcfg := zkConfig(cfg)
	pub := &zkPublisher{}
	backend, err := zk.New(zcfg, logger, pub)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	if err := backend.Start(startCtx); err != nil {
		return fmt.Errorf("start zookeeper backend (zookeeper.connect=%s): %w", cfg.ZooKeeperConnect, err)
	}
	defer func() { _ = backend.Close() }() // ends the session: /brokers/ids/<id> and /controller go at once

	// Followers fetch from leaders; a leader's ISR changes are written as
	// setData of the partition state at its zkVersion (Backend.AlterPartition).
	repl, err := startReplication(cfg, logs, backend, logger)
	if err != nil {
		return err
	}
	defer func() { _ = repl.Close() }() // after the network server and broker, before the logs
	b, err := broker.New(brokerConfig(cfg, backend.ClusterID(), endpoints), logs, backend, logger, broker.WithReplication(repl))
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	if err := backend.WaitCaughtUp(startCtx); err != nil {
		return fmt.Errorf("load the zookeeper tree: %w", err)
	}

	epoch, err := registerZkBroker(startCtx, backend, metadata.BrokerRegistration{
		ID: cfg.NodeID, IncarnationID: metadata.RandomUuid(), Endpoints: endpoints}, cfg.ZooKeeperSessionTimeout, logger)
	if err != nil {
		return err
	}
	// Only a registered broker acts on the image: before registration the
	// tree may still name this broker.id as a leader on behalf of a killed
	// predecessor, whose role it must not take (see registerZkBroker).
	pub.attach(b, backend.Image)
	srv, err := serveKafka(cfg, b, logger)
	if err != nil {
		return err
	}
	listener, _ := cfg.BrokerListener()
	logger.Info("zkraft broker started (zookeeper mode)",
		zap.Int32("broker.id", cfg.NodeID),
		zap.String("cluster.id", backend.ClusterID()),
		zap.String("listener", listener.String()),
		zap.String("zookeeper.connect", cfg.ZooKeeperConnect),
		zap.Int64("broker.epoch", epoch))

	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
	if err := zkControlledShutdown(sctx, cfg, backend, epoch, repl, logger); err != nil {
		logger.Warn("controlled shutdown incomplete", zap.Error(err))
	}
	scancel()
	logger.Info("shutting down")
	if cerr := srv.Close(); cerr != nil {
		logger.Warn("close network server", zap.Error(cerr))
	}
	return nil
}

// registerZkBroker registers /brokers/ids/<id>. When the znode is held by
// another session — typically this broker's previous process, killed with
// kill -9 before ZooKeeper expired its session — it waits for that znode to
// go, up to twice zookeeper.session.timeout.ms (plus a margin for
// ZooKeeper's tick granularity), then fails naming a likely duplicate
// broker.id. Kafka fails at once in this case (KafkaZkClient's checked
// ephemeral: "node already exists and owner does not match current
// session"), so a Kafka broker restarted quickly after kill -9 exits and
// must be restarted again later; waiting gives the same end state without
// the extra restart. The controller sees the old registration's deletion
// and the new one (a new czxid, so a new broker epoch) and treats the
// broker as failed, then started: it moves leadership and ISR membership
// off the old incarnation before the new one serves.
func registerZkBroker(ctx context.Context, backend *zk.Backend, reg metadata.BrokerRegistration, session time.Duration, logger *zap.Logger) (int64, error) {
	deadline := time.Now().Add(2*session + 5*time.Second)
	warned := false
	for {
		epoch, err := backend.RegisterBroker(ctx, reg)
		if err == nil {
			return epoch, nil
		}
		if !errors.Is(err, zk.ErrBrokerIDInUse) {
			return -1, fmt.Errorf("register broker %d: %w", reg.ID, err)
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("broker.id=%d is still registered by another live ZooKeeper session after %s (a duplicate broker.id?): %w",
				reg.ID, time.Since(deadline.Add(-2*session-5*time.Second)).Round(time.Second), err)
		}
		if !warned {
			logger.Warn("broker.id still registered by another session (a previous process not yet expired?); waiting for it to go",
				zap.Int32("broker.id", reg.ID), zap.Duration("zookeeper.session.timeout", session), zap.Error(err))
			warned = true
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("register broker %d: %w (%v)", reg.ID, err, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// zkPublisher forwards the backend's images to the broker, which can only be
// built once the backend knows the cluster id. Images published before
// attach are dropped; attach hands the broker the latest image as one delta
// from the empty image, so it sees everything exactly once, in order.
type zkPublisher struct {
	mu sync.Mutex
	b  *broker.Broker
}

func (p *zkPublisher) Publish(d *metadata.Delta, img *metadata.Image) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.b != nil {
		p.b.Publish(d, img)
	}
}

// attach reads the backend's image under the lock: the backend stores an
// image only after its publishers returned, so a publish waiting on the lock
// has a delta based on exactly that image.
func (p *zkPublisher) attach(b *broker.Broker, current func() *metadata.Image) {
	p.mu.Lock()
	defer p.mu.Unlock()
	img := current()
	d := metadata.NewDelta(metadata.EmptyImage())
	for _, r := range metadata.WriteImage(img) {
		_ = d.Replay(r) // records written from a valid image replay
	}
	d.SetProvenance(img.Offset(), img.Epoch())
	d.SetClusterID(img.ClusterID())
	b.Publish(d, img)
	p.b = b
}

// zkConfig maps server.properties onto the ZooKeeper backend's config
// (zookeeper.connect, zookeeper.*.timeout.ms, broker.id, topic defaults).
func zkConfig(cfg *config.Config) zk.Config {
	zcfg := zk.DefaultConfig()
	zcfg.Servers = cfg.ZooKeeperServers
	zcfg.Chroot = cfg.ZooKeeperChroot
	zcfg.SessionTimeout = cfg.ZooKeeperSessionTimeout
	zcfg.ConnectionTimeout = cfg.ZooKeeperConnectionTimeout
	zcfg.BrokerID = cfg.NodeID
	zcfg.Controller.DefaultNumPartitions = cfg.NumPartitions
	zcfg.Controller.DefaultReplicationFactor = cfg.DefaultReplicationFactor
	return zcfg
}
