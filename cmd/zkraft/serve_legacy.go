package main

// The hand-wired start of a broker that the ZooKeeper-mode paths
// (serve_zk.go, serve_migrating_zk.go, shutdown_zk.go) still use until they
// run on broker/server's Run like the quorum modes; delete this file with
// their last use.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// shutdownDrain is server.Config.ShutdownDrain's default, for the paths
// not yet on server.Run.
const shutdownDrain = 500 * time.Millisecond

// drainClients keeps serving for shutdownDrain (or until ctx ends) when the
// controlled shutdown moved moved > 0 leaderships off this broker.
func drainClients(ctx context.Context, moved int, logger *zap.Logger) {
	if moved == 0 {
		return
	}
	logger.Info("leaderships moved; serving a little longer so clients learn the new leaders",
		zap.Int("partitions", moved), zap.Duration("drain", shutdownDrain))
	t := time.NewTimer(shutdownDrain)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// openBroker returns the endpoints a broker advertises and its started
// LogManager (the caller closes it).
func openBroker(cfg *config.Config, logger *zap.Logger) ([]metadata.Endpoint, *storage.Manager, error) {
	endpoints, err := advertisedEndpoints(cfg)
	if err != nil {
		return nil, nil, err
	}
	logs, err := storage.Open(storageConfig(cfg), logger.Named("storage"))
	if err != nil {
		return nil, nil, fmt.Errorf("open log dirs %v: %w", cfg.LogDirs, err)
	}
	logs.Start()
	return endpoints, logs, nil
}

// startReplication starts the replication manager (replicaConfig); close
// it after the network server and before the logs.
func startReplication(cfg *config.Config, logs *storage.Manager, ctrl replica.Controller, logger *zap.Logger) (*replica.Manager, error) {
	m, err := replica.New(replicaConfig(cfg), logs, ctrl, logger)
	if err != nil {
		return nil, err
	}
	m.Start()
	return m, nil
}

// serveKafka listens on every broker listener and starts the socket server.
func serveKafka(cfg *config.Config, b *broker.Broker, logger *zap.Logger) (*network.Server, error) {
	srv := network.NewServer(networkConfig(cfg), b, logger.Named("network"))
	for _, l := range cfg.BrokerListeners() {
		if _, err := srv.Listen(l.Name, l.Addr()); err != nil {
			_ = srv.Close()
			return nil, fmt.Errorf("listen %s: %w", l, err)
		}
	}
	if len(cfg.BrokerListeners()) == 0 {
		_ = srv.Close()
		return nil, errors.New("listeners: no broker listener")
	}
	srv.Start()
	return srv, nil
}
