package main

import (
	"context"
	"errors"
	"fmt"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/migrate"
	"github.com/zkraft/zkraft/quorum"
)

// controllerMigration is the migration side of a process.roles=controller
// node (docs/migration.md). With zookeeper.connect and
// zookeeper.metadata.migration.enable=true it runs the migration driver
// (package migrate) and formats the log with ZooKeeper's /cluster/id; with
// zookeeper.metadata.migration.reverse.enable=true it runs the driver of
// the reverse migration (quorum -> ZooKeeper mode).
// Without them it runs migrate.Finalizer: when this controller is active
// and the log is still in MIGRATION, it writes POST_MIGRATION (step 5 of
// the runbook: controllers restarted without the ZooKeeper keys).
type controllerMigration struct {
	drv *migrate.Driver
	fin *migrate.Finalizer
}

// newControllerMigration prepares it before the quorum node exists; qcfg
// gets ZooKeeper's cluster id.
func newControllerMigration(ctx context.Context, cfg *config.Config, qcfg *quorum.Config, logger *zap.Logger) (*controllerMigration, error) {
	m := &controllerMigration{}
	if cfg.ZooKeeperConnect != "" && cfg.ZooKeeperReverseEnable {
		// The reverse migration: the log keeps its own cluster id, which
		// the export writes to (or checks in) ZooKeeper.
		var err error
		m.drv, err = migrate.New(driverConfig(cfg, true), logger)
		return m, err
	}
	if cfg.ZooKeeperConnect == "" || !cfg.ZooKeeperMigrationEnable {
		m.fin = migrate.NewFinalizer(0, logger)
		return m, nil
	}
	conn, err := migrate.Connect(ctx, cfg.ZooKeeperServers, cfg.ZooKeeperSessionTimeout, cfg.ZooKeeperConnectionTimeout, logger)
	if err != nil {
		return nil, fmt.Errorf("zookeeper.connect=%s: %w", cfg.ZooKeeperConnect, err)
	}
	data, _, err := conn.Get(cfg.ZooKeeperChroot + zk.ClusterIDPath)
	conn.Close()
	switch {
	case err == nil:
		id, derr := zk.DecodeClusterID(data)
		if derr != nil {
			return nil, derr
		}
		qcfg.ClusterID = id // the quorum takes over ZooKeeper's cluster
	case errors.Is(err, gozk.ErrNoNode):
		logger.Named("migration").Warn("no /cluster/id in ZooKeeper yet: the quorum's cluster id will not match the ZooKeeper brokers'")
	default:
		return nil, fmt.Errorf("read %s: %w", zk.ClusterIDPath, err)
	}
	if m.drv, err = migrate.New(driverConfig(cfg, false), logger); err != nil {
		return nil, err
	}
	return m, nil
}

// driverConfig is the migration driver's configuration from the node's.
func driverConfig(cfg *config.Config, reverse bool) migrate.Config {
	mcfg := migrate.DefaultConfig()
	mcfg.Servers, mcfg.Chroot, mcfg.NodeID = cfg.ZooKeeperServers, cfg.ZooKeeperChroot, cfg.NodeID
	mcfg.SessionTimeout, mcfg.ConnectionTimeout = cfg.ZooKeeperSessionTimeout, cfg.ZooKeeperConnectionTimeout
	mcfg.Reverse = reverse
	return mcfg
}

// publishers go to quorum.New: the driver mirrors what the node publishes.
func (m *controllerMigration) publishers() []quorum.Publisher {
	if m.drv == nil {
		return nil
	}
	return []quorum.Publisher{m.drv}
}

// start runs the driver, or the finalizer.
func (m *controllerMigration) start(ctx context.Context, node *quorum.Node) error {
	if m.drv != nil {
		if err := m.drv.Start(ctx, node); err != nil {
			return fmt.Errorf("start the migration driver: %w", err)
		}
		return nil
	}
	return m.fin.Start(ctx, node)
}

func (m *controllerMigration) close() {
	if m.fin != nil {
		_ = m.fin.Close()
	}
	if m.drv != nil {
		_ = m.drv.Close()
	}
}
