package main

import (
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/quorum"
)

// serverConfig maps server.properties onto broker/server's Config: every
// broker-serving mode starts from it.
func serverConfig(cfg *config.Config, logger *zap.Logger) (server.Config, error) {
	endpoints, err := advertisedEndpoints(cfg)
	if err != nil {
		return server.Config{}, err
	}
	scfg := server.DefaultConfig()
	scfg.Storage = storageConfig(cfg)
	scfg.Replica = replicaConfig(cfg)
	scfg.Broker = brokerConfig(cfg, "", endpoints)
	scfg.Network = networkConfig(cfg)
	scfg.Listeners = nil
	for _, l := range cfg.BrokerListeners() {
		sl := server.Listener{Name: l.Name, Addr: l.Addr()}
		if ls, ok := cfg.ListenerSASL[l.Name]; ok {
			sl.SASLMechanisms, sl.PlainUsers = ls.Mechanisms, ls.PlainUsers
		}
		scfg.Listeners = append(scfg.Listeners, sl)
	}
	scfg.StartupTimeout = startupTimeout
	scfg.ShutdownTimeout = controlledShutdownTimeout
	scfg.Logger = logger
	scfg.Metrics, scfg.MetricsAddr = newRegistry(cfg.MetricsListener), cfg.MetricsListener
	if cfg.Mode() != config.ModeZooKeeper || cfg.ZooKeeperMigrationEnable {
		scfg.StartedFields = append(scfg.StartedFields, zap.String("controller.quorum.voters", quorum.FormatVoters(cfg.QuorumVoters())))
	}
	if cfg.ZooKeeperConnect != "" {
		scfg.StartedFields = append(scfg.StartedFields, zap.String("zookeeper.connect", cfg.ZooKeeperConnect))
	}
	return scfg, nil
}

func storageConfig(cfg *config.Config) storage.Config {
	return storage.Config{
		Dirs:                   cfg.LogDirs,
		SegmentBytes:           cfg.LogSegmentBytes,
		RetentionMs:            cfg.LogRetentionMs,
		RetentionBytes:         cfg.LogRetentionBytes,
		IndexIntervalBytes:     int(cfg.LogIndexIntervalBytes),
		MaxOpenFiles:           cfg.MaxOpenFiles,
		RetentionCheckInterval: cfg.LogRetentionCheckInterval,
		ProducerIDExpiration:   cfg.ProducerIDExpiration,
	}
}

// replicaConfig: followers fetch from leaders on
// inter.broker.listener.name, leaders keep the ISR
// (replica.lag.time.max.ms) through the source's AlterPartition.
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
	rcfg.Security = cfg.InterBrokerSecurity
	return rcfg
}

func brokerConfig(cfg *config.Config, clusterID string, endpoints []metadata.Endpoint) broker.Config {
	bcfg := broker.DefaultConfig()
	bcfg.NodeID = cfg.NodeID
	bcfg.ClusterID = clusterID
	bcfg.Listeners = endpoints
	bcfg.AutoCreateTopics = cfg.AutoCreateTopicsEnable
	bcfg.Authorize = cfg.AuthorizerClassName != ""
	bcfg.ACL.SuperUsers = cfg.SuperUsers
	bcfg.ACL.AllowEveryoneIfNoACLFound = cfg.AllowEveryoneIfNoACLFound
	bcfg.NumPartitions = cfg.NumPartitions
	bcfg.DefaultReplicationFactor = cfg.DefaultReplicationFactor
	bcfg.MinInsyncReplicas = cfg.MinInsyncReplicas
	bcfg.LogSegmentBytes = cfg.LogSegmentBytes
	bcfg.LogRetentionMs = cfg.LogRetentionMs
	bcfg.LogRetentionBytes = cfg.LogRetentionBytes
	bcfg.LogMessageTimestampType = cfg.LogMessageTimestampType
	bcfg.MessageMaxBytes = cfg.MessageMaxBytes
	bcfg.LogCleanupPolicy = cfg.LogCleanupPolicy
	bcfg.CompressionType = cfg.CompressionType
	bcfg.LogCleanerDeleteRetentionMs = cfg.LogCleanerDeleteRetentionMs
	bcfg.LogCleanerMinCleanableRatio = cfg.LogCleanerMinCleanableRatio
	bcfg.StaticKeys = staticBrokerKeys(cfg)
	bcfg.UncleanLeaderElection = cfg.UncleanLeaderElectionEnable
	bcfg.OffsetsTopicNumPartitions = cfg.OffsetsTopicNumPartitions
	bcfg.OffsetsTopicReplicationFactor = cfg.OffsetsTopicReplicationFactor
	bcfg.GroupInitialRebalanceDelay = cfg.GroupInitialRebalanceDelay
	bcfg.FetchSessionCacheSlots = cfg.FetchSessionCacheSlots
	bcfg.TransactionStateNumPartitions = cfg.TransactionStateLogNumPartitions
	bcfg.TransactionStateReplicationFactor = cfg.TransactionStateLogReplicationFactor
	bcfg.TransactionStateMinISR = cfg.TransactionStateLogMinISR
	bcfg.TransactionStateSegmentBytes = cfg.TransactionStateLogSegmentBytes
	bcfg.TransactionMaxTimeout = cfg.TransactionMaxTimeout
	bcfg.TransactionAbortInterval = cfg.TransactionAbortInterval
	bcfg.TransactionalIDExpiration = cfg.TransactionalIDExpiration
	bcfg.TransactionExpireInterval = cfg.TransactionExpireInterval
	bcfg.TransactionVersion = cfg.TransactionVersion
	return bcfg
}

// staticBrokerKeys are the broker keys the file or a flag set, for
// DescribeConfigs' STATIC_BROKER_CONFIG; log.retention.minutes and .hours
// count as log.retention.ms, the key the broker describes.
func staticBrokerKeys(cfg *config.Config) map[string]bool {
	keys := make(map[string]bool, len(cfg.Set))
	for k := range cfg.Set {
		switch k {
		case "log.retention.minutes", "log.retention.hours":
			k = "log.retention.ms"
		}
		keys[k] = true
	}
	return keys
}

func networkConfig(cfg *config.Config) network.Config {
	ncfg := network.DefaultConfig()
	ncfg.MaxRequestBytes = cfg.SocketRequestMaxBytes
	ncfg.ConnectionsMaxIdle = cfg.ConnectionsMaxIdle
	ncfg.SASLMaxReceiveSize = cfg.SASLServerMaxReceiveSize
	for _, l := range cfg.BrokerListeners() {
		if st, ok := cfg.ListenerTLS[l.Name]; ok {
			if ncfg.TLS == nil {
				ncfg.TLS = map[string]network.TLSSettings{}
			}
			ncfg.TLS[l.Name] = st
		}
	}
	return ncfg
}

func clientConfig(cfg *config.Config, endpoints []metadata.Endpoint) quorum.ClientConfig {
	ccfg := quorum.DefaultClientConfig()
	ccfg.NodeID = cfg.NodeID
	ccfg.Voters = cfg.QuorumVoters()
	ccfg.Endpoints = endpoints
	ccfg.HeartbeatInterval = cfg.BrokerHeartbeatInterval
	ccfg.Security = cfg.ControllerSecurity
	return ccfg
}
