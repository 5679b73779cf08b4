package quorum

import (
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"
)

// snapshotPolicy decides when this node snapshots its image, as Kafka's
// SnapshotGenerator does: once SnapshotMaxBytes bytes of records were
// applied since the last snapshot
// (metadata.log.max.record.bytes.between.snapshots), or once
// SnapshotMaxInterval passed since the last snapshot with records applied
// in between (metadata.log.max.snapshot.interval.ms; 0 = by size only).
// Raft's own trigger (SnapshotThreshold entries, checked every
// SnapshotInterval) stays as a ceiling in entries; every snapshot, whoever
// asked for it, restarts both counts.
//
// The FSM side (countingFSM, raft's apply goroutine) counts and signals
// due; snapshotLoop (one goroutine per started node, in Node.wg) asks raft
// for the snapshot. Both counters are atomics: nothing here takes a lock.
type snapshotPolicy struct {
	maxBytes int64
	interval time.Duration
	now      func() time.Time

	applied atomic.Int64 // bytes of records applied since the last snapshot
	last    atomic.Int64 // unix nanoseconds of the last snapshot (or of the start)
	due     chan struct{}
}

func newSnapshotPolicy(cfg Config) *snapshotPolicy {
	p := &snapshotPolicy{
		maxBytes: cfg.SnapshotMaxBytes,
		interval: cfg.SnapshotMaxInterval,
		now:      time.Now,
		due:      make(chan struct{}, 1),
	}
	p.last.Store(p.now().UnixNano())
	return p
}

// add counts n bytes of applied records and signals due when a snapshot
// should be taken. Called on raft's apply goroutine.
func (p *snapshotPolicy) add(n int) {
	p.applied.Add(int64(n))
	if p.shouldSnapshot(p.now()) {
		select {
		case p.due <- struct{}{}:
		default:
		}
	}
}

// taken restarts the counts: a snapshot of the image as of now exists.
// Called on raft's apply goroutine (FSM.Snapshot, FSM.Restore), so that
// the bytes counted are exactly those applied after the snapshot's point.
func (p *snapshotPolicy) taken() {
	p.applied.Store(0)
	p.last.Store(p.now().UnixNano())
}

func (p *snapshotPolicy) shouldSnapshot(now time.Time) bool {
	applied := p.applied.Load()
	if applied >= p.maxBytes {
		return true
	}
	return p.interval > 0 && applied > 0 && now.Sub(time.Unix(0, p.last.Load())) >= p.interval
}

// nextCheck is how long until the interval since the last snapshot ends
// (a full interval when it already has: the next apply then signals due).
func (p *snapshotPolicy) nextCheck(now time.Time) time.Duration {
	d := time.Unix(0, p.last.Load()).Add(p.interval).Sub(now)
	if d <= 0 {
		d = p.interval
	}
	return d
}

// countingFSM is the fsm as raft sees it: it feeds the snapshot policy the
// bytes of every applied command and the points where snapshots are taken
// or installed.
type countingFSM struct {
	*fsm
	policy *snapshotPolicy
}

var _ raft.FSM = countingFSM{}

func (c countingFSM) Apply(l *raft.Log) interface{} {
	res := c.fsm.Apply(l)
	if l.Type == raft.LogCommand {
		c.policy.add(len(l.Data))
	}
	return res
}

func (c countingFSM) Snapshot() (raft.FSMSnapshot, error) {
	s, err := c.fsm.Snapshot()
	if err == nil {
		c.policy.taken()
	}
	return s, err
}

func (c countingFSM) Restore(rc io.ReadCloser) error {
	err := c.fsm.Restore(rc)
	if err == nil {
		c.policy.taken()
	}
	return err
}

// snapshotLoop asks raft for a snapshot whenever the policy says one is
// due, until the node stops.
func (n *Node) snapshotLoop(r *raft.Raft) {
	defer n.wg.Done()
	p := n.snapPolicy
	var timerC <-chan time.Time
	var timer *time.Timer
	if p.interval > 0 {
		timer = time.NewTimer(p.nextCheck(p.now()))
		defer timer.Stop()
		timerC = timer.C
	}
	for {
		select {
		case <-n.stopCtx.Done():
			return
		case <-p.due:
		case <-timerC:
		}
		// While a metadata transaction is open raft would be refused (and
		// log it) on every entry of the transaction; the entry that ends
		// it signals due again.
		if p.shouldSnapshot(p.now()) && !n.fsm.txIsOpen() {
			applied := p.applied.Load()
			err := r.Snapshot().Error()
			switch {
			case err == nil:
				n.log.Info("took metadata snapshot", zap.Int64("bytes_since_last", applied),
					zap.Int64("offset", n.fsm.image().Offset()))
			case errors.Is(err, raft.ErrNothingNewToSnapshot), errors.Is(err, ErrSnapshotInTransaction),
				errors.Is(err, raft.ErrRaftShutdown):
				// Retried on the next apply or interval; nothing to report.
			default:
				n.log.Warn("metadata snapshot failed", zap.Error(err))
			}
		}
		if timer != nil {
			timer.Reset(p.nextCheck(p.now()))
		}
	}
}
