package storage

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// compressedBatch is makeBatch(s) with its records section compressed by
// franz-go in codec (the producer's side).
func compressedBatch(t *testing.T, s batchSpec, codec kgo.CompressionCodec, id kgo.CompressionCodecType) []byte {
	t.Helper()
	return compressRaw(t, makeBatch(s), codec, id)
}

// compressRaw is the sealed batch raw with its records section compressed
// by franz-go in codec.
func compressRaw(t *testing.T, raw []byte, codec kgo.CompressionCodec, id kgo.CompressionCodecType) []byte {
	t.Helper()
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(raw); err != nil {
		t.Fatal(err)
	}
	c, err := kgo.DefaultCompressor(codec)
	if err != nil {
		t.Fatal(err)
	}
	out, used := c.Compress(new(bytes.Buffer), rb.Records)
	if used != id {
		t.Fatalf("compressor used codec %d, want %d", used, id)
	}
	rb.Records = append([]byte(nil), out...)
	rb.Attributes = rb.Attributes&^attrCompressionMask | int16(id)
	out2 := rb.AppendTo(nil)
	SealBatch(out2)
	return out2
}

// TestAppendRecompresses: compression.type on the log rewrites batches in
// another codec (Kafka's LogValidator with a target codec), keeps batches
// already in it byte for byte, and "producer" keeps everything. The stored
// batches carry a valid CRC and the producer's records.
func TestAppendRecompresses(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	want := makeBatch(idem(7, 0, 0, 5))
	var wantRecs kmsg.RecordBatch
	if err := wantRecs.ReadFrom(want); err != nil {
		t.Fatal(err)
	}
	lz4 := func(seq int32) []byte {
		return compressedBatch(t, idem(7, 0, seq, 5), kgo.Lz4Compression(), kgo.CodecLz4)
	}
	for i, tc := range []struct {
		compression string
		in          []byte
		codec       int16
		verbatim    bool
	}{
		{CompressionGzip, lz4(0), int16(kgo.CodecGzip), false},
		{CompressionUncompressed, lz4(0), int16(kgo.CodecNone), false},
		{CompressionZstd, makeBatch(idem(7, 0, 0, 5)), int16(kgo.CodecZstd), false},
		{CompressionSnappy, lz4(0), int16(kgo.CodecSnappy), false},
		{CompressionLz4, lz4(0), int16(kgo.CodecLz4), true},
		{CompressionProducer, lz4(0), int16(kgo.CodecLz4), true},
		{"", makeBatch(idem(7, 0, 0, 5)), 0, true},
	} {
		l, err := m.GetOrCreate("c", int32(i), metadata.RandomUuid())
		if err != nil {
			t.Fatal(err)
		}
		cfg := l.Config()
		cfg.Compression = tc.compression
		if err := l.SetConfig(cfg); err != nil {
			t.Fatal(err)
		}
		in := append([]byte(nil), tc.in...)
		res := mustAppend(t, l, in, 3)
		// A retry of the same batch is a duplicate of the recompressed one.
		if dup, err := l.Append(append([]byte(nil), tc.in...), 3); err != nil || !dup.Duplicate || dup.FirstOffset != res.FirstOffset {
			t.Fatalf("%s: retry: %+v %v", tc.compression, dup, err)
		}
		got, err := l.Read(0, 1<<20, 1<<62)
		if err != nil {
			t.Fatal(err)
		}
		h, err := checkBatch(got)
		if err != nil || h.Size() != int64(len(got)) {
			t.Fatalf("%s: stored batch: %+v %v (%d bytes)", tc.compression, h, err, len(got))
		}
		if h.Attributes&attrCompressionMask != tc.codec || h.ProducerID != 7 || h.RecordCount != 5 || h.LeaderEpoch != 3 {
			t.Fatalf("%s: stored header %+v, want codec %d", tc.compression, h, tc.codec)
		}
		if tc.verbatim && !bytes.Equal(got[offAttributes:], tc.in[offAttributes:]) {
			t.Fatalf("%s: batch was rewritten", tc.compression)
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(got); err != nil {
			t.Fatal(err)
		}
		raw, err := decompressor.Decompress(rb.Records, kgo.CompressionCodecType(tc.codec))
		if err != nil || !bytes.Equal(raw, wantRecs.Records) {
			t.Fatalf("%s: records differ after recompression (%v)", tc.compression, err)
		}
	}
}

// TestRecompressRejectsCorrupt: a batch whose compressed records do not
// decompress, or decompress to other than its record count, is
// CORRUPT_MESSAGE when it has to be recompressed.
func TestRecompressRejectsCorrupt(t *testing.T) {
	good := compressedBatch(t, plain(3), kgo.GzipCompression(), kgo.CodecGzip)
	garbled := append([]byte(nil), good...)
	for i := BatchHeaderSize + 12; i < len(garbled); i++ {
		garbled[i] ^= 0x5a
	}
	SealBatch(garbled)
	short := append([]byte(nil), good...)
	short[offRecordCount+3]++ // claims 4 records, holds 3
	short[offLastOffsetDelta+3]++
	SealBatch(short)
	for name, b := range map[string][]byte{"garbled": garbled, "miscounted": short} {
		hs, err := splitBatches(b, 1<<30)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, _, err := recompress(b, hs, CompressionLz4); !errors.Is(err, ErrCorruptMessage) {
			t.Fatalf("%s: %v, want ErrCorruptMessage", name, err)
		}
	}
}

// TestLogConfigCompressionValidated: an unknown compression.type is refused
// naming the key.
func TestLogConfigCompressionValidated(t *testing.T) {
	c := DefaultConfig().logConfig()
	c.Compression = "brotli"
	if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) || !bytes.Contains([]byte(err.Error()), []byte("compression.type")) {
		t.Fatalf("%v", err)
	}
}

// TestRecompressedSizeChecked: a batch that grows past max.message.bytes
// when decompressed for compression.type=uncompressed is
// MESSAGE_TOO_LARGE (Kafka re-checks the rewritten size); the same batch
// is stored when the limit allows it.
func TestRecompressedSizeChecked(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	s := plain(20)
	s.valueSize = 500 // 10 KB of repeated bytes: gzip makes it a few hundred
	in := compressedBatch(t, s, kgo.GzipCompression(), kgo.CodecGzip)
	for i, max := range []int32{int32(len(in)) * 2, 20000} {
		l, err := m.GetOrCreate("big", int32(i), metadata.RandomUuid())
		if err != nil {
			t.Fatal(err)
		}
		cfg := l.Config()
		cfg.Compression, cfg.MaxMessageBytes = CompressionUncompressed, max
		if err := l.SetConfig(cfg); err != nil {
			t.Fatal(err)
		}
		_, err = l.Append(append([]byte(nil), in...), 0)
		switch {
		case i == 0 && !errors.Is(err, ErrRecordTooLarge):
			t.Fatalf("%d-byte gzip batch, uncompressed past max.message.bytes=%d: %v", len(in), max, err)
		case i == 1 && err != nil:
			t.Fatalf("max.message.bytes=%d: %v", max, err)
		}
	}
}
