package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

var (
	_ broker.SecurityController   = (*zk.Source)(nil)
	_ broker.QuotaController      = (*zk.Source)(nil)
	_ broker.ConfigController     = (*zk.Source)(nil)
	_ server.Source               = (*zk.Source)(nil)
	_ server.Epocher              = (*zk.Source)(nil)
	_ broker.ControlledShutdowner = (*zk.Source)(nil)
)

// serveZooKeeper runs a ZooKeeper-mode broker (zookeeper.connect and
// broker.id, no process.roles) on a zk.Source: registration in
// /brokers/ids, the /controller election (every ZooKeeper-mode broker is a
// controller candidate, as in Kafka), the image kept from the tree by
// watches, ISR changes written as setData of the partition state at its
// zkVersion, and ControlledShutdown to the controller on SIGTERM.
func serveZooKeeper(ctx context.Context, cfg *config.Config, logger *zap.Logger) error {
	if cfg.ZooKeeperMigrationEnable {
		return serveMigratingZooKeeper(ctx, cfg, logger) // serve_migrating_zk.go
	}
	scfg, err := serverConfig(cfg, logger)
	if err != nil {
		return err
	}
	src, err := zk.NewSource(zkSourceConfig(cfg, scfg.Broker.Listeners), logger)
	if err != nil {
		return err
	}
	if err := addZooKeeperMetrics(scfg.Metrics, src.Backend()); err != nil {
		_ = src.Close()
		return err
	}
	return server.Run(ctx, scfg, src)
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
			Security:     cfg.InterBrokerSecurity,
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
	zcfg.Controller.AutoLeaderRebalance = cfg.AutoLeaderRebalanceEnable
	zcfg.Controller.LeaderImbalanceCheckInterval = cfg.LeaderImbalanceCheckInterval
	zcfg.Controller.LeaderImbalancePerBrokerPercentage = cfg.LeaderImbalancePerBrokerPercentage
	return zcfg
}
