package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/migrate"
)

var (
	_ broker.SecurityController   = (*migrate.BrokerSource)(nil)
	_ broker.QuotaController      = (*migrate.BrokerSource)(nil)
	_ broker.ConfigController     = (*migrate.BrokerSource)(nil)
	_ server.Source               = (*migrate.BrokerSource)(nil)
	_ server.Runner               = (*migrate.BrokerSource)(nil)
	_ server.Epocher              = (*migrate.BrokerSource)(nil)
	_ broker.ControlledShutdowner = (*migrate.BrokerSource)(nil)
)

// serveMigratingZooKeeper runs a ZooKeeper-mode broker with
// zookeeper.metadata.migration.enable=true (step 3 of docs/migration.md) on
// a migrate.BrokerSource: the ZooKeeper backend plus a quorum client that
// registers the broker with the controller quorum as a migrating
// ZooKeeper broker, its images and writes switched from ZooKeeper to the
// log once the log holds the ZooKeeper data (and back after a rollback).
func serveMigratingZooKeeper(ctx context.Context, cfg *config.Config, logger *zap.Logger) error {
	scfg, err := serverConfig(cfg, logger)
	if err != nil {
		return err
	}
	src, err := migrate.NewBrokerSource(migrate.BrokerSourceConfig{
		ZooKeeper: zkSourceConfig(cfg, scfg.Broker.Listeners),
		Quorum:    clientConfig(cfg, scfg.Broker.Listeners),
	}, logger)
	if err != nil {
		return err
	}
	if err := addZooKeeperMetrics(scfg.Metrics, src.ZooKeeper()); err != nil {
		_ = src.Close()
		return err
	}
	return server.Run(ctx, scfg, src)
}
