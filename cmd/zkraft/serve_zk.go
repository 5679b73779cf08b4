package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// serveZooKeeper runs a ZooKeeper-mode broker (zookeeper.connect and
// broker.id, no process.roles): the LogManager, the ZooKeeper-mode metadata
// source (zk.Source: registration in /brokers/ids, the /controller
// election, the image kept from the tree by watches), the replication
// manager (as in quorum mode; its ISR changes go through AlterPartition, a
// setData of the partition state conditioned on its zkVersion = partition
// epoch), the broker handlers and the socket server. Every ZooKeeper-mode
// broker is a controller candidate, as in Kafka. On SIGTERM it runs
// controlled shutdown (zk.Source.Shutdown) while still serving, then
// closes.
func serveZooKeeper(ctx context.Context, cfg *config.Config, logger *zap.Logger) (err error) {
	if cfg.ZooKeeperMigrationEnable {
		return serveMigratingZooKeeper(ctx, cfg, logger) // serve_migrating_zk.go
	}
	endpoints, logs, err := openBroker(cfg, logger)
	if err != nil {
		return err
	}
	defer closeInto(&err, "close logs", logs.Close)

	src, err := zk.NewSource(zkSourceConfig(cfg, endpoints), logger)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	defer func() { _ = src.Close() }() // ends the session: /brokers/ids/<id> and /controller go at once

	// Followers fetch from leaders; a leader's ISR changes are written as
	// setData of the partition state at its zkVersion (AlterPartition).
	repl, err := startReplication(cfg, logs, src, logger)
	if err != nil {
		return err
	}
	defer func() { _ = repl.Close() }() // after the network server and broker, before the logs
	b, err := broker.New(brokerConfig(cfg, src.ClusterID(), endpoints), logs, src, logger, broker.WithReplication(repl))
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	// Only a registered broker acts on the image (zk.Source.Register).
	if err := src.Start(startCtx, b); err != nil {
		return err
	}
	epoch := src.BrokerEpoch()
	srv, err := serveKafka(cfg, b, logger)
	if err != nil {
		return err
	}
	listener, _ := cfg.BrokerListener()
	logger.Info("zkraft broker started (zookeeper mode)",
		zap.Int32("broker.id", cfg.NodeID),
		zap.String("cluster.id", src.ClusterID()),
		zap.String("listener", listener.String()),
		zap.String("zookeeper.connect", cfg.ZooKeeperConnect),
		zap.Int64("broker.epoch", epoch))

	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
	if moved, err := src.Shutdown(sctx, repl.StopFetching); err != nil {
		logger.Warn("controlled shutdown incomplete", zap.Error(err))
	} else {
		drainClients(sctx, moved, logger)
	}
	scancel()
	logger.Info("shutting down")
	if cerr := srv.Close(); cerr != nil {
		logger.Warn("close network server", zap.Error(cerr))
	}
	return nil
}

// zkSourceConfig maps server.properties onto the ZooKeeper-mode source:
// the backend (zkConfig), the endpoints to register, controlled.shutdown.*.
func zkSourceConfig(cfg *config.Config, endpoints []metadata.Endpoint) zk.SourceConfig {
	return zk.SourceConfig{
		Backend:   zkConfig(cfg),
		Endpoints: endpoints,
		Shutdown: zk.ShutdownConfig{
			Enable:       cfg.ControlledShutdownEnable,
			MaxRetries:   cfg.ControlledShutdownMaxRetries,
			RetryBackoff: cfg.ControlledShutdownRetryBackoff,
			ListenerName: cfg.InterBrokerListenerName,
		},
	}
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

var _ broker.ControlledShutdowner = (*zk.Source)(nil)
