package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
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

// newLogger is the node's logger: INFO and above, with run-time levels per
// logger name (server.LogLevels: BROKER_LOGGER resources).
func newLogger(w io.Writer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), zapcore.DebugLevel)
	return zap.New(server.NewLogLevels(core, zapcore.InfoLevel).Core())
}

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
	cfg.WarnIgnored(logger)
	if cfg.Mode() == config.ModeZooKeeper {
		return serveZooKeeper(ctx, cfg, logger)
	}
	switch {
	case cfg.HasRole("broker") && cfg.HasRole("controller"):
		return serveCombined(ctx, cfg, logger)
	case cfg.HasRole("controller"):
		return serveController(ctx, cfg, logger)
	case cfg.HasRole("broker"):
		return serveBroker(ctx, cfg, logger)
	}
	return fmt.Errorf("process.roles=%s: no role to run", strings.Join(cfg.ProcessRoles, ","))
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

// closeInto runs close and keeps its error in *err unless an earlier error is
// already there: `defer closeInto(&err, "close logs", logs.Close)`.
func closeInto(err *error, what string, close func() error) {
	if cerr := close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("%s: %w", what, cerr)
	}
}
