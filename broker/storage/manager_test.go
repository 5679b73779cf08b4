package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string // "" = valid
	}{
		{"default", func(*Config) {}, ""},
		{"no dirs", func(c *Config) { c.Dirs = nil }, "log.dirs"},
		{"duplicate dir", func(c *Config) { c.Dirs = []string{"a", "a"} }, "log.dirs"},
		{"tiny segment", func(c *Config) { c.SegmentBytes = 10 }, "segment.bytes"},
		{"huge segment", func(c *Config) { c.SegmentBytes = math.MaxInt32 + 1 }, "segment.bytes"},
		{"retention.ms", func(c *Config) { c.RetentionMs = -2 }, "retention.ms"},
		{"retention.bytes", func(c *Config) { c.RetentionBytes = -5 }, "retention.bytes"},
		{"index interval", func(c *Config) { c.IndexIntervalBytes = 0 }, "log.index.interval.bytes"},
		{"open files", func(c *Config) { c.MaxOpenFiles = 1 }, "max open files"},
		{"check interval", func(c *Config) { c.RetentionCheckInterval = 0 }, "log.retention.check.interval.ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !bytes.Contains([]byte(err.Error()), []byte(tc.key)) {
				t.Fatalf("err = %v, want ErrInvalidConfig naming %s", err, tc.key)
			}
		})
	}
}

// TestRecoveryAfterCrash: without the clean-shutdown marker, Open keeps
// exactly the whole, CRC-valid batches of the active segment.
func TestRecoveryAfterCrash(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, logPath string, batchSize int64)
		wantLEO int64 // of 10 batches of 2 records
	}{
		{"clean tail", func(*testing.T, string, int64) {}, 20},
		{"truncated mid batch", func(t *testing.T, p string, bs int64) {
			if err := os.Truncate(p, 9*bs+bs/2); err != nil {
				t.Fatal(err)
			}
		}, 18},
		{"truncated mid header", func(t *testing.T, p string, bs int64) {
			if err := os.Truncate(p, 7*bs+20); err != nil {
				t.Fatal(err)
			}
		}, 14},
		{"garbage appended", func(t *testing.T, p string, _ int64) {
			appendFile(t, p, bytes.Repeat([]byte{0xde, 0xad}, 100))
		}, 20},
		{"zeros appended", func(t *testing.T, p string, _ int64) {
			appendFile(t, p, make([]byte, 4096))
		}, 20},
		{"crc broken in batch 6", func(t *testing.T, p string, bs int64) {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{0xff}, 6*bs+bs-1); err != nil {
				t.Fatal(err)
			}
		}, 12},
		{"index is garbage", func(t *testing.T, p string, _ int64) {
			if err := os.WriteFile(p[:len(p)-len(logSuffix)]+indexSuffix, []byte("garbage!x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.IndexIntervalBytes = 64
			m := openManager(t, cfg)
			l, _ := m.GetOrCreate("rec", 0, metadata.Uuid{})
			var bs int64
			for i := 0; i < 10; i++ {
				b := makeBatch(idem(3, 0, int32(2*i), 2))
				bs = int64(len(b))
				mustAppend(t, l, b, 0)
			}
			crash(m)
			logPath := filepath.Join(l.Dir(), segmentName(0)+logSuffix)
			tc.damage(t, logPath, bs)

			m = openManager(t, cfg)
			defer m.Close()
			l, ok := m.Get("rec", 0)
			if !ok {
				t.Fatal("partition lost")
			}
			if l.LogEndOffset() != tc.wantLEO {
				t.Fatalf("LEO = %d, want %d", l.LogEndOffset(), tc.wantLEO)
			}
			if sz := fileSize(t, logPath); sz != tc.wantLEO/2*bs {
				t.Fatalf("log file is %d bytes, want %d whole batches", sz, tc.wantLEO/2)
			}
			got, err := l.Read(0, math.MaxInt32, math.MaxInt64)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(decodeAll(t, got)); int64(n) != tc.wantLEO/2 {
				t.Fatalf("read %d batches, want %d", n, tc.wantLEO/2)
			}
			ib, _ := os.ReadFile(filepath.Join(l.Dir(), segmentName(0)+indexSuffix))
			if _, err := decodeIndex(ib, fileSize(t, logPath)); err != nil {
				t.Fatalf("index not rebuilt: %v", err)
			}
			// Producer state was rebuilt by scanning: the next sequence is
			// accepted at the recovered end, a retry of the last kept batch is a duplicate.
			if tc.wantLEO > 0 {
				res, err := l.Append(makeBatch(idem(3, 0, int32(tc.wantLEO-2), 2)), 0)
				if err != nil || !res.Duplicate {
					t.Fatalf("retry of last batch: %+v %v", res, err)
				}
			}
			res, err := l.Append(makeBatch(idem(3, 0, int32(tc.wantLEO), 2)), 0)
			if err != nil || res.FirstOffset != tc.wantLEO {
				t.Fatalf("append after recovery: %+v %v", res, err)
			}
		})
	}
}

func appendFile(t *testing.T, p string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionByTime(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 1024
	cfg.RetentionMs = time.Hour.Milliseconds()
	m := openManager(t, cfg)
	defer m.Close()
	l, _ := m.GetOrCreate("rt", 0, metadata.Uuid{})
	now := time.Now()
	old := plain(2)
	old.ts = now.Add(-3 * time.Hour).UnixMilli()
	for i := 0; i < 30; i++ {
		mustAppend(t, l, makeBatch(old), int32(i/10))
	}
	oldEnd := l.LogEndOffset()
	fresh := plain(2)
	fresh.ts = now.UnixMilli()
	for i := 0; i < 30; i++ {
		mustAppend(t, l, makeBatch(fresh), 5)
	}
	segs := l.NumSegments()
	deleted := m.applyRetention(now)
	if deleted == 0 || l.NumSegments() != segs-deleted {
		t.Fatalf("deleted %d of %d segments", deleted, segs)
	}
	start := l.LogStartOffset()
	if start == 0 || start > oldEnd {
		t.Fatalf("LogStartOffset = %d, want in (0, %d]", start, oldEnd)
	}
	if _, err := l.Read(0, 100, math.MaxInt64); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	if _, err := l.Read(start, 100, math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	if ep := l.LeaderEpochs(); ep[0].StartOffset < start {
		t.Fatalf("epoch cache not moved to the log start: %+v", ep)
	}
	if files := segmentFiles(t, l.Dir(), logSuffix); len(files) != l.NumSegments() {
		t.Fatalf("%d .log files for %d segments", len(files), l.NumSegments())
	}
	// Everything is expired much later, but the active segment stays.
	m.applyRetention(now.Add(10 * time.Hour))
	if l.NumSegments() != 1 {
		t.Fatalf("NumSegments = %d, want only the active one", l.NumSegments())
	}
}

func TestRetentionBySizeAndPerTopicOverride(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 1024
	m := openManager(t, cfg)
	defer m.Close()
	l, _ := m.GetOrCreate("rs", 0, metadata.Uuid{})
	other, _ := m.GetOrCreate("keep", 0, metadata.Uuid{})
	for i := 0; i < 60; i++ {
		mustAppend(t, l, makeBatch(plain(2)), 0)
		mustAppend(t, other, makeBatch(plain(2)), 0)
	}
	lc := l.Config()
	lc.RetentionBytes = 3000
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	if err := l.SetConfig(LogConfig{SegmentBytes: 1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad SetConfig: %v", err)
	}
	before := other.NumSegments()
	m.applyRetention(time.Now())
	if size := l.Size(); size < 3000 || size > 3000+1024 {
		t.Fatalf("size after retention = %d, want within one segment above 3000", size)
	}
	if other.NumSegments() != before {
		t.Fatal("retention touched a topic without a size limit")
	}
}

func TestRetentionLoop(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg := testConfig(t)
	cfg.SegmentBytes = 512
	cfg.RetentionMs = 1000
	cfg.RetentionCheckInterval = 5 * time.Millisecond
	m := openManager(t, cfg)
	l, _ := m.GetOrCreate("loop", 0, metadata.Uuid{})
	s := plain(2)
	s.ts = time.Now().Add(-time.Hour).UnixMilli()
	for i := 0; i < 20; i++ {
		mustAppend(t, l, makeBatch(s), 0)
	}
	m.Start()
	wait.Until(t, 10*time.Second, "retention to delete old segments", func() bool { return l.NumSegments() == 1 })
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestManagerPartitionsAndDirs(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	cfg := testConfig(t, d1, d2)
	m := openManager(t, cfg)
	id := metadata.RandomUuid()
	for p := int32(0); p < 6; p++ {
		if _, err := m.GetOrCreate("spread", p, id); err != nil {
			t.Fatal(err)
		}
	}
	n1, _ := filepath.Glob(filepath.Join(d1, "spread-*"))
	n2, _ := filepath.Glob(filepath.Join(d2, "spread-*"))
	if len(n1) != 3 || len(n2) != 3 {
		t.Fatalf("partitions per dir: %d and %d, want 3 and 3", len(n1), len(n2))
	}
	if _, err := m.GetOrCreate("spread", 0, metadata.RandomUuid()); !errors.Is(err, ErrInconsistentTopicID) {
		t.Fatalf("other topic id: %v", err)
	}
	for _, bad := range []string{"", "a/b", "..", string(make([]byte, 250))} {
		if _, err := m.GetOrCreate(bad, 0, id); !errors.Is(err, ErrInvalidTopic) {
			t.Fatalf("topic %q: %v", bad, err)
		}
	}
	if err := m.Delete("spread", 1); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete("spread", 1); !errors.Is(err, ErrUnknownPartition) {
		t.Fatalf("second delete: %v", err)
	}
	want := []TopicPartition{{"spread", 0}, {"spread", 2}, {"spread", 3}, {"spread", 4}, {"spread", 5}}
	if got := m.Partitions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Partitions = %v", got)
	}
	// A second manager cannot open the same dirs.
	if _, err := Open(cfg, m.logger); err == nil {
		t.Fatal("second Open of a locked dir succeeded")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openManager(t, cfg)
	defer m.Close()
	if got := m.Partitions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Partitions after reopen = %v", got)
	}
	if l, _ := m.Get("spread", 3); l.TopicID() != id {
		t.Fatal("topic id lost")
	}
}

// countFDs counts this process's open file descriptors.
func countFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(es)
}

// TestManyPartitionsBoundedFDs: 3,000 partitions with MaxOpenFiles=64
// append, read and reopen while the process's fd count stays bounded.
func TestManyPartitionsBoundedFDs(t *testing.T) {
	const parts, maxOpen = 3000, 64
	cfg := testConfig(t)
	cfg.MaxOpenFiles = maxOpen
	base := countFDs(t)
	limit := base + maxOpen + 16 // slack for the runtime, the log dir lock and temporary files
	peak := 0
	check := func() {
		if n := countFDs(t); n > peak {
			peak = n
		}
	}
	m := openManager(t, cfg)
	for p := 0; p < parts; p++ {
		l, err := m.GetOrCreate("many", int32(p), metadata.Uuid{})
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, makeBatch(plain(1+p%3)), -1)
		if p%100 == 0 {
			check()
		}
	}
	for p := 0; p < parts; p++ {
		l, _ := m.Get("many", int32(p))
		b, err := l.Read(0, 1<<20, math.MaxInt64)
		if err != nil || len(decodeAll(t, b)) != 1 {
			t.Fatalf("partition %d: read %d bytes, %v", p, len(b), err)
		}
		if p%100 == 0 {
			check()
		}
	}
	if m.OpenFiles() > maxOpen {
		t.Fatalf("cache holds %d handles, bound %d", m.OpenFiles(), maxOpen)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openManager(t, cfg)
	defer m.Close()
	check()
	if n := len(m.Partitions()); n != parts {
		t.Fatalf("reopened %d partitions", n)
	}
	for p := 0; p < parts; p += 7 {
		l, _ := m.Get("many", int32(p))
		if l.LogEndOffset() != int64(1+p%3) {
			t.Fatalf("partition %d LEO %d", p, l.LogEndOffset())
		}
		mustAppend(t, l, makeBatch(plain(1)), -1)
		check()
	}
	if peak > limit {
		t.Fatalf("fd count peaked at %d, limit %d (start %d)", peak, limit, base)
	}
	t.Logf("fds: start %d, peak %d", base, peak)
}

// TestRecoveryOfOlderSegments: an older segment with a garbage index is
// rebuilt; one torn in the middle is cut and the segments after it go, so
// the log has no offset gap.
func TestRecoveryOfOlderSegments(t *testing.T) {
	for _, torn := range []bool{false, true} {
		t.Run(fmt.Sprintf("torn=%v", torn), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.SegmentBytes = 1024
			cfg.IndexIntervalBytes = 100
			m := openManager(t, cfg)
			l, _ := m.GetOrCreate("old", 0, metadata.Uuid{})
			for i := 0; i < 40; i++ {
				mustAppend(t, l, makeBatch(plain(2)), 0)
			}
			l.mu.RLock()
			second := l.segments[1]
			l.mu.RUnlock()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(second.indexPath(), []byte{1, 2, 3}, 0o644); err != nil {
				t.Fatal(err)
			}
			wantLEO := int64(80)
			if torn {
				if err := os.Truncate(second.logPath(), second.size-10); err != nil {
					t.Fatal(err)
				}
				wantLEO = second.nextOffset - 2 // the cut batch held 2 records
			}
			m = openManager(t, cfg)
			defer m.Close()
			l, _ = m.Get("old", 0)
			if l.LogEndOffset() != wantLEO {
				t.Fatalf("LEO = %d, want %d", l.LogEndOffset(), wantLEO)
			}
			ib, _ := os.ReadFile(second.indexPath())
			if idx, err := decodeIndex(ib, fileSize(t, second.logPath())); err != nil || len(idx) == 0 {
				t.Fatalf("index of segment %d not rebuilt: %d entries, %v", second.base, len(idx), err)
			}
			for off := int64(0); off < l.LogEndOffset(); off++ {
				if b, err := l.Read(off, 1, math.MaxInt64); err != nil || len(b) == 0 {
					t.Fatalf("Read(%d): %d bytes, %v", off, len(b), err)
				}
			}
			mustAppend(t, l, makeBatch(plain(1)), 0)
		})
	}
}
