package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Log is the coordinator's access to the partitions of __consumer_offsets,
// implemented by the broker over its partition logs and replication.
//
// Contract: safe for concurrent use; partition is a partition of
// __consumer_offsets.
//   - Append appends batch (one uncompressed v2 record batch built here) as
//     the partition's leader and returns once it is committed (acks=all),
//     with the offset the log gave the batch's first record (its records
//     follow at consecutive offsets). When this broker does not lead the
//     partition it returns an error wrapping ErrNotCoordinator. It must
//     return once ctx is done.
//   - Read returns whole record batches starting at the batch holding
//     offset, about maxBytes but at least one batch; nil at the log end.
//   - Bounds returns the log start and end offsets.
type Log interface {
	Append(ctx context.Context, partition int32, batch []byte) (firstOffset int64, err error)
	Read(partition int32, offset int64, maxBytes int32) ([]byte, error)
	Bounds(partition int32) (start, end int64, err error)
}

// Client identifies the connection a request came from (JoinGroup keeps
// it for DescribeGroups).
type Client struct {
	ID   string // the request header's client id
	Host string // the peer's address
}

// Coordinator is the Go counterpart of Kafka's GroupCoordinator and
// GroupMetadataManager: it runs the classic group protocol for the groups
// whose __consumer_offsets partition this broker leads, and keeps their
// metadata and committed offsets in that partition.
type Coordinator struct {
	cfg    Config
	log    Log
	clock  Clock
	logger *zap.Logger

	// lifetime is cancelled by Close; background appends and loads run
	// under it. It is the coordinator's own lifetime, not a request's.
	lifetime context.Context
	cancel   context.CancelFunc

	// mu guards the fields below. It is a leaf lock: nothing else is
	// acquired while it is held (group.mu may be held when taking it).
	mu         sync.Mutex
	closed     bool
	groups     map[string]*group
	partitions map[int32]*partitionState

	wg sync.WaitGroup // loaders, timer callbacks, background appends

	rebalances atomic.Int64 // completed join phases with members (Stats)
}

// partitionState is one offsets partition this broker leads.
type partitionState struct {
	epoch  int32
	loaded bool
	cancel chan struct{} // closed when the partition is unloaded
	// completions are transaction markers written while the partition
	// was loading (c.mu): install applies them to the replayed groups.
	completions []txnCompletion
}

// Option adjusts a Coordinator at construction.
type Option func(*Coordinator)

// WithClock replaces the wall clock (tests drive timeouts with a fake).
func WithClock(cl Clock) Option { return func(c *Coordinator) { c.clock = cl } }

// New returns a coordinator that leads no partition yet. It starts no
// goroutine until a partition is loaded or a timer is armed.
func New(cfg Config, log Log, logger *zap.Logger, opts ...Option) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil || logger == nil {
		return nil, fmt.Errorf("%w: New needs a log and a logger", ErrInvalidConfig)
	}
	c := &Coordinator{
		cfg:        cfg,
		log:        log,
		clock:      realClock{},
		logger:     logger.Named("group"),
		groups:     make(map[string]*group),
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

// PartitionFor is the __consumer_offsets partition of groupID.
func (c *Coordinator) PartitionFor(groupID string) int32 {
	return PartitionFor(groupID, c.cfg.NumPartitions)
}

// Close unloads every group (pending JoinGroup and SyncGroup calls answer
// NOT_COORDINATOR), stops all timers and waits for every goroutine the
// coordinator started.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	groups := c.groups
	c.groups = make(map[string]*group)
	for _, ps := range c.partitions {
		close(ps.cancel)
	}
	c.partitions = make(map[int32]*partitionState)
	c.mu.Unlock()
	c.cancel()
	for _, g := range groups {
		c.unloadGroup(g)
	}
	c.wg.Wait()
	return nil
}

// enter registers a goroutine with wg unless the coordinator is closed.
func (c *Coordinator) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// after runs f after d on a tracked goroutine, unless Close came first.
func (c *Coordinator) after(d time.Duration, f func()) Timer {
	return c.clock.AfterFunc(d, func() {
		if !c.enter() {
			return
		}
		defer c.wg.Done()
		f()
	})
}

// goTracked runs f on a goroutine Close waits for.
func (c *Coordinator) goTracked(f func()) {
	if !c.enter() {
		return
	}
	go func() {
		defer c.wg.Done()
		f()
	}()
}

func (c *Coordinator) nowMs() int64 { return c.clock.Now().UnixMilli() }

// BecomeLeader tells the coordinator that this broker leads offsets
// partition p at leaderEpoch: it loads the partition's groups and offsets
// in the background (requests for them answer COORDINATOR_LOAD_IN_PROGRESS
// meanwhile). Repeating the call with the same epoch does nothing; a new
// epoch reloads. Called by the broker's metadata publisher.
func (c *Coordinator) BecomeLeader(p int32, leaderEpoch int32) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if ps, ok := c.partitions[p]; ok && ps.epoch == leaderEpoch {
		c.mu.Unlock()
		return
	}
	stale := c.detachPartitionLocked(p)
	ps := &partitionState{epoch: leaderEpoch, cancel: make(chan struct{})}
	c.partitions[p] = ps
	c.wg.Add(1)
	c.mu.Unlock()
	for _, g := range stale {
		c.unloadGroup(g)
	}
	go func() {
		defer c.wg.Done()
		c.load(p, ps)
	}()
}

// Resign tells the coordinator that this broker no longer leads offsets
// partition p: its groups are unloaded (members are told NOT_COORDINATOR
// and find the new coordinator).
func (c *Coordinator) Resign(p int32) {
	c.mu.Lock()
	stale := c.detachPartitionLocked(p)
	c.mu.Unlock()
	for _, g := range stale {
		c.unloadGroup(g)
	}
}

// detachPartitionLocked forgets partition p and returns its groups. mu held.
func (c *Coordinator) detachPartitionLocked(p int32) []*group {
	ps, ok := c.partitions[p]
	if !ok {
		return nil
	}
	close(ps.cancel)
	delete(c.partitions, p)
	var out []*group
	for id, g := range c.groups {
		if g.partition == p {
			out = append(out, g)
			delete(c.groups, id)
		}
	}
	if len(out) > 0 {
		c.logger.Info("unloading offsets partition", zap.Int32("partition", p), zap.Int("groups", len(out)))
	}
	return out
}

// Leads reports whether partition p is led here and loaded.
func (c *Coordinator) Leads(p int32) (leader, loaded bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.partitions[p]
	return ok, ok && ps.loaded
}

// load replays partition p's log into groups and installs them, unless the
// partition was unloaded meanwhile.
func (c *Coordinator) load(p int32, ps *partitionState) {
	logger := c.logger.With(zap.Int32("partition", p), zap.Int32("leader_epoch", ps.epoch))
	started := c.clock.Now()
	for attempt := 0; ; attempt++ {
		loaded, n, err := c.replay(p, ps.cancel)
		if err == nil {
			if c.install(p, ps, loaded) {
				logger.Info("loaded offsets partition", zap.Int("groups", len(loaded)), zap.Int("records", n),
					zap.Duration("took", c.clock.Now().Sub(started)))
			}
			return
		}
		logger.Warn("load offsets partition failed, retrying", zap.Error(err), zap.Int("attempt", attempt))
		select {
		case <-ps.cancel:
			return
		case <-time.After(time.Second):
		}
	}
}

// loadedGroup is what replay found for one group.
type loadedGroup struct {
	meta       *kmsg.GroupMetadataValue
	offsets    map[topicPartition]committed
	pendingTxn map[int64]map[topicPartition]committed // transactions without a marker yet
}

// replay reads partition p from its start to the end it has now, applying
// records (and tombstones) in log order.
func (c *Coordinator) replay(p int32, cancel <-chan struct{}) (map[string]*loadedGroup, int, error) {
	start, end, err := c.log.Bounds(p)
	if err != nil {
		return nil, 0, fmt.Errorf("bounds of %s-%d: %w", OffsetsTopic, p, err)
	}
	out := make(map[string]*loadedGroup)
	get := func(id string) *loadedGroup {
		lg := out[id]
		if lg == nil {
			lg = &loadedGroup{offsets: make(map[topicPartition]committed)}
			out[id] = lg
		}
		return lg
	}
	// Transactional offset commits wait for their marker (Kafka's
	// loadGroupsAndOffsets: pendingOffsets by producer id); a commit
	// applies them as the live path does (commitPending: the later record
	// in the log wins).
	pending := make(map[int64]map[string]map[topicPartition]committed)
	onMarker := func(pid int64, commit bool) {
		for id, offs := range pending[pid] {
			if commit {
				commitPending(get(id).offsets, offs)
			}
		}
		delete(pending, pid)
	}
	n := 0
	for off := start; off < end; {
		select {
		case <-cancel:
			return nil, n, fmt.Errorf("load of %s-%d: %w", OffsetsTopic, p, ErrNotCoordinator)
		default:
		}
		b, err := c.log.Read(p, off, c.cfg.LoadBatchBytes)
		if err != nil {
			return nil, n, fmt.Errorf("read %s-%d at %d: %w", OffsetsTopic, p, off, err)
		}
		if len(b) == 0 {
			break
		}
		next, skipped, err := readTxnBatches(b, func(txnPID, recOffset int64, key, value []byte) error {
			e, err := decodeRecord(key, value)
			if err != nil {
				// One bad record must not make the partition unloadable.
				c.logger.Warn("skipping undecodable offsets record", zap.Int32("partition", p), zap.Error(err))
				return nil
			}
			n++
			if e.offset != nil {
				e.offset.logOffset = recOffset
			}
			switch {
			case txnPID >= 0 && e.isOffset && e.offset != nil:
				byGroup := pending[txnPID]
				if byGroup == nil {
					byGroup = make(map[string]map[topicPartition]committed)
					pending[txnPID] = byGroup
				}
				if byGroup[e.group] == nil {
					byGroup[e.group] = make(map[topicPartition]committed)
				}
				byGroup[e.group][topicPartition{e.topic, e.partition}] = *e.offset
			case e.isOffset && e.offset == nil:
				if lg := out[e.group]; lg != nil {
					delete(lg.offsets, topicPartition{e.topic, e.partition})
				}
			case e.isOffset:
				get(e.group).offsets[topicPartition{e.topic, e.partition}] = *e.offset
			case e.meta == nil:
				delete(out, e.group) // group tombstone: the group and its offsets are gone
			default:
				get(e.group).meta = e.meta
			}
			return nil
		}, onMarker)
		if err != nil {
			return nil, n, fmt.Errorf("decode %s-%d at %d: %w", OffsetsTopic, p, off, err)
		}
		if skipped > 0 {
			c.logger.Warn("skipped compressed or control batches in offsets partition", zap.Int32("partition", p), zap.Int("batches", skipped))
		}
		if next <= off {
			return nil, n, fmt.Errorf("%w: read of %s-%d at %d made no progress", ErrCorruptRecord, OffsetsTopic, p, off)
		}
		off = next
	}
	for pid, byGroup := range pending {
		for id, offs := range byGroup {
			lg := get(id)
			if lg.pendingTxn == nil {
				lg.pendingTxn = make(map[int64]map[topicPartition]committed)
			}
			lg.pendingTxn[pid] = offs
		}
	}
	return out, n, nil
}

// install makes the replayed groups live if p is still led at the same
// epoch; it reports whether it did.
func (c *Coordinator) install(p int32, ps *partitionState, loaded map[string]*loadedGroup) bool {
	groups := make([]*group, 0, len(loaded))
	for id, lg := range loaded {
		groups = append(groups, c.restoreGroup(id, p, lg))
	}
	c.mu.Lock()
	if c.closed || c.partitions[p] != ps {
		c.mu.Unlock()
		return false
	}
	for _, g := range groups {
		c.groups[g.id] = g
	}
	// Markers written while loading: the groups are nobody else's yet
	// (published when c.mu is released), so no group.mu (a leaf must not
	// be held while taking it).
	for _, tc := range ps.completions {
		for _, g := range groups {
			g.completeTxnLocked(tc.pid, tc.commit)
		}
	}
	ps.completions = nil
	ps.loaded = true
	c.mu.Unlock()
	for _, g := range groups {
		g.mu.Lock()
		for _, m := range g.members {
			c.scheduleHeartbeat(g, m)
		}
		g.mu.Unlock()
	}
	return true
}

// lockGroup returns groupID's group with its mu held (and its writeMu
// before that when write is set), creating an Empty group when create is
// set. Errors: ErrInvalidGroupID, ErrNotCoordinator, ErrLoadInProgress,
// ErrGroupNotFound (create unset and no group), ErrCoordinatorUnavailable
// (the group is being deleted).
func (c *Coordinator) lockGroup(groupID string, create, write bool) (*group, error) {
	if groupID == "" {
		return nil, fmt.Errorf("%w: empty group id", ErrInvalidGroupID)
	}
	p := c.PartitionFor(groupID)
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("group %q: %w", groupID, ErrNotCoordinator)
		}
		ps, ok := c.partitions[p]
		switch {
		case !ok:
			c.mu.Unlock()
			return nil, fmt.Errorf("group %q lives on %s-%d, not led here: %w", groupID, OffsetsTopic, p, ErrNotCoordinator)
		case !ps.loaded:
			c.mu.Unlock()
			return nil, fmt.Errorf("group %q on %s-%d: %w", groupID, OffsetsTopic, p, ErrLoadInProgress)
		}
		g := c.groups[groupID]
		if g == nil {
			if !create {
				c.mu.Unlock()
				return nil, fmt.Errorf("group %q: %w", groupID, ErrGroupNotFound)
			}
			g = newGroup(groupID, p, c.nowMs())
			c.groups[groupID] = g
		}
		c.mu.Unlock()
		if write {
			g.writeMu.Lock()
		}
		g.mu.Lock()
		switch {
		case g.unloaded:
			// Unloaded between the lookup and the lock: look again.
			g.mu.Unlock()
			if write {
				g.writeMu.Unlock()
			}
			continue
		case g.state == Dead:
			g.mu.Unlock()
			if write {
				g.writeMu.Unlock()
			}
			return nil, fmt.Errorf("group %q is being deleted: %w", groupID, ErrCoordinatorUnavailable)
		}
		return g, nil
	}
}

// removeGroup forgets g (DeleteGroups). g.mu held.
func (c *Coordinator) removeGroupLocked(g *group) {
	c.mu.Lock()
	if c.groups[g.id] == g {
		delete(c.groups, g.id)
	}
	c.mu.Unlock()
}

// snapshotGroups returns the live groups.
func (c *Coordinator) snapshotGroups() []*group {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		out = append(out, g)
	}
	return out
}

// appendRecords writes recs to g's partition as one batch and waits until
// committed. recs[i] is at offset first+i.
func (c *Coordinator) appendRecords(ctx context.Context, p int32, recs []record) (first int64, err error) {
	if len(recs) == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AppendTimeout)
	defer cancel()
	stop := context.AfterFunc(c.lifetime, cancel)
	defer stop()
	batch := appendBatch(nil, recs, c.nowMs())
	first, err = c.log.Append(ctx, p, batch)
	if err != nil {
		if errors.Is(err, ErrNotCoordinator) {
			return 0, err
		}
		// Anything else (a storage or replication error, the deadline) is
		// one the client can only retry: ErrCoordinatorUnavailable decides
		// the code, the cause stays visible to errors.Is.
		return 0, fmt.Errorf("%w: append %d records to %s-%d: %w", ErrCoordinatorUnavailable, len(recs), OffsetsTopic, p, err)
	}
	return first, nil
}
