package group

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
)

// Key versions of __consumer_offsets records (Kafka's GroupMetadataManager):
// 0 and 1 are offset commits, 2 is group metadata.
const (
	offsetKeyVersion   = 1 // written; 0 is read too
	groupKeyVersion    = 2
	offsetValueVersion = 3 // adds the leader epoch (KIP-320)
	groupValueVersion  = 3 // adds the instance id (KIP-345)
)

// record is one __consumer_offsets record; a nil value is a tombstone.
type record struct{ key, value []byte }

// committed is one committed offset as the coordinator keeps it.
type committed struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	timestamp   int64 // commit time, ms
	// logOffset is the offset of the commit's record in __consumer_offsets
	// (Kafka's recordOffset): when a transaction commits, its pending
	// offset replaces the current one only if that one's record is earlier
	// in the log (transactional and plain commits of a partition: the later
	// record wins). Not part of the record's value; 0 until appended.
	logOffset int64
}

func offsetKey(group, topic string, partition int32) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic, k.Partition = offsetKeyVersion, group, topic, partition
	return k.AppendTo(nil)
}

func offsetValue(o committed) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version, v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = offsetValueVersion, o.offset, o.leaderEpoch, o.metadata, o.timestamp
	return v.AppendTo(nil)
}

func groupKey(group string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version, k.Group = groupKeyVersion, group
	return k.AppendTo(nil)
}

// entry is a decoded __consumer_offsets record: exactly one of the two
// kinds, value nil for a tombstone.
type entry struct {
	group string
	// offset commit
	isOffset  bool
	topic     string
	partition int32
	offset    *committed
	// group metadata
	meta *kmsg.GroupMetadataValue
}

// decodeRecord parses a record's key and value with Kafka's schemas. Unknown
// key versions are an error (ErrCorruptRecord), never a panic.
func decodeRecord(key, value []byte) (entry, error) {
	if len(key) < 2 {
		return entry{}, fmt.Errorf("%w: key of %d bytes", ErrCorruptRecord, len(key))
	}
	switch version := int16(binary.BigEndian.Uint16(key)); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return entry{}, fmt.Errorf("%w: offset commit key: %w", ErrCorruptRecord, err)
		}
		e := entry{group: k.Group, isOffset: true, topic: k.Topic, partition: k.Partition}
		if value != nil {
			var v kmsg.OffsetCommitValue
			if err := v.ReadFrom(value); err != nil {
				return entry{}, fmt.Errorf("%w: offset commit value of %s/%s-%d: %w", ErrCorruptRecord, k.Group, k.Topic, k.Partition, err)
			}
			le := v.LeaderEpoch
			if v.Version < 3 {
				le = -1
			}
			e.offset = &committed{offset: v.Offset, leaderEpoch: le, metadata: v.Metadata, timestamp: v.CommitTimestamp}
		}
		return e, nil
	case groupKeyVersion:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return entry{}, fmt.Errorf("%w: group metadata key: %w", ErrCorruptRecord, err)
		}
		e := entry{group: k.Group}
		if value != nil {
			v := new(kmsg.GroupMetadataValue)
			if err := v.ReadFrom(value); err != nil {
				return entry{}, fmt.Errorf("%w: group metadata value of %s: %w", ErrCorruptRecord, k.Group, err)
			}
			e.meta = v
		}
		return e, nil
	default:
		return entry{}, fmt.Errorf("%w: unknown key version %d", ErrCorruptRecord, version)
	}
}

// appendBatch appends one plain (non-transactional) batch holding recs to
// dst (storage.AppendCoordinatorBatch).
func appendBatch(dst []byte, recs []record, nowMs int64) []byte {
	return storage.AppendCoordinatorBatch(dst, len(recs), func(i int) ([]byte, []byte) { return recs[i].key, recs[i].value }, nowMs, -1, -1)
}

// readBatches calls fn for every record of the whole batches in b, in
// order, with the record's offset. It returns the offset after the last
// whole batch (next to read) and how many compressed or control batches it
// skipped: the coordinator writes neither. A batch cut off at the end of b
// ends the walk without error (the next read starts there).
func readBatches(b []byte, fn func(offset int64, key, value []byte) error) (next int64, skipped int, err error) {
	return readTxnBatches(b, func(_, offset int64, key, value []byte) error { return fn(offset, key, value) }, nil)
}

// readTxnBatches is readBatches that also tells transactions apart: fn gets
// the producer id of a transactional batch's records (-1 otherwise), and
// marker, when set, each transaction marker (a control batch of type
// commit or abort) instead of it being counted as skipped.
func readTxnBatches(b []byte, fn func(txnPID, offset int64, key, value []byte) error, marker func(pid int64, commit bool)) (next int64, skipped int, err error) {
	next = -1
	for len(b) >= storage.BatchHeaderSize {
		h, err := storage.ParseBatchHeader(b)
		if err != nil {
			return next, skipped, fmt.Errorf("%w: %w", ErrCorruptRecord, err)
		}
		size := h.Size()
		if size > int64(len(b)) {
			break
		}
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(b[:size]); err != nil {
			return next, skipped, fmt.Errorf("%w: batch: %w", ErrCorruptRecord, err)
		}
		b = b[size:]
		next = batch.FirstOffset + int64(batch.LastOffsetDelta) + 1
		if h.IsControlBatch() && marker != nil && batch.Attributes&0x07 == 0 {
			if commit, ok := markerType(batch.Records); ok {
				marker(batch.ProducerID, commit)
				continue
			}
		}
		if batch.Attributes&0x07 != 0 || h.IsControlBatch() {
			skipped++
			continue
		}
		pid := int64(-1)
		if h.IsTransactional() {
			pid = batch.ProducerID
		}
		raw := batch.Records
		for i := int32(0); i < batch.NumRecords; i++ {
			l, n := binary.Varint(raw)
			if n <= 0 || l < 0 || int64(len(raw)-n) < l {
				return next, skipped, fmt.Errorf("%w: record %d of batch at %d is cut off", ErrCorruptRecord, i, batch.FirstOffset)
			}
			var rec kmsg.Record
			if err := rec.ReadFrom(raw[:n+int(l)]); err != nil {
				return next, skipped, fmt.Errorf("%w: record %d of batch at %d: %w", ErrCorruptRecord, i, batch.FirstOffset, err)
			}
			raw = raw[n+int(l):]
			if err := fn(pid, batch.FirstOffset+int64(rec.OffsetDelta), rec.Key, rec.Value); err != nil {
				return next, skipped, err
			}
		}
	}
	return next, skipped, nil
}

// markerType reads the ControlRecordType key of a control batch's first
// record: commit (1) or abort (0); ok is false for anything else.
func markerType(raw []byte) (commit, ok bool) {
	l, n := binary.Varint(raw)
	if n <= 0 || l < 0 || int64(len(raw)-n) < l {
		return false, false
	}
	var rec kmsg.Record
	if err := rec.ReadFrom(raw[:n+int(l)]); err != nil {
		return false, false
	}
	var key kmsg.ControlRecordKey
	if err := key.ReadFrom(rec.Key); err != nil {
		return false, false
	}
	switch key.Type {
	case 0:
		return false, true
	case 1:
		return true, true
	}
	return false, false
}

// appendTxnBatch is appendBatch for a transactional batch of producer pid
// at epoch (TxnOffsetCommit's records).
func appendTxnBatch(dst []byte, recs []record, nowMs, pid int64, epoch int16) []byte {
	return storage.AppendCoordinatorBatch(dst, len(recs), func(i int) ([]byte, []byte) { return recs[i].key, recs[i].value }, nowMs, pid, epoch)
}
