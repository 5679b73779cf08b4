package storage

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// FuzzBatchHeader feeds arbitrary bytes to the batch decoders: they must
// never panic, and whatever they accept must be self-consistent.
func FuzzBatchHeader(f *testing.F) {
	f.Add(makeBatch(plain(3)))
	f.Add(append(makeBatch(idem(1, 0, 5, 2)), makeBatch(plain(1))...))
	f.Add(makeBatch(plain(1))[:30])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := checkBatch(b)
		if err == nil {
			if h.Size() > int64(len(b)) || h.Magic != 2 || h.Length < BatchHeaderSize-logOverhead {
				t.Fatalf("accepted inconsistent batch %+v of %d bytes", h, len(b))
			}
			off, _ := recordAtOrAfter(b[:h.Size()], &h, h.BaseTimestamp)
			if d := off - h.BaseOffset; d < 0 || d > int64(max(h.LastOffsetDelta, 0)) {
				t.Fatalf("record offset %d outside batch %d+%d", off, h.BaseOffset, h.LastOffsetDelta)
			}
		}
		hs, err := splitBatches(b, math.MaxInt32)
		if err == nil {
			var total int64
			for _, h := range hs {
				total += h.Size()
				if int64(h.RecordCount) != int64(h.LastOffsetDelta)+1 {
					t.Fatalf("accepted count %d with delta %d", h.RecordCount, h.LastOffsetDelta)
				}
			}
			if total != int64(len(b)) {
				t.Fatalf("batches cover %d of %d bytes", total, len(b))
			}
		}
	})
}

// FuzzRecovery damages the tail of a crashed log (cut it, then add bytes)
// and checks that Open keeps exactly a prefix of whole, valid batches.
func FuzzRecovery(f *testing.F) {
	f.Add(uint16(0), []byte{})
	f.Add(uint16(100), []byte{})
	f.Add(uint16(0), makeBatch(plain(2)))
	f.Add(uint16(7), bytes.Repeat([]byte{0}, 100))
	f.Add(uint16(61), []byte("\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x01\x00garbage"))
	f.Fuzz(func(t *testing.T, cut uint16, tail []byte) {
		cfg := DefaultConfig()
		cfg.Dirs = []string{t.TempDir()}
		cfg.IndexIntervalBytes = 64
		m, err := Open(cfg, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		l, err := m.GetOrCreate("fz", 0, metadata.Uuid{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 6; i++ {
			if _, err := l.Append(makeBatch(idem(1, 0, int32(i), 1)), 0); err != nil {
				t.Fatal(err)
			}
		}
		crash(m)
		p := filepath.Join(l.Dir(), segmentName(0)+logSuffix)
		size := fileSize(t, p)
		keep := size - int64(cut)%(size+1)
		if err := os.Truncate(p, keep); err != nil {
			t.Fatal(err)
		}
		appendFile(t, p, tail)

		m, err = Open(cfg, zap.NewNop())
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer m.Close()
		l, _ = m.Get("fz", 0)
		leo := l.LogEndOffset()
		if leo > 6+int64(len(tail)) {
			t.Fatalf("LEO %d grew from garbage", leo)
		}
		var got int64
		if leo > 0 {
			b, err := l.Read(0, math.MaxInt32, math.MaxInt64)
			if err != nil {
				t.Fatal(err)
			}
			hs, err := splitBatches(b, math.MaxInt32)
			if err != nil {
				t.Fatalf("recovered log holds a bad batch: %v", err)
			}
			for _, h := range hs {
				if h.BaseOffset != got {
					t.Fatalf("batch at %d, want %d", h.BaseOffset, got)
				}
				got = h.LastOffset() + 1
			}
			if int64(len(b)) != fileSize(t, p) {
				t.Fatalf("read %d bytes, file holds %d", len(b), fileSize(t, p))
			}
		}
		if got != leo {
			t.Fatalf("batches end at %d, LEO %d", got, leo)
		}
		if _, err := l.Append(makeBatch(plain(1)), 0); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
	})
}

// FuzzDecodeFiles feeds arbitrary bytes to every on-disk file decoder.
func FuzzDecodeFiles(f *testing.F) {
	ps := newProducerState()
	ps.load(&BatchHeader{ProducerID: 3, ProducerEpoch: 1, BaseSequence: 4, LastOffsetDelta: 2, BaseOffset: 10}, nil)
	f.Add(ps.encode())
	f.Add(encodeAbortedTxn(abortedTxn{producerID: 3, firstOffset: 10, lastOffset: 20, lastStableOffset: 21}))
	f.Add([]byte("0\n2\n0 0\n3 150\n"))
	f.Add([]byte("0\n1\norders 3 1500\n"))
	f.Add([]byte("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n"))
	f.Add(encodeIndexEntry(indexEntry{rel: 5, pos: 100}))
	f.Add(encodeTimeEntry(timeEntry{ts: 1000, rel: 5}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ps, err := decodeProducerSnapshot(b); err == nil {
			again, err := decodeProducerSnapshot(ps.encode())
			if err != nil || len(again.producers) != len(ps.producers) {
				t.Fatalf("snapshot does not round trip: %v", err)
			}
		}
		if es, err := decodeEpochCheckpoint(b); err == nil {
			c := epochCache{entries: es}
			again, err := decodeEpochCheckpoint(c.encode())
			if err != nil || len(again) != len(es) {
				t.Fatalf("epoch checkpoint does not round trip: %v", err)
			}
		}
		_, _ = decodePartitionMetadata(b)
		if hws, err := decodeHWCheckpoint(b); err == nil {
			var es []hwEntry
			for tp, hw := range hws {
				es = append(es, hwEntry{tp, hw})
			}
			if again, err := decodeHWCheckpoint(encodeHWCheckpoint(es)); err != nil || len(again) != len(hws) {
				t.Fatalf("hw checkpoint does not round trip: %v", err)
			}
		}
		if idx, err := decodeIndex(b, 1<<20); err == nil && len(idx)*indexEntrySize != len(b) {
			t.Fatalf("index of %d bytes gave %d entries", len(b), len(idx))
		}
		_, _ = decodeTimeIndex(b, 0, math.MaxInt64)
		if es, err := decodeTxnIndex(b, 0, math.MaxInt64); err == nil && len(es)*txnIndexEntrySize != len(b) {
			t.Fatalf("txn index of %d bytes gave %d entries", len(b), len(es))
		}
		_, _, _ = parseMarker(b)
	})
}
