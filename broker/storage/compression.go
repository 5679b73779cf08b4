package storage

// The topic's compression.type on append (Kafka's LogValidator with a
// target compression): "producer" (or "") keeps each batch as the
// producer compressed it; "uncompressed", "gzip", "snappy", "lz4" and
// "zstd" rewrite every batch whose codec differs: its records section is
// decompressed and compressed again with the topic's codec, the
// compression bits of the attributes set, and the length and CRC-32C
// recomputed. The header (producer id, epoch, base sequence, timestamps,
// record count, last offset delta) is kept, so idempotence, transactions
// and offsets are unaffected. A batch already in the target codec is
// kept byte for byte. The codecs are franz-go's (kgo.DefaultCompressor /
// DefaultDecompressor: klauspost/compress, pierrec/lz4); none is written
// here.
//
// Followers never recompress (they keep the leader's bytes), nor do
// coordinator appends (their readers expect the uncompressed batches they
// wrote; the internal topics carry their own compression.type anyway).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The values of compression.type.
const (
	CompressionProducer     = "producer"
	CompressionUncompressed = "uncompressed"
	CompressionGzip         = "gzip"
	CompressionSnappy       = "snappy"
	CompressionLz4          = "lz4"
	CompressionZstd         = "zstd"
)

// codecs maps a compression.type to the codec of the attributes' low
// three bits (Kafka's CompressionType ids, which kgo's equal).
var codecs = map[string]kgo.CompressionCodecType{
	CompressionUncompressed: kgo.CodecNone,
	CompressionGzip:         kgo.CodecGzip,
	CompressionSnappy:       kgo.CodecSnappy,
	CompressionLz4:          kgo.CodecLz4,
	CompressionZstd:         kgo.CodecZstd,
}

// validCompression reports whether v is a compression.type ("" = producer).
func validCompression(v string) bool {
	_, ok := codecs[v]
	return ok || v == "" || v == CompressionProducer
}

// compressors holds one kgo compressor per codec, made on first use
// (compressorsErr if franz-go refused one); the decompressor serves every
// codec. All are safe for concurrent use.
var (
	compressorsOnce sync.Once
	compressors     map[kgo.CompressionCodecType]kgo.Compressor
	compressorsErr  error
	decompressor    = kgo.DefaultDecompressor()
)

func loadCompressors() error {
	compressorsOnce.Do(func() {
		compressors = map[kgo.CompressionCodecType]kgo.Compressor{}
		for codec, c := range map[kgo.CompressionCodecType]kgo.CompressionCodec{
			kgo.CodecGzip: kgo.GzipCompression(), kgo.CodecSnappy: kgo.SnappyCompression(),
			kgo.CodecLz4: kgo.Lz4Compression(), kgo.CodecZstd: kgo.ZstdCompression(),
		} {
			cc, err := kgo.DefaultCompressor(c)
			if err != nil || cc == nil {
				compressorsErr = fmt.Errorf("storage: franz-go compressor for codec %d: %v", codec, err)
				return
			}
			compressors[codec] = cc
		}
	})
	return compressorsErr
}

// recompress returns batches with every batch (headers hs, validated by
// splitBatches) in the codec compression names, and their new headers;
// batches itself (and hs) when compression is "producer" or every batch
// already uses it. A batch whose records do not decompress, or whose
// decompressed records do not frame as its record count says, is
// ErrCorruptMessage.
func recompress(batches []byte, hs []BatchHeader, compression string) ([]byte, []BatchHeader, error) {
	target, ok := codecs[compression]
	if !ok {
		return batches, hs, nil
	}
	same := true
	for i := range hs {
		same = same && kgo.CompressionCodecType(hs[i].Attributes&attrCompressionMask) == target
	}
	if same {
		return batches, hs, nil
	}
	out := make([]byte, 0, len(batches))
	outHs := make([]BatchHeader, len(hs))
	var buf bytes.Buffer
	pos := 0
	for i := range hs {
		h := hs[i]
		b := batches[pos : pos+int(h.Size())]
		pos += int(h.Size())
		src := kgo.CompressionCodecType(h.Attributes & attrCompressionMask)
		if src == target {
			out = append(out, b...)
			outHs[i] = h
			continue
		}
		raw, err := decompressor.Decompress(b[BatchHeaderSize:], src)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: batch %d: decompress codec %d: %v", ErrCorruptMessage, i, src, err)
		}
		if err := checkRecordFraming(raw, h.RecordCount); err != nil {
			return nil, nil, fmt.Errorf("%w: batch %d: %v", ErrCorruptMessage, i, err)
		}
		body := raw
		if target != kgo.CodecNone {
			buf.Reset()
			if body, err = compress(&buf, raw, target); err != nil {
				return nil, nil, fmt.Errorf("batch %d: %w", i, err)
			}
		}
		start := len(out)
		out = append(out, b[:BatchHeaderSize]...)
		out = append(out, body...)
		nb := out[start:]
		h.Attributes = h.Attributes&^attrCompressionMask | int16(target)
		binary.BigEndian.PutUint16(nb[offAttributes:], uint16(h.Attributes))
		SealBatch(nb)
		h.Length = int32(len(nb) - logOverhead)
		h.CRC = binary.BigEndian.Uint32(nb[offCRC:])
		outHs[i] = h
	}
	return out, outHs, nil
}

// checkRecordFraming checks that raw (a batch's uncompressed records
// section) is exactly n length-prefixed records.
func checkRecordFraming(raw []byte, n int32) error {
	for i := int32(0); i < n; i++ {
		l, w := binary.Varint(raw)
		if w <= 0 || l < 0 || int64(len(raw)-w) < l {
			return fmt.Errorf("record %d of %d is not framed", i, n)
		}
		raw = raw[w+int(l):]
	}
	if len(raw) != 0 {
		return fmt.Errorf("%d bytes after the %d records", len(raw), n)
	}
	return nil
}
