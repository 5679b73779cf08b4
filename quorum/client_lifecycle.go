package quorum

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// fencedHeartbeatInterval is how often a fenced or shutting-down broker
// heartbeats, so that unfencing and controlled shutdown do not wait a whole
// broker.heartbeat.interval.ms per step.
const fencedHeartbeatInterval = 200 * time.Millisecond

// lifecycle registers the broker and heartbeats until Close, or until the
// controller answers ShouldShutDown after Shutdown.
func (c *Client) lifecycle() {
	defer c.wg.Done()
	ctx := c.stopCtx
	for ctx.Err() == nil {
		if c.epoch.Load() < 0 {
			if err := c.register(ctx); err != nil {
				if ctx.Err() == nil {
					c.log.Warn("broker registration failed", zap.Error(err))
					_ = sleepCtx(ctx, 500*time.Millisecond)
				}
				continue
			}
		}
		shutting := closed(c.shutdownCh)
		res, err := c.heartbeat(ctx, shutting)
		wait := c.cfg.HeartbeatInterval
		switch {
		case errors.Is(err, kerr.StaleBrokerEpoch):
			c.log.Info("broker epoch is stale, registering again", zap.Int64("epoch", c.epoch.Load()))
			c.epoch.Store(-1)
			c.fenced.Store(true)
			continue
		case err != nil:
			if ctx.Err() == nil {
				c.log.Warn("heartbeat failed", zap.Error(err))
			}
			wait = fencedHeartbeatInterval
		default:
			if res.IsFenced != c.fenced.Load() {
				c.log.Info("broker fencing changed", zap.Bool("fenced", res.IsFenced), zap.Int64("epoch", c.epoch.Load()))
			}
			c.fenced.Store(res.IsFenced)
			if !res.IsFenced {
				c.unfenceOne.Do(func() { close(c.unfencedCh) })
			}
			if res.ShouldShutDown {
				c.log.Info("controlled shutdown complete")
				c.doneOnce.Do(func() { close(c.doneCh) })
				return
			}
			if res.IsFenced || shutting {
				wait = fencedHeartbeatInterval
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-c.shutdownWake(shutting):
		}
		t.Stop()
	}
}

// shutdownWake wakes the loop when Shutdown is called (once).
func (c *Client) shutdownWake(already bool) <-chan struct{} {
	if already {
		return nil
	}
	return c.shutdownCh
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (c *Client) register(ctx context.Context) error {
	c.mu.Lock()
	cluster := c.cluster
	c.mu.Unlock()
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.Version = 1
	req.BrokerID, req.ClusterID, req.IncarnationID = c.cfg.NodeID, cluster, c.incarnation
	req.IsMigratingZkBroker = c.cfg.MigratingZkBroker
	if c.cfg.Rack != "" {
		rack := c.cfg.Rack
		req.Rack = &rack
	}
	for _, e := range c.cfg.Endpoints {
		l := kmsg.NewBrokerRegistrationRequestListener()
		l.Name, l.Host, l.Port, l.SecurityProtocol = e.Name, e.Host, e.Port, e.SecurityProtocol
		req.Listeners = append(req.Listeners, l)
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	resp, err := c.call(rctx, "heartbeat", req, func(r kmsg.Response) bool {
		return isNotController(r.(*kmsg.BrokerRegistrationResponse).ErrorCode)
	})
	if err != nil {
		return err
	}
	r := resp.(*kmsg.BrokerRegistrationResponse)
	if err := codeError(r.ErrorCode); err != nil {
		return fmt.Errorf("register broker %d (incarnation %s): %w", c.cfg.NodeID, c.incarnation, err)
	}
	c.epoch.Store(r.BrokerEpoch)
	c.log.Info("registered with the controller", zap.Int64("epoch", r.BrokerEpoch), zap.Stringer("incarnation", c.incarnation))
	return nil
}

func (c *Client) heartbeat(ctx context.Context, shutdown bool) (HeartbeatResult, error) {
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = c.cfg.NodeID, c.epoch.Load()
	req.CurrentMetadataOffset = c.MetadataOffset()
	req.WantShutdown = shutdown
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	resp, err := c.call(rctx, "heartbeat", req, func(r kmsg.Response) bool {
		return isNotController(r.(*kmsg.BrokerHeartbeatResponse).ErrorCode)
	})
	if err != nil {
		return HeartbeatResult{}, err
	}
	r := resp.(*kmsg.BrokerHeartbeatResponse)
	if err := codeError(r.ErrorCode); err != nil {
		return HeartbeatResult{}, fmt.Errorf("heartbeat of broker %d epoch %d: %w", c.cfg.NodeID, req.BrokerEpoch, err)
	}
	return HeartbeatResult{IsCaughtUp: r.IsCaughtUp, IsFenced: r.IsFenced, ShouldShutDown: r.ShouldShutdown}, nil
}
