package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// zkControlledShutdown is a ZooKeeper-mode broker's controlled shutdown
// (Kafka's KafkaServer.controlledShutdown), run on SIGTERM before the
// broker stops serving: it stops its fetchers (so no leader adds it back to
// an ISR), then asks the controller, the broker holding /controller, with
// ControlledShutdown (api key 7) to move its leaderships and take it out of
// ISRs; itself when it is the controller. A failed attempt, or one that
// leaves partitions led by this broker, is retried
// controlled.shutdown.max.retries times, controlled.shutdown.retry.backoff.ms
// apart. Once the controller is done, it waits until its own image names it
// leader of nothing and keeps serving for shutdownDrain, so that clients
// still sending to it are answered NOT_LEADER_OR_FOLLOWER with the new
// leader (KIP-951) before it stops.
// ctx bounds the whole (controlledShutdownTimeout).
func zkControlledShutdown(ctx context.Context, cfg *config.Config, backend *zk.Backend, epoch int64, repl *replica.Manager, logger *zap.Logger) error {
	if !cfg.ControlledShutdownEnable {
		logger.Info("controlled.shutdown.enable=false: stopping without moving leaderships")
		return nil
	}
	led := len(backend.LeadsReplicated())
	logger.Info("shutting down: controlled shutdown", zap.Int("partitions_led", led))
	repl.StopFetching()
	var last error
	for attempt := 0; attempt <= cfg.ControlledShutdownMaxRetries; attempt++ {
		if attempt > 0 {
			logger.Info("controlled shutdown: retrying", zap.Int("attempt", attempt), zap.Error(last),
				zap.Duration("controlled.shutdown.retry.backoff.ms", cfg.ControlledShutdownRetryBackoff))
			t := time.NewTimer(cfg.ControlledShutdownRetryBackoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("controlled shutdown: %w (last attempt: %w)", ctx.Err(), last)
			case <-t.C:
			}
		}
		remaining, err := askControlledShutdown(ctx, cfg, backend, epoch)
		switch {
		case err != nil:
			last = err
		case len(remaining) > 0:
			last = fmt.Errorf("the controller left %d partitions led by this broker (no other usable ISR member), e.g. %s-%d",
				len(remaining), remaining[0].Topic, remaining[0].Partition)
		default:
			if err := backend.WaitLeadsNothing(ctx); err != nil {
				return fmt.Errorf("controlled shutdown: %w", err)
			}
			logger.Info("controlled shutdown complete", zap.Int("attempts", attempt+1))
			drainClients(ctx, led, logger)
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("controlled shutdown failed after %d attempts (controlled.shutdown.max.retries=%d): %w",
		cfg.ControlledShutdownMaxRetries+1, cfg.ControlledShutdownMaxRetries, last)
}

// askControlledShutdown sends one ControlledShutdown to the current
// controller and returns the partitions it says this broker still leads.
func askControlledShutdown(ctx context.Context, cfg *config.Config, backend *zk.Backend, epoch int64) ([]metadata.TopicPartition, error) {
	ctrl, _ := backend.Controller()
	switch {
	case ctrl < 0:
		return nil, errors.New("no controller in /controller")
	case ctrl == cfg.NodeID:
		return backend.ControlledShutdown(ctx, cfg.NodeID, epoch)
	}
	reg, ok := backend.Image().Broker(ctrl)
	if !ok {
		return nil, fmt.Errorf("controller %d is not in /brokers/ids", ctrl)
	}
	ep, ok := reg.Endpoint(cfg.InterBrokerListenerName)
	if !ok {
		return nil, fmt.Errorf("controller %d has no %s endpoint", ctrl, cfg.InterBrokerListenerName)
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(fmt.Sprintf("broker-%d-controlled-shutdown", cfg.NodeID)))
	if err != nil {
		return nil, fmt.Errorf("client for controller %d at %s: %w", ctrl, addr, err)
	}
	defer cl.Close()
	req := kmsg.NewPtrControlledShutdownRequest()
	req.BrokerID, req.BrokerEpoch = cfg.NodeID, epoch
	raw, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("ControlledShutdown to controller %d at %s: %w", ctrl, addr, err)
	}
	resp := raw.(*kmsg.ControlledShutdownResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("ControlledShutdown to controller %d at %s: %w", ctrl, addr, err)
	}
	out := make([]metadata.TopicPartition, 0, len(resp.PartitionsRemaining))
	for _, p := range resp.PartitionsRemaining {
		out = append(out, metadata.TopicPartition{Topic: p.Topic, Partition: p.Partition})
	}
	return out, nil
}

var (
	_ broker.ControlledShutdowner = (*zk.Backend)(nil)
	_ broker.ControlledShutdowner = (*hybridMetadata)(nil)
)
