package replica

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// leaderFixture: broker 1 leads t-0 with replicas 1,2,3 (no network: the
// followers are simulated by FollowerFetched calls).
type leaderFixture struct {
	m     *Manager
	ctrl  *fakeController
	clock *fakeClock
	log   *storage.Log
	epoch int32
}

func newLeaderFixture(t *testing.T, minISR string) *leaderFixture {
	t.Helper()
	ctrl := newFakeController(t, 1, 2, 3)
	logs := openLogs(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	cfg := DefaultConfig()
	m, err := New(cfg, logs, ctrl, zaptest.NewLogger(t), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	ctrl.subs = append(ctrl.subs, func(d *metadata.Delta, img *metadata.Image) {
		changes := d.LocalChanges(1)
		for _, lp := range append(changes.Leaders, changes.Followers...) {
			if _, err := logs.GetOrCreate(lp.Topic, lp.Partition, lp.TopicID); err != nil {
				t.Error(err)
			}
		}
		m.Apply(img, changes)
	})
	ctrl.createTopic(t, "t", map[string]string{"min.insync.replicas": minISR}, []int32{1, 2, 3})
	l, _ := logs.Get("t", 0)
	return &leaderFixture{m: m, ctrl: ctrl, clock: clock, log: l}
}

func (f *leaderFixture) reg(t *testing.T) *metadata.PartitionRegistration {
	t.Helper()
	top, _ := f.ctrl.image().Topic("t")
	return top.Partitions[0]
}

func (f *leaderFixture) append(t *testing.T, n int) int64 {
	t.Helper()
	res, err := f.log.Append(testBatch(n, "v"), f.reg(t).LeaderEpoch)
	if err != nil {
		t.Fatal(err)
	}
	return res.LastOffset + 1
}

// TestHighWatermark checks HW = min LEO over the ISR, only after every ISR
// member fetched in the term, never backwards, ignoring non-replicas and
// stale epochs.
func TestHighWatermark(t *testing.T) {
	f := newLeaderFixture(t, "2")
	end := f.append(t, 10)
	hw := func() int64 { return f.m.HighWatermark("t", 0, f.log) }
	steps := []struct {
		name    string
		replica int32
		epoch   int32
		offset  int64
		want    int64
	}{
		{"one follower known", 2, 0, 10, 0},
		{"non-replica ignored", 4, 0, 10, 0},
		{"stale epoch ignored", 3, 7, 10, 0},
		{"slowest bounds", 3, 0, 4, 4},
		{"unchecked epoch counts", 3, -1, 8, 8},
		{"never backwards", 3, 0, 6, 8},
		{"all caught up", 3, 0, end, end},
	}
	for _, s := range steps {
		f.m.FollowerFetched("t", 0, s.replica, s.epoch, s.offset)
		if got := hw(); got != s.want {
			t.Fatalf("%s: HW = %d, want %d", s.name, got, s.want)
		}
	}
}

// moveLeader makes the controller elect newLeader (a new leader epoch).
func (f *leaderFixture) moveLeader(t *testing.T, newLeader int32) {
	t.Helper()
	top, _ := f.ctrl.image().Topic("t")
	rec := metadata.NewPartitionChangeRecord(top.ID, 0)
	rec.Leader = newLeader
	f.ctrl.apply(t, []metadata.Record{rec})
}

func TestWaitCommitted(t *testing.T) {
	tests := []struct {
		name    string
		minISR  string
		act     func(t *testing.T, f *leaderFixture, end int64)
		timeout time.Duration
		want    error
	}{
		{"all ISR fetched", "2", func(t *testing.T, f *leaderFixture, end int64) {
			f.m.FollowerFetched("t", 0, 2, 0, end)
			f.m.FollowerFetched("t", 0, 3, 0, end)
		}, time.Minute, nil},
		{"times out", "2", func(t *testing.T, f *leaderFixture, end int64) {
			f.m.FollowerFetched("t", 0, 2, 0, end)
		}, 50 * time.Millisecond, context.DeadlineExceeded},
		{"isr shrank below min", "3", func(t *testing.T, f *leaderFixture, end int64) {
			f.m.FollowerFetched("t", 0, 2, 0, end)
			f.clock.Add(time.Hour)
			f.m.FollowerFetched("t", 0, 2, 0, end) // 2 stays caught up; 3 lags
			f.m.checkISR()
			f.m.sendAlters(context.Background())
		}, time.Minute, ErrNotEnoughReplicasAfterAppend},
		{"leadership lost", "2", func(t *testing.T, f *leaderFixture, end int64) {
			f.moveLeader(t, 2)
		}, time.Minute, ErrNotLeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newLeaderFixture(t, tc.minISR)
			reg := f.reg(t)
			end := f.append(t, 5)
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- f.m.WaitCommitted(ctx, "t", 0, reg, end) }()
			select {
			case err := <-done:
				t.Fatalf("returned %v before the ISR had the records", err)
			case <-time.After(20 * time.Millisecond):
			}
			tc.act(t, f, end)
			err := <-done
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("WaitCommitted = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestISRShrinkExpand: a follower that stops catching up leaves the ISR
// after replica.lag.time.max.ms; once it reaches the high watermark it is
// added back. Both go through Controller.AlterPartition.
func TestISRShrinkExpand(t *testing.T) {
	f := newLeaderFixture(t, "1")
	end := f.append(t, 3)
	f.m.FollowerFetched("t", 0, 2, 0, end)
	f.m.FollowerFetched("t", 0, 3, 0, end)
	more := f.append(t, 3)

	f.clock.Add(f.m.cfg.ReplicaLagTime / 2)
	f.m.FollowerFetched("t", 0, 2, 0, more) // 2 caught up, 3 silent
	f.m.checkISR()
	f.m.sendAlters(context.Background())
	if isr := f.reg(t).ISR; !slices.Equal(isr, []int32{1, 2, 3}) {
		t.Fatalf("ISR shrank before the lag time: %v", isr)
	}
	f.clock.Add(f.m.cfg.ReplicaLagTime)
	f.m.FollowerFetched("t", 0, 2, 0, more)
	f.m.checkISR()
	f.m.sendAlters(context.Background())
	if isr := f.reg(t).ISR; !slices.Equal(isr, []int32{1, 2}) {
		t.Fatalf("ISR after lag = %v, want [1 2]", isr)
	}
	if st, _ := f.m.Partition("t", 0); st.HighWatermark != more || !slices.Equal(st.ISR, []int32{1, 2}) {
		t.Fatalf("state after shrink = %+v, want HW %d", st, more)
	}
	// 3 comes back behind the HW: not yet in sync.
	f.m.FollowerFetched("t", 0, 3, 0, end)
	f.m.sendAlters(context.Background())
	if isr := f.reg(t).ISR; len(isr) != 2 {
		t.Fatalf("lagging follower rejoined: %v", isr)
	}
	f.m.FollowerFetched("t", 0, 3, 0, more)
	f.m.sendAlters(context.Background())
	if isr := f.reg(t).ISR; !slices.Equal(isr, []int32{1, 2, 3}) {
		t.Fatalf("ISR after catch-up = %v, want [1 2 3]", isr)
	}
}

// TestStaleAlterPartition: an ISR change computed from an outdated
// partition epoch is rejected by the controller; the leader drops it,
// re-reads its image and the next attempt succeeds.
func TestStaleAlterPartition(t *testing.T) {
	f := newLeaderFixture(t, "1")
	end := f.append(t, 1)
	f.m.FollowerFetched("t", 0, 2, 0, end)
	// The controller bumps the partition epoch without the leader seeing it
	// (its image arrives later).
	top, _ := f.ctrl.image().Topic("t")
	f.ctrl.mu.Lock()
	var late func()
	subs := f.ctrl.subs
	f.ctrl.subs = []func(*metadata.Delta, *metadata.Image){func(d *metadata.Delta, img *metadata.Image) {
		late = func() {
			for _, s := range subs {
				s(d, img)
			}
		}
	}}
	rec := metadata.NewPartitionChangeRecord(top.ID, 0)
	rec.ISR = []int32{1, 3, 2}
	if err := f.ctrl.applyLocked([]metadata.Record{rec}); err != nil {
		t.Fatal(err)
	}
	f.ctrl.subs = subs
	f.ctrl.mu.Unlock()
	f.clock.Add(2 * f.m.cfg.ReplicaLagTime)
	f.m.FollowerFetched("t", 0, 2, 0, end)
	f.m.checkISR()
	f.m.sendAlters(context.Background())
	if isr := f.reg(t).ISR; !slices.Equal(isr, []int32{1, 3, 2}) {
		t.Fatalf("stale alter was applied: ISR %v", isr)
	}
	if st, _ := f.m.Partition("t", 0); st.PartitionEpoch != 0 {
		t.Fatalf("leader adopted a registration it has not seen: %+v", st)
	}
	// The image arrives, then the retry (from the new epoch) succeeds.
	late()
	if st, _ := f.m.Partition("t", 0); st.PartitionEpoch != 1 {
		t.Fatalf("image not adopted: %+v", st)
	}
	f.m.checkISR()
	f.m.sendAlters(context.Background())
	if isr := f.reg(t).ISR; !slices.Equal(isr, []int32{1, 2}) {
		t.Fatalf("retry: ISR %v, want [1 2]", isr)
	}
	if f.ctrl.alters != 2 {
		t.Fatalf("AlterPartition calls = %d, want 2 (stale, retry)", f.ctrl.alters)
	}
}

// TestLeaderFollowerTransitions: Apply moves a partition between roles and
// fetchers; a follower of a missing leader does not fetch.
func TestLeaderFollowerTransitions(t *testing.T) {
	f := newLeaderFixture(t, "1")
	if st, _ := f.m.Partition("t", 0); !st.Leader || st.LeaderEpoch != 0 {
		t.Fatalf("after create: %+v", st)
	}
	f.moveLeader(t, 2)
	st, _ := f.m.Partition("t", 0)
	if st.Leader || st.LeaderID != 2 || st.LeaderEpoch != 1 {
		t.Fatalf("after move: %+v", st)
	}
	f.m.mu.RLock()
	fe, ok := f.m.fetchers[2]
	f.m.mu.RUnlock()
	if !ok || fe.addr != "127.0.0.1:9002" {
		t.Fatalf("no fetcher for leader 2 at its endpoint: %v", ok)
	}
	f.moveLeader(t, 1)
	if st, _ := f.m.Partition("t", 0); !st.Leader || st.LeaderEpoch != 2 {
		t.Fatalf("after move back: %+v", st)
	}
	fe.mu.Lock()
	n := len(fe.assigned)
	fe.mu.Unlock()
	if n != 0 {
		t.Fatalf("leader still assigned to a fetcher")
	}
	f.ctrl.apply(t, mustRecords(metadata.DeleteTopic(f.ctrl.image(), "t")))
	if _, ok := f.m.Partition("t", 0); ok {
		t.Fatal("deleted partition still tracked")
	}
}

func mustRecords(recs []metadata.Record, err error) []metadata.Record {
	if err != nil {
		panic(err)
	}
	return recs
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		key string
		mod func(*Config)
	}{
		{"node.id", func(c *Config) { c.NodeID = -1 }},
		{"inter.broker.listener.name", func(c *Config) { c.ListenerName = "" }},
		{"replica.lag.time.max.ms", func(c *Config) { c.ReplicaLagTime = 0 }},
		{"replica.fetch.wait.max.ms", func(c *Config) { c.FetchMaxWait = c.ReplicaLagTime }},
		{"replica.fetch.min.bytes", func(c *Config) { c.FetchMinBytes = 0 }},
		{"replica.fetch.max.bytes", func(c *Config) { c.FetchMaxBytes = 0 }},
		{"replica.fetch.response.max.bytes", func(c *Config) { c.FetchResponseMaxBytes = 0 }},
		{"replica.fetch.backoff.ms", func(c *Config) { c.FetchBackoff = 0 }},
		{"replica.socket.timeout.ms", func(c *Config) { c.SocketTimeout = 0 }},
		{"min.insync.replicas", func(c *Config) { c.MinInsyncReplicas = 0 }},
		{"request.timeout.ms", func(c *Config) { c.ControllerTimeout = 0 }},
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	for _, tc := range tests {
		c := DefaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: err = %v", tc.key, err)
		}
	}
}

// blockedSource is a leader connection whose requests end only when
// released, whatever their context says: a slow leader.
type blockedSource struct{ entered, release chan struct{} }

func (s blockedSource) Request(ctx context.Context, _ kmsg.Request) (kmsg.Response, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return nil, ctx.Err()
}

func (blockedSource) Close() {}

// TestCloseWaitsForRetiredFetcher: when a leader re-registers at another
// address its old fetcher is cancelled without blocking the publisher, and
// Close still waits for that fetcher's goroutine (STYLE.md: no
// fire-and-forget goroutines).
func TestCloseWaitsForRetiredFetcher(t *testing.T) {
	f := newLeaderFixture(t, "1")
	entered, release := make(chan struct{}, 1), make(chan struct{})
	f.m.dial = func(string) (source, error) { return blockedSource{entered, release}, nil }
	f.moveLeader(t, 2)
	<-entered // the fetcher of leader 2 is inside a request
	f.m.mu.RLock()
	old := f.m.fetchers[2]
	f.m.mu.RUnlock()
	if old == nil {
		t.Fatal("no fetcher for leader 2")
	}

	// Broker 2 comes back at another port; the next leader change re-points
	// the partition, retiring the fetcher that is stuck in a request.
	reg := metadata.BrokerRegistration{ID: 2, Epoch: 300, IncarnationID: metadata.RandomUuid(),
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9102}}}
	f.ctrl.apply(t, mustRecords(metadata.RegisterBroker(f.ctrl.image(), reg, false)))
	f.ctrl.apply(t, mustRecords(metadata.UnfenceBroker(f.ctrl.image(), 2, reg.Epoch)))
	f.moveLeader(t, 2)
	f.m.mu.RLock()
	cur := f.m.fetchers[2]
	f.m.mu.RUnlock()
	if cur == nil || cur == old || cur.addr != "127.0.0.1:9102" {
		t.Fatalf("partition not moved to a new fetcher at the new address: %+v", cur)
	}

	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = f.m.Close()
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while the retired fetcher was still running")
	case <-old.done:
		t.Fatal("retired fetcher ended before its request was released")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-closed
	select {
	case <-old.done:
	default:
		t.Fatal("Close returned before the retired fetcher's goroutine ended")
	}
}

// TestSourceSwitchLowersPartitionEpoch: a migrating ZooKeeper broker that
// switches its metadata source back from the quorum's log to the tree
// (rollback) can see a lower partition epoch in the same leader epoch (the
// dual-write coalesced two log changes into one znode write). The
// controller then rejects the leader's ISR change as stale; the leader
// adopts the registration of its image as it is and the retry succeeds,
// instead of resending its own higher epoch forever.
func TestSourceSwitchLowersPartitionEpoch(t *testing.T) {
	f := newLeaderFixture(t, "1")
	end := f.append(t, 1)
	// A leader-epoch-preserving ISR shrink moves the partition epoch to 1.
	f.clock.Add(2 * f.m.cfg.ReplicaLagTime)
	f.m.FollowerFetched("t", 0, 2, 0, end)
	f.m.checkISR()
	f.m.sendAlters(context.Background())
	if st, _ := f.m.Partition("t", 0); st.PartitionEpoch != 1 || !slices.Equal(st.ISR, []int32{1, 2}) {
		t.Fatalf("after shrink: %+v, want partition epoch 1, ISR [1 2]", st)
	}
	// The source switches: the same registration at partition epoch 0.
	old := f.reg(t)
	top, _ := f.ctrl.image().Topic("t")
	switched := *old
	switched.PartitionEpoch = 0
	f.ctrl.apply(t, []metadata.Record{metadata.PartitionToRecord(top.ID, 0, &switched)})
	if got := f.reg(t); got.PartitionEpoch != 0 || got.LeaderEpoch != old.LeaderEpoch {
		t.Fatalf("switched image: %+v", got)
	}
	// Broker 3 catches up: the expansion is first sent at epoch 1 (rejected),
	// then at the image's epoch 0.
	f.m.FollowerFetched("t", 0, 3, 0, end)
	f.m.sendAlters(context.Background())
	f.m.FollowerFetched("t", 0, 3, 0, end)
	f.m.sendAlters(context.Background())
	if isr := f.reg(t).ISR; !slices.Equal(isr, []int32{1, 2, 3}) {
		t.Fatalf("ISR after the source switch = %v, want [1 2 3] (AlterPartition calls %d)", isr, f.ctrl.alters)
	}

	// A lower-epoch image whose ISR lacks a member the leader counts is not
	// adopted on a rejection: acks=all and the high watermark keep waiting
	// for every member of the leader's ISR.
	cur := f.reg(t)
	smaller := *cur
	smaller.PartitionEpoch, smaller.ISR = 0, []int32{1, 2}
	f.ctrl.apply(t, []metadata.Record{metadata.PartitionToRecord(top.ID, 0, &smaller)})
	f.clock.Add(2 * f.m.cfg.ReplicaLagTime)
	f.m.FollowerFetched("t", 0, 3, 0, end) // 2 silent: a shrink to [1 3], rejected
	f.m.checkISR()
	f.m.sendAlters(context.Background())
	if st, _ := f.m.Partition("t", 0); st.PartitionEpoch != cur.PartitionEpoch || !slices.Equal(st.ISR, []int32{1, 2, 3}) {
		t.Fatalf("after a rejection with a smaller-ISR image: %+v, want partition epoch %d, ISR [1 2 3]", st, cur.PartitionEpoch)
	}
}

// TestSourceSwitchTakesRegistrationAsIs: a migrating ZooKeeper broker's
// metadata source switches from the quorum's log to the tree (rollback)
// while the leader holds the log's registration at a higher partition
// epoch than the tree's (the dual-write coalesced log changes into fewer
// znode writes), and the tree's ISR lacks a follower (the ZooKeeper-mode
// controller took it out for its controlled shutdown). The leader takes
// the tree's registration as it is (metadata.LocalChanges.Resync) and
// drops the ISR change it had staged against the log's epoch; when the
// follower is back and caught up, it sends the expansion at the tree's
// epoch. Keeping its own registration, it counted the follower as in sync
// and never sent it: the tree's ISR stayed short for good.
func TestSourceSwitchTakesRegistrationAsIs(t *testing.T) {
	f := newLeaderFixture(t, "1")
	end := f.append(t, 1)
	// Two leader-epoch-preserving ISR changes move the partition epoch to 2:
	// a shrink of 3, then its expansion.
	f.clock.Add(2 * f.m.cfg.ReplicaLagTime)
	f.m.FollowerFetched("t", 0, 2, 0, end)
	f.m.checkISR()
	f.m.sendAlters(context.Background())
	f.m.FollowerFetched("t", 0, 3, 0, end)
	f.m.sendAlters(context.Background())
	before := f.reg(t)
	if st, _ := f.m.Partition("t", 0); st.PartitionEpoch != 2 || !slices.Equal(st.ISR, []int32{1, 2, 3}) {
		t.Fatalf("before the switch: %+v, want partition epoch 2, ISR [1 2 3]", st)
	}
	// An expansion staged against the log's epoch, not sent yet: broker 2
	// lags, then catches up.
	f.clock.Add(2 * f.m.cfg.ReplicaLagTime)
	f.m.FollowerFetched("t", 0, 3, 0, end)
	f.m.checkISR() // stages the shrink of 2
	// The tree: the same term at partition epoch 1, without broker 3.
	top, _ := f.ctrl.image().Topic("t")
	tree := *before
	tree.PartitionEpoch, tree.ISR = 1, []int32{1, 2}
	f.ctrl.switchSource(t, []metadata.Record{metadata.PartitionToRecord(top.ID, 0, &tree)})
	if st, _ := f.m.Partition("t", 0); st.PartitionEpoch != 1 || !slices.Equal(st.ISR, []int32{1, 2}) {
		t.Fatalf("after the switch: %+v, want the tree's partition epoch 1, ISR [1 2]", st)
	}
	alters := f.ctrl.alters
	f.m.sendAlters(context.Background()) // the staged shrink was dropped
	if f.ctrl.alters != alters {
		t.Fatalf("an ISR change staged before the switch was sent after it (%d AlterPartition calls, want %d)", f.ctrl.alters, alters)
	}
	// Broker 3 is back and caught up: the expansion goes at epoch 1.
	f.m.FollowerFetched("t", 0, 2, 0, end)
	f.m.FollowerFetched("t", 0, 3, 0, end)
	f.m.sendAlters(context.Background())
	if got := f.reg(t); !slices.Equal(got.ISR, []int32{1, 2, 3}) || got.PartitionEpoch != 2 {
		t.Fatalf("tree after broker 3 caught up: ISR %v at partition epoch %d, want [1 2 3] at 2 (AlterPartition calls %d)",
			got.ISR, got.PartitionEpoch, f.ctrl.alters)
	}

	// Without a switch, an image at a lower partition epoch in the same
	// term is older than what the leader holds, and is not taken.
	cur := f.reg(t)
	older := *cur
	older.PartitionEpoch, older.ISR = 0, []int32{1, 2}
	f.ctrl.apply(t, []metadata.Record{metadata.PartitionToRecord(top.ID, 0, &older)})
	if st, _ := f.m.Partition("t", 0); st.PartitionEpoch != cur.PartitionEpoch || !slices.Equal(st.ISR, []int32{1, 2, 3}) {
		t.Fatalf("after an older image: %+v, want partition epoch %d, ISR [1 2 3]", st, cur.PartitionEpoch)
	}
}
