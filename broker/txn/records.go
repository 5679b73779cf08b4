package txn

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
)

// Versions of __transaction_state records (Kafka's TransactionLog): value
// v0 for a transaction of the classic protocol, v1 (flexible, with tagged
// previous/next producer ids and the client's transaction version) for a
// KIP-890 part 2 one, as Kafka 4.0 chooses by the transaction's version.
const (
	keyVersion     = 0
	valueVersion   = 0
	valueVersionV2 = 1 // the value version of a tv2 transaction
)

// record is one __transaction_state record; a nil value is a tombstone.
type record struct{ key, value []byte }

func encodeKey(id string) []byte {
	k := kmsg.NewTxnMetadataKey()
	k.Version, k.TransactionalID = keyVersion, id
	return k.AppendTo(nil)
}

func encodeValue(m meta) []byte {
	v := kmsg.NewTxnMetadataValue()
	v.Version = valueVersion
	if m.tv2 {
		v.Version = valueVersionV2
		v.PreviousProducerID, v.NextProducerID, v.ClientTransactionVersion = m.lastProducerID, m.nextProducerID, 2
	}
	v.ProducerID, v.ProducerEpoch, v.TimeoutMillis = m.producerID, m.epoch, m.timeoutMs
	v.State = kmsg.TransactionState(m.state)
	v.LastUpdateTimestamp, v.StartTimestamp = m.updateMs, m.startMs
	var cur *kmsg.TxnMetadataValueTopic
	for _, tp := range m.sortedPartitions() {
		if cur == nil || cur.Topic != tp.Topic {
			v.Topics = append(v.Topics, kmsg.TxnMetadataValueTopic{Topic: tp.Topic})
			cur = &v.Topics[len(v.Topics)-1]
		}
		cur.Partitions = append(cur.Partitions, tp.Partition)
	}
	return v.AppendTo(nil)
}

// decodeRecord parses a record with Kafka's schemas: the transactional id
// and its metadata (nil for a tombstone). Never panics.
func decodeRecord(key, value []byte) (string, *meta, error) {
	if len(key) < 2 {
		return "", nil, fmt.Errorf("%w: key of %d bytes", ErrCorruptRecord, len(key))
	}
	if v := int16(binary.BigEndian.Uint16(key)); v != keyVersion {
		return "", nil, fmt.Errorf("%w: unknown key version %d", ErrCorruptRecord, v)
	}
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return "", nil, fmt.Errorf("%w: key: %w", ErrCorruptRecord, err)
	}
	if value == nil {
		return k.TransactionalID, nil, nil
	}
	v := kmsg.NewTxnMetadataValue()
	if err := v.ReadFrom(value); err != nil {
		return "", nil, fmt.Errorf("%w: value of %q: %w", ErrCorruptRecord, k.TransactionalID, err)
	}
	if v.Version > 1 {
		return "", nil, fmt.Errorf("%w: value of %q has version %d", ErrCorruptRecord, k.TransactionalID, v.Version)
	}
	s := State(v.State)
	if s < Empty || s > PrepareEpochFence {
		return "", nil, fmt.Errorf("%w: value of %q has state %d", ErrCorruptRecord, k.TransactionalID, v.State)
	}
	m := &meta{
		producerID: v.ProducerID, lastProducerID: noProducer, nextProducerID: noProducer,
		epoch: v.ProducerEpoch, lastEpoch: noEpoch,
		timeoutMs: v.TimeoutMillis, state: s,
		startMs: v.StartTimestamp, updateMs: v.LastUpdateTimestamp,
	}
	if v.Version >= 1 {
		if v.PreviousProducerID >= 0 {
			m.lastProducerID = v.PreviousProducerID
		}
		if v.NextProducerID >= 0 {
			m.nextProducerID = v.NextProducerID
		}
		m.tv2 = v.ClientTransactionVersion >= 2
	}
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			if m.partitions == nil {
				m.partitions = make(map[TopicPartition]struct{})
			}
			m.partitions[TopicPartition{t.Topic, p}] = struct{}{}
		}
	}
	return k.TransactionalID, m, nil
}

// appendBatch appends one plain batch holding recs to dst
// (storage.AppendCoordinatorBatch).
func appendBatch(dst []byte, recs []record, nowMs int64) []byte {
	return storage.AppendCoordinatorBatch(dst, len(recs), func(i int) ([]byte, []byte) { return recs[i].key, recs[i].value }, nowMs, -1, -1)
}

// readBatches calls fn for every record of the whole batches in b, in
// order. It returns the offset after the last whole batch (-1 if none).
// Compressed and control batches are skipped: the coordinator writes
// neither. A batch cut off at the end of b ends the walk.
func readBatches(b []byte, fn func(key, value []byte)) (next int64, err error) {
	next = -1
	for len(b) >= storage.BatchHeaderSize {
		h, err := storage.ParseBatchHeader(b)
		if err != nil {
			return next, fmt.Errorf("%w: %w", ErrCorruptRecord, err)
		}
		size := h.Size()
		if size > int64(len(b)) {
			break
		}
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(b[:size]); err != nil {
			return next, fmt.Errorf("%w: batch: %w", ErrCorruptRecord, err)
		}
		b = b[size:]
		next = batch.FirstOffset + int64(batch.LastOffsetDelta) + 1
		if batch.Attributes&0x07 != 0 || batch.Attributes&0x20 != 0 {
			continue
		}
		raw := batch.Records
		for i := int32(0); i < batch.NumRecords; i++ {
			l, n := binary.Varint(raw)
			if n <= 0 || l < 0 || int64(len(raw)-n) < l {
				return next, fmt.Errorf("%w: record %d of batch at %d is cut off", ErrCorruptRecord, i, batch.FirstOffset)
			}
			var rec kmsg.Record
			if err := rec.ReadFrom(raw[:n+int(l)]); err != nil {
				return next, fmt.Errorf("%w: record %d of batch at %d: %w", ErrCorruptRecord, i, batch.FirstOffset, err)
			}
			raw = raw[n+int(l):]
			fn(rec.Key, rec.Value)
		}
	}
	return next, nil
}
