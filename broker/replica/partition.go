package replica

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

type role int

const (
	roleNone role = iota // not (or no longer) replicated here
	roleLeader
	roleFollower
)

// partition is one local replica's replication state (Kafka's Partition).
// mu guards everything below it; it is taken after Manager.mu and
// fetcher.mu, never before them, and never held across I/O other than the
// fetcher's append or truncation of this partition's own log.
type partition struct {
	tp      storage.TopicPartition
	topicID metadata.Uuid
	log     *storage.Log
	logger  *zap.Logger

	mu          sync.Mutex
	role        role
	reg         *metadata.PartitionRegistration // latest known: image or AlterPartition answer
	leaderID    int32
	leaderEpoch int32
	// Leader only.
	epochStart int64               // log end when this term began (KIP-101 ISR join rule)
	followers  map[int32]*follower // every other replica
	alter      *alterState         // in-flight ISR change, nil if none
	hwWaiters  map[*hwWaiter]struct{}
	notify     chan struct{} // closed and replaced on any change a waiter may care about
}

// follower is the leader's view of one other replica (Kafka's Replica).
type follower struct {
	leo          int64 // last fetch offset; -1 until it fetched in this term
	lastCaughtUp time.Time
	lastFetch    time.Time
	lastFetchLEO int64 // leader's log end at lastFetch
}

// alterState is an AlterPartition request waiting for the controller.
type alterState struct {
	isr            []int32
	leaderEpoch    int32
	partitionEpoch int32
}

type hwWaiter struct {
	past int64
	ch   chan struct{}
	stop func() bool
	// notify, when set (notifyHWLocked), gets a non-blocking send instead
	// of ch being closed; shared by many waiters, never closed.
	notify chan<- struct{}
}

// release wakes w: a send on its shared notify channel, else ch closed.
func (w *hwWaiter) release() {
	if w.notify != nil {
		select {
		case w.notify <- struct{}{}:
		default:
		}
		return
	}
	w.stop()
	close(w.ch)
}

func newPartition(tp storage.TopicPartition, id metadata.Uuid, l *storage.Log, logger *zap.Logger) *partition {
	return &partition{
		tp: tp, topicID: id, log: l,
		logger:    logger.With(zap.String("topic", tp.Topic), zap.Int32("partition", tp.Partition)),
		reg:       &metadata.PartitionRegistration{Leader: metadata.NoLeader, LeaderEpoch: -1, PartitionEpoch: -1},
		leaderID:  metadata.NoLeader,
		hwWaiters: make(map[*hwWaiter]struct{}),
		notify:    make(chan struct{}),
	}
}

// notifyLocked wakes WaitCommitted callers and, with the high watermark,
// the long polls whose offset it passed.
func (p *partition) notifyLocked() {
	close(p.notify)
	p.notify = make(chan struct{})
	hw := p.log.HighWatermark()
	for w := range p.hwWaiters {
		if hw > w.past || p.role != roleLeader {
			delete(p.hwWaiters, w)
			w.release()
		}
	}
}

// notifyHWLocked is waitHWLocked with a shared channel (Manager.
// NotifyHighWatermark): a non-blocking send on ch once the high watermark
// passes past or the role changes; cancel removes it (mu taken).
func (p *partition) notifyHWLocked(past int64, ch chan<- struct{}) (cancel func()) {
	w := &hwWaiter{past: past, notify: ch}
	if p.log.HighWatermark() > past || p.role != roleLeader {
		w.release()
		return func() {}
	}
	p.hwWaiters[w] = struct{}{}
	return func() {
		p.mu.Lock()
		delete(p.hwWaiters, w)
		p.mu.Unlock()
	}
}

// waitHWLocked returns a channel closed once the high watermark passes
// past, the role changes, or ctx is done.
func (p *partition) waitHWLocked(ctx context.Context, past int64) <-chan struct{} {
	w := &hwWaiter{past: past, ch: make(chan struct{})}
	if p.log.HighWatermark() > past || p.role != roleLeader || ctx.Err() != nil {
		close(w.ch)
		return w.ch
	}
	p.hwWaiters[w] = struct{}{}
	// The callback takes mu, which the caller holds until it returns: stop
	// is set before anyone reads it.
	w.stop = context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.hwWaiters[w]; ok {
			delete(p.hwWaiters, w)
			close(w.ch)
		}
	})
	return w.ch
}

// maximalISRLocked is the ISR the high watermark must wait for: the
// committed one plus members an in-flight expansion adds (Kafka's
// maximalIsr), so a high watermark never counts on fewer replicas than the
// controller may already consider in sync.
func (p *partition) maximalISRLocked() []int32 {
	isr := p.reg.ISR
	if p.alter == nil {
		return isr
	}
	out := slices.Clone(isr)
	for _, r := range p.alter.isr {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// maybeIncrementHWLocked sets the high watermark to the smallest log end
// offset in the maximal ISR (the leader's own included). It never moves it
// back, and does not move it while an ISR member has not fetched in this
// term. Leader only.
func (p *partition) maybeIncrementHWLocked(now time.Time) {
	if p.role != roleLeader {
		return
	}
	hw := p.log.LogEndOffset()
	for _, r := range p.maximalISRLocked() {
		if r == p.leaderID {
			continue
		}
		f, ok := p.followers[r]
		if !ok || f.leo < 0 {
			return
		}
		hw = min(hw, f.leo)
	}
	if hw > p.log.HighWatermark() {
		p.log.SetHighWatermark(hw)
		p.notifyLocked()
	}
}

// followerFetchedLocked records a follower fetch (Kafka's
// updateFollowerFetchState) and reports whether the follower should join
// the ISR, in which case an alter has been staged.
func (p *partition) followerFetchedLocked(replica, epoch int32, fetchOffset int64, now time.Time) bool {
	if p.role != roleLeader || (epoch >= 0 && epoch != p.leaderEpoch) {
		return false
	}
	f, ok := p.followers[replica]
	if !ok {
		return false // not a replica of this partition
	}
	leo := p.log.LogEndOffset()
	switch {
	case fetchOffset >= leo:
		f.lastCaughtUp = maxTime(f.lastCaughtUp, now)
	case !f.lastFetch.IsZero() && fetchOffset >= f.lastFetchLEO:
		f.lastCaughtUp = maxTime(f.lastCaughtUp, f.lastFetch)
	}
	f.leo = min(fetchOffset, leo)
	f.lastFetch, f.lastFetchLEO = now, leo
	p.maybeIncrementHWLocked(now)

	// KIP-101: a follower joins once it holds everything committed and
	// everything of the current term's start.
	if p.alter != nil || p.reg.InISR(replica) || f.leo < p.log.HighWatermark() || f.leo < p.epochStart {
		return false
	}
	isr := append(slices.Clone(p.reg.ISR), replica)
	slices.Sort(isr)
	p.alter = &alterState{isr: isr, leaderEpoch: p.leaderEpoch, partitionEpoch: p.reg.PartitionEpoch}
	return true
}

// laggingLocked stages a shrink of the ISR by the followers that have not
// caught up within lag, reporting whether it did.
func (p *partition) laggingLocked(now time.Time, lag time.Duration) bool {
	if p.role != roleLeader || p.alter != nil {
		return false
	}
	var out []int32
	isr := make([]int32, 0, len(p.reg.ISR))
	for _, r := range p.reg.ISR {
		f, ok := p.followers[r]
		// An ISR member that is no longer a replica goes too: in ZooKeeper
		// mode a leader that read a reassignment's state before its topic
		// znode may have let a replica being removed back in.
		if r != p.leaderID && (!ok || now.Sub(f.lastCaughtUp) > lag) {
			out = append(out, r)
			continue
		}
		isr = append(isr, r)
	}
	if len(out) == 0 {
		return false
	}
	p.logger.Info("shrinking ISR", zap.Int32s("isr", p.reg.ISR), zap.Int32s("lagging", out),
		zap.Int64("log_end_offset", p.log.LogEndOffset()), zap.Int64("high_watermark", p.log.HighWatermark()))
	p.alter = &alterState{isr: isr, leaderEpoch: p.leaderEpoch, partitionEpoch: p.reg.PartitionEpoch}
	return true
}

// syncFollowersLocked makes the followers map track exactly the other
// replicas of p.reg: replicas added by a reassignment start unknown (they
// have not fetched in this term), removed ones are forgotten. Leader only.
func (p *partition) syncFollowersLocked(self int32) {
	if p.role != roleLeader {
		return
	}
	for _, r := range p.reg.Replicas {
		if _, ok := p.followers[r]; !ok && r != self {
			p.followers[r] = &follower{leo: -1}
		}
	}
	for r := range p.followers {
		if !p.reg.HasReplica(r) {
			delete(p.followers, r)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
