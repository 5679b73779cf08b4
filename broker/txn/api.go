package txn

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"go.uber.org/zap"
)

// ProducerIDAndEpoch is what InitProducerId and EndTxn v5 answer.
type ProducerIDAndEpoch struct {
	ProducerID int64
	Epoch      int16
}

// InitProducerID is InitProducerId with a transactional id (Kafka's
// handleInitProducerId): a new id gets a producer id at epoch 0; a known
// one gets its epoch bumped (a new producer id once the epoch is
// exhausted), which fences the previous producer instance. An Ongoing
// transaction is aborted with a bumped epoch first and the answer is
// CONCURRENT_TRANSACTIONS: the client retries once the abort completed.
// expected is the producer id/epoch a v3+ request carries (KIP-360; -1/-1
// for none).
func (c *Coordinator) InitProducerID(ctx context.Context, id string, timeout time.Duration, expected ProducerIDAndEpoch) (ProducerIDAndEpoch, error) {
	none := ProducerIDAndEpoch{ProducerID: noProducer, Epoch: noEpoch}
	if id == "" {
		return none, fmt.Errorf("%w: empty transactional id", ErrInvalidRequest)
	}
	if timeout <= 0 || timeout > c.cfg.MaxTimeout {
		return none, fmt.Errorf("%w: transaction.timeout.ms = %d, must be in (0, transaction.max.timeout.ms = %d]",
			ErrInvalidTimeout, timeout.Milliseconds(), c.cfg.MaxTimeout.Milliseconds())
	}
	timeoutMs := int32(timeout.Milliseconds())
	t, err := c.lookup(ctx, id, true, timeoutMs)
	if err != nil {
		return none, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.stale():
		return none, fmt.Errorf("transactional id %q: %w", id, ErrNotCoordinator)
	case t.pending:
		return none, fmt.Errorf("transactional id %q: a transition is in flight: %w", id, ErrConcurrent)
	case expected.ProducerID >= 0 && !t.m.validExpected(expected.ProducerID, expected.Epoch):
		return none, fmt.Errorf("%w: transactional id %q has producer %d, request names %d", ErrProducerFenced, id, t.m.producerID, expected.ProducerID)
	}
	switch t.m.state {
	case PrepareCommit, PrepareAbort:
		return none, fmt.Errorf("transactional id %q is in %s: %w", id, t.m.state, ErrConcurrent)
	case Empty, CompleteCommit, CompleteAbort:
		expEpoch := noEpoch
		if expected.ProducerID >= 0 {
			expEpoch = expected.Epoch
		}
		next, err := t.m.initTransition(timeoutMs, expEpoch, func() (int64, error) { return c.pids.NextProducerID(ctx) }, c.nowMs())
		if err != nil {
			return none, fmt.Errorf("transactional id %q: %w", id, err)
		}
		if err := c.write(ctx, t, next); err != nil {
			return none, err
		}
		return ProducerIDAndEpoch{ProducerID: t.m.producerID, Epoch: t.m.epoch}, nil
	case Ongoing:
		if err := c.fenceLocked(ctx, t, "producer re-initialized"); err != nil {
			return none, err
		}
		return none, fmt.Errorf("transactional id %q: aborting its ongoing transaction: %w", id, ErrConcurrent)
	default:
		return none, fmt.Errorf("transactional id %q is in %s: %w", id, t.m.state, ErrConcurrent)
	}
}

// fenceLocked aborts t's Ongoing transaction with a bumped epoch and
// starts its markers. t.mu held.
func (c *Coordinator) fenceLocked(ctx context.Context, t *txn, why string) error {
	next, err := t.m.fenceTransition(c.nowMs())
	if err != nil {
		return err
	}
	if err := c.write(ctx, t, next); err != nil {
		return err
	}
	c.logger.Info("fenced producer and aborting its transaction", zap.String("transactional_id", t.id),
		zap.Int64("producer_id", next.producerID), zap.Int16("new_epoch", next.epoch), zap.String("why", why))
	c.startCompletion(t)
	return nil
}

// checkProducer is the producer id/epoch check AddPartitionsToTxn,
// AddOffsetsToTxn and their verification share. t.mu held.
func checkProducer(t *txn, pid int64, epoch int16) error {
	switch {
	case t.stale():
		return fmt.Errorf("transactional id %q: %w", t.id, ErrNotCoordinator)
	case t.m.producerID != pid:
		return fmt.Errorf("%w: transactional id %q has producer %d, request names %d", ErrInvalidMapping, t.id, t.m.producerID, pid)
	case t.m.epoch != epoch:
		return fmt.Errorf("%w: transactional id %q is at epoch %d, request has %d", ErrProducerFenced, t.id, t.m.epoch, epoch)
	}
	return nil
}

// notFoundAsMapping: Kafka answers INVALID_PRODUCER_ID_MAPPING for an
// unknown transactional id in the producer's requests.
func notFoundAsMapping(err error, id string) error {
	if isNotFound(err) {
		return fmt.Errorf("%w: transactional id %q is unknown", ErrInvalidMapping, id)
	}
	return err
}

// AddPartitions is AddPartitionsToTxn (and AddOffsetsToTxn with the
// group's offsets partition): the partitions join the producer's
// transaction, which becomes Ongoing. One error for them all, as Kafka.
func (c *Coordinator) AddPartitions(ctx context.Context, id string, pid int64, epoch int16, tps []TopicPartition) error {
	return c.addPartitions(ctx, id, pid, epoch, tps, false)
}

// ImplicitAdd is KIP-890 part 2's add: a partition leader serving Produce
// v12 or TxnOffsetCommit v5 adds the partitions for the producer
// (AddPartitionsToTxn v4+ without verify_only from a broker). As
// AddPartitions, and the transaction runs KIP-890 part 2 from then on.
func (c *Coordinator) ImplicitAdd(ctx context.Context, id string, pid int64, epoch int16, tps []TopicPartition) error {
	return c.addPartitions(ctx, id, pid, epoch, tps, true)
}

func (c *Coordinator) addPartitions(ctx context.Context, id string, pid int64, epoch int16, tps []TopicPartition, implicit bool) error {
	t, err := c.lookup(ctx, id, false, 0)
	if err != nil {
		return notFoundAsMapping(err, id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if rotating(t.m, pid, epoch) {
		return fmt.Errorf("transactional id %q is in %s, moving to producer %d: %w", id, t.m.state, pid, ErrConcurrent)
	}
	if err := checkProducer(t, pid, epoch); err != nil {
		return err
	}
	switch {
	case t.pending:
		return fmt.Errorf("transactional id %q: a transition is in flight: %w", id, ErrConcurrent)
	case t.m.state == PrepareCommit || t.m.state == PrepareAbort:
		return fmt.Errorf("transactional id %q is in %s: %w", id, t.m.state, ErrConcurrent)
	case t.m.state == Ongoing && t.m.hasPartitions(tps) && (t.m.tv2 || !implicit):
		return nil
	}
	next, err := t.m.addTransition(tps, implicit, c.nowMs())
	if err != nil {
		return fmt.Errorf("transactional id %q: %w", id, err)
	}
	return c.write(ctx, t, next)
}

// rotating reports whether pid/epoch is the next producer id at epoch 0
// that m (a Prepare* of KIP-890 part 2 at an exhausted epoch) hands over
// once its markers are written: the producer is early, not fenced.
func rotating(m meta, pid int64, epoch int16) bool {
	return (m.state == PrepareCommit || m.state == PrepareAbort) && m.nextProducerID >= 0 && pid == m.nextProducerID && epoch == 0
}

// Verify is AddPartitionsToTxn v4+ with verify_only (KIP-890 part 1): a
// partition leader asks whether the producer's transaction holds the
// partitions. The whole-request error is the producer check's; per
// partition nil or ErrInvalidTxnState.
func (c *Coordinator) Verify(ctx context.Context, id string, pid int64, epoch int16, tps []TopicPartition) ([]error, error) {
	t, err := c.lookup(ctx, id, false, 0)
	if err != nil {
		return nil, notFoundAsMapping(err, id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if rotating(t.m, pid, epoch) {
		return nil, fmt.Errorf("transactional id %q is in %s, moving to producer %d: %w", id, t.m.state, pid, ErrConcurrent)
	}
	if err := checkProducer(t, pid, epoch); err != nil {
		return nil, err
	}
	if t.pending && (t.m.state == PrepareCommit || t.m.state == PrepareAbort) {
		return nil, fmt.Errorf("transactional id %q is in %s: %w", id, t.m.state, ErrConcurrent)
	}
	out := make([]error, len(tps))
	for i, tp := range tps {
		if _, ok := t.m.partitions[tp]; !ok || t.m.state != Ongoing {
			out[i] = fmt.Errorf("%w: %s is not in the ongoing transaction of %q", ErrInvalidTxnState, tp, id)
		}
	}
	return out, nil
}

// EndTxn is EndTxn (Kafka's handleEndTransaction): it writes PrepareCommit
// or PrepareAbort and answers; the markers and Complete* follow in the
// background, and until they are written the transactional id answers
// CONCURRENT_TRANSACTIONS. A retry of a finished commit (or abort) is
// success. bump is EndTxn v5 (KIP-890 part 2, endTxnV2): the epoch moves
// on with every transaction and the answer carries the producer id and
// epoch to go on with; without it the answer is -1/-1.
func (c *Coordinator) EndTxn(ctx context.Context, id string, pid int64, epoch int16, commit, bump bool) (ProducerIDAndEpoch, error) {
	none := ProducerIDAndEpoch{ProducerID: noProducer, Epoch: noEpoch}
	t, err := c.lookup(ctx, id, false, 0)
	if err != nil {
		return none, notFoundAsMapping(err, id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stale() {
		return none, fmt.Errorf("transactional id %q: %w", id, ErrNotCoordinator)
	}
	if bump {
		return c.endTxnV2(ctx, t, pid, epoch, commit)
	}
	wantPrepare, wantComplete := PrepareAbort, CompleteAbort
	if commit {
		wantPrepare, wantComplete = PrepareCommit, CompleteCommit
	}
	switch {
	case t.m.producerID != pid:
		return none, fmt.Errorf("%w: transactional id %q has producer %d, request names %d", ErrInvalidMapping, id, t.m.producerID, pid)
	case t.m.epoch != epoch:
		return none, fmt.Errorf("%w: transactional id %q is at epoch %d, request has %d", ErrProducerFenced, id, t.m.epoch, epoch)
	case t.pending && t.m.state != PrepareCommit && t.m.state != PrepareAbort:
		// (While markers are in flight the state answers below: the same
		// outcome is CONCURRENT_TRANSACTIONS, the other INVALID_TXN_STATE.)
		return none, fmt.Errorf("transactional id %q: a transition is in flight: %w", id, ErrConcurrent)
	}
	switch t.m.state {
	case Ongoing:
	case wantComplete:
		return none, nil
	case wantPrepare:
		return none, fmt.Errorf("transactional id %q is in %s: %w", id, t.m.state, ErrConcurrent)
	default:
		return none, fmt.Errorf("%w: transactional id %q is in %s, cannot %s", ErrInvalidTxnState, id, t.m.state, verb(commit))
	}
	next, err := t.m.prepareTransition(commit, false, nil, c.nowMs())
	if err != nil {
		return none, fmt.Errorf("transactional id %q: %w", id, err)
	}
	if err := c.write(ctx, t, next); err != nil {
		return none, err
	}
	c.startCompletion(t)
	return none, nil
}

func verb(commit bool) string {
	if commit {
		return "commit"
	}
	return "abort"
}

// endTxnV2 is EndTxn v5 (Kafka's endTransaction with a transaction version
// that supports the epoch bump): every commit or abort bumps the epoch, an
// abort with nothing in it is allowed (from Empty or Complete*), and a
// retry is recognized by the epoch alone: the request's epoch is one
// below the current one (or, after an exhausted epoch moved the producer
// to a new id at epoch 0, the previous id at 32766). t.mu held.
func (c *Coordinator) endTxnV2(ctx context.Context, t *txn, pid int64, epoch int16, commit bool) (ProducerIDAndEpoch, error) {
	none := ProducerIDAndEpoch{ProducerID: noProducer, Epoch: noEpoch}
	m := t.m
	retryOnOverflow := m.lastProducerID == pid && m.producerID != pid && epoch == math.MaxInt16-1 && m.epoch == 0
	retryOnBump := int32(m.epoch) == int32(epoch)+1
	var valid bool
	switch m.state {
	case PrepareCommit, PrepareAbort:
		valid = retryOnBump
	case CompleteCommit, CompleteAbort:
		valid = retryOnBump || retryOnOverflow || epoch == m.epoch
	default:
		valid = epoch == m.epoch
	}
	retry := retryOnBump || retryOnOverflow
	invalid := fmt.Errorf("%w: transactional id %q is in %s, cannot %s", ErrInvalidTxnState, t.id, m.state, verb(commit))
	switch {
	case m.producerID != pid && !retryOnOverflow:
		return none, fmt.Errorf("%w: transactional id %q has producer %d, request names %d", ErrInvalidMapping, t.id, m.producerID, pid)
	case !valid:
		return none, fmt.Errorf("%w: transactional id %q is at epoch %d, request has %d", ErrProducerFenced, t.id, m.epoch, epoch)
	case t.pending && m.state != PrepareCommit && m.state != PrepareAbort:
		return none, fmt.Errorf("transactional id %q: a transition is in flight: %w", t.id, ErrConcurrent)
	}
	switch m.state {
	case Ongoing:
	case CompleteCommit:
		switch {
		case commit && retry:
			return m.answer(), nil
		case commit || retry:
			return none, invalid
		}
	case CompleteAbort:
		switch {
		case commit:
			return none, invalid
		case retry:
			return m.answer(), nil
		}
	case PrepareCommit, PrepareAbort:
		if commit == (m.state == PrepareCommit) {
			return none, fmt.Errorf("transactional id %q is in %s: %w", t.id, m.state, ErrConcurrent)
		}
		return none, invalid
	case Empty:
		if commit {
			return none, invalid
		}
	default:
		return none, invalid
	}
	next, err := m.prepareTransition(commit, true, func() (int64, error) { return c.pids.NextProducerID(ctx) }, c.nowMs())
	if err != nil {
		return none, fmt.Errorf("transactional id %q: %w", t.id, err)
	}
	if err := c.write(ctx, t, next); err != nil {
		return none, err
	}
	c.startCompletion(t)
	return next.answer(), nil
}

// Description is one transaction as DescribeTransactions answers it.
type Description struct {
	State      State
	ProducerID int64
	Epoch      int16
	TimeoutMs  int32
	StartMs    int64 // -1 without a transaction
	Partitions []TopicPartition
}

// Describe is DescribeTransactions for one id: ErrNotCoordinator,
// ErrLoadInProgress or ErrNotFound when it cannot answer.
func (c *Coordinator) Describe(id string) (Description, error) {
	t, err := c.lookup(context.Background(), id, false, 0)
	if err != nil {
		return Description{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stale() {
		return Description{}, fmt.Errorf("transactional id %q: %w", id, ErrNotCoordinator)
	}
	if t.m.epoch < 0 {
		// Created by an InitProducerId whose write did not happen.
		return Description{}, fmt.Errorf("transactional id %q: %w", id, ErrNotFound)
	}
	start := t.m.startMs
	if t.m.state == Empty || t.m.state == CompleteCommit || t.m.state == CompleteAbort {
		start = -1
	}
	return Description{State: t.m.state, ProducerID: t.m.producerID, Epoch: t.m.epoch, TimeoutMs: t.m.timeoutMs,
		StartMs: start, Partitions: t.m.sortedPartitions()}, nil
}

// Listing is one transaction as ListTransactions answers it.
type Listing struct {
	ID         string
	ProducerID int64
	State      State
}

// List is ListTransactions over the partitions loaded here: states and
// pids filter when non-empty; minDuration > 0 keeps transactions running
// at least that long (KIP-994).
func (c *Coordinator) List(states []State, pids []int64, minDuration time.Duration) []Listing {
	c.mu.Lock()
	ts := make([]*txn, 0, len(c.txns))
	for _, t := range c.txns {
		if t.ps.loaded {
			ts = append(ts, t)
		}
	}
	c.mu.Unlock()
	now := c.nowMs()
	var out []Listing
	for _, t := range ts {
		t.mu.Lock()
		m, stale := t.m, t.stale()
		t.mu.Unlock()
		switch {
		case stale || m.epoch < 0:
		case len(states) > 0 && !slices.Contains(states, m.state):
		case len(pids) > 0 && !slices.Contains(pids, m.producerID):
		case minDuration > 0 && (m.state == Empty || m.state == CompleteCommit || m.state == CompleteAbort || m.startMs < 0 ||
			now-m.startMs < minDuration.Milliseconds()):
		default:
			out = append(out, Listing{ID: t.id, ProducerID: m.producerID, State: m.state})
		}
	}
	slices.SortFunc(out, func(a, b Listing) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// timeoutLoop aborts transactions that outlived their timeout every
// AbortInterval and forgets idle transactional ids every ExpireInterval,
// until Close.
func (c *Coordinator) timeoutLoop() {
	abort := time.NewTicker(c.cfg.AbortInterval)
	defer abort.Stop()
	expire := time.NewTicker(c.cfg.ExpireInterval)
	defer expire.Stop()
	for {
		select {
		case <-c.lifetime.Done():
			return
		case <-abort.C:
			c.abortTimedOut()
		case <-expire.C:
			c.expireIDs()
		}
	}
}

// snapshot returns the loaded transactions.
func (c *Coordinator) snapshot() []*txn {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*txn, 0, len(c.txns))
	for _, t := range c.txns {
		if t.ps.loaded {
			out = append(out, t)
		}
	}
	return out
}

// abortTimedOut is Kafka's abortTimedOutTransactions: an Ongoing
// transaction started more than its timeout ago is aborted with a bumped
// epoch, so the producer that let it time out is fenced.
func (c *Coordinator) abortTimedOut() {
	now := c.nowMs()
	for _, t := range c.snapshot() {
		t.mu.Lock()
		if !t.stale() && !t.pending && t.m.state == Ongoing && t.m.startMs >= 0 && now-t.m.startMs > int64(t.m.timeoutMs) {
			if err := c.fenceLocked(c.lifetime, t, "transaction timed out"); err != nil {
				c.logger.Info("abort of timed-out transaction failed", zap.String("transactional_id", t.id), zap.Error(err))
			}
		}
		t.mu.Unlock()
	}
}

// expireIDs is Kafka's removeExpiredTransactionalIds: an id with no
// transaction for transactional.id.expiration.ms is tombstoned.
func (c *Coordinator) expireIDs() {
	now := c.nowMs()
	for _, t := range c.snapshot() {
		t.mu.Lock()
		idle := t.m.state == Empty || t.m.state == CompleteCommit || t.m.state == CompleteAbort
		if !t.stale() && !t.pending && idle && t.m.epoch >= 0 && now-t.m.updateMs > c.cfg.IDExpiration.Milliseconds() {
			t.pending = true
			t.mu.Unlock()
			err := c.appendMeta(c.lifetime, t, nil)
			t.mu.Lock()
			t.pending = false
			if err == nil {
				t.unloaded = true
				c.mu.Lock()
				if c.txns[t.id] == t {
					delete(c.txns, t.id)
				}
				c.mu.Unlock()
				c.logger.Info("expired transactional id", zap.String("transactional_id", t.id))
			}
		}
		t.mu.Unlock()
	}
}
