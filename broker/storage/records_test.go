package storage

import (
	"errors"
	"math"
	"testing"

	"github.com/zkraft/zkraft/metadata"
)

// spanLog is a log of 60 batches of 3 records over many small segments,
// with an index entry after nearly every batch.
func spanLog(t *testing.T) (*Manager, *Log) {
	t.Helper()
	cfg := testConfig(t)
	cfg.SegmentBytes = 1024
	cfg.IndexIntervalBytes = 150
	m := openManager(t, cfg)
	t.Cleanup(func() { m.Close() })
	l, err := m.GetOrCreate("span", 0, metadata.Uuid{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		mustAppend(t, l, makeBatch(plain(3)), 0)
	}
	if l.NumSegments() < 4 {
		t.Fatalf("%d segments, want several", l.NumSegments())
	}
	return m, l
}

func recordBytes(t *testing.T, r *Records) []byte {
	t.Helper()
	b, err := r.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadRecordsSpansSegments: one read crosses segment boundaries and
// returns contiguous whole batches; max bytes, the max offset (high
// watermark) and KIP-74's first batch bound it.
func TestReadRecordsSpansSegments(t *testing.T) {
	_, l := spanLog(t)
	leo := l.LogEndOffset()
	for _, tc := range []struct {
		name              string
		from              int64
		maxBytes          int32
		maxOffset         int64
		wantFirst, wantTo int64 // first base offset, offset after the last batch
		wantParts         int   // 0 = do not check; -1 = more than one
	}{
		{"everything", 0, math.MaxInt32, math.MaxInt64, 0, leo, -1},
		{"from the middle of a batch", 4, math.MaxInt32, math.MaxInt64, 3, leo, -1},
		{"high watermark", 0, math.MaxInt32, 90, 0, 90, -1},
		{"kip-74 one batch", 30, 1, math.MaxInt64, 30, 33, 1},
		{"max bytes", 0, 700, math.MaxInt64, 0, 0, 0},
	} {
		r, err := l.ReadRecords(tc.from, tc.maxBytes, tc.maxOffset)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b := recordBytes(t, r)
		bs := decodeAll(t, b)
		if len(bs) == 0 || bs[0].FirstOffset != tc.wantFirst {
			t.Fatalf("%s: %d batches, first %v", tc.name, len(bs), bs)
		}
		for i := 1; i < len(bs); i++ {
			if bs[i].FirstOffset != bs[i-1].FirstOffset+int64(bs[i-1].LastOffsetDelta)+1 {
				t.Fatalf("%s: batch %d at %d does not follow the previous", tc.name, i, bs[i].FirstOffset)
			}
		}
		last := bs[len(bs)-1]
		end := last.FirstOffset + int64(last.LastOffsetDelta) + 1
		if tc.wantTo > 0 && end != tc.wantTo {
			t.Fatalf("%s: read ends at %d, want %d", tc.name, end, tc.wantTo)
		}
		if tc.maxBytes > 1 && tc.maxBytes < math.MaxInt32 {
			if int64(len(b)) > int64(tc.maxBytes) || int64(len(b))+int64(len(b))/int64(len(bs)) <= int64(tc.maxBytes)-200 {
				t.Fatalf("%s: %d bytes for max %d", tc.name, len(b), tc.maxBytes)
			}
		}
		switch {
		case tc.wantParts == -1 && r.NumParts() < 2:
			t.Fatalf("%s: %d parts, want several segments", tc.name, r.NumParts())
		case tc.wantParts > 0 && r.NumParts() != tc.wantParts:
			t.Fatalf("%s: %d parts, want %d", tc.name, r.NumParts(), tc.wantParts)
		}
		r.Release()
		r.Release()
	}
	// Read (the copying form) agrees with ReadRecords.
	old, err := l.Read(0, math.MaxInt32, math.MaxInt64)
	if err != nil || len(decodeAll(t, old)) != 60 {
		t.Fatalf("Read: %d bytes, %v", len(old), err)
	}
	if r, err := l.ReadRecords(leo, 100, math.MaxInt64); err != nil || r.Len() != 0 {
		t.Fatalf("read at the log end: %d bytes, %v", r.Len(), err)
	}
	if _, err := l.ReadRecords(leo+1, 100, math.MaxInt64); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past the end: %v", err)
	}
}

// TestReadRecordsOutlivesRetention: ranges handed out before retention
// deletes their segments still read whole (the files stay open); the
// handle cache closes them on Release.
func TestReadRecordsOutlivesRetention(t *testing.T) {
	m, l := spanLog(t)
	r, err := l.ReadRecords(0, math.MaxInt32, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	want, err := l.Read(0, math.MaxInt32, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	lc := l.Config()
	lc.RetentionBytes = 1
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	if n := l.applyRetention(0); n == 0 {
		t.Fatal("retention deleted nothing")
	}
	if got := recordBytes(t, r); string(got) != string(want) {
		t.Fatalf("held read changed after retention: %d bytes, want %d", len(got), len(want))
	}
	held := m.cache.open()
	r.Release()
	if m.cache.open() > held {
		t.Fatalf("open handles grew on release")
	}
}

// TestReadRecordsTruncated: a range cut by TruncateTo after the read
// located it reads short with ErrTruncatedRead, never other bytes.
func TestReadRecordsTruncated(t *testing.T) {
	_, l := spanLog(t)
	leo := l.LogEndOffset()
	r, err := l.ReadRecords(leo-6, math.MaxInt32, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if err := l.TruncateTo(leo - 3); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AppendTo(nil); !errors.Is(err, ErrTruncatedRead) {
		t.Fatalf("read after truncation: %v, want ErrTruncatedRead", err)
	}
}

// TestNotify: one shared channel gets a send once any registered log
// passes its offset (or closes); cancelled registrations stay silent.
func TestNotify(t *testing.T) {
	m, l := spanLog(t)
	other, err := m.GetOrCreate("span", 1, metadata.Uuid{})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 1)
	c1 := l.Notify(l.LogEndOffset(), ch)
	c2 := other.Notify(other.LogEndOffset(), ch)
	select {
	case <-ch:
		t.Fatal("notified before any append")
	default:
	}
	c1()
	mustAppend(t, l, makeBatch(plain(1)), 0) // cancelled: no send
	select {
	case <-ch:
		t.Fatal("a cancelled registration sent")
	default:
	}
	mustAppend(t, other, makeBatch(plain(1)), 0)
	select {
	case <-ch:
	default:
		t.Fatal("no send after the append")
	}
	c2()
	c2()
	// Already past: at once.
	l.Notify(0, ch)()
	select {
	case <-ch:
	default:
		t.Fatal("no send for an offset already passed")
	}
}
