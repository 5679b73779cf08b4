package main

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/quorum"
)

var (
	_ broker.SecurityController = (*quorum.CombinedSource)(nil)
	_ broker.QuotaController    = (*quorum.CombinedSource)(nil)
	_ broker.ConfigController   = (*quorum.CombinedSource)(nil)
	_ server.Source             = (*quorum.CombinedSource)(nil)
	_ server.Epocher            = (*quorum.CombinedSource)(nil)
)

// serveCombined runs process.roles=broker,controller on a
// quorum.CombinedSource: a quorum voter whose images go straight to the
// broker (no metadata fetch), and a controller client for the broker
// lifecycle (registration, heartbeats, controlled shutdown) and admin
// writes, which it sends to the active controller, possibly itself, over
// the Kafka protocol. Gossip rides on the voter port.
func serveCombined(ctx context.Context, cfg *config.Config, logger *zap.Logger) error {
	ctrl, ok := cfg.ControllerListener()
	if !ok {
		return errors.New("controller.listener.names: no listener for the controller")
	}
	scfg, err := serverConfig(cfg, logger)
	if err != nil {
		return err
	}
	qcfg := quorumConfig(cfg, ctrl)
	observe(&qcfg, scfg.Metrics)
	src, err := quorum.NewCombinedSource(qcfg, clientConfig(cfg, scfg.Broker.Listeners), gossipConfig(cfg), logger)
	if err != nil {
		return err
	}
	if err := addQuorumMetrics(scfg.Metrics, src.Node()); err != nil {
		_ = src.Close()
		return err
	}
	return server.Run(ctx, scfg, src)
}
