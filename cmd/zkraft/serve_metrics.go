package main

import (
	"errors"
	"fmt"

	"github.com/zkraft/zkraft/metadata/metrics"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/quorum"
)

// newRegistry is the node's metrics registry when zkraft.metrics.listener
// is set, nil otherwise (no metrics are kept then).
func newRegistry(addr string) *metrics.Registry {
	if addr == "" {
		return nil
	}
	return metrics.New()
}

// observe is reg as the quorum node's Observer (a nil interface, not a
// typed nil, without metrics).
func observe(qcfg *quorum.Config, reg *metrics.Registry) {
	if reg != nil {
		qcfg.Observer = reg
	}
}

// addQuorumMetrics registers a voter's raft and controller gauges.
func addQuorumMetrics(reg *metrics.Registry, node *quorum.Node) error {
	if reg == nil {
		return nil
	}
	raftStats := func() metrics.RaftStats {
		s := node.Stats()
		out := metrics.RaftStats{State: s.State, Term: s.Term, Leader: s.Leader,
			CommitIndex: s.CommitIndex, AppliedIndex: s.AppliedIndex, LastIndex: s.LastIndex}
		for _, r := range s.Replicas {
			out.Replicas = append(out.Replicas, metrics.RaftReplica{ID: r.ID, Voter: r.Voter, LogEnd: r.LogEnd})
		}
		return out
	}
	if err := reg.AddRaft(raftStats); err != nil {
		return fmt.Errorf("register raft metrics: %w", err)
	}
	if err := reg.AddController(metrics.ControllerState{Image: node.Image, Active: node.IsController}); err != nil {
		return fmt.Errorf("register controller metrics: %w", err)
	}
	return nil
}

// addZooKeeperMetrics registers a ZooKeeper-mode broker's session gauge
// and its controller gauges (every such broker is a controller candidate).
func addZooKeeperMetrics(reg *metrics.Registry, b *zk.Backend) error {
	if reg == nil {
		return nil
	}
	if err := reg.AddZooKeeper(metrics.ZooKeeperState{SessionState: b.SessionState}); err != nil {
		return fmt.Errorf("register zookeeper metrics: %w", err)
	}
	zkState := func() int8 { return metrics.ZkMigrationZK }
	if err := reg.AddController(metrics.ControllerState{Image: b.Image, Active: b.IsController, MigrationState: zkState}); err != nil {
		return fmt.Errorf("register controller metrics: %w", err)
	}
	return nil
}

// controllerReady is a controller-only node's readiness beyond having
// started: a raft leader is known and this voter applied what it knows
// committed.
func controllerReady(node *quorum.Node) func() error {
	return func() error {
		s := node.Stats()
		switch {
		case s.Leader < 0:
			return errors.New("no metadata quorum leader known")
		case s.AppliedIndex < s.CommitIndex:
			return fmt.Errorf("applied metadata log index %d, committed %d", s.AppliedIndex, s.CommitIndex)
		}
		return nil
	}
}
