package zk

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

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// The broker's side of controlled shutdown in ZooKeeper mode (Kafka's
// KafkaServer.controlledShutdown); shutdown.go has the controller's.

// ShutdownConfig configures a broker's controlled shutdown
// (controlled.shutdown.* keys).
type ShutdownConfig struct {
	// Enable is controlled.shutdown.enable: false stops without moving
	// leaderships.
	Enable bool
	// MaxRetries is controlled.shutdown.max.retries: attempts after the
	// first.
	MaxRetries int
	// RetryBackoff is controlled.shutdown.retry.backoff.ms.
	RetryBackoff time.Duration
	// ListenerName is inter.broker.listener.name: the controller's
	// endpoint the request goes to.
	ListenerName string
	// Security is how that listener is dialled (its TLS and SASL; zero:
	// PLAINTEXT).
	Security network.ClientSecurity
}

// DefaultShutdownConfig is Kafka's: enabled, 3 retries 5 s apart, over
// PLAINTEXT.
func DefaultShutdownConfig() ShutdownConfig {
	return ShutdownConfig{Enable: true, MaxRetries: 3, RetryBackoff: 5 * time.Second, ListenerName: "PLAINTEXT"}
}

// ShutdownBroker is this broker's controlled shutdown, run while it still
// serves: it calls stopFetching (nil: none; the caller stops its fetchers
// there, so that no leader adds it back to an ISR), then asks the
// controller, the broker holding /controller, with ControlledShutdown (api
// key 7) to move its leaderships and take it out of ISRs; itself when it is
// the controller. A failed attempt, or one that leaves partitions led by
// this broker, is retried cfg.MaxRetries times, cfg.RetryBackoff apart.
// Once the controller is done, it waits until the image names this broker
// leader of nothing, so that its answers to clients already name the new
// leaders. epoch is the broker epoch RegisterBroker returned; ctx bounds
// the whole. With cfg.Enable false it does nothing.
func (b *Backend) ShutdownBroker(ctx context.Context, cfg ShutdownConfig, epoch int64, stopFetching func()) error {
	if !cfg.Enable {
		b.log.Info("controlled.shutdown.enable=false: stopping without moving leaderships")
		return nil
	}
	b.log.Info("shutting down: controlled shutdown", zap.Int("partitions_led", len(b.LeadsReplicated())))
	if stopFetching != nil {
		stopFetching()
	}
	var last error
	for attempt := 0; attempt <= cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			b.log.Info("controlled shutdown: retrying", zap.Int("attempt", attempt), zap.Error(last),
				zap.Duration("controlled.shutdown.retry.backoff.ms", cfg.RetryBackoff))
			t := time.NewTimer(cfg.RetryBackoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("controlled shutdown: %w (last attempt: %w)", ctx.Err(), last)
			case <-t.C:
			}
		}
		remaining, err := b.askControlledShutdown(ctx, cfg.ListenerName, cfg.Security, epoch)
		switch {
		case err != nil:
			last = err
		case len(remaining) > 0:
			last = fmt.Errorf("the controller left %d partitions led by this broker (no other usable ISR member), e.g. %s-%d",
				len(remaining), remaining[0].Topic, remaining[0].Partition)
		default:
			if err := b.WaitLeadsNothing(ctx); err != nil {
				return fmt.Errorf("controlled shutdown: %w", err)
			}
			b.log.Info("controlled shutdown complete", zap.Int("attempts", attempt+1))
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("controlled shutdown failed after %d attempts (controlled.shutdown.max.retries=%d): %w",
		cfg.MaxRetries+1, cfg.MaxRetries, last)
}

// askControlledShutdown sends one ControlledShutdown to the current
// controller and returns the partitions it says this broker still leads.
func (b *Backend) askControlledShutdown(ctx context.Context, listener string, sec network.ClientSecurity, epoch int64) ([]metadata.TopicPartition, error) {
	self := b.cfg.BrokerID
	ctrl, _ := b.Controller()
	switch {
	case ctrl < 0:
		return nil, errors.New("no controller in /controller")
	case ctrl == self:
		return b.ControlledShutdown(ctx, self, epoch)
	}
	reg, ok := b.Image().Broker(ctrl)
	if !ok {
		return nil, fmt.Errorf("controller %d is not in /brokers/ids", ctrl)
	}
	ep, ok := reg.Endpoint(listener)
	if !ok {
		return nil, fmt.Errorf("controller %d has no %s endpoint", ctrl, listener)
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID(fmt.Sprintf("broker-%d-controlled-shutdown", self))},
		sec.KgoOpts()...)...)
	if err != nil {
		return nil, fmt.Errorf("client for controller %d at %s: %w", ctrl, addr, err)
	}
	defer cl.Close()
	req := kmsg.NewPtrControlledShutdownRequest()
	req.BrokerID, req.BrokerEpoch = self, epoch
	raw, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("ControlledShutdown to controller %d at %s: %w", ctrl, addr, err)
	}
	resp, ok := raw.(*kmsg.ControlledShutdownResponse)
	if !ok {
		return nil, fmt.Errorf("ControlledShutdown to controller %d at %s: answered with %T", ctrl, addr, raw)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("ControlledShutdown to controller %d at %s: %w", ctrl, addr, err)
	}
	out := make([]metadata.TopicPartition, 0, len(resp.PartitionsRemaining))
	for _, p := range resp.PartitionsRemaining {
		out = append(out, metadata.TopicPartition{Topic: p.Topic, Partition: p.Partition})
	}
	return out, nil
}
