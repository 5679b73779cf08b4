package storage

import (
	"math"
	"testing"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// BenchmarkAppend appends batches of 16 records of 1 KiB; MB/s is the
// produce throughput of one partition (write(2) only, no fsync).
func BenchmarkAppend(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Dirs = []string{b.TempDir()}
	cfg.SegmentBytes = 256 << 20
	m, err := Open(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l, err := m.GetOrCreate("bench", 0, metadata.Uuid{})
	if err != nil {
		b.Fatal(err)
	}
	batch := makeBatch(batchSpec{records: 16, valueSize: 1024, ts: 1_700_000_000_000, tsStep: 1, pid: -1})
	b.SetBytes(int64(len(batch)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads 1 MiB fetches from a log of 1 KiB-record batches.
func BenchmarkRead(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Dirs = []string{b.TempDir()}
	m, err := Open(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l, _ := m.GetOrCreate("bench", 0, metadata.Uuid{})
	batch := makeBatch(batchSpec{records: 16, valueSize: 1024, ts: 1_700_000_000_000, tsStep: 1, pid: -1})
	for i := 0; i < 1024; i++ {
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	b.ResetTimer()
	var n int64
	for i := 0; i < b.N; i++ {
		out, err := l.Read(int64(i*997)%leo, 1<<20, math.MaxInt64)
		if err != nil {
			b.Fatal(err)
		}
		n += int64(len(out))
	}
	b.SetBytes(n / int64(b.N))
}
