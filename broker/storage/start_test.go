package storage

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestDeleteRecords: Kafka's deleteRecordsOnLocalLog semantics on one log
// with a segment per batch: -1 = the high watermark, past it is
// OFFSET_OUT_OF_RANGE, the start never moves back, wholly deleted segments
// go at once, reads below the start are out of range, ListOffsets earliest
// answers the start, and log-start-offset-checkpoint keeps it across a
// restart. A compact-only topic is POLICY_VIOLATION.
func TestDeleteRecords(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 200 // one batch per segment
	m := openManager(t, cfg)
	l, err := m.GetOrCreate("d", 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		mustAppend(t, l, makeBatch(plain(5)), 0) // offsets 5i .. 5i+4
	}
	l.SetHighWatermark(15)
	if _, err := l.DeleteRecordsBefore(16, l.HighWatermark()); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past the high watermark: %v", err)
	}
	if _, err := l.DeleteRecordsBefore(-2, l.HighWatermark()); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("negative: %v", err)
	}
	if low, err := l.DeleteRecordsBefore(7, l.HighWatermark()); err != nil || low != 7 {
		t.Fatalf("delete before 7: %d, %v", low, err)
	}
	if got := len(segmentFiles(t, l.Dir(), logSuffix)); got != 3 {
		t.Fatalf("%d segments, want 3 (the first is wholly below 7)", got)
	}
	if low, err := l.DeleteRecordsBefore(3, l.HighWatermark()); err != nil || low != 7 {
		t.Fatalf("moving back: %d, %v", low, err)
	}
	if _, err := l.ReadRecords(6, 1<<20, 20); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the start: %v", err)
	}
	if off, _, _ := l.OffsetForTimestamp(-2); off != 7 || l.LogStartOffset() != 7 {
		t.Fatalf("earliest %d, start %d", off, l.LogStartOffset())
	}
	if low, err := l.DeleteRecordsBefore(-1, l.HighWatermark()); err != nil || low != 15 {
		t.Fatalf("delete before the high watermark: %d, %v", low, err)
	}
	if err := m.CheckpointLogStartOffsets(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openManager(t, cfg)
	defer m.Close()
	l, ok := m.Get("d", 0)
	if !ok || l.LogStartOffset() != 15 || l.HighWatermark() < 15 {
		t.Fatalf("after restart: start %d hw %d (checkpoint %s)", l.LogStartOffset(), l.HighWatermark(), filepath.Join(cfg.Dirs[0], logStartCheckpointFile))
	}
	if start, err := l.MaybeIncrementLogStartOffset(100); err != nil || start != 20 {
		t.Fatalf("follower start clamped to the log end: %d, %v", start, err)
	}
	// A follower behind the leader's log start starts over there.
	if err := l.TruncateFullyAndStartAt(30); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 30 || l.LogEndOffset() != 30 || len(segmentFiles(t, l.Dir(), logSuffix)) != 1 {
		t.Fatalf("after truncating fully: [%d, %d), %d segments", l.LogStartOffset(), l.LogEndOffset(), len(segmentFiles(t, l.Dir(), logSuffix)))
	}
	if res, err := l.Append(makeBatch(plain(2)), 1); err != nil || res.FirstOffset != 30 || l.LogEndOffset() != 32 {
		t.Fatalf("append after: %+v, %v, end %d", res, err, l.LogEndOffset())
	}
	c := l.Config()
	c.CleanupPolicy = PolicyCompact
	if err := l.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteRecordsBefore(-1, l.HighWatermark()); !errors.Is(err, ErrPolicyViolation) {
		t.Fatalf("compacted topic: %v", err)
	}
}
