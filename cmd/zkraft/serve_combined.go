package main

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/quorum"
)

// lateBroker lets a metadata source publish to a broker constructed after
// it (the broker needs its controller client first). b is set before the
// source starts publishing.
type lateBroker struct{ b *broker.Broker }

func (l *lateBroker) Publish(d *metadata.Delta, img *metadata.Image) { l.b.Publish(d, img) }

// serveCombined runs process.roles=broker,controller: a quorum voter whose
// image the broker reads directly (no metadata fetch), and a controller
// client for the broker lifecycle (registration, heartbeats, controlled
// shutdown) and admin writes, which it sends to the active controller,
// possibly itself, over the Kafka protocol.
func serveCombined(ctx context.Context, cfg *config.Config, logger *zap.Logger) (err error) {
	ctrl, ok := cfg.ControllerListener()
	if !ok {
		return errors.New("controller.listener.names: no listener for the controller")
	}
	endpoints, logs, err := openBroker(cfg, logger)
	if err != nil {
		return err
	}
	defer closeInto(&err, "close logs", logs.Close)

	pub := &lateBroker{}
	node, err := quorum.New(quorumConfig(cfg, ctrl), logger, pub)
	if err != nil {
		return err
	}
	ccfg := clientConfig(cfg, endpoints)
	ccfg.Follow = false
	ccfg.Image = node.Image
	ccfg.MetadataOffset = func() int64 { return node.Image().Offset() }
	client, err := quorum.NewClient(ccfg, logger)
	if err != nil {
		return err
	}
	repl, err := startReplication(cfg, logs, client, logger)
	if err != nil {
		return err
	}
	defer func() { _ = repl.Close() }() // after the network server and broker, before the logs
	b, err := broker.New(brokerConfig(cfg, node.ClusterID(), endpoints), logs, client, logger, broker.WithReplication(repl))
	if err != nil {
		return err
	}
	pub.b = b
	defer func() { _ = b.Close() }() // the group coordinator; after the quorum node, before the logs

	if err := node.Start(ctx); err != nil {
		return fmt.Errorf("start metadata quorum: %w", err)
	}
	defer closeInto(&err, "close metadata quorum", node.Close)
	// One gossip member per process: the voter port's, named by node.id.
	if err := node.StartGossip(gossipConfig(cfg)); err != nil {
		return fmt.Errorf("start gossip: %w", err)
	}
	startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	if _, err := node.WaitLeader(startCtx); err != nil {
		return fmt.Errorf("wait for a metadata quorum leader: %w", err)
	}
	if err := node.WaitCaughtUp(startCtx); err != nil {
		return fmt.Errorf("replay metadata log: %w", err)
	}
	err = runBroker(ctx, startCtx, cfg, logger, client, b)
	resign(node, logger)
	return err
}
