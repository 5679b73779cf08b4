package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/quorum"
)

// startupTimeout bounds registration and metadata catch-up at start
// (initial.broker.registration.timeout.ms).
const startupTimeout = 60 * time.Second

// controlledShutdownTimeout bounds controlled shutdown after SIGTERM; a
// spawned broker must exit within 10 s of it.
const controlledShutdownTimeout = 5 * time.Second

// shutdownDrain is how long a broker keeps serving after its leaderships
// moved in a controlled shutdown. Clients that still send to it in that
// time are answered NOT_LEADER_OR_FOLLOWER with the new leader (KIP-951)
// and move at once; a client that instead finds the connection gone
// retries the dead address until its next metadata refresh, which franz-go
// spaces by its metadata min age (5 s). A producer with data sends at least
// once per linger plus a round trip, far below this.
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

// serveBroker runs process.roles=broker: the LogManager, a controller
// client that registers, heartbeats and follows the metadata log from the
// active controller (the voters in controller.quorum.voters are the only
// controller addresses it knows), the broker handlers and the socket server.
// On SIGTERM it runs controlled shutdown before closing.
func serveBroker(ctx context.Context, cfg *config.Config, logger *zap.Logger) (err error) {
	endpoints, logs, err := openBroker(cfg, logger)
	if err != nil {
		return err
	}
	defer closeInto(&err, "close logs", logs.Close)

	pub := &lateBroker{}
	ccfg := clientConfig(cfg, endpoints)
	client, err := quorum.NewClient(ccfg, logger, pub)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	clusterID, err := client.ClusterID(startCtx)
	if err != nil {
		return fmt.Errorf("reach the controller quorum %s: %w", quorum.FormatVoters(ccfg.Voters), err)
	}
	repl, err := startReplication(cfg, logs, client, logger)
	if err != nil {
		return err
	}
	defer func() { _ = repl.Close() }() // after the network server and broker, before the logs
	b, err := broker.New(brokerConfig(cfg, clusterID, endpoints), logs, client, logger, broker.WithReplication(repl))
	if err != nil {
		return err
	}
	pub.b = b
	defer func() { _ = b.Close() }() // the group coordinator; after the network server, before the logs
	return runBroker(ctx, startCtx, cfg, logger, client, b)
}

// runBroker starts the client, waits until the broker caught up and is
// unfenced, serves the broker listeners until ctx ends, then shuts down in
// a controlled way.
func runBroker(ctx, startCtx context.Context, cfg *config.Config, logger *zap.Logger, client *quorum.Client, b *broker.Broker) error {
	if err := client.Start(startCtx); err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	if err := client.WaitCaughtUp(startCtx); err != nil {
		return fmt.Errorf("catch up with the metadata log: %w", err)
	}
	if err := client.WaitUnfenced(startCtx); err != nil {
		return fmt.Errorf("wait to be unfenced by the active controller: %w", err)
	}
	var srv *network.Server
	var err error
	if cfg.HasRole(config.RoleController) {
		srv, err = serveKafka(cfg, b, logger) // combined: the voter port gossips for this node
	} else {
		var stopGossip func()
		srv, stopGossip, err = serveKafkaGossip(cfg, b, logger)
		if err == nil {
			defer stopGossip() // after srv.Close below
		}
	}
	if err != nil {
		return err
	}
	listener, _ := cfg.BrokerListener()
	logger.Info("zkraft broker started",
		zap.Int32("node.id", cfg.NodeID),
		zap.String("cluster.id", client.Image().ClusterID()),
		zap.String("listener", listener.String()),
		zap.String("controller.quorum.voters", quorum.FormatVoters(cfg.QuorumVoters())),
		zap.Int64("broker.epoch", client.BrokerEpoch()))

	<-ctx.Done()
	led := len(metadata.LeadsReplicated(client.Image(), cfg.NodeID))
	logger.Info("shutting down: controlled shutdown", zap.Int("partitions_led", led))
	sctx, cancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
	defer cancel()
	if err := client.Shutdown(sctx); err != nil {
		logger.Warn("controlled shutdown incomplete", zap.Error(err))
	} else {
		drainClients(sctx, led, logger)
	}
	if cerr := srv.Close(); cerr != nil {
		logger.Warn("close network server", zap.Error(cerr))
	}
	return nil
}

// openBroker returns what every broker-serving mode starts from: the
// endpoints it advertises and its started LogManager (the caller closes it).
func openBroker(cfg *config.Config, logger *zap.Logger) ([]metadata.Endpoint, *storage.Manager, error) {
	endpoints, err := advertisedEndpoints(cfg)
	if err != nil {
		return nil, nil, err
	}
	logs, err := openLogs(cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	return endpoints, logs, nil
}

func openLogs(cfg *config.Config, logger *zap.Logger) (*storage.Manager, error) {
	logs, err := storage.Open(storageConfig(cfg), logger.Named("storage"))
	if err != nil {
		return nil, fmt.Errorf("open log dirs %v: %w", cfg.LogDirs, err)
	}
	logs.Start()
	return logs, nil
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
	}
}

func brokerConfig(cfg *config.Config, clusterID string, endpoints []metadata.Endpoint) broker.Config {
	bcfg := broker.DefaultConfig()
	bcfg.NodeID = cfg.NodeID
	bcfg.ClusterID = clusterID
	bcfg.Listeners = endpoints
	bcfg.AutoCreateTopics = cfg.AutoCreateTopicsEnable
	bcfg.NumPartitions = cfg.NumPartitions
	bcfg.DefaultReplicationFactor = cfg.DefaultReplicationFactor
	bcfg.MinInsyncReplicas = cfg.MinInsyncReplicas
	bcfg.LogSegmentBytes = cfg.LogSegmentBytes
	bcfg.LogRetentionMs = cfg.LogRetentionMs
	bcfg.LogRetentionBytes = cfg.LogRetentionBytes
	bcfg.LogMessageTimestampType = cfg.LogMessageTimestampType
	bcfg.OffsetsTopicNumPartitions = cfg.OffsetsTopicNumPartitions
	bcfg.OffsetsTopicReplicationFactor = cfg.OffsetsTopicReplicationFactor
	bcfg.GroupInitialRebalanceDelay = cfg.GroupInitialRebalanceDelay
	return bcfg
}

func clientConfig(cfg *config.Config, endpoints []metadata.Endpoint) quorum.ClientConfig {
	ccfg := quorum.DefaultClientConfig()
	ccfg.NodeID = cfg.NodeID
	ccfg.Voters = cfg.QuorumVoters()
	ccfg.Endpoints = endpoints
	ccfg.HeartbeatInterval = cfg.BrokerHeartbeatInterval
	return ccfg
}

// serveKafka listens on every broker listener and starts the socket server.
func serveKafka(cfg *config.Config, b *broker.Broker, logger *zap.Logger) (*network.Server, error) {
	return serveKafkaSkipping(cfg, newKafkaServer(cfg, b, logger), "")
}

func newKafkaServer(cfg *config.Config, b *broker.Broker, logger *zap.Logger) *network.Server {
	return network.NewServer(networkConfig(cfg), b, logger.Named("network"))
}

func networkConfig(cfg *config.Config) network.Config {
	ncfg := network.DefaultConfig()
	ncfg.MaxRequestBytes = cfg.SocketRequestMaxBytes
	ncfg.ConnectionsMaxIdle = cfg.ConnectionsMaxIdle
	return ncfg
}

// serveKafkaGossip is serveKafka for process.roles=broker with memberlist
// gossip sharing the inter-broker listener's port: connections that open
// with 0xA2 are gossip, all others Kafka (quorum.ListenShared). stop ends
// gossip and closes that port; call it after closing the server.
func serveKafkaGossip(cfg *config.Config, b *broker.Broker, logger *zap.Logger) (srv *network.Server, stop func(), err error) {
	ibl, ok := cfg.BrokerListener()
	if !ok {
		return nil, nil, errors.New("listeners: no inter-broker listener")
	}
	adv, err := cfg.AdvertisedFor(ibl.Name)
	if err != nil {
		return nil, nil, err
	}
	shared, err := quorum.ListenShared(ibl.Addr(), logger)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", ibl, err)
	}
	srv = newKafkaServer(cfg, b, logger)
	if err := srv.Serve(ibl.Name, shared.Kafka()); err != nil {
		_ = srv.Close()
		_ = shared.Close()
		return nil, nil, fmt.Errorf("serve %s: %w", ibl, err)
	}
	if srv, err = serveKafkaSkipping(cfg, srv, ibl.Name); err != nil {
		_ = shared.Close()
		return nil, nil, err
	}
	gcfg := gossipConfig(cfg)
	gcfg.Advertise = adv.Addr()
	g, err := quorum.StartGossip(gcfg, shared, logger)
	if err != nil {
		_ = srv.Close()
		_ = shared.Close()
		return nil, nil, fmt.Errorf("start gossip on %s: %w", ibl, err)
	}
	return srv, func() {
		if err := g.Close(); err != nil {
			logger.Warn("stop gossip", zap.Error(err))
		}
		_ = shared.Close()
	}, nil
}

// serveKafkaSkipping listens on every broker listener but skip and starts srv.
func serveKafkaSkipping(cfg *config.Config, srv *network.Server, skip string) (*network.Server, error) {
	for _, l := range cfg.BrokerListeners() {
		if l.Name == skip {
			continue
		}
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
