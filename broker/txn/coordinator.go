package txn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/group"
)

// Log is the coordinator's access to the partitions of __transaction_state,
// implemented by the broker over its partition logs and replication.
//
// Contract: safe for concurrent use; partition is a partition of
// __transaction_state.
//   - Append appends batch (one uncompressed v2 record batch built here) as
//     the partition's leader and returns once it is committed (acks=all).
//     When this broker does not lead the partition it returns an error
//     wrapping ErrNotCoordinator. It must return once ctx is done.
//   - Read returns whole record batches starting at the batch holding
//     offset, about maxBytes but at least one batch; nil at the log end.
//   - Bounds returns the log start and end offsets.
type Log interface {
	Append(ctx context.Context, partition int32, batch []byte) error
	Read(partition int32, offset int64, maxBytes int32) ([]byte, error)
	Bounds(partition int32) (start, end int64, err error)
}

// ProducerIDs hands out producer ids no other broker hands out (the
// broker's controller-allocated blocks). Safe for concurrent use; returns
// once ctx is done.
type ProducerIDs interface {
	NextProducerID(ctx context.Context) (int64, error)
}

// Cluster is how markers reach partition leaders (Kafka's
// TransactionMarkerChannelManager's network side), implemented by the
// broker over its metadata image and inter-broker clients.
//
// Contract: safe for concurrent use.
//   - Leader returns the broker leading tp (-1 while it has none);
//     exists is false once the topic or partition is gone.
//   - WriteTxnMarkers sends req to broker node (possibly this one) and
//     returns its response; it must return once ctx is done.
type Cluster interface {
	Leader(tp TopicPartition) (node int32, exists bool)
	WriteTxnMarkers(ctx context.Context, node int32, req *kmsg.WriteTxnMarkersRequest) (*kmsg.WriteTxnMarkersResponse, error)
}

// Coordinator is the Go counterpart of Kafka's TransactionCoordinator and
// TransactionStateManager: it serves the transactional ids whose
// __transaction_state partition this broker leads, keeps their metadata
// in that partition, and drives commits and aborts to completion through
// the partition leaders.
type Coordinator struct {
	cfg     Config
	log     Log
	pids    ProducerIDs
	cluster Cluster
	logger  *zap.Logger
	now     func() time.Time

	lifetime context.Context // cancelled by Close
	cancel   context.CancelFunc

	// mu guards the fields below. It is a leaf lock except that txn.mu
	// may be held when taking it (order: txn.mu, Coordinator.mu).
	mu         sync.Mutex
	closed     bool
	looping    bool // the timeout loop runs
	txns       map[string]*txn
	partitions map[int32]*partitionState

	wg sync.WaitGroup // loaders, marker senders, the timeout loop
}

// partitionState is one __transaction_state partition led here.
type partitionState struct {
	epoch  int32 // the partition's leader epoch: the coordinator epoch
	loaded bool
	ctx    context.Context // cancelled when the partition is unloaded
	cancel context.CancelFunc
}

// txn is one transactional id's metadata and its in-flight transition.
type txn struct {
	id        string
	partition int32
	ps        *partitionState

	mu       sync.Mutex
	m        meta
	pending  bool // a transition is being written; others get CONCURRENT_TRANSACTIONS
	unloaded bool
}

// Option adjusts a Coordinator at construction.
type Option func(*Coordinator)

// WithClock replaces the wall clock (tests age transactions with it).
func WithClock(now func() time.Time) Option { return func(c *Coordinator) { c.now = now } }

// New returns a coordinator that leads no partition yet. It starts no
// goroutine until a partition is led.
func New(cfg Config, log Log, pids ProducerIDs, cluster Cluster, logger *zap.Logger, opts ...Option) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil || pids == nil || cluster == nil || logger == nil {
		return nil, fmt.Errorf("%w: New needs a log, producer ids, a cluster and a logger", ErrInvalidConfig)
	}
	c := &Coordinator{
		cfg: cfg, log: log, pids: pids, cluster: cluster,
		logger:     logger.Named("txn"),
		now:        time.Now,
		txns:       make(map[string]*txn),
		partitions: make(map[int32]*partitionState),
	}
	for _, o := range opts {
		o(c)
	}
	c.lifetime, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Config returns the configuration the coordinator runs with.
func (c *Coordinator) Config() Config { return c.cfg }

// PartitionFor is the __transaction_state partition of a transactional id:
// abs(Java String.hashCode(id)) % partitions, as for groups.
func (c *Coordinator) PartitionFor(id string) int32 {
	return group.PartitionFor(id, c.cfg.NumPartitions)
}

func (c *Coordinator) nowMs() int64 { return c.now().UnixMilli() }

// Close unloads everything, stops marker senders and the timeout loop and
// waits for every goroutine the coordinator started.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for _, ps := range c.partitions {
		ps.cancel()
	}
	c.partitions = make(map[int32]*partitionState)
	txns := c.txns
	c.txns = make(map[string]*txn)
	c.mu.Unlock()
	c.cancel()
	for _, t := range txns {
		t.mu.Lock()
		t.unloaded = true
		t.mu.Unlock()
	}
	c.wg.Wait()
	return nil
}

// goTracked runs f on a goroutine Close waits for; false once closed.
func (c *Coordinator) goTrackedLocked(f func()) bool {
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// BecomeLeader tells the coordinator that this broker leads state
// partition p at leaderEpoch (the coordinator epoch its markers carry): it
// loads the partition in the background (requests answer
// COORDINATOR_LOAD_IN_PROGRESS meanwhile) and then resumes the markers of
// every transaction left in PrepareCommit or PrepareAbort. The same epoch
// again does nothing; a new epoch reloads.
func (c *Coordinator) BecomeLeader(p int32, leaderEpoch int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if ps, ok := c.partitions[p]; ok && ps.epoch == leaderEpoch {
		return
	}
	c.detachLocked(p)
	ctx, cancel := context.WithCancel(c.lifetime)
	ps := &partitionState{epoch: leaderEpoch, ctx: ctx, cancel: cancel}
	c.partitions[p] = ps
	c.goTrackedLocked(func() { c.load(p, ps) })
	if !c.looping {
		c.looping = true
		c.goTrackedLocked(c.timeoutLoop)
	}
}

// Resign tells the coordinator this broker no longer leads state
// partition p: its transactions are forgotten (clients get NOT_COORDINATOR
// and find the new coordinator, which resumes what is pending).
func (c *Coordinator) Resign(p int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.detachLocked(p)
}

// detachLocked forgets partition p and its transactions. mu held.
func (c *Coordinator) detachLocked(p int32) {
	ps, ok := c.partitions[p]
	if !ok {
		return
	}
	ps.cancel()
	delete(c.partitions, p)
	n := 0
	for id, t := range c.txns {
		if t.partition == p {
			delete(c.txns, id)
			// t.mu is taken after c.mu nowhere else; marking it
			// unloaded here would invert the order, so the holder
			// notices through ps.ctx instead (see stale).
			n++
		}
	}
	if n > 0 {
		c.logger.Info("unloaded transaction state partition", zap.Int32("partition", p), zap.Int("transactional_ids", n))
	}
}

// stale reports whether t no longer belongs to a partition led here. t.mu held.
func (t *txn) stale() bool { return t.unloaded || t.ps.ctx.Err() != nil }

// Leads reports whether state partition p is led here and loaded.
func (c *Coordinator) Leads(p int32) (leader, loaded bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.partitions[p]
	return ok, ok && ps.loaded
}

// load replays partition p and installs its transactions, then resumes
// the completion of those left in Prepare*.
func (c *Coordinator) load(p int32, ps *partitionState) {
	logger := c.logger.With(zap.Int32("partition", p), zap.Int32("coordinator_epoch", ps.epoch))
	started := time.Now()
	var loaded map[string]meta
	var n int
	for attempt := 0; ; attempt++ {
		var err error
		loaded, n, err = c.replay(ps.ctx, p)
		if err == nil {
			break
		}
		logger.Warn("load transaction state partition failed, retrying", zap.Error(err), zap.Int("attempt", attempt))
		select {
		case <-ps.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.partitions[p] != ps {
		return // unloaded or reloaded meanwhile
	}
	var resume []*txn
	for id, m := range loaded {
		t := &txn{id: id, partition: p, ps: ps, m: m}
		c.txns[id] = t
		if m.state == PrepareCommit || m.state == PrepareAbort {
			t.pending = true
			resume = append(resume, t)
		}
	}
	ps.loaded = true
	logger.Info("loaded transaction state partition", zap.Int("transactional_ids", len(loaded)), zap.Int("records", n),
		zap.Int("resuming", len(resume)), zap.Duration("took", time.Since(started)))
	for _, t := range resume {
		m := t.m
		c.goTrackedLocked(func() { c.complete(t, m) })
	}
}

// replay reads partition p from its start to its current end.
func (c *Coordinator) replay(ctx context.Context, p int32) (map[string]meta, int, error) {
	start, end, err := c.log.Bounds(p)
	if err != nil {
		return nil, 0, fmt.Errorf("bounds of %s-%d: %w", StateTopic, p, err)
	}
	out := make(map[string]meta)
	n := 0
	for off := start; off < end; {
		if ctx.Err() != nil {
			return nil, n, fmt.Errorf("load of %s-%d: %w", StateTopic, p, ErrNotCoordinator)
		}
		b, err := c.log.Read(p, off, c.cfg.LoadBatchBytes)
		if err != nil {
			return nil, n, fmt.Errorf("read %s-%d at %d: %w", StateTopic, p, off, err)
		}
		if len(b) == 0 {
			break
		}
		next, err := readBatches(b, func(key, value []byte) {
			id, m, err := decodeRecord(key, value)
			if err != nil {
				c.logger.Warn("skipping undecodable transaction state record", zap.Int32("partition", p), zap.Error(err))
				return
			}
			n++
			if m == nil {
				delete(out, id)
				return
			}
			out[id] = *m
		})
		if err != nil {
			return nil, n, fmt.Errorf("%s-%d at %d: %w", StateTopic, p, off, err)
		}
		if next <= off {
			break
		}
		off = next
	}
	return out, n, nil
}

// lookup returns the transaction of id, checking that its partition is led
// here and loaded. With create, an unknown id gets fresh metadata (epoch
// -1, Empty, not yet written) with a new producer id.
func (c *Coordinator) lookup(ctx context.Context, id string, create bool, timeoutMs int32) (*txn, error) {
	p := c.PartitionFor(id)
	for range 2 {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("transactional id %q: %w", id, ErrClosed)
		}
		ps, ok := c.partitions[p]
		switch {
		case !ok:
			c.mu.Unlock()
			return nil, fmt.Errorf("transactional id %q lives on %s-%d, not led here: %w", id, StateTopic, p, ErrNotCoordinator)
		case !ps.loaded:
			c.mu.Unlock()
			return nil, fmt.Errorf("transactional id %q on %s-%d: %w", id, StateTopic, p, ErrLoadInProgress)
		}
		if t := c.txns[id]; t != nil {
			c.mu.Unlock()
			return t, nil
		}
		c.mu.Unlock()
		if !create {
			return nil, fmt.Errorf("transactional id %q: %w", id, ErrNotFound)
		}
		pid, err := c.pids.NextProducerID(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.partitions[p] == ps && c.txns[id] == nil {
			t := &txn{id: id, partition: p, ps: ps, m: meta{
				producerID: pid, lastProducerID: noProducer, nextProducerID: noProducer, epoch: noEpoch, lastEpoch: noEpoch,
				timeoutMs: timeoutMs, state: Empty, startMs: -1, updateMs: c.nowMs(),
			}}
			c.txns[id] = t
			c.mu.Unlock()
			return t, nil
		}
		c.mu.Unlock() // raced with another creator or an unload: look again
	}
	return nil, fmt.Errorf("transactional id %q: %w", id, ErrConcurrent)
}

// write makes next t's metadata: it appends next's record to t's state
// partition and installs next once the append is committed. t.mu is held on
// entry and on return but released during the append; t.pending keeps
// other requests out meanwhile (CONCURRENT_TRANSACTIONS).
func (c *Coordinator) write(ctx context.Context, t *txn, next meta) error {
	t.pending = true
	t.mu.Unlock()
	err := c.appendMeta(ctx, t, &next)
	t.mu.Lock()
	t.pending = false
	if err != nil {
		return err
	}
	if t.stale() {
		return fmt.Errorf("transactional id %q: unloaded during the write: %w", t.id, ErrNotCoordinator)
	}
	t.m = next
	return nil
}

// appendMeta appends the record of m (a tombstone for nil) for t.
func (c *Coordinator) appendMeta(ctx context.Context, t *txn, m *meta) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AppendTimeout)
	defer cancel()
	stop := context.AfterFunc(t.ps.ctx, cancel)
	defer stop()
	r := record{key: encodeKey(t.id)}
	if m != nil {
		r.value = encodeValue(*m)
	}
	if err := c.log.Append(ctx, t.partition, appendBatch(nil, []record{r}, c.nowMs())); err != nil {
		if errors.Is(err, ErrNotCoordinator) {
			return err
		}
		if t.ps.ctx.Err() != nil {
			return fmt.Errorf("append to %s-%d: partition unloaded: %w", StateTopic, t.partition, ErrNotCoordinator)
		}
		// Kafka's TransactionStateManager: a failed or timed-out append
		// is one the client retries after finding the coordinator again.
		return fmt.Errorf("%w: append to %s-%d: %w", ErrCoordinatorUnavailable, StateTopic, t.partition, err)
	}
	return nil
}

// startCompletion sends t's markers and then writes Complete*, on a
// tracked goroutine. t.mu held, t.m is the Prepare* just written.
func (c *Coordinator) startCompletion(t *txn) {
	t.pending = true
	m := t.m
	c.mu.Lock()
	ok := c.goTrackedLocked(func() { c.complete(t, m) })
	c.mu.Unlock()
	if !ok {
		t.pending = false
	}
}

// complete writes m's markers (m is t's Prepare* metadata) to every
// partition of the transaction, then CompleteCommit/CompleteAbort. It gives
// up when the partition is unloaded: the next coordinator resumes from the
// Prepare* record.
func (c *Coordinator) complete(t *txn, m meta) {
	ctx := t.ps.ctx
	logger := c.logger.With(zap.String("transactional_id", t.id), zap.Int64("producer_id", m.producerID),
		zap.Int16("producer_epoch", m.epoch), zap.Stringer("state", m.state))
	defer func() {
		t.mu.Lock()
		t.pending = false
		t.mu.Unlock()
	}()
	if err := c.sendMarkers(ctx, t.ps.epoch, m); err != nil {
		logger.Info("transaction markers abandoned", zap.Error(err))
		return
	}
	for attempt := 0; ; attempt++ {
		next, err := m.completeTransition(c.nowMs())
		if err != nil {
			logger.Error("cannot complete transaction", zap.Error(err))
			return
		}
		err = c.appendMeta(ctx, t, &next)
		if err == nil {
			t.mu.Lock()
			if !t.stale() {
				t.m = next
			}
			t.mu.Unlock()
			logger.Debug("transaction completed")
			return
		}
		if errors.Is(err, ErrNotCoordinator) || ctx.Err() != nil {
			logger.Info("transaction completion abandoned", zap.Error(err))
			return
		}
		logger.Warn("write of completed transaction failed, retrying", zap.Error(err), zap.Int("attempt", attempt))
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.cfg.MarkerBackoff):
		}
	}
}
