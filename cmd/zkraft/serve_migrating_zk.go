package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/migrate"
	"github.com/zkraft/zkraft/quorum"
)

// serveMigratingZooKeeper runs a ZooKeeper-mode broker with
// zookeeper.metadata.migration.enable=true (step 3 of docs/migration.md):
// everything serveZooKeeper runs, with migrate.BrokerSource as the metadata
// source: the ZooKeeper backend plus a quorum client registering the broker
// with the controller quorum as a migrating ZooKeeper broker, its image and
// writes switched from ZooKeeper to the log once the log holds the
// ZooKeeper data (and back after a rollback).
func serveMigratingZooKeeper(ctx context.Context, cfg *config.Config, logger *zap.Logger) (err error) {
	endpoints, logs, err := openBroker(cfg, logger)
	if err != nil {
		return err
	}
	defer closeInto(&err, "close logs", logs.Close)

	src, err := migrate.NewBrokerSource(migrate.BrokerSourceConfig{
		ZooKeeper: zkSourceConfig(cfg, endpoints),
		Quorum:    clientConfig(cfg, endpoints),
	}, logger)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	defer func() { _ = src.Close() }()

	repl, err := startReplication(cfg, logs, src, logger)
	if err != nil {
		return err
	}
	defer func() { _ = repl.Close() }()
	b, err := broker.New(brokerConfig(cfg, src.ClusterID(), endpoints), logs, src, logger, broker.WithReplication(repl))
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	// As in serveZooKeeper: only a registered broker acts on the image.
	if err := src.Start(startCtx, b); err != nil {
		return err
	}
	epoch := src.BrokerEpoch()
	lctx, lcancel := context.WithCancel(context.Background())
	ldone := make(chan struct{})
	go func() { defer close(ldone); _ = src.Run(lctx) }()
	defer func() { lcancel(); <-ldone }()
	srv, err := serveKafka(cfg, b, logger)
	if err != nil {
		return err
	}
	listener, _ := cfg.BrokerListener()
	logger.Info("zkraft broker started (zookeeper mode, migrating)",
		zap.Int32("broker.id", cfg.NodeID),
		zap.String("cluster.id", src.ClusterID()),
		zap.String("listener", listener.String()),
		zap.String("zookeeper.connect", cfg.ZooKeeperConnect),
		zap.String("controller.quorum.voters", quorum.FormatVoters(cfg.QuorumVoters())),
		zap.Int64("broker.epoch", epoch),
		zap.Bool("metadata_from_log", src.Migrated()))

	<-ctx.Done()
	logger.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
	if moved, err := src.Shutdown(sctx, repl.StopFetching); err != nil {
		logger.Warn("controlled shutdown incomplete", zap.Error(err))
	} else {
		drainClients(sctx, moved, logger)
	}
	scancel()
	if cerr := srv.Close(); cerr != nil {
		logger.Warn("close network server", zap.Error(cerr))
	}
	return nil
}

var _ broker.ControlledShutdowner = (*migrate.BrokerSource)(nil)
