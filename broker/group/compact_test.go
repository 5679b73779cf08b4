package group

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata/wait"
)

// storageLog is the coordinator's Log over one real storage.Log (partition 0).
type storageLog struct{ l *storage.Log }

func (s storageLog) Append(_ context.Context, _ int32, batch []byte) (int64, error) {
	res, err := s.l.Append(append([]byte(nil), batch...), 1)
	return res.FirstOffset, err
}

func (s storageLog) Read(_ int32, offset int64, maxBytes int32) ([]byte, error) {
	return s.l.Read(offset, maxBytes, s.l.LogEndOffset())
}

func (s storageLog) Bounds(int32) (int64, int64, error) {
	return s.l.LogStartOffset(), s.l.LogEndOffset(), nil
}

func newCoordinatorOver(t *testing.T, log Log) *Coordinator {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NumPartitions, cfg.InitialRebalanceDelay = 1, 0
	cfg.LoadBatchBytes = 512 // many reads, some landing in the cleaner's gaps
	c, err := New(cfg, log, zaptest.NewLogger(t), WithClock(newFakeClock()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	c.BecomeLeader(0, 1)
	wait.For(t, 10*time.Second, "partition loaded", func() error {
		if _, loaded := c.Leads(0); !loaded {
			return fmt.Errorf("not loaded")
		}
		return nil
	})
	return c
}

// groupView is what a client can see of the coordinator's groups.
type groupView struct {
	Offsets  map[string]int64
	Describe kmsg.DescribeGroupsResponseGroup
	List     []kmsg.ListGroupsResponseGroup
	Deleted  map[string]int64 // offsets of the deleted group g2
}

func viewOf(t *testing.T, c *Coordinator) groupView {
	t.Helper()
	r := kmsg.NewPtrOffsetFetchRequest()
	r.Version = 8
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = "g2"
	r.Groups = append(r.Groups, rg)
	deleted := map[string]int64{}
	for _, tp := range c.OffsetFetch(context.Background(), r).Groups[0].Topics {
		for _, p := range tp.Partitions {
			deleted[fmt.Sprintf("%s-%d", tp.Topic, p.Partition)] = p.Offset
		}
	}
	return groupView{
		Offsets:  fetchAll(t, c),
		Describe: describe(c),
		List:     c.ListGroups(context.Background(), kmsg.NewPtrListGroupsRequest()).Groups,
		Deleted:  deleted,
	}
}

// TestReloadFromCompactedOffsetsLog commits offsets many times to a real
// compacted log, lets the cleaner compact it (tombstones of a deleted group
// included), and checks that a new coordinator loads the same groups and
// offsets from what is left.
func TestReloadFromCompactedOffsetsLog(t *testing.T) {
	cfg := storage.DefaultConfig()
	cfg.Dirs = []string{t.TempDir()}
	m, err := storage.Open(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := m.GetOrCreate(OffsetsTopic, 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	lc := l.Config()
	lc.SegmentBytes, lc.CleanupPolicy = 2048, storage.PolicyCompact
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	c := newCoordinatorOver(t, storageLog{l})
	m1 := stableSingle(t, c)
	for i := int64(1); i <= 150; i++ {
		resp := c.OffsetCommit(context.Background(), commitReq(m1, 1, "orders", map[int32]int64{0: i, 1: 2 * i, int32(i % 3): 1000 + i}))
		for _, got := range commitCodes(resp) {
			code(t, got, nil)
		}
	}
	// A second group: simple commits, then deleted (tombstones).
	for i := int64(1); i <= 20; i++ {
		r := commitReq("", -1, "orders", map[int32]int64{0: i})
		r.Group = "g2"
		code(t, commitCodes(c.OffsetCommit(context.Background(), r))[0], nil)
	}
	dr := kmsg.NewPtrDeleteGroupsRequest()
	dr.Version, dr.Groups = 2, []string{"g2"}
	code(t, c.DeleteGroups(context.Background(), dr).Groups[0].ErrorCode, nil)
	want := viewOf(t, c)
	if len(want.Offsets) != 3 || len(want.Deleted) != 0 || len(want.List) != 1 {
		t.Fatalf("before reload: %+v", want)
	}
	c.Close()

	before := l.Size()
	l.SetHighWatermark(l.LogEndOffset())
	now := time.Now()
	for _, at := range []time.Time{now, now.Add(time.Duration(storage.DefaultDeleteRetentionMs+1) * time.Millisecond)} {
		if _, err := l.Compact(at); err != nil {
			t.Fatal(err)
		}
	}
	after := l.Size()
	t.Logf("__consumer_offsets-0: %d -> %d bytes, log start %d, end %d", before, after, l.LogStartOffset(), l.LogEndOffset())
	if after*4 > before {
		t.Fatalf("compaction left %d of %d bytes", after, before)
	}

	c2 := newCoordinatorOver(t, storageLog{l})
	if got := viewOf(t, c2); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reload from the compacted log:\n got %+v\nwant %+v", got, want)
	}
	code(t, heartbeat(c2, m1, 1, nil), nil) // same member, same generation
}
