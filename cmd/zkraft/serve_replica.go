package main

import (
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
)

// startReplication starts the replication manager of a broker process:
// followers fetch from leaders on inter.broker.listener.name, leaders keep
// the ISR (replica.lag.time.max.ms) through ctrl's AlterPartition. Close it
// after the network server and before the logs.
func startReplication(cfg *config.Config, logs *storage.Manager, ctrl replica.Controller, logger *zap.Logger) (*replica.Manager, error) {
	m, err := replica.New(replicaConfig(cfg), logs, ctrl, logger)
	if err != nil {
		return nil, err
	}
	m.Start()
	return m, nil
}

func replicaConfig(cfg *config.Config) replica.Config {
	rcfg := replica.DefaultConfig()
	rcfg.NodeID = cfg.NodeID
	if cfg.InterBrokerListenerName != "" {
		rcfg.ListenerName = cfg.InterBrokerListenerName
	}
	rcfg.ReplicaLagTime = cfg.ReplicaLagTimeMax
	rcfg.ISRCheckInterval = max(rcfg.ReplicaLagTime/2, 1)
	if rcfg.FetchMaxWait >= rcfg.ReplicaLagTime {
		rcfg.FetchMaxWait = max(rcfg.ReplicaLagTime/2, 1)
	}
	rcfg.MinInsyncReplicas = cfg.MinInsyncReplicas
	rcfg.UncleanLeaderElection = cfg.UncleanLeaderElectionEnable
	return rcfg
}
