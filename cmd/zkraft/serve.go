package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/network"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/quorum"
)

// parseServeArgs splits `[server.properties] [--override key=value]...` (Kafka's
// kafka-server-start.sh convention; "--override=key=value" is accepted too).
func parseServeArgs(args []string) (path string, overrides []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--override":
			if i+1 >= len(args) {
				return "", nil, errors.New("--override needs key=value")
			}
			i++
			overrides = append(overrides, args[i])
		case strings.HasPrefix(a, "--override="):
			overrides = append(overrides, strings.TrimPrefix(a, "--override="))
		case strings.HasPrefix(a, "-"):
			return "", nil, fmt.Errorf("unknown flag %q (serve takes [server.properties] [--override key=value]...)", a)
		case path == "":
			path = a
		default:
			return "", nil, fmt.Errorf("unexpected argument %q: only one properties file", a)
		}
	}
	return path, overrides, nil
}

func newLogger(w io.Writer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), zapcore.InfoLevel)
	return zap.New(core)
}

// lateBroker lets the quorum node publish to a broker constructed after it (the broker
// needs the node as its Controller). The broker is set before the node starts.
type lateBroker struct{ b *broker.Broker }

func (l *lateBroker) Publish(d *metadata.Delta, img *metadata.Image) { l.b.Publish(d, img) }

// serve runs one node until ctx is cancelled (SIGINT/SIGTERM).
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	path, overrides, err := parseServeArgs(args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(path, overrides)
	if err != nil {
		return err
	}
	logger := newLogger(stderr)
	defer func() { _ = logger.Sync() }()
	for _, k := range cfg.Ignored {
		logger.Warn("configuration key accepted but has no effect in zkraft", zap.String("key", k))
	}
	if cfg.Mode() != config.ModeQuorum {
		return errors.New("zookeeper mode (zookeeper.connect without process.roles) is not implemented yet")
	}
	if !cfg.HasRole("broker") || !cfg.HasRole("controller") {
		return fmt.Errorf("process.roles=%s: only the combined broker,controller role is implemented yet", strings.Join(cfg.ProcessRoles, ","))
	}
	return serveCombined(ctx, cfg, logger)
}

// serveCombined runs a combined broker+controller: the quorum voter, the LogManager, the
// broker handlers and the socket server, wired in that order and closed in reverse.
func serveCombined(ctx context.Context, cfg *config.Config, logger *zap.Logger) (err error) {
	ctrlListener, ok := cfg.ControllerListener()
	if !ok {
		return errors.New("controller.listener.names: no listener for the controller")
	}
	brokerListener, ok := cfg.BrokerListener()
	if !ok {
		return errors.New("listeners: no broker listener")
	}
	endpoints, err := advertisedEndpoints(cfg)
	if err != nil {
		return err
	}

	logs, err := storage.Open(storage.Config{
		Dirs:                   cfg.LogDirs,
		SegmentBytes:           cfg.LogSegmentBytes,
		RetentionMs:            cfg.LogRetentionMs,
		RetentionBytes:         cfg.LogRetentionBytes,
		IndexIntervalBytes:     int(cfg.LogIndexIntervalBytes),
		MaxOpenFiles:           cfg.MaxOpenFiles,
		RetentionCheckInterval: cfg.LogRetentionCheckInterval,
	}, logger.Named("storage"))
	if err != nil {
		return fmt.Errorf("open log dirs %v: %w", cfg.LogDirs, err)
	}
	defer func() {
		if cerr := logs.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close logs: %w", cerr)
		}
	}()
	logs.Start()

	qcfg := quorum.DefaultConfig()
	qcfg.NodeID = cfg.NodeID
	qcfg.Voters = cfg.QuorumVoters()
	qcfg.Dir = cfg.MetadataLogDir
	qcfg.BindAddr = ctrlListener.Addr()
	qcfg.Controller.DefaultNumPartitions = cfg.NumPartitions
	qcfg.Controller.DefaultReplicationFactor = cfg.DefaultReplicationFactor
	pub := &lateBroker{}
	node, err := quorum.New(qcfg, logger, pub)
	if err != nil {
		return err
	}

	bcfg := broker.DefaultConfig()
	bcfg.NodeID = cfg.NodeID
	bcfg.ClusterID = node.ClusterID()
	bcfg.Listeners = endpoints
	bcfg.AutoCreateTopics = cfg.AutoCreateTopicsEnable
	bcfg.NumPartitions = cfg.NumPartitions
	bcfg.DefaultReplicationFactor = cfg.DefaultReplicationFactor
	bcfg.MinInsyncReplicas = cfg.MinInsyncReplicas
	bcfg.LogSegmentBytes = cfg.LogSegmentBytes
	bcfg.LogRetentionMs = cfg.LogRetentionMs
	bcfg.LogRetentionBytes = cfg.LogRetentionBytes
	b, err := broker.New(bcfg, logs, node, logger)
	if err != nil {
		return err
	}
	pub.b = b

	if err := node.Start(ctx); err != nil {
		return fmt.Errorf("start metadata quorum: %w", err)
	}
	defer func() {
		if cerr := node.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close metadata quorum: %w", cerr)
		}
	}()

	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second) // initial.broker.registration.timeout.ms
	defer cancel()
	if _, err := node.WaitLeader(startCtx); err != nil {
		return fmt.Errorf("wait for a metadata quorum leader: %w", err)
	}
	if err := node.WaitCaughtUp(startCtx); err != nil {
		return fmt.Errorf("replay metadata log: %w", err)
	}
	epoch, err := node.RegisterBroker(startCtx, metadata.BrokerRegistration{
		ID:            cfg.NodeID,
		IncarnationID: metadata.RandomUuid(),
		Endpoints:     endpoints,
	})
	if err != nil {
		return fmt.Errorf("register broker %d: %w", cfg.NodeID, err)
	}
	if err := node.UnfenceBroker(startCtx, cfg.NodeID, epoch); err != nil {
		return fmt.Errorf("unfence broker %d: %w", cfg.NodeID, err)
	}

	ncfg := network.DefaultConfig()
	ncfg.MaxRequestBytes = cfg.SocketRequestMaxBytes
	ncfg.ConnectionsMaxIdle = cfg.ConnectionsMaxIdle
	srv := network.NewServer(ncfg, b, logger.Named("network"))
	for _, l := range cfg.BrokerListeners() {
		if _, err := srv.Listen(l.Name, l.Addr()); err != nil {
			_ = srv.Close()
			return fmt.Errorf("listen %s: %w", l, err)
		}
	}
	srv.Start()
	logger.Info("zkraft started",
		zap.Int32("node.id", cfg.NodeID),
		zap.String("cluster.id", node.ClusterID()),
		zap.String("listener", brokerListener.String()),
		zap.String("controller", ctrlListener.String()),
		zap.Int64("broker.epoch", epoch))

	<-ctx.Done()
	logger.Info("shutting down")
	if cerr := srv.Close(); cerr != nil {
		logger.Warn("close network server", zap.Error(cerr))
	}
	return nil
}

// advertisedEndpoints are the broker listeners as clients should reach them.
func advertisedEndpoints(cfg *config.Config) ([]metadata.Endpoint, error) {
	var eps []metadata.Endpoint
	for _, l := range cfg.BrokerListeners() {
		a, err := cfg.AdvertisedFor(l.Name)
		if err != nil {
			return nil, err
		}
		eps = append(eps, metadata.Endpoint{Name: a.Name, Host: a.Host, Port: a.Port, SecurityProtocol: securityProtocol(a.Protocol)})
	}
	if len(eps) == 0 {
		return nil, errors.New("listeners: no broker listener to advertise")
	}
	return eps, nil
}

// securityProtocol maps a protocol name to Kafka's SecurityProtocol id.
func securityProtocol(name string) int16 {
	switch name {
	case "SSL":
		return 1
	case "SASL_PLAINTEXT":
		return 2
	case "SASL_SSL":
		return 3
	default:
		return 0 // PLAINTEXT
	}
}
