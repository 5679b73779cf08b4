package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata/metrics"
	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/quorum"
)

// quorumConfig maps server.properties onto a quorum voter. The voter port
// (this node's controller.quorum.voters entry, bound by the controller
// listener) carries raft and the Kafka-protocol controller listener; see
// quorum/mux.go and docs/quorum.md.
func quorumConfig(cfg *config.Config, ctrl config.Listener) quorum.Config {
	qcfg := quorum.DefaultConfig()
	qcfg.NodeID = cfg.NodeID
	qcfg.Voters = cfg.QuorumVoters()
	qcfg.Dir = cfg.MetadataLogDir
	qcfg.BindAddr = ctrl.Addr()
	qcfg.BrokerSessionTimeout = cfg.BrokerSessionTimeout
	qcfg.Controller.DefaultNumPartitions = cfg.NumPartitions
	qcfg.Controller.DefaultReplicationFactor = cfg.DefaultReplicationFactor
	qcfg.Controller.UncleanLeaderElection = cfg.UncleanLeaderElectionEnable
	qcfg.Controller.AutoLeaderRebalance = cfg.AutoLeaderRebalanceEnable
	qcfg.Controller.LeaderImbalanceCheckInterval = cfg.LeaderImbalanceCheckInterval
	qcfg.Controller.LeaderImbalancePerBrokerPercentage = cfg.LeaderImbalancePerBrokerPercentage
	qcfg.Network.MaxRequestBytes = cfg.SocketRequestMaxBytes
	qcfg.Network.ConnectionsMaxIdle = cfg.ConnectionsMaxIdle
	if st, ok := cfg.ListenerTLS[ctrl.Name]; ok {
		// Both sides of the voter port: the Kafka-protocol listener, and
		// raft between voters (client certificates required).
		qcfg.Network.TLS = map[string]network.TLSSettings{quorum.ControllerListenerName: st}
		qcfg.RaftTLS = &st
	}
	qcfg.SnapshotMaxBytes = cfg.MetadataMaxRecordBytesBetweenSnapshots
	qcfg.SnapshotMaxInterval = cfg.MetadataMaxSnapshotInterval
	retainSnapshots(&qcfg, cfg.MetadataSnapshotRetain)
	return qcfg
}

// retainSnapshots keeps n snapshots and enough of the log behind the
// newest that it still reaches the oldest, about n-1 snapshot thresholds
// back (snapshots are at most SnapshotThreshold entries apart or a little
// more; the byte and interval triggers only bring them closer):
// `zkraft meta --at` and diff can then rebuild any image from the oldest
// snapshot on, not just at the snapshots themselves.
func retainSnapshots(qcfg *quorum.Config, n int) {
	qcfg.SnapshotRetain = n
	qcfg.TrailingLogs = max(qcfg.TrailingLogs, uint64(n)*qcfg.SnapshotThreshold)
}

// gossipConfig: memberlist gossip among all nodes, seeded with the voters;
// node names are node ids. It rides on the voter port or the inter-broker
// listener (docs/quorum.md), so there is nothing to configure.
func gossipConfig(cfg *config.Config) quorum.GossipConfig {
	gcfg := quorum.DefaultGossipConfig()
	gcfg.NodeID = cfg.NodeID
	gcfg.Seeds = cfg.QuorumVoters()
	return gcfg
}

// serveController runs process.roles=controller: one quorum voter serving
// raft and the controller listener on its voter port until ctx ends. Close
// hands leadership to another voter first when this one is active.
func serveController(ctx context.Context, cfg *config.Config, logger *zap.Logger) (err error) {
	ctrl, ok := cfg.ControllerListener()
	if !ok {
		return errors.New("controller.listener.names: no listener for the controller")
	}
	qcfg := quorumConfig(cfg, ctrl)
	reg := newRegistry(cfg.MetricsListener)
	observe(&qcfg, reg)
	health := metrics.NewHealth()
	if reg != nil {
		health.Set("starting: metadata quorum")
		msrv, lerr := metrics.Listen(cfg.MetricsListener, reg, health, logger)
		if lerr != nil {
			return lerr
		}
		defer closeInto(&err, "close metrics listener", msrv.Close) // last
	}
	mig, err := newControllerMigration(ctx, cfg, &qcfg, logger) // serve_migration.go
	if err != nil {
		return err
	}
	node, err := quorum.New(qcfg, logger, mig.publishers()...)
	if err != nil {
		return err
	}
	if err := addQuorumMetrics(reg, node); err != nil {
		return err
	}
	if err := node.Start(ctx); err != nil {
		return fmt.Errorf("start metadata quorum: %w", err)
	}
	defer closeInto(&err, "close metadata quorum", node.Close)
	if err := mig.start(ctx, node); err != nil {
		return err
	}
	defer mig.close() // before node.Close
	if err := node.StartGossip(gossipConfig(cfg)); err != nil {
		return fmt.Errorf("start gossip: %w", err)
	}
	logger.Info("zkraft controller started",
		zap.Int32("node.id", cfg.NodeID),
		zap.String("cluster.id", node.ClusterID()),
		zap.String("controller", ctrl.String()),
		zap.String("controller.quorum.voters", quorum.FormatVoters(cfg.QuorumVoters())))
	health.AddCheck(controllerReady(node))
	health.Set("")
	<-ctx.Done()
	health.Set("shutting down")
	logger.Info("shutting down")
	resign(node, logger)
	return nil
}

// resign hands raft leadership to another voter before this controller
// exits, so that the quorum does not wait for an election timeout.
func resign(node *quorum.Node, logger *zap.Logger) {
	rctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := node.Resign(rctx); err != nil {
		logger.Warn("leadership not handed over", zap.Error(err))
	}
}
