package replica

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// Controller is what the manager needs from the active controller: ISR
// changes (KIP-497). Implemented by quorum.Node, the remote controller
// client and the ZooKeeper backend.
//
// AlterPartition commits req.NewISR if req's leader epoch and partition
// epoch are current, returning the registration to adopt. Stale requests
// fail (metadata.ErrFencedLeaderEpoch, metadata.ErrInvalidUpdateEpoch,
// metadata.ErrNotLeader): the leader then waits for its next image. Safe
// for concurrent use; it may block until ctx is done, and must not wait
// for the caller's metadata publisher (the manager never holds a lock
// across the call).
type Controller interface {
	AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error)
}

// Logs is where the manager finds partition logs; *storage.Manager
// implements it. The broker creates and deletes the logs (Publish); the
// manager only uses them.
type Logs interface {
	Get(topic string, partition int32) (*storage.Log, bool)
}

// Manager is the Go counterpart of Kafka's ReplicaManager: it makes this
// broker the leader or a follower of its partitions as images arrive,
// copies followed partitions from their leaders, tracks followers' log
// end offsets, advances high watermarks, shrinks and expands ISRs through
// the controller, and tells the produce handler when an acks=all append is
// committed. It implements broker.Replication, broker.ReplicaPublisher and
// broker.FollowerTracker.
type Manager struct {
	cfg    Config
	logs   Logs
	ctrl   Controller
	logger *zap.Logger
	now    func() time.Time
	dial   dialFunc
	// bytesIn, when set, is told of every follower append (topic, bytes).
	bytesIn func(topic string, n int)

	img atomic.Pointer[metadata.Image]

	mu       sync.RWMutex // guards the fields below; before fetcher.mu and partition.mu
	parts    map[storage.TopicPartition]*partition
	fetchers map[int32]*fetcher
	retired  []*fetcher // cancelled when their leader moved; Close waits for them
	alterQ   []*partition
	closed   bool
	noFetch  bool // StopFetching was called: followed partitions get no fetcher

	// leaderQuota and followerQuota are the replication throttles
	// (throttle.go), their rates taken from each image.
	leaderQuota, followerQuota *throttle

	alterWake chan struct{} // capacity 1
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
}

// Option adjusts a Manager at construction.
type Option func(*Manager)

// WithReplicatedBytes has the fetchers report each append they make as a
// follower: the topic and its record bytes (the metrics'
// ReplicationBytesIn). f is called with the partition's lock held and
// must not block.
func WithReplicatedBytes(f func(topic string, n int)) Option {
	return func(m *Manager) { m.bytesIn = f }
}

// WithClock replaces time.Now for the lag and ISR logic.
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// New returns a Manager for cfg.NodeID. It replicates nothing until
// Start and the first Apply.
func New(cfg Config, logs Logs, ctrl Controller, logger *zap.Logger, opts ...Option) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logs == nil || ctrl == nil || logger == nil {
		return nil, fmt.Errorf("%w: New needs logs, a controller and a logger", ErrInvalidConfig)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg:       cfg,
		logs:      logs,
		ctrl:      ctrl,
		logger:    logger.Named("replica"),
		now:       time.Now,
		parts:     make(map[storage.TopicPartition]*partition),
		fetchers:  make(map[int32]*fetcher),
		alterWake: make(chan struct{}, 1),
		ctx:       ctx,
		cancel:    cancel,
	}
	m.dial = m.dialLeader
	for _, o := range opts {
		o(m)
	}
	m.leaderQuota, m.followerQuota = newThrottle(m.now), newThrottle(m.now)
	m.img.Store(metadata.EmptyImage())
	return m, nil
}

// Start runs the ISR goroutine (lag checks and AlterPartition calls).
// Fetchers start as partitions are followed.
func (m *Manager) Start() {
	m.startOnce.Do(func() {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.runISR()
		}()
	})
}

// Close stops every fetcher and the ISR goroutine and waits for them.
// Waiting acks=all produces and long polls return (ctx-bound by their
// callers; WaitCommitted also returns when its partition is dropped).
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	fs := m.fetchers
	m.fetchers = map[int32]*fetcher{}
	retired := m.retired
	m.retired = nil
	parts := m.parts
	m.mu.Unlock()
	m.cancel()
	for _, f := range fs {
		f.stop()
	}
	for _, f := range retired {
		<-f.done
	}
	m.wg.Wait()
	for _, p := range parts {
		p.mu.Lock()
		p.role = roleNone
		p.notifyLocked()
		p.mu.Unlock()
	}
	return nil
}

// StopFetching stops every fetcher and starts none for partitions followed
// later, and waits for the fetchers to end; leaders keep serving. A broker
// in controlled shutdown calls it before asking the controller to move its
// leaderships (Kafka's controller sends it StopReplica for the partitions
// it follows): a follower that no longer fetches cannot be added back to
// an ISR it is about to leave, where acks=all produces would then wait for
// it until replica.lag.time.max.ms.
func (m *Manager) StopFetching() {
	m.mu.Lock()
	m.noFetch = true
	fs := m.fetchers
	m.fetchers = map[int32]*fetcher{}
	m.mu.Unlock()
	for _, f := range fs {
		f.stop()
	}
	m.logger.Info("stopped fetching for controlled shutdown", zap.Int("fetchers", len(fs)))
}

// Apply is the broker's metadata publisher hook: it runs after the broker
// created the logs of changes.Leaders and changes.Followers and before it
// deletes those of changes.Deletes, in log order, never concurrently.
func (m *Manager) Apply(img *metadata.Image, changes metadata.LocalChanges) {
	m.img.Store(img)
	m.applyThrottles(img)
	if changes.Resync {
		m.resync(img)
	}
	for _, lp := range changes.Leaders {
		m.makeLeader(img, lp)
	}
	for _, lp := range changes.Followers {
		m.makeFollower(img, lp)
	}
	for _, lp := range changes.Deletes {
		m.drop(lp)
	}
}

// partitionFor returns the state of lp, creating it, or nil when the
// broker has no log for it (its creation failed: a later image retries).
func (m *Manager) partitionFor(lp metadata.LocalPartition) *partition {
	tp := storage.TopicPartition{Topic: lp.Topic, Partition: lp.Partition}
	l, ok := m.logs.Get(lp.Topic, lp.Partition)
	if !ok {
		m.logger.Warn("no log for partition", zap.String("topic", lp.Topic), zap.Int32("partition", lp.Partition))
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	p, ok := m.parts[tp]
	if ok && p.log == l {
		return p
	}
	if ok { // the log was deleted and recreated: start over
		p.mu.Lock()
		p.role = roleNone
		p.notifyLocked()
		p.mu.Unlock()
	}
	p = newPartition(tp, lp.TopicID, l, m.logger)
	m.parts[tp] = p
	return p
}

func (m *Manager) lookup(topic string, partition int32) *partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.parts[storage.TopicPartition{Topic: topic, Partition: partition}]
}

func (m *Manager) makeLeader(img *metadata.Image, lp metadata.LocalPartition) {
	p := m.partitionFor(lp)
	if p == nil {
		return
	}
	m.unassign(p.tp)
	p.mu.Lock()
	defer p.mu.Unlock()
	reg := lp.Reg
	if p.role == roleLeader && p.leaderEpoch == reg.LeaderEpoch {
		// Same term: an ISR change (ours, or the controller's fencing).
		// The same partition epoch with other replicas: a ZooKeeper-mode
		// reassignment whose topic znode was read after its state.
		if reg.PartitionEpoch > p.reg.PartitionEpoch ||
			reg.PartitionEpoch == p.reg.PartitionEpoch && !slices.Equal(reg.Replicas, p.reg.Replicas) {
			p.logger.Info("ISR changed", zap.Int32s("isr", reg.ISR), zap.Int32("partition_epoch", reg.PartitionEpoch))
			p.reg = reg
			// A reassignment (KIP-455) adds replicas without a new
			// leader epoch: the leader starts tracking them now.
			p.syncFollowersLocked(m.cfg.NodeID)
			if p.alter != nil && p.alter.partitionEpoch < reg.PartitionEpoch {
				p.alter = nil // superseded: the next check re-evaluates
			}
		}
		p.maybeIncrementHWLocked(m.now())
		p.notifyLocked()
		return
	}
	now := m.now()
	p.role, p.reg, p.leaderEpoch, p.leaderID = roleLeader, reg, reg.LeaderEpoch, m.cfg.NodeID
	p.epochStart = p.log.LogEndOffset()
	p.alter = nil
	p.followers = make(map[int32]*follower, len(reg.Replicas))
	for _, r := range reg.Replicas {
		if r == m.cfg.NodeID {
			continue
		}
		f := &follower{leo: -1}
		if reg.InISR(r) {
			f.lastCaughtUp = now // Kafka's grace period for a new leader's ISR
		}
		p.followers[r] = f
	}
	log := p.logger.With(zap.Int32("leader_epoch", reg.LeaderEpoch))
	if reg.LeaderRecoveryState == metadata.LeaderRecovering || !reg.InISR(m.cfg.NodeID) {
		log.Error("UNCLEAN LEADER ELECTION: became leader without being in sync; records acknowledged by the previous leader above this log end are lost",
			zap.Int64("log_end_offset", p.epochStart), zap.Int32s("isr", reg.ISR),
			zap.Bool("unclean.leader.election.enable", m.uncleanEnabled(img, p.tp.Topic)))
	}
	log.Info("became leader", zap.Int32s("isr", reg.ISR), zap.Int64("log_end_offset", p.epochStart),
		zap.Int64("high_watermark", p.log.HighWatermark()))
	p.maybeIncrementHWLocked(now)
	p.notifyLocked()
}

// resync runs when the broker's metadata source switched
// (LocalChanges.Resync: a migrating ZooKeeper-mode broker moving between
// the tree and the quorum's log): every partition whose term goes on takes
// its registration from img as it is. The two sources count partition
// epochs apart (zkVersion, the log's own), so a lower one there is not an
// older one: keeping the other source's registration had a leader ignore
// the new source's ISR changes until its epoch caught up (after a rollback,
// a ZooKeeper-mode controller's removal of a stopping follower), and never
// send the expansion the new source's ISR needed once that follower was
// back. A staged or in-flight ISR change is dropped (it names the other
// source's epoch; its answer is ignored) and the next check or fetch
// stages it again. New terms are Apply's, as always.
func (m *Manager) resync(img *metadata.Image) {
	m.mu.RLock()
	parts := make([]*partition, 0, len(m.parts))
	for _, p := range m.parts {
		parts = append(parts, p)
	}
	m.mu.RUnlock()
	now := m.now()
	for _, p := range parts {
		t, ok := img.TopicByID(p.topicID)
		if !ok || t.Name != p.tp.Topic {
			continue
		}
		reg, ok := t.Partitions[p.tp.Partition]
		if !ok {
			continue
		}
		p.mu.Lock()
		if p.role != roleNone && reg.Leader == p.leaderID && reg.LeaderEpoch == p.leaderEpoch && reg != p.reg {
			if p.role == roleLeader && (reg.PartitionEpoch != p.reg.PartitionEpoch || !slices.Equal(reg.ISR, p.reg.ISR)) {
				p.logger.Info("metadata source switched: registration taken as it is", zap.Int32s("isr", reg.ISR),
					zap.Int32("partition_epoch", reg.PartitionEpoch), zap.Int32s("previous_isr", p.reg.ISR),
					zap.Int32("previous_partition_epoch", p.reg.PartitionEpoch))
			}
			p.reg, p.alter = reg, nil
			p.syncFollowersLocked(m.cfg.NodeID)
			p.maybeIncrementHWLocked(now)
			p.notifyLocked()
		}
		p.mu.Unlock()
	}
}

func (m *Manager) makeFollower(img *metadata.Image, lp metadata.LocalPartition) {
	p := m.partitionFor(lp)
	if p == nil {
		return
	}
	reg := lp.Reg
	p.mu.Lock()
	same := p.role == roleFollower && p.leaderEpoch == reg.LeaderEpoch && p.leaderID == reg.Leader
	if reg.PartitionEpoch >= p.reg.PartitionEpoch || !same {
		p.reg = reg
	}
	if same {
		p.mu.Unlock()
		return
	}
	p.role, p.leaderEpoch, p.leaderID = roleFollower, reg.LeaderEpoch, reg.Leader
	p.followers, p.alter = nil, nil
	p.notifyLocked() // a waiting acks=all produce learns it lost leadership
	p.mu.Unlock()
	p.logger.Info("became follower", zap.Int32("leader", reg.Leader), zap.Int32("leader_epoch", reg.LeaderEpoch))

	m.unassign(p.tp)
	if reg.Leader == metadata.NoLeader || reg.Leader == m.cfg.NodeID {
		return
	}
	addr, ok := leaderAddr(img, reg.Leader, m.cfg.ListenerName)
	if !ok {
		p.logger.Warn("leader has no endpoint; not fetching", zap.Int32("leader", reg.Leader))
		return
	}
	m.assign(p, reg.Leader, addr, reg.LeaderEpoch)
}

// drop forgets a partition this broker no longer hosts.
func (m *Manager) drop(lp metadata.LocalPartition) {
	tp := storage.TopicPartition{Topic: lp.Topic, Partition: lp.Partition}
	m.unassign(tp)
	m.mu.Lock()
	p, ok := m.parts[tp]
	delete(m.parts, tp)
	m.mu.Unlock()
	if ok {
		p.mu.Lock()
		p.role = roleNone
		p.notifyLocked()
		p.mu.Unlock()
	}
}

// assign moves p to the fetcher of leader (at addr), creating it.
func (m *Manager) assign(p *partition, leader int32, addr string, epoch int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.noFetch {
		return
	}
	f, ok := m.fetchers[leader]
	if ok && f.addr != addr {
		// The leader re-registered elsewhere: reconnect.
		delete(m.fetchers, leader)
		// Cancel without waiting (never block the publisher on a slow
		// leader); Close waits for the retired fetcher's goroutine.
		f.cancel()
		m.retired = append(pruneStopped(m.retired), f)
		ok = false
	}
	if !ok {
		f = newFetcher(m, leader, addr)
		m.fetchers[leader] = f
		f.start()
	}
	f.set(p, epoch)
}

// pruneStopped drops the fetchers whose goroutine has ended.
func pruneStopped(fs []*fetcher) []*fetcher {
	live := fs[:0]
	for _, f := range fs {
		select {
		case <-f.done:
		default:
			live = append(live, f)
		}
	}
	return live
}

// unassign removes tp from whichever fetcher holds it. Once it returns,
// the fetcher appends no more to tp under the old role: appends re-check
// the partition's role under its lock.
func (m *Manager) unassign(tp storage.TopicPartition) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, f := range m.fetchers {
		f.remove(tp)
	}
}

func leaderAddr(img *metadata.Image, id int32, listener string) (string, bool) {
	b, ok := img.Broker(id)
	if !ok || len(b.Endpoints) == 0 {
		return "", false
	}
	e, ok := b.Endpoint(listener)
	if !ok {
		e = b.Endpoints[0]
	}
	return fmt.Sprintf("%s:%d", e.Host, e.Port), true
}

// minInsync is the topic's min.insync.replicas in img, else the dynamic
// broker value (this broker's, then the cluster default's), else the
// static default.
func (m *Manager) minInsync(topic string) int32 {
	img := m.img.Load()
	v, ok := img.Configs(metadata.TopicResource, topic)["min.insync.replicas"]
	if !ok {
		v, _, ok = metadata.BrokerConfigValue(img, m.cfg.NodeID, "min.insync.replicas")
	}
	if ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n > 0 {
			return int32(n)
		}
	}
	return m.cfg.MinInsyncReplicas
}

func (m *Manager) uncleanEnabled(img *metadata.Image, topic string) bool {
	if v, ok := img.Configs(metadata.TopicResource, topic)["unclean.leader.election.enable"]; ok {
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return m.cfg.UncleanLeaderElection
}

// brokerEpoch is this broker's epoch in the latest image (-1 if absent).
func (m *Manager) brokerEpoch() int64 {
	if b, ok := m.img.Load().Broker(m.cfg.NodeID); ok {
		return b.Epoch
	}
	return -1
}

// HighWatermark implements broker.Replication.
func (m *Manager) HighWatermark(topic string, partition int32, l *storage.Log) int64 {
	p := m.lookup(topic, partition)
	if p == nil || p.log != l {
		return l.HighWatermark()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.role == roleLeader {
		p.maybeIncrementHWLocked(m.now())
	}
	return l.HighWatermark()
}

// WaitHighWatermark implements broker.Replication: the channel closes once
// the high watermark passes past or ctx is done. While the leader is its
// partition's only ISR member (HW = log end), it is the log's own wait.
func (m *Manager) WaitHighWatermark(ctx context.Context, topic string, partition int32, l *storage.Log, past int64) <-chan struct{} {
	p := m.lookup(topic, partition)
	if p == nil || p.log != l {
		return l.Wait(ctx, past)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.role == roleLeader {
		p.maybeIncrementHWLocked(m.now())
		if len(p.maximalISRLocked()) == 1 {
			return l.Wait(ctx, past)
		}
	}
	return p.waitHWLocked(ctx, past)
}

// NotifyHighWatermark implements broker.HighWatermarkNotifier: as
// WaitHighWatermark, with a non-blocking send on the shared ch.
func (m *Manager) NotifyHighWatermark(topic string, partition int32, l *storage.Log, past int64, ch chan<- struct{}) func() {
	p := m.lookup(topic, partition)
	if p == nil || p.log != l {
		return l.Notify(past, ch)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.role == roleLeader {
		p.maybeIncrementHWLocked(m.now())
		if len(p.maximalISRLocked()) == 1 {
			return l.Notify(past, ch)
		}
	}
	return p.notifyHWLocked(past, ch)
}

// WaitCommitted implements broker.Replication (Kafka's DelayedProduce):
// it returns nil once the high watermark reaches end with the ISR at least
// min.insync.replicas, ErrNotEnoughReplicasAfterAppend when it got
// there with a smaller ISR, ErrNotLeader when leadership (reg's
// leader epoch) was lost meanwhile, or ctx's error.
func (m *Manager) WaitCommitted(ctx context.Context, topic string, partition int32, reg *metadata.PartitionRegistration, end int64) error {
	p := m.lookup(topic, partition)
	if p == nil {
		return fmt.Errorf("%w: %s-%d is not replicated here", ErrNotLeader, topic, partition)
	}
	for {
		p.mu.Lock()
		if p.role != roleLeader || p.leaderEpoch != reg.LeaderEpoch {
			epoch := p.leaderEpoch
			p.mu.Unlock()
			return fmt.Errorf("%w: %s-%d: appended in leader epoch %d, now epoch %d and not leading",
				ErrNotLeader, topic, partition, reg.LeaderEpoch, epoch)
		}
		p.maybeIncrementHWLocked(m.now())
		if hw := p.log.HighWatermark(); hw >= end {
			isr := p.reg.ISR
			p.mu.Unlock()
			if minISR := m.minInsync(topic); int32(len(isr)) < minISR {
				return fmt.Errorf("%w: %s-%d committed up to %d with ISR %v, min.insync.replicas is %d",
					ErrNotEnoughReplicasAfterAppend, topic, partition, hw, isr, minISR)
			}
			return nil
		}
		ch := p.notify
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for ISR of %s-%d to reach %d: %w", topic, partition, end, ctx.Err())
		}
	}
}

// FollowerFetched implements broker.FollowerTracker: the leader's Fetch
// handler reports that replica asked for partition from fetchOffset (its
// log end offset) in currentLeaderEpoch (-1 = unchecked). Fetches from
// non-replicas or for another epoch are ignored.
func (m *Manager) FollowerFetched(topic string, partition int32, replica int32, currentLeaderEpoch int32, fetchOffset int64) {
	p := m.lookup(topic, partition)
	if p == nil {
		return
	}
	p.mu.Lock()
	expand := p.followerFetchedLocked(replica, currentLeaderEpoch, fetchOffset, m.now())
	p.mu.Unlock()
	if expand {
		m.queueAlter(p)
	}
}

// Partition reports the manager's view of one partition, for tests and
// diagnostics: its role, the ISR it acts on, and its high watermark.
func (m *Manager) Partition(topic string, partition int32) (PartitionState, bool) {
	p := m.lookup(topic, partition)
	if p == nil {
		return PartitionState{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return PartitionState{
		Leader:         p.role == roleLeader,
		LeaderID:       p.leaderID,
		LeaderEpoch:    p.leaderEpoch,
		PartitionEpoch: p.reg.PartitionEpoch,
		ISR:            append([]int32(nil), p.reg.ISR...),
		HighWatermark:  p.log.HighWatermark(),
		LogEndOffset:   p.log.LogEndOffset(),
	}, true
}

// PartitionState is a snapshot of one partition's replication state.
type PartitionState struct {
	Leader         bool
	LeaderID       int32
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
	HighWatermark  int64
	LogEndOffset   int64
}
