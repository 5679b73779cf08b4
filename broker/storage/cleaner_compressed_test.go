package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// compressKV is kvBatch(ts, recs...) with its records section compressed
// by franz-go in codec (the producer's side).
func compressKV(t *testing.T, codec kgo.CompressionCodec, id kgo.CompressionCodecType, ts int64, recs ...kv) []byte {
	t.Helper()
	return compressRaw(t, kvBatch(ts, recs...), codec, id)
}

// storedBatch is one batch as the log returns it, decoded independently
// of the cleaner: kmsg for the batch and its records, franz-go's
// decompressor for the records section. Control batches list no records.
type storedBatch struct {
	base, last int64
	codec      kgo.CompressionCodecType
	attrs      int16
	records    []string // "offset:key=value", "<nil>" for a tombstone
}

func storedBatches(t *testing.T, l *Log) []storedBatch {
	t.Helper()
	var out []storedBatch
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
			h, err := checkBatch(b) // length and CRC-32C
			if err != nil {
				t.Fatalf("batch at %d: %v", off, err)
			}
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(b[:h.Size()]); err != nil {
				t.Fatalf("kmsg decode of batch %d: %v", h.BaseOffset, err)
			}
			codec := kgo.CompressionCodecType(rb.Attributes & attrCompressionMask)
			raw, err := kgo.DefaultDecompressor().Decompress(rb.Records, codec)
			if err != nil {
				t.Fatalf("decompress batch %d (codec %d): %v", h.BaseOffset, codec, err)
			}
			sb := storedBatch{base: rb.FirstOffset, last: rb.FirstOffset + int64(rb.LastOffsetDelta), codec: codec, attrs: rb.Attributes}
			if rb.Attributes&attrControl != 0 { // a marker: no data records
				raw = nil
				rb.NumRecords = 0
			}
			for i := int32(0); i < rb.NumRecords; i++ {
				n, w := binary.Varint(raw)
				if w <= 0 || int(n) > len(raw)-w {
					t.Fatalf("batch %d: record %d not framed", h.BaseOffset, i)
				}
				var r kmsg.Record
				if err := r.ReadFrom(raw[:w+int(n)]); err != nil {
					t.Fatalf("batch %d: record %d: %v", h.BaseOffset, i, err)
				}
				raw = raw[w+int(n):]
				o := rb.FirstOffset + int64(r.OffsetDelta)
				if ts := rb.FirstTimestamp + r.TimestampDelta64; ts != testTs+o {
					t.Errorf("record %d has timestamp %d, want %d", o, ts, testTs+o)
				}
				v := "<nil>"
				if r.Value != nil {
					v = string(r.Value)
				}
				sb.records = append(sb.records, got{o, string(r.Key), v}.String())
			}
			if len(raw) != 0 {
				t.Fatalf("batch %d: %d bytes after its records", h.BaseOffset, len(raw))
			}
			out = append(out, sb)
			off = h.LastOffset() + 1
			b = b[h.Size():]
		}
	}
	return out
}

// TestCleanCompressedBatches: the cleaner looks into lz4 and zstd batches
// (Kafka's MemoryRecords.filterTo): per key only the latest record stays,
// a partly kept batch is written again in its codec with its base offset,
// last offset delta and producer fields, a wholly superseded one goes, and
// the result survives a crash and restart (recovery checks every CRC).
func TestCleanCompressedBatches(t *testing.T) {
	dir := t.TempDir()
	m, l := compactedLog(t, dir, 1<<20, PolicyCompact)
	lz4 := func(recs ...kv) []byte {
		return compressKV(t, kgo.Lz4Compression(), kgo.CodecLz4, testTs+l.LogEndOffset(), recs...)
	}
	mustAppend(t, l, lz4(rec("a", "1"), rec("b", "1"), rec("c", "1")), 1) // 0-2: only c=1 stays
	mustAppend(t, l, lz4(rec("d", "1"), rec("h", "1")), 1)                // 3-4: d=1 goes
	mustAppend(t, l, compressKV(t, kgo.ZstdCompression(), kgo.CodecZstd, testTs+5,
		rec("b", "2"), rec("e", "1"), rec("e", "2")), 1) // 5-7: e=1 goes
	mustAppend(t, l, lz4(rec("d", "2"), rec("f", "1")), 1) // 8-9
	mustAppend(t, l, lz4(rec("a", "x"), rec("g", "x")), 1) // 10-11: wholly superseded
	mustAppend(t, l, lz4(rec("a", "3"), rec("g", "3")), 1) // 12-13
	appendKVs(t, l, [][]kv{nil, {rec("z", "1")}})          // 14: the active segment
	l.SetHighWatermark(l.LogEndOffset())
	before := storedBatches(t, l)
	if len(before) != 7 || before[0].codec != kgo.CodecLz4 || before[2].codec != kgo.CodecZstd {
		t.Fatalf("appended batches %+v", before)
	}

	st, err := l.Compact(time.UnixMilli(testTs))
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 14 || st.Kept != 8 {
		t.Fatalf("stats %+v, want 14 records read, 8 kept", st)
	}
	want := []storedBatch{
		{base: 0, last: 2, codec: kgo.CodecLz4, records: []string{"2:c=1"}},
		{base: 3, last: 4, codec: kgo.CodecLz4, records: []string{"4:h=1"}},
		{base: 5, last: 7, codec: kgo.CodecZstd, records: []string{"5:b=2", "7:e=2"}},
		{base: 8, last: 9, codec: kgo.CodecLz4, records: []string{"8:d=2", "9:f=1"}},
		{base: 12, last: 13, codec: kgo.CodecLz4, records: []string{"12:a=3", "13:g=3"}},
		{base: 14, last: 14, codec: kgo.CodecNone, records: []string{"14:z=1"}},
	}
	check := func(when string) {
		t.Helper()
		gotB := storedBatches(t, l)
		for i := range gotB {
			gotB[i].attrs = 0
		}
		if !reflect.DeepEqual(gotB, want) {
			t.Fatalf("%s: batches\n%+v\nwant\n%+v", when, gotB, want)
		}
	}
	check("after cleaning")
	// The untouched batch 8-9 is stored byte for byte.
	b, err := l.Read(8, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	h, _ := checkBatch(b)
	if orig := compressKV(t, kgo.Lz4Compression(), kgo.CodecLz4, testTs+8, rec("d", "2"), rec("f", "1")); h.BaseOffset != 8 || !bytes.Equal(b[:h.Size()][BatchHeaderSize:], orig[BatchHeaderSize:]) {
		t.Fatalf("batch 8 rewritten although every record stayed")
	}

	crash(m)
	m = openManager(t, testConfig(t, dir))
	defer m.Close()
	l, _ = m.Get("c", 0)
	check("after a crash and restart")
	if l.LogStartOffset() != 0 || l.LogEndOffset() != 15 {
		t.Fatalf("after restart log [%d, %d), want [0, 15)", l.LogStartOffset(), l.LogEndOffset())
	}
}

// TestCleanCompressedTombstones: a tombstone in a compressed batch hides
// the older value, is kept (the batch stamped with its delete horizon, in
// its codec) until delete.retention.ms passed, then goes.
func TestCleanCompressedTombstones(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 1<<20, PolicyCompact)
	defer m.Close()
	mustAppend(t, l, compressKV(t, kgo.Lz4Compression(), kgo.CodecLz4, testTs, rec("a", "1"), rec("b", "1")), 1)
	mustAppend(t, l, compressKV(t, kgo.ZstdCompression(), kgo.CodecZstd, testTs+2, tomb("a"), rec("c", "1")), 1)
	appendKVs(t, l, [][]kv{nil, {rec("z", "1")}})
	l.SetHighWatermark(l.LogEndOffset())

	if _, err := l.Compact(time.UnixMilli(testTs)); err != nil {
		t.Fatal(err)
	}
	gotB := storedBatches(t, l)
	if len(gotB) != 3 || !reflect.DeepEqual(gotB[0].records, []string{"1:b=1"}) || gotB[0].codec != kgo.CodecLz4 ||
		!reflect.DeepEqual(gotB[1].records, []string{"2:a=<nil>", "3:c=1"}) || gotB[1].codec != kgo.CodecZstd ||
		gotB[1].attrs&attrDeleteHorizon == 0 {
		t.Fatalf("after the first cleaning: %+v", gotB)
	}
	// Before the horizon the tombstone stays.
	if _, err := l.Compact(time.UnixMilli(testTs + DefaultDeleteRetentionMs - 1)); err != nil {
		t.Fatal(err)
	}
	if gotB = storedBatches(t, l); len(gotB) != 3 || len(gotB[1].records) != 2 {
		t.Fatalf("tombstone gone before delete.retention.ms: %+v", gotB)
	}
	if _, err := l.Compact(time.UnixMilli(testTs + DefaultDeleteRetentionMs)); err != nil {
		t.Fatal(err)
	}
	gotB = storedBatches(t, l)
	if len(gotB) != 3 || !reflect.DeepEqual(gotB[1].records, []string{"3:c=1"}) || gotB[1].codec != kgo.CodecZstd ||
		gotB[1].base != 2 || gotB[1].last != 3 {
		t.Fatalf("after delete.retention.ms: %+v", gotB)
	}
}

// TestCompactedAppendChecksCompressedKeys: a keyless record inside a
// compressed batch is refused on a compacted log, as in an uncompressed one.
func TestCompactedAppendChecksCompressedKeys(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 1<<20, PolicyCompact)
	defer m.Close()
	b := compressKV(t, kgo.Lz4Compression(), kgo.CodecLz4, testTs, rec("a", "1"), keyless("x"))
	if _, err := l.Append(b, 1); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("keyless record in an lz4 batch: %v, want ErrInvalidRecord", err)
	}
	mustAppend(t, l, compressKV(t, kgo.Lz4Compression(), kgo.CodecLz4, testTs, rec("a", "1"), rec("b", "1")), 1)
}

// TestCleanCompressedTransactions: a committed transaction's lz4 batch is
// compacted by key and written back transactional, in lz4, with its
// producer id, epoch, base sequence and last offset delta; an aborted
// transaction's lz4 batch goes whole; both markers stay in the pass that
// read their data (the rules of TestCleanRemovesTxnMarkers).
func TestCleanCompressedTransactions(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 1<<20, PolicyCompact)
	defer m.Close()
	txn := func(pid int64, seq int32, recs ...kv) []byte {
		b := compressKV(t, kgo.Lz4Compression(), kgo.CodecLz4, testTs+l.LogEndOffset(), recs...)
		binary.BigEndian.PutUint16(b[offAttributes:], attrTransactional|uint16(kgo.CodecLz4))
		binary.BigEndian.PutUint64(b[offProducerID:], uint64(pid))
		binary.BigEndian.PutUint16(b[offProducerEpoch:], 3)
		binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(seq))
		SealBatch(b)
		return b
	}
	mustAppend(t, l, txn(2, 5, rec("a", "1"), rec("b", "1"), rec("c", "1")), 1) // 0-2: committed, a superseded by 7
	mustMarker(t, l, 2, 3, true)                                                // 3
	mustAppend(t, l, txn(1, 0, rec("x", "1"), rec("y", "1")), 1)                // 4-5: aborted
	mustMarker(t, l, 1, 3, false)                                               // 6
	appendKVs(t, l, [][]kv{{rec("a", "2")}, nil, {rec("z", "1")}})              // 7 | 8
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.Compact(time.UnixMilli(testTs)); err != nil {
		t.Fatal(err)
	}
	hs, _, offs := batchHeaders(t, l)
	if offs != "[0 3 6 7 8]" {
		t.Fatalf("batches at %s, want [0 3 6 7 8] (the aborted batch 4 gone, both markers kept)", offs)
	}
	h := hs[0]
	if !h.IsTransactional() || kgo.CompressionCodecType(h.Attributes&attrCompressionMask) != kgo.CodecLz4 ||
		h.ProducerID != 2 || h.ProducerEpoch != 3 || h.BaseSequence != 5 || h.LastOffsetDelta != 2 || h.RecordCount != 2 {
		t.Fatalf("cleaned transactional batch header %+v", h)
	}
	var recs []string
	for _, b := range storedBatches(t, l) {
		recs = append(recs, b.records...)
	}
	if want := []string{"1:b=1", "2:c=1", "7:a=2", "8:z=1"}; !reflect.DeepEqual(recs, want) {
		t.Fatalf("records %v, want %v", recs, want)
	}
}
