package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// source is a connection to one leader broker speaking the Kafka protocol.
// Request's response is valid until the next Request (leaderConn reuses
// its read buffer); only the fetcher goroutine calls it.
type source interface {
	Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error)
	Close()
}

type dialFunc func(addr string) (source, error)

// fetcher is Kafka's ReplicaFetcherThread: one goroutine per source
// broker copying every partition this broker follows from it, batched
// into one Fetch per round. A partition is first truncated by leader epoch
// (OffsetForLeaderEpoch, KIP-101/KIP-279), then fetched from its log end.
type fetcher struct {
	m      *Manager
	leader int32
	addr   string
	logger *zap.Logger

	mu       sync.Mutex // guards assigned; after Manager.mu, before partition.mu
	assigned map[storage.TopicPartition]assignment

	// session is the fetch session (KIP-227) with the leader; only the
	// fetcher goroutine touches it.
	session fetchSession

	wake   chan struct{} // capacity 1: the assignment changed
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

type assignment struct {
	p     *partition
	epoch int32 // the leader epoch it is followed in
}

// fetchState is owned by the fetcher goroutine.
type fetchState struct {
	assignment
	truncating bool
	// outOfRange: the leader answered OFFSET_OUT_OF_RANGE; the truncation
	// round first asks for its log start (leader_start.go).
	outOfRange   bool
	backoffUntil time.Time
}

func newFetcher(m *Manager, leader int32, addr string) *fetcher {
	ctx, cancel := context.WithCancel(m.ctx)
	return &fetcher{
		m: m, leader: leader, addr: addr,
		logger:   m.logger.With(zap.Int32("source_broker", leader), zap.String("source_addr", addr)),
		assigned: make(map[storage.TopicPartition]assignment),
		wake:     make(chan struct{}, 1),
		ctx:      ctx, cancel: cancel,
		done: make(chan struct{}),
	}
}

func (f *fetcher) start() { go f.run() }

// stop cancels the goroutine and waits for it.
func (f *fetcher) stop() {
	f.cancel()
	<-f.done
}

func (f *fetcher) set(p *partition, epoch int32) {
	f.mu.Lock()
	f.assigned[p.tp] = assignment{p: p, epoch: epoch}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) remove(tp storage.TopicPartition) {
	f.mu.Lock()
	delete(f.assigned, tp)
	f.mu.Unlock()
}

// sync brings states in line with the assignment: new or re-assigned
// partitions start by truncating.
func (f *fetcher) sync(states map[storage.TopicPartition]*fetchState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for tp, st := range states {
		if a, ok := f.assigned[tp]; !ok || a != st.assignment {
			delete(states, tp)
		}
	}
	for tp, a := range f.assigned {
		if _, ok := states[tp]; !ok {
			states[tp] = &fetchState{assignment: a, truncating: true}
		}
	}
}

func (f *fetcher) run() {
	defer close(f.done)
	var src source
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	states := make(map[storage.TopicPartition]*fetchState)
	fails := 0 // consecutive failed rounds
	for f.ctx.Err() == nil {
		f.sync(states)
		now := f.m.now()
		var trunc, ready []*fetchState
		next := time.Time{}
		quotaWait := f.m.followerQuota.wait() // > 0: throttled replicas sit this round out
		for _, st := range states {
			switch {
			case now.Before(st.backoffUntil):
				if next.IsZero() || st.backoffUntil.Before(next) {
					next = st.backoffUntil
				}
			case st.truncating:
				trunc = append(trunc, st)
			case quotaWait > 0 && f.m.followerThrottled(st.p.tp.Topic, st.p.tp.Partition):
				if at := now.Add(quotaWait); next.IsZero() || at.Before(next) {
					next = at
				}
			default:
				ready = append(ready, st)
			}
		}
		if len(trunc) == 0 && len(ready) == 0 {
			wait := f.m.cfg.FetchBackoff
			if !next.IsZero() {
				wait = next.Sub(now)
			}
			if len(states) == 0 {
				wait = time.Hour // until assigned
			}
			f.sleep(wait)
			continue
		}
		if src == nil {
			var err error
			if src, err = f.m.dial(f.addr); err != nil {
				f.logger.Warn("connect to leader failed", zap.Error(err))
				f.sleep(f.m.cfg.FetchBackoff)
				continue
			}
		}
		var err error
		if len(trunc) > 0 {
			err = f.truncate(src, trunc)
		}
		if err == nil && len(ready) > 0 {
			err = f.fetch(src, ready)
		}
		switch {
		case err == nil:
			fails = 0
		case f.ctx.Err() != nil:
		case fails == 0:
			// The first failure is retried at once (after quickRetry): it is
			// typically a connection to a leader's previous process that
			// restarted (EOF), which the next request re-dials.
			fails++
			f.logger.Info("fetch from leader failed; retrying", zap.Error(err))
			f.sleep(f.quickRetry())
		default:
			fails++
			f.logger.Info("fetch from leader failed; backing off", zap.Error(err), zap.Int("failures", fails))
			f.sleep(f.m.cfg.FetchBackoff)
		}
	}
}

// quickRetry is the pause before retrying what a leader change explains:
// a leader (or a follower) that has not applied the new leader epoch yet,
// or a first connection failure. Waiting the whole replica.fetch.backoff.ms
// (1 s) there holds every acks=all produce of the partition for as long,
// at every leader change.
func (f *fetcher) quickRetry() time.Duration { return min(leaderChangeRetry, f.m.cfg.FetchBackoff) }

// leaderChangeRetry: see quickRetry.
const leaderChangeRetry = 50 * time.Millisecond

// partitionBackoff is the pause after a partition error: quickRetry for
// the errors of a leader change in flight (NOT_LEADER_OR_FOLLOWER,
// UNKNOWN_LEADER_EPOCH, FENCED_LEADER_EPOCH), else replica.fetch.backoff.ms.
func (f *fetcher) partitionBackoff(err error) time.Duration {
	if errors.Is(err, kerr.NotLeaderForPartition) || errors.Is(err, kerr.UnknownLeaderEpoch) || errors.Is(err, kerr.FencedLeaderEpoch) {
		return f.quickRetry()
	}
	return f.m.cfg.FetchBackoff
}

// sleep waits d, or until the assignment changes or the fetcher stops.
func (f *fetcher) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-f.wake:
	case <-f.ctx.Done():
	}
}

// followingLocked reports whether st still describes p: a follower of
// this fetcher's leader in st's epoch. partition.mu held.
func (f *fetcher) followingLocked(st *fetchState) bool {
	p := st.p
	return p.role == roleFollower && p.leaderEpoch == st.epoch && p.leaderID == f.leader
}

// truncate runs one OffsetForLeaderEpoch round for states (Kafka's
// AbstractFetcherThread.truncateToEpochEndOffsets).
func (f *fetcher) truncate(src source, states []*fetchState) error {
	states, err := f.startAtLeaderStart(src, states)
	if err != nil {
		return err
	}
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.ReplicaID = f.m.cfg.NodeID
	byTopic := map[string]int{}
	asked := map[storage.TopicPartition]*fetchState{}
	for _, st := range states {
		epochs := st.p.log.LeaderEpochs()
		if len(epochs) == 0 {
			// No epoch history: an empty log has nothing to cut; otherwise
			// fall back to the high watermark (pre-KIP-101 behaviour).
			f.truncateTo(st, st.p.log.HighWatermark(), true, "no leader epoch history")
			continue
		}
		i, ok := byTopic[st.p.tp.Topic]
		if !ok {
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = st.p.tp.Topic
			req.Topics = append(req.Topics, t)
			i = len(req.Topics) - 1
			byTopic[st.p.tp.Topic] = i
		}
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition = st.p.tp.Partition
		rp.CurrentLeaderEpoch = st.epoch
		rp.LeaderEpoch = epochs[len(epochs)-1].Epoch
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		asked[st.p.tp] = st
	}
	if len(asked) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(f.ctx, f.m.cfg.SocketTimeout)
	defer cancel()
	kresp, err := src.Request(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: offset for leader epoch: %w", ErrFetch, err)
	}
	resp, ok := kresp.(*kmsg.OffsetForLeaderEpochResponse)
	if !ok {
		return fmt.Errorf("%w: offset for leader epoch answered with %T", ErrFetch, kresp)
	}
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			st, ok := asked[storage.TopicPartition{Topic: t.Topic, Partition: rp.Partition}]
			if !ok {
				continue
			}
			delete(asked, st.p.tp)
			if rp.ErrorCode != 0 {
				perr := kerr.ErrorForCode(rp.ErrorCode)
				f.logger.Info("offset for leader epoch refused", zap.String("topic", t.Topic),
					zap.Int32("partition", rp.Partition), zap.Error(perr))
				st.backoffUntil = f.m.now().Add(f.partitionBackoff(perr))
				continue
			}
			f.truncateByEpoch(st, rp.LeaderEpoch, rp.EndOffset)
		}
	}
	for _, st := range asked { // missing from the answer: ask again later
		st.backoffUntil = f.m.now().Add(f.m.cfg.FetchBackoff)
	}
	return nil
}

// truncateByEpoch applies the leader's answer (epoch, end offset) for the
// follower's latest epoch (KIP-279): if the follower knows the leader's
// epoch it cuts at the smaller of both ends for it, and is done; if not, it
// cuts at the end of its own largest earlier epoch and asks again.
func (f *fetcher) truncateByEpoch(st *fetchState, leaderEpoch int32, leaderEnd int64) {
	l := st.p.log
	if leaderEpoch < 0 || leaderEnd < 0 {
		f.truncateTo(st, l.HighWatermark(), true, "leader knows no such epoch")
		return
	}
	epoch, end := l.EndOffsetForEpoch(leaderEpoch)
	switch {
	case epoch < 0: // no local epochs at all (Kafka: the follower did not track epochs)
		f.truncateTo(st, min(leaderEnd, l.LogEndOffset()), true, "no local leader epochs")
	case epoch == leaderEpoch:
		f.truncateTo(st, min(leaderEnd, end), true, "leader epoch end offset")
	default:
		f.truncateTo(st, min(end, l.LogEndOffset()), false, "local epoch unknown to the leader")
	}
}

// truncateTo cuts the log at offset (if below its end) while st is still
// current, and marks truncation complete when done.
func (f *fetcher) truncateTo(st *fetchState, offset int64, done bool, why string) {
	p := st.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !f.followingLocked(st) {
		return
	}
	l := p.log
	leo, hw := l.LogEndOffset(), l.HighWatermark()
	if offset < leo {
		log := p.logger.With(zap.Int64("offset", offset), zap.Int64("log_end_offset", leo),
			zap.Int64("high_watermark", hw), zap.Int32("leader", f.leader), zap.Int32("leader_epoch", st.epoch),
			zap.String("reason", why))
		if offset < hw {
			// Committed records are going away: only an unclean leader
			// election (or a lost disk) makes a leader lack them.
			log.Error("TRUNCATING BELOW HIGH WATERMARK: committed records lost, the leader does not have them (unclean leader election?)")
		} else {
			log.Info("truncating to leader")
		}
		if err := l.TruncateTo(offset); err != nil {
			log.Warn("truncate failed", zap.Error(err))
			st.backoffUntil = f.m.now().Add(f.m.cfg.FetchBackoff)
			return
		}
	}
	st.truncating = !done
}

// fetch sends one Fetch for states and applies the answer.
func (f *fetcher) fetch(src source, states []*fetchState) error {
	cfg := f.m.cfg
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = cfg.NodeID
	req.ReplicaState.ID = cfg.NodeID
	req.ReplicaState.Epoch = f.m.brokerEpoch()
	req.MaxWaitMillis = int32(cfg.FetchMaxWait / time.Millisecond)
	req.MinBytes = cfg.FetchMinBytes
	req.MaxBytes = cfg.FetchResponseMaxBytes
	byName := map[storage.TopicPartition]*fetchState{}
	byID := map[metadata.Uuid]string{}
	wanted := make([]sessionPartition, 0, len(states))
	for _, st := range states {
		tp := st.p.tp
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = tp.Partition
		rp.CurrentLeaderEpoch = st.epoch
		rp.FetchOffset = st.p.log.LogEndOffset()
		rp.LastFetchedEpoch = -1
		rp.LogStartOffset = st.p.log.LogStartOffset()
		rp.PartitionMaxBytes = cfg.FetchMaxBytes
		wanted = append(wanted, sessionPartition{tp: tp, topicID: st.p.topicID, req: rp})
		byName[tp] = st
		byID[st.p.topicID] = tp.Topic
	}
	f.session.build(req, wanted)
	ctx, cancel := context.WithTimeout(f.ctx, cfg.SocketTimeout+cfg.FetchMaxWait)
	defer cancel()
	kresp, err := src.Request(ctx, req)
	if err != nil {
		f.session.reset()
		return fmt.Errorf("%w: %w", ErrFetch, err)
	}
	resp, ok := kresp.(*kmsg.FetchResponse)
	if !ok {
		f.session.reset()
		return fmt.Errorf("%w: fetch answered with %T", ErrFetch, kresp)
	}
	if resp.ErrorCode != 0 {
		err := kerr.ErrorForCode(resp.ErrorCode)
		f.session.reset()
		if errors.Is(err, kerr.FetchSessionIDNotFound) || errors.Is(err, kerr.InvalidFetchSessionEpoch) {
			// The leader lost or moved past our session (restart, eviction,
			// a lost answer): the next round starts a new one in full.
			f.logger.Debug("fetch session reset by the leader", zap.Int32("session_id", req.SessionID), zap.Error(err))
			return nil
		}
		return fmt.Errorf("%w: %w", ErrFetch, err)
	}
	f.session.answered(req, resp)
	for _, t := range resp.Topics {
		name := t.Topic
		if name == "" { // v13+ names topics by id only
			name = byID[metadata.Uuid(t.TopicID)]
		}
		for i := range t.Partitions {
			rp := &t.Partitions[i]
			if st, ok := byName[storage.TopicPartition{Topic: name, Partition: rp.Partition}]; ok {
				f.applyFetched(st, rp)
			}
		}
	}
	return nil
}

// applyFetched appends one partition's fetched batches (Kafka's
// processPartitionData) if st is still current.
func (f *fetcher) applyFetched(st *fetchState, rp *kmsg.FetchResponseTopicPartition) {
	p := st.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !f.followingLocked(st) {
		return
	}
	switch err := kerr.ErrorForCode(rp.ErrorCode); {
	case err == nil:
	case errors.Is(err, kerr.OffsetOutOfRange):
		st.truncating, st.outOfRange = true, true
		return
	default:
		p.logger.Debug("fetch partition refused", zap.Int32("leader", f.leader), zap.Error(err))
		st.backoffUntil = f.m.now().Add(f.partitionBackoff(err))
		return
	}
	if len(rp.RecordBatches) > 0 {
		if _, err := p.log.AppendAsFollower(rp.RecordBatches); err != nil {
			p.logger.Warn("append fetched records failed; truncating again", zap.Error(err))
			st.truncating = true
			st.backoffUntil = f.m.now().Add(f.m.cfg.FetchBackoff)
			return
		}
		if f.m.bytesIn != nil {
			f.m.bytesIn(p.tp.Topic, len(rp.RecordBatches))
		}
		if f.m.followerThrottled(p.tp.Topic, p.tp.Partition) {
			f.m.followerQuota.record(len(rp.RecordBatches))
		}
	}
	if hw := min(rp.HighWatermark, p.log.LogEndOffset()); hw > p.log.HighWatermark() {
		p.log.SetHighWatermark(hw)
	}
	// The leader's log start (moved by DeleteRecords or retention), as
	// Kafka's follower does: at most this replica's high watermark.
	if start := min(rp.LogStartOffset, p.log.HighWatermark()); start > p.log.LogStartOffset() {
		if _, err := p.log.MaybeIncrementLogStartOffset(start); err != nil {
			p.logger.Warn("follow the leader's log start offset", zap.Int64("log_start_offset", start), zap.Error(err))
		}
	}
}
