package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"sort"
)

// maxCachedBatches is how many recent batches per producer are kept for
// duplicate detection: a producer has at most 5 requests in flight
// (max.in.flight.requests.per.connection with idempotence).
const maxCachedBatches = 5

// batchMeta describes one appended batch of an idempotent producer.
type batchMeta struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
}

// producerEntry is the state kept per producer id (Kafka's ProducerStateEntry).
type producerEntry struct {
	epoch   int16
	batches []batchMeta // oldest first, at most maxCachedBatches
}

func (e *producerEntry) clone() *producerEntry {
	c := &producerEntry{epoch: e.epoch, batches: make([]batchMeta, len(e.batches), maxCachedBatches)}
	copy(c.batches, e.batches)
	return c
}

func (e *producerEntry) add(epoch int16, m batchMeta) {
	if epoch != e.epoch {
		e.epoch = epoch
		e.batches = e.batches[:0]
	}
	if len(e.batches) == maxCachedBatches {
		copy(e.batches, e.batches[1:])
		e.batches = e.batches[:maxCachedBatches-1]
	}
	e.batches = append(e.batches, m)
}

func (e *producerEntry) duplicate(epoch int16, firstSeq, lastSeq int32) (batchMeta, bool) {
	if epoch != e.epoch {
		return batchMeta{}, false
	}
	for _, b := range e.batches {
		if b.firstSeq == firstSeq && b.lastSeq == lastSeq {
			return b, true
		}
	}
	return batchMeta{}, false
}

// producerState is the Go counterpart of Kafka's ProducerStateManager for
// one partition: the idempotence state of every producer id seen. It is
// owned by the Log's appender (Log.appendMu).
type producerState struct {
	producers map[int64]*producerEntry
}

func newProducerState() *producerState {
	return &producerState{producers: make(map[int64]*producerEntry)}
}

// producerAppend is the tentative state of one Append call: producer entries
// updated batch by batch, committed only when the write succeeded.
type producerAppend struct {
	ps      *producerState
	pending map[int64]*producerEntry
}

func (ps *producerState) begin() *producerAppend { return &producerAppend{ps: ps} }

func (pa *producerAppend) entry(pid int64) *producerEntry {
	if e, ok := pa.pending[pid]; ok {
		return e
	}
	e, ok := pa.ps.producers[pid]
	if !ok {
		return nil
	}
	return e
}

// check validates a batch from an idempotent producer against the state.
// It returns the original batch when h duplicates one of the cached ones.
// The rules are Kafka's ProducerAppendInfo.checkProducerEpoch/checkSequence.
func (pa *producerAppend) check(h *BatchHeader) (dup batchMeta, isDup bool, err error) {
	e := pa.entry(h.ProducerID)
	if e == nil {
		// Unknown producer (new, or its state was lost): accept any sequence.
		return batchMeta{}, false, nil
	}
	firstSeq, lastSeq := h.BaseSequence, h.LastSequence()
	if m, ok := e.duplicate(h.ProducerEpoch, firstSeq, lastSeq); ok {
		return m, true, nil
	}
	switch {
	case h.ProducerEpoch < e.epoch:
		return batchMeta{}, false, fmt.Errorf("%w: producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, e.epoch)
	case h.ProducerEpoch > e.epoch:
		if firstSeq != 0 {
			return batchMeta{}, false, fmt.Errorf("%w: producer %d new epoch %d starts at sequence %d, want 0", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, firstSeq)
		}
	default:
		if n := len(e.batches); n > 0 && !inSequence(e.batches[n-1].lastSeq, firstSeq) {
			return batchMeta{}, false, fmt.Errorf("%w: producer %d epoch %d sent sequence %d after %d", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, firstSeq, e.batches[n-1].lastSeq)
		}
	}
	return batchMeta{}, false, nil
}

func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}

// add records an accepted batch (offsets assigned) in the tentative state.
func (pa *producerAppend) add(h *BatchHeader) {
	if pa.pending == nil {
		pa.pending = make(map[int64]*producerEntry)
	}
	e, ok := pa.pending[h.ProducerID]
	if !ok {
		if old, ok := pa.ps.producers[h.ProducerID]; ok {
			e = old.clone()
		} else {
			e = &producerEntry{epoch: h.ProducerEpoch, batches: make([]batchMeta, 0, maxCachedBatches)}
		}
		pa.pending[h.ProducerID] = e
	}
	e.add(h.ProducerEpoch, batchMeta{firstSeq: h.BaseSequence, lastSeq: h.LastSequence(), firstOffset: h.BaseOffset, lastOffset: h.LastOffset()})
}

// commit publishes the tentative state.
func (pa *producerAppend) commit() {
	for pid, e := range pa.pending {
		pa.ps.producers[pid] = e
	}
}

// load applies a batch read back from the log, without validation (Kafka's
// loadProducersFromRecords).
func (ps *producerState) load(h *BatchHeader) {
	if h.ProducerID < 0 {
		return
	}
	e, ok := ps.producers[h.ProducerID]
	if !ok {
		e = &producerEntry{epoch: h.ProducerEpoch, batches: make([]batchMeta, 0, maxCachedBatches)}
		ps.producers[h.ProducerID] = e
	}
	e.add(h.ProducerEpoch, batchMeta{firstSeq: h.BaseSequence, lastSeq: h.LastSequence(), firstOffset: h.BaseOffset, lastOffset: h.LastOffset()})
}

// Producer snapshot file (<offset>.snapshot, offset = next offset covered):
//
//	version u8 (0) | count u32 | count x producer | crc32c u32 of everything before
//	producer: id i64 | epoch i16 | n u8 | n x (firstSeq i32 | lastSeq i32 | firstOffset i64 | lastOffset i64)
const (
	snapshotVersion   = 0
	snapshotSuffix    = ".snapshot"
	snapshotBatchSize = 24
)

func (ps *producerState) encode() []byte {
	ids := make([]int64, 0, len(ps.producers))
	for id := range ps.producers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b := []byte{snapshotVersion}
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		e := ps.producers[id]
		b = binary.BigEndian.AppendUint64(b, uint64(id))
		b = binary.BigEndian.AppendUint16(b, uint16(e.epoch))
		b = append(b, byte(len(e.batches)))
		for _, m := range e.batches {
			b = binary.BigEndian.AppendUint32(b, uint32(m.firstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(m.lastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(m.firstOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.lastOffset))
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeProducerSnapshot parses a snapshot file; it never panics.
func decodeProducerSnapshot(b []byte) (*producerState, error) {
	if len(b) < 9 {
		return nil, fmt.Errorf("%w: producer snapshot of %d bytes", ErrCorruptFile, len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: producer snapshot crc mismatch", ErrCorruptFile)
	}
	if body[0] != snapshotVersion {
		return nil, fmt.Errorf("%w: producer snapshot version %d", ErrCorruptFile, body[0])
	}
	n := binary.BigEndian.Uint32(body[1:])
	body = body[5:]
	ps := newProducerState()
	for i := uint32(0); i < n; i++ {
		if len(body) < 11 {
			return nil, fmt.Errorf("%w: producer snapshot truncated at producer %d", ErrCorruptFile, i)
		}
		id := int64(binary.BigEndian.Uint64(body))
		e := &producerEntry{epoch: int16(binary.BigEndian.Uint16(body[8:]))}
		cnt := int(body[10])
		body = body[11:]
		if cnt > maxCachedBatches || len(body) < cnt*snapshotBatchSize {
			return nil, fmt.Errorf("%w: producer snapshot entry %d holds %d batches", ErrCorruptFile, i, cnt)
		}
		e.batches = make([]batchMeta, cnt, maxCachedBatches)
		for j := range e.batches {
			e.batches[j] = batchMeta{
				firstSeq:    int32(binary.BigEndian.Uint32(body)),
				lastSeq:     int32(binary.BigEndian.Uint32(body[4:])),
				firstOffset: int64(binary.BigEndian.Uint64(body[8:])),
				lastOffset:  int64(binary.BigEndian.Uint64(body[16:])),
			}
			body = body[snapshotBatchSize:]
		}
		ps.producers[id] = e
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: producer snapshot has %d trailing bytes", ErrCorruptFile, len(body))
	}
	return ps, nil
}
