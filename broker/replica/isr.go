package replica

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// runISR is the manager's ISR goroutine: every ISRCheckInterval it stages
// shrinks for lagging followers (Kafka's maybeShrinkIsr), and it sends
// staged ISR changes to the controller one at a time. Calls are never made
// with a lock held: the controller's answer may arrive through the
// metadata publisher, which takes partition locks.
func (m *Manager) runISR() {
	t := time.NewTicker(m.cfg.ISRCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.checkISR()
		case <-m.alterWake:
		}
		m.sendAlters(m.ctx)
	}
}

// checkISR stages a shrink for every led partition with lagging followers.
func (m *Manager) checkISR() {
	now := m.now()
	m.mu.RLock()
	parts := make([]*partition, 0, len(m.parts))
	for _, p := range m.parts {
		parts = append(parts, p)
	}
	m.mu.RUnlock()
	for _, p := range parts {
		p.mu.Lock()
		staged := p.laggingLocked(now, m.cfg.ReplicaLagTime)
		p.mu.Unlock()
		if staged {
			m.queueAlter(p)
		}
	}
}

// queueAlter hands a partition with a staged alter to the ISR goroutine.
func (m *Manager) queueAlter(p *partition) {
	m.mu.Lock()
	m.alterQ = append(m.alterQ, p)
	m.mu.Unlock()
	select {
	case m.alterWake <- struct{}{}:
	default:
	}
}

// sendAlters sends every queued ISR change to the controller.
func (m *Manager) sendAlters(ctx context.Context) {
	m.mu.Lock()
	q := m.alterQ
	m.alterQ = nil
	m.mu.Unlock()
	for _, p := range q {
		if ctx.Err() != nil {
			return
		}
		m.sendAlter(ctx, p)
	}
}

// sendAlter sends p's staged ISR change (if still staged) and adopts the
// answer. A stale request (the controller or another leader moved on) is
// dropped and the partition re-reads the latest image; the next check
// re-evaluates from there.
func (m *Manager) sendAlter(ctx context.Context, p *partition) {
	p.mu.Lock()
	a := p.alter
	if a == nil || p.role != roleLeader || p.leaderEpoch != a.leaderEpoch {
		p.mu.Unlock()
		return
	}
	req := metadata.AlterPartitionRequest{
		BrokerID: m.cfg.NodeID, BrokerEpoch: m.brokerEpoch(), TopicID: p.topicID, Partition: p.tp.Partition,
		LeaderEpoch: a.leaderEpoch, NewISR: a.isr, PartitionEpoch: a.partitionEpoch,
	}
	p.mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, m.cfg.ControllerTimeout)
	reg, err := m.ctrl.AlterPartition(cctx, req)
	cancel()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.alter != a {
		return // superseded by a new term or image meanwhile
	}
	p.alter = nil
	switch {
	case err == nil && reg != nil:
		if reg.LeaderEpoch == p.leaderEpoch && reg.PartitionEpoch > p.reg.PartitionEpoch {
			p.reg = reg
			p.syncFollowersLocked(m.cfg.NodeID)
		}
		p.logger.Info("ISR changed", zap.Int32s("isr", p.reg.ISR), zap.Int32("partition_epoch", p.reg.PartitionEpoch))
	case errors.Is(err, metadata.ErrInvalidUpdateEpoch), errors.Is(err, metadata.ErrFencedLeaderEpoch),
		errors.Is(err, metadata.ErrNotLeader):
		p.logger.Info("ISR change rejected as stale; re-reading image", zap.Int32s("isr", req.NewISR), zap.Error(err))
		m.adoptImageLocked(p)
	default:
		p.logger.Warn("ISR change failed", zap.Int32s("isr", req.NewISR), zap.Error(err))
		m.refreshFromImageLocked(p)
	}
	p.maybeIncrementHWLocked(m.now())
	p.notifyLocked()
}

// adoptImageLocked, after the controller rejected an ISR change as stale,
// adopts the partition's registration from the latest image when it is
// newer in the same term (refreshFromImageLocked) — or another one at a
// lower partition epoch whose ISR holds every member of the leader's: the
// controller has just said the leader's epoch is not current. A migrating
// ZooKeeper broker whose metadata source switched from the quorum's log
// back to the tree (rollback) sees lower partition epochs there (the
// dual-write may coalesce two log changes into one znode write); keeping
// the higher one would have every retry rejected. The ISR condition keeps
// an image older than an AlterPartition answer the leader adopted from
// shrinking the set acks=all and the high watermark wait for.
func (m *Manager) adoptImageLocked(p *partition) {
	t, ok := m.img.Load().Topic(p.tp.Topic)
	if !ok {
		return
	}
	reg, ok := t.Partitions[p.tp.Partition]
	if !ok || reg.LeaderEpoch != p.leaderEpoch || reg.PartitionEpoch == p.reg.PartitionEpoch {
		return
	}
	if reg.PartitionEpoch > p.reg.PartitionEpoch || containsAll(reg.ISR, p.reg.ISR) {
		p.reg = reg
	}
}

// containsAll reports whether every member of sub is in set.
func containsAll(set, sub []int32) bool {
	for _, id := range sub {
		if !slices.Contains(set, id) {
			return false
		}
	}
	return true
}

// refreshFromImageLocked adopts the partition's registration from the
// latest image when it is newer in the same term. A new term arrives by
// Apply instead.
func (m *Manager) refreshFromImageLocked(p *partition) {
	t, ok := m.img.Load().Topic(p.tp.Topic)
	if !ok {
		return
	}
	reg, ok := t.Partitions[p.tp.Partition]
	if ok && reg.LeaderEpoch == p.leaderEpoch && reg.PartitionEpoch > p.reg.PartitionEpoch {
		p.reg = reg
	}
}
