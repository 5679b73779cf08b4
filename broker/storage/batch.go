package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Offsets of the fields of a Kafka v2 record batch header (see doc.go).
const (
	offBaseOffset      = 0
	offBatchLength     = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// BatchHeaderSize is the size of the v2 header up to the records.
	BatchHeaderSize = 61
	// logOverhead is baseOffset + batchLength: the bytes not counted by batchLength.
	logOverhead = 12

	attrCompressionMask = 0x07
	attrTimestampType   = 0x08
	attrTransactional   = 0x10
	attrControl         = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the decoded fixed-size header of one Kafka v2 record batch.
// It is the one declaration of that header in zkraft: the group coordinator
// and the ListOffsets handler read batches through it too.
type BatchHeader struct {
	BaseOffset      int64
	Length          int32 // bytes after the length field
	LeaderEpoch     int32
	Magic           int8
	CRC             uint32
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	RecordCount     int32
}

// Size is the number of bytes the whole batch occupies in a segment.
func (h *BatchHeader) Size() int64 { return int64(h.Length) + logOverhead }

// LastOffset is the offset of the batch's last record.
func (h *BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// LastSequence is the sequence of the batch's last record, wrapping at
// math.MaxInt32 as Kafka's DefaultRecordBatch.incrementSequence does.
func (h *BatchHeader) LastSequence() int32 {
	return incrementSequence(h.BaseSequence, h.LastOffsetDelta)
}

func incrementSequence(seq, delta int32) int32 {
	if seq > math.MaxInt32-delta {
		return delta - (math.MaxInt32 - seq) - 1
	}
	return seq + delta
}

// ParseBatchHeader decodes the header at the start of b. It checks only that
// enough bytes are there and that the length field is sane; it never panics.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	var h BatchHeader
	if len(b) < BatchHeaderSize {
		return h, fmt.Errorf("%w: %d bytes, want a %d-byte batch header", ErrCorruptMessage, len(b), BatchHeaderSize)
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[offBaseOffset:]))
	h.Length = int32(binary.BigEndian.Uint32(b[offBatchLength:]))
	h.LeaderEpoch = int32(binary.BigEndian.Uint32(b[offLeaderEpoch:]))
	h.Magic = int8(b[offMagic])
	h.CRC = binary.BigEndian.Uint32(b[offCRC:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[offAttributes:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[offBaseTimestamp:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[offMaxTimestamp:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[offProducerID:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[offProducerEpoch:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[offBaseSequence:]))
	h.RecordCount = int32(binary.BigEndian.Uint32(b[offRecordCount:]))
	if h.Length < BatchHeaderSize-logOverhead {
		return h, fmt.Errorf("%w: batch length %d is below the minimum %d", ErrCorruptMessage, h.Length, BatchHeaderSize-logOverhead)
	}
	if h.Magic != 2 {
		return h, fmt.Errorf("%w: magic %d, want 2", ErrCorruptMessage, h.Magic)
	}
	return h, nil
}

// SealBatch writes the length and the CRC-32C of the one whole v2 batch b
// (as kmsg.RecordBatch.AppendTo leaves both to the caller): the length
// counts everything after the length field, the CRC covers the attributes
// to the end. b must hold at least BatchHeaderSize bytes.
func SealBatch(b []byte) {
	binary.BigEndian.PutUint32(b[offBatchLength:], uint32(len(b)-logOverhead))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}

// stampAppendTime turns the whole batch b (header h) into a LogAppendTime
// batch stamped at ms: the timestamp-type attribute is set and the max
// timestamp is ms (consumers read every record's time from it), the base
// timestamp and record deltas are kept, and the CRC is recomputed (Kafka's
// MemoryRecords.setMaxTimestamp).
func stampAppendTime(b []byte, h *BatchHeader, ms int64) {
	h.Attributes |= attrTimestampType
	h.MaxTimestamp = ms
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(h.Attributes))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ms))
	SealBatch(b)
	h.CRC = binary.BigEndian.Uint32(b[offCRC:])
}

// checkBatch verifies that b starts with a whole, CRC-valid batch and
// returns its header. Only the framing and CRC are checked here.
func checkBatch(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if h.Size() > int64(len(b)) {
		return h, fmt.Errorf("%w: batch at offset %d claims %d bytes, %d present", ErrCorruptMessage, h.BaseOffset, h.Size(), len(b))
	}
	if got := crc32.Checksum(b[offAttributes:h.Size()], castagnoli); got != h.CRC {
		return h, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptMessage, h.CRC, got)
	}
	return h, nil
}

// validateClientBatch applies the rules for batches arriving from a
// producer after checkBatch passed (Kafka's LogValidator.validateBatch).
func validateClientBatch(h *BatchHeader) error {
	if h.Attributes&attrControl != 0 {
		return fmt.Errorf("%w: control batch from a client", ErrInvalidRecord)
	}
	if h.Attributes&attrTransactional != 0 && h.ProducerID < 0 {
		return fmt.Errorf("%w: transactional batch without a producer id", ErrInvalidRecord)
	}
	if h.LastOffsetDelta < 0 {
		return fmt.Errorf("%w: last offset delta %d is negative", ErrInvalidRecord, h.LastOffsetDelta)
	}
	if h.RecordCount <= 0 {
		return fmt.Errorf("%w: record count %d", ErrInvalidRecord, h.RecordCount)
	}
	if int64(h.RecordCount) != int64(h.LastOffsetDelta)+1 {
		return fmt.Errorf("%w: record count %d but last offset delta %d", ErrInvalidRecord, h.RecordCount, h.LastOffsetDelta)
	}
	return nil
}

// splitBatches validates every batch in a produce request's records and
// returns their headers. Trailing bytes that do not form a batch are an error.
func splitBatches(b []byte, maxBatch int64) ([]BatchHeader, error) {
	var hs []BatchHeader
	for pos := 0; pos < len(b); {
		h, err := checkBatch(b[pos:])
		if err != nil {
			return nil, fmt.Errorf("batch %d at byte %d: %w", len(hs), pos, err)
		}
		if h.Size() > maxBatch {
			return nil, fmt.Errorf("batch %d: %w: %d bytes, segment.bytes=%d", len(hs), ErrRecordTooLarge, h.Size(), maxBatch)
		}
		if err := validateClientBatch(&h); err != nil {
			return nil, fmt.Errorf("batch %d at byte %d: %w", len(hs), pos, err)
		}
		hs = append(hs, h)
		pos += int(h.Size())
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("%w: no record batch", ErrCorruptMessage)
	}
	return hs, nil
}

// AppendCoordinatorBatch appends to dst one uncompressed magic-2 batch of
// n records, record i's key and value from rec(i), stamped nowMs: the
// batches the group and transaction coordinators write. producerID -1
// makes a plain batch (no producer, epoch or sequence); any other makes a
// transactional one of producerID at epoch, without a sequence (the log
// takes it with AppendFromCoordinator). The log assigns the base offset
// and the leader epoch, which the CRC does not cover.
func AppendCoordinatorBatch(dst []byte, n int, rec func(i int) (key, value []byte), nowMs, producerID int64, epoch int16) []byte {
	var raw []byte
	for i := range n {
		k, v := rec(i)
		r := kmsg.Record{OffsetDelta: int32(i), Key: k, Value: v}
		body := r.AppendTo(nil) // Length 0 takes one varint byte
		r.Length = int32(len(body) - 1)
		raw = r.AppendTo(raw)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(n - 1),
		FirstTimestamp:       nowMs,
		MaxTimestamp:         nowMs,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(n),
		Records:              raw,
	}
	if producerID >= 0 {
		b.Attributes = attrTransactional
		b.ProducerID, b.ProducerEpoch = producerID, epoch
	}
	start := len(dst)
	dst = b.AppendTo(dst)
	SealBatch(dst[start:])
	return dst
}
