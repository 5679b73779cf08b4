package txn

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memLog is an in-memory Log: each partition a list of batches with
// offsets assigned on append. notLeader refuses appends.
type memLog struct {
	mu        sync.Mutex
	parts     map[int32][][]byte
	next      map[int32]int64
	notLeader atomic.Bool
}

func newMemLog() *memLog { return &memLog{parts: map[int32][][]byte{}, next: map[int32]int64{}} }

func (l *memLog) Append(ctx context.Context, p int32, batch []byte) error {
	if l.notLeader.Load() {
		return ErrNotCoordinator
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append([]byte(nil), batch...)
	binary.BigEndian.PutUint64(b, uint64(l.next[p]))
	n := int64(binary.BigEndian.Uint32(b[57:])) // record count
	l.next[p] += n
	l.parts[p] = append(l.parts[p], b)
	return nil
}

func (l *memLog) Read(p int32, offset int64, _ int32) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []byte
	for _, b := range l.parts[p] {
		if int64(binary.BigEndian.Uint64(b)) >= offset {
			out = append(out, b...)
		}
	}
	return out, nil
}

func (l *memLog) Bounds(p int32) (int64, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return 0, l.next[p], nil
}

type seqPIDs struct{ n atomic.Int64 }

func (s *seqPIDs) NextProducerID(context.Context) (int64, error) { return s.n.Add(1) + 1000, nil }

// fakeCluster leads every partition on broker 1 and records the markers
// it is sent; while hold is set it answers NOT_LEADER_OR_FOLLOWER.
type fakeCluster struct {
	mu      sync.Mutex
	markers []kmsg.WriteTxnMarkersRequestMarker
	hold    atomic.Bool
	gone    map[string]bool
}

func (c *fakeCluster) Leader(tp TopicPartition) (int32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return 1, !c.gone[tp.Topic]
}

func (c *fakeCluster) WriteTxnMarkers(_ context.Context, _ int32, req *kmsg.WriteTxnMarkersRequest) (*kmsg.WriteTxnMarkersResponse, error) {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	code := int16(0)
	if c.hold.Load() {
		code = kerr.NotLeaderForPartition.Code
	}
	for _, m := range req.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.WriteTxnMarkersResponseMarkerTopicPartition{Partition: p, ErrorCode: code})
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
		if code == 0 {
			c.mu.Lock()
			c.markers = append(c.markers, m)
			c.mu.Unlock()
		}
	}
	return resp, nil
}

func (c *fakeCluster) sent() []kmsg.WriteTxnMarkersRequestMarker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]kmsg.WriteTxnMarkersRequestMarker(nil), c.markers...)
}

// fakeClock is a settable wall clock.
type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }

type fixture struct {
	t       *testing.T
	c       *Coordinator
	log     *memLog
	cluster *fakeCluster
	clock   *fakeClock
}

func newFixture(t *testing.T, mut func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, log: newMemLog(), cluster: &fakeCluster{gone: map[string]bool{}}, clock: &fakeClock{}}
	f.clock.ms.Store(1_000_000)
	f.c = f.newCoordinator(mut)
	return f
}

// newCoordinator is another coordinator over the same log and cluster
// (a failover), leading every state partition at epoch 1 once loaded.
func (f *fixture) newCoordinator(mut func(*Config)) *Coordinator {
	f.t.Helper()
	cfg := DefaultConfig()
	cfg.NumPartitions = 3
	cfg.MarkerBackoff = time.Millisecond
	if mut != nil {
		mut(&cfg)
	}
	c, err := New(cfg, f.log, &seqPIDs{}, f.cluster, zaptest.NewLogger(f.t), WithClock(f.clock.now))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = c.Close() })
	for p := int32(0); p < cfg.NumPartitions; p++ {
		c.BecomeLeader(p, 1)
	}
	for p := int32(0); p < cfg.NumPartitions; p++ {
		eventually(f.t, "partition loaded", func() bool { _, loaded := c.Leads(p); return loaded })
	}
	return c
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	wait.Until(t, 10*time.Second, what, cond)
}

func (f *fixture) state(c *Coordinator, id string) State {
	d, err := c.Describe(id)
	if err != nil {
		return -1
	}
	return d.State
}
