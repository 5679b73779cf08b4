package server

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/metrics"
)

// nodeMetrics is Run's part in the node's metrics: the ISR change
// counter on the replica manager's AlterPartition calls, the broker's
// gauges, and /readyz's state. The zero value (no Config.Metrics) does
// nothing.
type nodeMetrics struct {
	reg    *metrics.Registry
	health *metrics.Health
	broker atomic.Pointer[broker.Broker] // set once the broker exists
}

// setReady records reason on /readyz ("" = serving).
func (m *nodeMetrics) setReady(reason string) {
	if m.health != nil {
		m.health.Set(reason)
	}
}

// controller is what the replica manager sends its ISR changes to: src,
// counted as shrinks and expands when metrics are on.
func (m *nodeMetrics) controller(src Source) replica.Controller {
	if m.reg == nil {
		return src
	}
	return isrCounter{src: src, m: m}
}

// replicaOptions has the replica manager count follower appends as
// replication bytes in when metrics are on.
func (m *nodeMetrics) replicaOptions() []replica.Option {
	if m.reg == nil {
		return nil
	}
	return []replica.Option{replica.WithReplicatedBytes(m.reg.ReplicatedIn)}
}

// attach registers b's gauges and the readiness check that b's own
// registration is in its image and unfenced.
func (m *nodeMetrics) attach(cfg Config, b *broker.Broker, logs *storage.Manager) error {
	m.broker.Store(b)
	if m.reg == nil {
		return nil
	}
	id := cfg.Broker.NodeID
	if m.health != nil {
		m.health.AddCheck(func() error {
			reg, ok := b.Image().Broker(id)
			switch {
			case !ok:
				return fmt.Errorf("broker %d is not registered in its metadata image", id)
			case reg.Fenced:
				return fmt.Errorf("broker %d is fenced", id)
			case reg.InControlledShutdown:
				return fmt.Errorf("broker %d is in controlled shutdown", id)
			}
			return nil
		})
	}
	return m.reg.AddBroker(metrics.BrokerState{
		NodeID:            id,
		MinInsyncReplicas: cfg.Broker.MinInsyncReplicas,
		Image:             b.Image,
		Groups: func() (map[string]int, int64) {
			s := b.GroupStats()
			return s.ByState, s.Rebalances
		},
		Logs: func(yield func(metrics.LogStats)) {
			for _, tp := range logs.Partitions() {
				if l, ok := logs.Get(tp.Topic, tp.Partition); ok {
					yield(metrics.LogStats{Topic: tp.Topic, Partition: tp.Partition, Size: l.Size(),
						StartOffset: l.LogStartOffset(), EndOffset: l.LogEndOffset()})
				}
			}
		},
	})
}

// isrCounter counts the ISR changes the controller accepted, comparing
// the new ISR with the one in the broker's image.
type isrCounter struct {
	src Source
	m   *nodeMetrics
}

func (c isrCounter) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	before := -1
	if b := c.m.broker.Load(); b != nil {
		if t, ok := b.Image().TopicByID(req.TopicID); ok {
			if reg, ok := t.Partitions[req.Partition]; ok {
				before = len(reg.ISR)
			}
		}
	}
	reg, err := c.src.AlterPartition(ctx, req)
	if err == nil && before >= 0 && reg != nil {
		c.m.reg.ISRChanged(before, len(reg.ISR))
	}
	return reg, err
}
