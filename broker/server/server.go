package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata/metrics"
	"github.com/zkraft/zkraft/metadata/network"
)

// Run runs one broker on src until ctx ends, then shuts it down in a
// controlled way and returns nil; or returns the first error that stops
// it (at start, or a Runner source's loop).
//
// Start order — each step needs the ones before it:
//
//  1. storage: open cfg.Storage's log dirs (recovery) and start retention;
//  2. replication: the replica manager, its ISR changes sent to src;
//  3. broker: the request handlers, their controller writes sent to src;
//  4. source: src.Start(broker) within cfg.StartupTimeout — registered,
//     caught up (the broker has its first image), unfenced;
//  5. listeners: the network server on every broker listener
//     (ListenerOpener sources open theirs), then src's loop (Runner).
//
// Close order, after ctx ends (or the loop fails) — the reverse:
//
//  1. controlled shutdown while still serving: src.Shutdown (with the
//     replica manager's StopFetching), then cfg.ShutdownDrain when
//     leaderships moved, within cfg.ShutdownTimeout;
//  2. listeners: the network server (no request runs after it);
//  3. source: its loop's ctx ends, then src.Close (no Publish after it);
//  4. broker: the group coordinator;
//  5. replication: fetchers and the ISR goroutine;
//  6. storage: the logs, flushed and marked clean (last, so nothing writes
//     to a closed log);
//  7. the metrics listener (Config.MetricsAddr), opened first of all so
//     that /healthz answers and /readyz says why the node is not ready
//     (starting, then shutting down) for the whole run.
//
// A step that fails at start closes the steps before it, in this order.
func Run(ctx context.Context, cfg Config, src Source) (err error) {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if src == nil {
		return fmt.Errorf("%w: no metadata source", ErrInvalidConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	// 0. metrics listener (closed last: /healthz answers until the end)
	m := &nodeMetrics{reg: cfg.Metrics}
	if cfg.Metrics != nil && cfg.MetricsAddr != "" {
		m.health = metrics.NewHealth()
		m.health.Set("starting: opening logs, waiting for the metadata source")
		msrv, lerr := metrics.Listen(cfg.MetricsAddr, cfg.Metrics, m.health, log)
		if lerr != nil {
			_ = src.Close()
			return lerr
		}
		defer closeInto(&err, "close metrics listener", msrv.Close) // close 7
	}
	// 1. storage
	logs, err := storage.Open(cfg.Storage, log)
	if err != nil {
		_ = src.Close()
		return fmt.Errorf("open log dirs %v: %w", cfg.Storage.Dirs, err)
	}
	logs.Start()
	defer closeInto(&err, "close logs", logs.Close) // close 6
	// 2. replication
	repl, err := replica.New(cfg.Replica, logs, m.controller(src), log, m.replicaOptions()...)
	if err != nil {
		_ = src.Close()
		return err
	}
	repl.Start()
	defer warnClose(log, "close replication", repl.Close) // close 5
	// 3. broker
	// The transaction coordinator reaches partition leaders as the
	// replica fetchers reach theirs.
	opts := []broker.Option{broker.WithReplication(repl), broker.WithInterBroker(cfg.Replica.ListenerName, cfg.Replica.Security)}
	if cfg.Metrics != nil {
		opts = append(opts, broker.WithRequestObserver(cfg.Metrics))
	}
	if ll, ok := LogLevelsOf(cfg.Logger); ok {
		opts = append(opts, broker.WithLoggerLevels(ll)) // BROKER_LOGGER resources
	}
	b, err := broker.New(cfg.Broker, logs, src, log, opts...)
	if err != nil {
		_ = src.Close()
		return err
	}
	if err := m.attach(cfg, b, logs); err != nil {
		_ = b.Close()
		_ = src.Close()
		return fmt.Errorf("register broker metrics: %w", err)
	}
	defer warnClose(log, "close broker", b.Close) // close 4
	// 4. source
	defer closeInto(&err, "close metadata source", src.Close) // close 3
	startCtx, cancel := context.WithTimeout(ctx, cfg.StartupTimeout)
	defer cancel()
	if err := src.Start(startCtx, b); err != nil {
		return fmt.Errorf("start metadata source: %w", err)
	}
	// 5. listeners
	srv, err := listen(cfg, b, src, log)
	if err != nil {
		return err
	}
	started(cfg, b, src, log)
	m.setReady("")
	return serve(ctx, cfg, src, srv, repl, m, log)
}

// serve runs the errgroup: the source's loop (Runner) and the shutdown
// sequence, which starts when ctx ends or the loop fails, and closes the
// listeners (close 1 and 2) before it ends the loop.
func serve(ctx context.Context, cfg Config, src Source, srv *network.Server, repl *replica.Manager, m *nodeMetrics, log *zap.Logger) error {
	g, gctx := errgroup.WithContext(ctx)
	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoop()
	if r, ok := src.(Runner); ok {
		g.Go(func() error {
			err := r.Run(loopCtx)
			if loopCtx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("loop returned nil while serving")
			}
			return fmt.Errorf("%w: %w", ErrSourceStopped, err)
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		defer stopLoop()
		m.setReady("shutting down")
		shutdown(cfg, src, repl, log)
		if err := srv.Close(); err != nil {
			log.Warn("close network server", zap.Error(err))
		}
		return nil
	})
	return g.Wait()
}

// listen opens every broker listener and starts the network server.
func listen(cfg Config, b *broker.Broker, src Source, log *zap.Logger) (*network.Server, error) {
	srv := network.NewServer(cfg.Network, b, log)
	opener, _ := src.(ListenerOpener)
	for _, l := range cfg.Listeners {
		opts, err := saslOptions(l, b.Image)
		if err != nil {
			_ = srv.Close()
			return nil, err
		}
		if opener != nil {
			ln, ok, err := opener.OpenListener(l.Name, l.Addr)
			if err != nil {
				_ = srv.Close()
				return nil, fmt.Errorf("listen %s://%s: %w", l.Name, l.Addr, err)
			}
			if ok {
				if err := srv.Serve(l.Name, ln, opts...); err != nil {
					_ = ln.Close()
					_ = srv.Close()
					return nil, fmt.Errorf("serve %s://%s: %w", l.Name, l.Addr, err)
				}
				continue
			}
		}
		if _, err := srv.Listen(l.Name, l.Addr, opts...); err != nil {
			_ = srv.Close()
			return nil, fmt.Errorf("listen %s://%s: %w", l.Name, l.Addr, err)
		}
	}
	srv.Start()
	return srv, nil
}

// shutdown is close step 1: controlled shutdown, then the drain.
func shutdown(cfg Config, src Source, repl *replica.Manager, log *zap.Logger) {
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	log.Info("shutting down: controlled shutdown")
	moved, err := src.Shutdown(sctx, repl.StopFetching)
	if err != nil {
		log.Warn("controlled shutdown incomplete", zap.Error(err))
		return
	}
	if moved == 0 || cfg.ShutdownDrain == 0 {
		return
	}
	log.Info("leaderships moved; serving a little longer so clients learn the new leaders",
		zap.Int("partitions", moved), zap.Duration("drain", cfg.ShutdownDrain))
	t := time.NewTimer(cfg.ShutdownDrain)
	defer t.Stop()
	select {
	case <-sctx.Done():
	case <-t.C:
	}
}

// started logs the line operators (and tests' log tails) look for.
func started(cfg Config, b *broker.Broker, src Source, log *zap.Logger) {
	names := make([]string, len(cfg.Listeners))
	for i, l := range cfg.Listeners {
		names[i] = l.Name + "://" + l.Addr
	}
	fields := []zap.Field{
		zap.Int32("node.id", cfg.Broker.NodeID),
		zap.String("cluster.id", b.Image().ClusterID()),
		zap.Strings("listeners", names),
	}
	fields = append(fields, cfg.StartedFields...)
	if e, ok := src.(Epocher); ok {
		fields = append(fields, zap.Int64("broker.epoch", e.BrokerEpoch()))
	}
	log.Info("zkraft broker started", fields...)
}

// closeInto runs close and keeps its error in *err unless an earlier error
// is already there.
func closeInto(err *error, what string, close func() error) {
	if cerr := close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("%s: %w", what, cerr)
	}
}

// warnClose runs close and logs its error: components whose close errors
// do not change how the node exited.
func warnClose(log *zap.Logger, what string, close func() error) {
	if err := close(); err != nil {
		log.Warn(what, zap.Error(err))
	}
}
