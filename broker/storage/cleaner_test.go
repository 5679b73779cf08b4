package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
)

const testTs = 1_700_000_000_000 // record at offset o has timestamp testTs + o

// kv is one record: a nil key is keyless, a nil value a tombstone.
type kv struct{ key, value []byte }

func rec(k, v string) kv { return kv{[]byte(k), []byte(v)} }
func tomb(k string) kv   { return kv{key: []byte(k)} }
func keyless(v string) kv {
	return kv{value: []byte(v)}
}

// kvBatch encodes an uncompressed batch whose record i has timestamp
// ts+i (ts = testTs + the offset Append will give the first record).
func kvBatch(ts int64, recs ...kv) []byte {
	var raw []byte
	for i, r := range recs {
		kr := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: r.key, Value: r.value}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1)
		raw = kr.AppendTo(raw)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp: ts, MaxTimestamp: ts + int64(len(recs)-1),
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(recs)), Records: raw,
	}
	b.Length = int32(BatchHeaderSize - logOverhead + len(raw))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[offCRC:], crcOf(out))
	return out
}

func crcOf(b []byte) uint32 {
	return crc32.Checksum(b[offAttributes:], castagnoli)
}

// roll starts a new active segment at the log end.
func roll(t *testing.T, l *Log) {
	t.Helper()
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if err := l.roll(l.leo); err != nil {
		t.Fatal(err)
	}
}

// got is a record as read back.
type got struct {
	Off   int64
	Key   string
	Value string // "<nil>" for a tombstone
}

func (g got) String() string { return fmt.Sprintf("%d:%s=%s", g.Off, g.Key, g.Value) }

// readAll reads the whole log with Read, checking every batch's CRC and
// every record's timestamp (testTs + offset), and returns the records.
func readAll(t *testing.T, l *Log) []got {
	t.Helper()
	var out []got
	off := l.LogStartOffset()
	for off < l.LogEndOffset() {
		b, err := l.Read(off, 1<<20, l.LogEndOffset())
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if len(b) == 0 {
			break
		}
		for len(b) > 0 {
			h, err := checkBatch(b)
			if err != nil {
				t.Fatalf("batch at %d: %v", off, err)
			}
			if h.LastOffset() < off {
				t.Fatalf("Read(%d) returned batch ending at %d", off, h.LastOffset())
			}
			if err := eachRecord(b[:h.Size()], &h, func(o int64, r *kmsg.Record, _ []byte) {
				if ts := h.BaseTimestamp + r.TimestampDelta64; ts != testTs+o {
					t.Errorf("record %d has timestamp %d, want %d", o, ts, testTs+o)
				}
				v := "<nil>"
				if r.Value != nil {
					v = string(r.Value)
				}
				out = append(out, got{o, string(r.Key), v})
			}); err != nil {
				t.Fatalf("records of batch at %d: %v", h.BaseOffset, err)
			}
			off = h.LastOffset() + 1
			b = b[h.Size():]
		}
	}
	return out
}

// compactedLog opens a manager with one log "c-0" of the given policy;
// segmentBytes small makes each append roll.
func compactedLog(t *testing.T, dir string, segmentBytes int64, policy string) (*Manager, *Log) {
	t.Helper()
	cfg := testConfig(t, dir)
	m := openManager(t, cfg)
	l, err := m.GetOrCreate("c", 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	lc := l.Config()
	lc.SegmentBytes, lc.CleanupPolicy = segmentBytes, policy
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	return m, l
}

// appendKVs appends one batch per element; a nil element rolls instead.
func appendKVs(t *testing.T, l *Log, batches [][]kv) {
	t.Helper()
	for _, recs := range batches {
		if recs == nil {
			roll(t, l)
			continue
		}
		mustAppend(t, l, kvBatch(testTs+l.LogEndOffset(), recs...), 1)
	}
}

func TestCleanTable(t *testing.T) {
	day := int64(DefaultDeleteRetentionMs)
	now := time.UnixMilli(testTs + 1000)
	for _, tt := range []struct {
		name    string
		seg     int64  // segment.bytes (100: one batch per segment)
		batches [][]kv // appended in order; the last is the active segment
		keyless bool   // append as delete policy, then switch to compact
		passes  []time.Time
		want    []string
		start   int64 // log start offset after
	}{
		{
			name:    "duplicate keys keep the last",
			seg:     100,
			batches: [][]kv{{rec("a", "1")}, {rec("b", "1")}, {rec("a", "2")}, {rec("c", "1")}, {rec("b", "2")}, {rec("a", "3")}},
			passes:  []time.Time{now},
			want:    []string{"2:a=2", "3:c=1", "4:b=2", "5:a=3"}, // a=3 is in the active segment
			start:   2,
		},
		{
			name:    "multi-record batch keeps its offsets and gaps",
			seg:     1 << 20,
			batches: [][]kv{{rec("a", "1"), rec("b", "1"), rec("c", "1"), rec("d", "1")}, {rec("b", "2"), rec("d", "2")}, nil, {rec("z", "1")}},
			passes:  []time.Time{now},
			want:    []string{"0:a=1", "2:c=1", "4:b=2", "5:d=2", "6:z=1"},
		},
		{
			name:    "tombstone kept before delete.retention.ms",
			seg:     100,
			batches: [][]kv{{rec("a", "1")}, {rec("b", "1")}, {tomb("a")}, {rec("z", "1")}},
			passes:  []time.Time{now, now.Add(time.Duration(day-1) * time.Millisecond)},
			want:    []string{"1:b=1", "2:a=<nil>", "3:z=1"},
			start:   1,
		},
		{
			name:    "tombstone dropped after delete.retention.ms",
			seg:     100,
			batches: [][]kv{{rec("a", "1")}, {rec("b", "1")}, {tomb("a")}, {rec("z", "1")}},
			passes:  []time.Time{now, now.Add(time.Duration(day) * time.Millisecond)},
			want:    []string{"1:b=1", "3:z=1"},
			start:   1,
		},
		{
			name:    "tombstone sharing a batch with values",
			seg:     1 << 20,
			batches: [][]kv{{rec("a", "1"), rec("b", "1")}, {tomb("a"), rec("c", "1")}, nil, {rec("z", "1")}},
			passes:  []time.Time{now},
			want:    []string{"1:b=1", "2:a=<nil>", "3:c=1", "4:z=1"},
		},
		{
			name:    "keyless records are dropped",
			seg:     100,
			keyless: true,
			batches: [][]kv{{keyless("x"), rec("a", "1")}, {keyless("y")}, {rec("b", "1")}, {keyless("active")}},
			passes:  []time.Time{now},
			want:    []string{"1:a=1", "3:b=1", "4:=active"},
		},
		{
			name:    "nothing superseded: unchanged",
			seg:     100,
			batches: [][]kv{{rec("a", "1")}, {rec("b", "1")}, {rec("c", "1")}},
			passes:  []time.Time{now},
			want:    []string{"0:a=1", "1:b=1", "2:c=1"},
		},
		{
			name:    "active segment is never cleaned",
			seg:     1 << 20,
			batches: [][]kv{{rec("a", "1")}, {rec("a", "2")}},
			passes:  []time.Time{now},
			want:    []string{"0:a=1", "1:a=2"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			policy := PolicyCompact
			if tt.keyless {
				policy = PolicyDelete
			}
			m, l := compactedLog(t, dir, tt.seg, policy)
			appendKVs(t, l, tt.batches)
			if tt.keyless {
				lc := l.Config()
				lc.CleanupPolicy = "compact,delete"
				if err := l.SetConfig(lc); err != nil {
					t.Fatal(err)
				}
			}
			leo := l.LogEndOffset()
			l.SetHighWatermark(leo)
			for _, at := range tt.passes {
				if _, err := l.Compact(at); err != nil {
					t.Fatalf("Compact: %v", err)
				}
			}
			check := func(when string) {
				t.Helper()
				var s []string
				for _, g := range readAll(t, l) {
					s = append(s, g.String())
				}
				if !reflect.DeepEqual(s, tt.want) {
					t.Fatalf("%s: records %v, want %v", when, s, tt.want)
				}
				if l.LogStartOffset() != tt.start || l.LogEndOffset() != leo {
					t.Fatalf("%s: log [%d, %d), want [%d, %d)", when, l.LogStartOffset(), l.LogEndOffset(), tt.start, leo)
				}
			}
			check("after cleaning")
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			m = openManager(t, testConfig(t, dir))
			defer m.Close()
			l, _ = m.Get("c", 0)
			check("after reopen")
		})
	}
}

func TestReadThroughGaps(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 1<<20, PolicyCompact)
	defer m.Close()
	appendKVs(t, l, [][]kv{
		{rec("a", "1"), rec("b", "1"), rec("c", "1")}, // 0-2: a, b superseded
		{rec("a", "2"), rec("b", "2")},                // 3-4: superseded by 5-6
		{rec("a", "3"), rec("b", "3")},                // 5-6
		{rec("z", "1")},                               // 7
		nil,
		{rec("y", "1")}, // 8, active
	})
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.Compact(time.UnixMilli(testTs)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		from     int64
		wantBase int64 // base offset of the first batch returned
	}{{0, 0}, {1, 0}, {3, 5}, {4, 5}, {6, 5}, {7, 7}, {8, 8}} {
		b, err := l.Read(tt.from, 1, l.LogEndOffset())
		if err != nil {
			t.Fatalf("Read(%d): %v", tt.from, err)
		}
		h, err := checkBatch(b)
		if err != nil || h.BaseOffset != tt.wantBase {
			t.Fatalf("Read(%d): first batch at %d (%v), want %d", tt.from, h.BaseOffset, err, tt.wantBase)
		}
	}
}

func TestCleanKeepsOpaqueBatchesAndTheirTombstones(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 100, PolicyCompact)
	defer m.Close()
	appendKVs(t, l, [][]kv{{rec("a", "1")}})
	// A batch marked gzip (attribute bits 0-2) whose records section is not
	// gzip: it does not decompress, and the cleaner cannot look into it.
	opaque := kvBatch(testTs+1, rec("a", "hidden"))
	binary.BigEndian.PutUint16(opaque[offAttributes:], 1)
	binary.BigEndian.PutUint32(opaque[offCRC:], crcOf(opaque))
	mustAppend(t, l, opaque, 1)
	appendKVs(t, l, [][]kv{{tomb("a")}, {rec("z", "1")}})
	l.SetHighWatermark(l.LogEndOffset())
	for _, at := range []int64{testTs, testTs + 10*DefaultDeleteRetentionMs} {
		if _, err := l.Compact(time.UnixMilli(at)); err != nil {
			t.Fatal(err)
		}
	}
	// Offset 0 is superseded; the opaque batch stays whole, and so does the
	// tombstone after it, long past its horizon.
	b, err := l.Read(l.LogStartOffset(), 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := checkBatch(b); h.BaseOffset != 1 || !bytes.Equal(b[:h.Size()], opaque) {
		t.Fatalf("first batch at %d, want the opaque batch at 1 unchanged", h.BaseOffset)
	}
	b, _ = l.Read(2, 1<<20, l.LogEndOffset())
	if h, _ := checkBatch(b); h.BaseOffset != 2 {
		t.Fatalf("tombstone batch gone: next batch at %d", h.BaseOffset)
	}
}

func TestCompactedAppendRules(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 1<<20, PolicyCompact)
	defer m.Close()
	if _, err := l.Append(kvBatch(testTs, rec("a", "1"), keyless("x")), 1); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("keyless record on a compacted log: %v, want ErrInvalidRecord", err)
	}
	mustAppend(t, l, kvBatch(testTs, rec("a", "1"), tomb("b")), 1)

	// Compact only: retention does not delete.
	lc := l.Config()
	lc.SegmentBytes, lc.RetentionMs, lc.RetentionBytes = 100, 0, 0
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	appendKVs(t, l, [][]kv{{rec("c", "1")}, {rec("d", "1")}})
	if n := l.applyRetention(testTs + 1e12); n != 0 || l.LogStartOffset() != 0 {
		t.Fatalf("retention on a compact-only log deleted %d segments", n)
	}
	lc.CleanupPolicy = "compact,delete"
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	if n := l.applyRetention(testTs + 1e12); n == 0 {
		t.Fatal("retention on a delete,compact log deleted nothing")
	}

	// A compacted follower accepts the leader's gaps; others refuse them.
	for _, tt := range []struct {
		policy string
		ok     bool
	}{{PolicyCompact, true}, {PolicyDelete, false}} {
		fm, fl := compactedLog(t, t.TempDir(), 1<<20, tt.policy)
		b := kvBatch(testTs+5, rec("a", "1"))
		binary.BigEndian.PutUint64(b, 5)
		_, err := fl.AppendAsFollower(b)
		if (err == nil) != tt.ok || tt.ok && fl.LogEndOffset() != 6 {
			t.Fatalf("%s follower gap: %v, log end %d", tt.policy, err, fl.LogEndOffset())
		}
		fm.Close()
	}

	for _, bad := range []LogConfig{
		{SegmentBytes: 1 << 20, CleanupPolicy: "compact,shred"},
		{SegmentBytes: 1 << 20, DeleteRetentionMs: -1},
		{SegmentBytes: 1 << 20, MinCleanableDirtyRatio: 1.5},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	if _, err := (&Log{cfg: LogConfig{CleanupPolicy: "delete"}}).Compact(time.Now()); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Compact of a delete log: %v", err)
	}
}

// prepareClean runs a cleaning up to (not including) the swap and returns
// its groups, with their .cleaned files written.
func prepareClean(t *testing.T, l *Log, nowMs int64) ([]*segment, []*cleanGroup) {
	t.Helper()
	segs := append([]*segment(nil), l.segments...)
	p, _, _ := planClean(segs, l.hw, 0, 1<<30)
	om, err := l.buildOffsetMap(segs[p.dirty:p.n], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	groups := groupSegments(segs[:p.n], l.cfg.SegmentBytes)
	f := &filter{offsets: om, nowMs: nowMs, deleteRetentionMs: l.cfg.DeleteRetentionMs}
	for _, g := range groups {
		if err := l.writeCleaned(g, f, nil); err != nil {
			t.Fatal(err)
		}
	}
	return segs[:p.n], groups
}

func TestCleanCrashDuringSwap(t *testing.T) {
	batches := [][]kv{
		{rec("a", "1"), rec("b", "1")}, {rec("a", "2")}, {rec("c", "1")}, nil, // segment 0
		{rec("c", "2"), rec("d", "1")}, {rec("d", "2")}, {rec("e", "1")}, nil, // segment 4
		{rec("a", "3")}, // active segment 8
	}
	original := []string{"0:a=1", "1:b=1", "2:a=2", "3:c=1", "4:c=2", "5:d=1", "6:d=2", "7:e=1", "8:a=3"}
	cleaned := []string{"1:b=1", "2:a=2", "4:c=2", "6:d=2", "7:e=1", "8:a=3"}
	swapAll := func(t *testing.T, g []*cleanGroup) {
		for _, g := range g {
			if err := os.Rename(g.cleanedPath(), g.swapPath()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range []struct {
		name       string
		groupBytes int64 // segment.bytes while cleaning: 150 = a group per segment
		crash      func(t *testing.T, groups []*cleanGroup)
		want       []string
	}{
		{"after writing .cleaned", 150, func(*testing.T, []*cleanGroup) {}, original},
		{"after the first .swap", 150, func(t *testing.T, g []*cleanGroup) { swapAll(t, g[:1]) },
			[]string{"1:b=1", "2:a=2", "4:c=2", "5:d=1", "6:d=2", "7:e=1", "8:a=3"}},
		{"after every .swap, a source index deleted", 150, func(t *testing.T, g []*cleanGroup) {
			swapAll(t, g)
			_ = os.Remove(g[1].olds[0].indexPath())
		}, cleaned},
		{"one group of two sources, none deleted yet", 1 << 20, func(t *testing.T, g []*cleanGroup) { swapAll(t, g) }, cleaned},
		{"one group of two sources, the second deleted", 1 << 20, func(t *testing.T, g []*cleanGroup) {
			swapAll(t, g)
			for _, p := range g[0].olds[1].paths() {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}, cleaned},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m, l := compactedLog(t, dir, 1<<20, PolicyCompact)
			appendKVs(t, l, batches)
			if l.NumSegments() != 3 {
				t.Fatalf("%d segments, want 3", l.NumSegments())
			}
			l.SetHighWatermark(l.LogEndOffset())
			l.cfg.SegmentBytes = tt.groupBytes
			_, groups := prepareClean(t, l, testTs)
			if want := map[int64]int{150: 2, 1 << 20: 1}[tt.groupBytes]; len(groups) != want {
				t.Fatalf("%d groups, want %d", len(groups), want)
			}
			tt.crash(t, groups)
			crash(m)

			m = openManager(t, testConfig(t, dir))
			defer m.Close()
			l, _ = m.Get("c", 0)
			var s []string
			for _, g := range readAll(t, l) {
				s = append(s, g.String())
			}
			if !reflect.DeepEqual(s, tt.want) {
				t.Fatalf("records %v, want %v", s, tt.want)
			}
			if left := append(segmentFiles(t, l.Dir(), cleanedSuffix), segmentFiles(t, l.Dir(), swapSuffix)...); len(left) > 0 {
				t.Fatalf("left behind: %v", left)
			}
			// The log still cleans after recovery, to the same result.
			lc := l.Config()
			lc.CleanupPolicy = PolicyCompact
			if err := l.SetConfig(lc); err != nil {
				t.Fatal(err)
			}
			l.SetHighWatermark(l.LogEndOffset())
			if _, err := l.Compact(time.UnixMilli(testTs)); err != nil {
				t.Fatal(err)
			}
			s = s[:0]
			for _, g := range readAll(t, l) {
				s = append(s, g.String())
			}
			if !reflect.DeepEqual(s, cleaned) {
				t.Fatalf("after a new cleaning %v, want %v", s, cleaned)
			}
		})
	}
}

func TestCleanerLoopAndSizeReduction(t *testing.T) {
	cfg := testConfig(t)
	cfg.CleanerBackoff = 10 * time.Millisecond
	m := openManager(t, cfg)
	defer m.Close()
	l, err := m.GetOrCreate("__consumer_offsets", 7, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	lc := l.Config()
	lc.SegmentBytes, lc.CleanupPolicy = 16<<10, PolicyCompact
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	// 50 partitions' offsets committed 200 times each, one record per batch
	// (as the coordinator writes a commit of one partition).
	const keys, rounds = 50, 200
	for r := 0; r < rounds; r++ {
		for k := 0; k < keys; k++ {
			mustAppend(t, l, kvBatch(testTs+l.LogEndOffset(), kv{[]byte(fmt.Sprintf("group-g/topic/%d", k)), []byte(fmt.Sprintf("offset=%08d", r))}), 1)
		}
	}
	before := l.Size()
	l.SetHighWatermark(l.LogEndOffset())
	m.Start()
	wait.Until(t, 10*time.Second, "the cleaner shrinks the log", func() bool { return l.Size() < before/10 })
	after := l.Size()
	t.Logf("repeated commits: %d records, %d -> %d bytes (%.1fx), %d segments", keys*rounds, before, after, float64(before)/float64(after), l.NumSegments())
	// Every key is still there, its newest value the last round's.
	last := map[string]string{}
	for _, g := range readAll(t, l) {
		last[g.Key] = g.Value
	}
	if len(last) != keys {
		t.Fatalf("%d keys after cleaning, want %d", len(last), keys)
	}
	for k, v := range last {
		if v != fmt.Sprintf("offset=%08d", rounds-1) {
			t.Fatalf("key %s ends at %s", k, v)
		}
	}
}

// FuzzClean feeds arbitrary batches to the cleaner's record filter: it must
// never panic, and what it returns must be the batch, nothing, or a valid
// batch with the same offsets.
func FuzzClean(f *testing.F) {
	f.Add(kvBatch(testTs, rec("a", "1"), rec("b", "1"), tomb("a"), keyless("x")), int64(testTs))
	f.Add(kvBatch(testTs, tomb("a")), int64(testTs+DefaultDeleteRetentionMs))
	f.Add(makeBatch(plain(3)), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, now int64) {
		h, err := checkBatch(b)
		if err != nil || h.LastOffsetDelta < 0 {
			return
		}
		b = b[:h.Size()]
		_ = checkKeyed(b, []BatchHeader{h})
		fl := &filter{offsets: map[string]int64{"a": h.BaseOffset + 1}, nowMs: now, deleteRetentionMs: DefaultDeleteRetentionMs}
		out := fl.batch(b, &h)
		if out == nil || bytes.Equal(out, b) {
			return
		}
		nh, err := checkBatch(out)
		if err != nil || nh.Size() != int64(len(out)) {
			t.Fatalf("cleaned batch invalid: %v", err)
		}
		if nh.BaseOffset != h.BaseOffset || nh.LastOffsetDelta != h.LastOffsetDelta || nh.ProducerID != h.ProducerID {
			t.Fatalf("cleaned batch header %+v from %+v", nh, h)
		}
		if err := eachRecord(out, &nh, func(int64, *kmsg.Record, []byte) {}); err != nil {
			t.Fatalf("cleaned batch does not decode: %v", err)
		}
	})
}
