package main

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/quorum"
)

var (
	_ broker.SecurityController = (*quorum.BrokerSource)(nil)
	_ broker.QuotaController    = (*quorum.BrokerSource)(nil)
	_ broker.ConfigController   = (*quorum.BrokerSource)(nil)
	_ server.Source             = (*quorum.BrokerSource)(nil)
	_ server.ListenerOpener     = (*quorum.BrokerSource)(nil)
	_ server.Epocher            = (*quorum.BrokerSource)(nil)
)

// startupTimeout bounds registration and metadata catch-up at start
// (initial.broker.registration.timeout.ms).
const startupTimeout = 60 * time.Second

// controlledShutdownTimeout bounds controlled shutdown after SIGTERM; a
// spawned broker must exit within 10 s of it.
const controlledShutdownTimeout = 5 * time.Second

// serveBroker runs process.roles=broker on a quorum.BrokerSource: a
// controller client that registers, heartbeats and follows the metadata
// log from the active controller (the voters in controller.quorum.voters
// are the only controller addresses it knows), with memberlist gossip on
// the inter-broker listener's port.
func serveBroker(ctx context.Context, cfg *config.Config, logger *zap.Logger) error {
	scfg, err := serverConfig(cfg, logger)
	if err != nil {
		return err
	}
	ibl, ok := cfg.BrokerListener()
	if !ok {
		return errors.New("listeners: no inter-broker listener")
	}
	adv, err := cfg.AdvertisedFor(ibl.Name)
	if err != nil {
		return err
	}
	src, err := quorum.NewBrokerSource(quorum.BrokerSourceConfig{
		Client: clientConfig(cfg, scfg.Broker.Listeners), Gossip: gossipConfig(cfg),
		GossipListener: ibl.Name, GossipAdvertise: adv.Addr(),
	}, logger)
	if err != nil {
		return err
	}
	return server.Run(ctx, scfg, src)
}
