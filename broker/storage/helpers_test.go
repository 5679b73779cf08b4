package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"
)

// batchSpec describes a test batch built with kmsg.
type batchSpec struct {
	records   int
	valueSize int
	ts        int64 // base timestamp; record i has ts+i*tsStep
	tsStep    int64
	pid       int64 // -1 = not idempotent
	epoch     int16
	seq       int32
	attrs     int16
}

func plain(records int) batchSpec {
	return batchSpec{records: records, valueSize: 10, ts: 1_700_000_000_000, tsStep: 1, pid: -1}
}

func idem(pid int64, epoch int16, seq int32, records int) batchSpec {
	s := plain(records)
	s.pid, s.epoch, s.seq = pid, epoch, seq
	return s
}

// makeBatch encodes a v2 batch with kmsg and a CRC-32C from hash/crc32.
func makeBatch(s batchSpec) []byte {
	var recs []byte
	for i := 0; i < s.records; i++ {
		r := kmsg.Record{
			TimestampDelta64: int64(i) * s.tsStep,
			OffsetDelta:      int32(i),
			Value:            bytes.Repeat([]byte{byte('a' + i%26)}, s.valueSize),
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // Length 0 encodes as one varint byte
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           s.attrs,
		LastOffsetDelta:      int32(s.records - 1),
		FirstTimestamp:       s.ts,
		MaxTimestamp:         s.ts + int64(s.records-1)*s.tsStep,
		ProducerID:           s.pid,
		ProducerEpoch:        s.epoch,
		FirstSequence:        s.seq,
		NumRecords:           int32(s.records),
		Records:              recs,
	}
	raw := b.AppendTo(nil)
	SealBatch(raw)
	return raw
}

func testConfig(t *testing.T, dirs ...string) Config {
	t.Helper()
	cfg := DefaultConfig()
	if len(dirs) == 0 {
		dirs = []string{t.TempDir()}
	}
	cfg.Dirs = dirs
	cfg.RetentionMs = -1
	return cfg
}

func openManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	m, err := Open(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m
}

// crash drops a manager as kill -9 would: file handles close, nothing is
// flushed, snapshotted or marked clean.
func crash(m *Manager) {
	m.cache.closeAll()
	m.unlock()
}

func mustAppend(t *testing.T, l *Log, b []byte, epoch int32) AppendResult {
	t.Helper()
	res, err := l.Append(b, epoch)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// decodeAll splits raw batches with kmsg and returns them.
func decodeAll(t *testing.T, b []byte) []kmsg.RecordBatch {
	t.Helper()
	var out []kmsg.RecordBatch
	for len(b) > 0 {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatalf("decode batch: %v", err)
		}
		n := int(rb.Length) + logOverhead
		out = append(out, rb)
		b = b[n:]
	}
	return out
}

func segmentFiles(t *testing.T, dir, suffix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
