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
	// coordinatorEpoch is the transaction coordinator epoch of the last
	// marker written for this producer (-1 before any): a marker from an
	// older coordinator is fenced.
	coordinatorEpoch int32
	lastTimestamp    int64 // max timestamp of the producer's last batch, -1 when none
	// txnFirstOffset is the first offset of the producer's ongoing
	// transaction on this partition, -1 when none.
	txnFirstOffset int64
}

func newProducerEntry(epoch int16) *producerEntry {
	return &producerEntry{epoch: epoch, batches: make([]batchMeta, 0, maxCachedBatches), coordinatorEpoch: -1, lastTimestamp: -1, txnFirstOffset: -1}
}

func (e *producerEntry) clone() *producerEntry {
	c := *e
	c.batches = make([]batchMeta, len(e.batches), maxCachedBatches)
	copy(c.batches, e.batches)
	return &c
}

// setEpoch moves the entry to epoch; a new epoch forgets the cached
// batches (Kafka's maybeUpdateProducerEpoch).
func (e *producerEntry) setEpoch(epoch int16) {
	if epoch != e.epoch {
		e.epoch = epoch
		e.batches = e.batches[:0]
	}
}

func (e *producerEntry) add(epoch int16, m batchMeta) {
	e.setEpoch(epoch)
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
// one partition: the idempotence and transaction state of every producer
// id seen. It is owned by the Log's appender (Log.appendMu); what readers
// need of it (the ongoing transactions) is published to Log.txns.
type producerState struct {
	producers map[int64]*producerEntry
}

func newProducerState() *producerState {
	return &producerState{producers: make(map[int64]*producerEntry)}
}

// producerAppend is the tentative state of one Append call: producer entries
// updated batch by batch, committed only when the write succeeded, and the
// transactions the batches started and completed (published to Log.txns
// together with the batches).
type producerAppend struct {
	ps        *producerState
	pending   map[int64]*producerEntry
	started   map[int64]int64 // producer id -> first offset of a transaction begun here
	completed []completedTxn  // in offset order
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
// The rules are Kafka's ProducerAppendInfo.checkProducerEpoch/checkSequence,
// and a producer with an ongoing transaction may only write transactional
// batches (INVALID_TXN_STATE).
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
	if h.Attributes&attrTransactional == 0 && e.txnFirstOffset >= 0 {
		return batchMeta{}, false, fmt.Errorf("%w: producer %d wrote a non-transactional batch inside its transaction begun at %d", ErrInvalidTxnState, h.ProducerID, e.txnFirstOffset)
	}
	return batchMeta{}, false, nil
}

// checkEpoch applies only the epoch rule to a coordinator's batch (no
// sequence): an older epoch than the producer's is fenced.
func (pa *producerAppend) checkEpoch(h *BatchHeader) error {
	if e := pa.entry(h.ProducerID); e != nil && h.ProducerEpoch < e.epoch {
		return fmt.Errorf("%w: producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, e.epoch)
	}
	return nil
}

// checkMarker validates a transaction marker for producer pid (Kafka's
// ProducerAppendInfo.appendEndTxnMarker): its epoch may not be older than
// the producer's, nor its coordinator epoch older than the last marker's.
func (pa *producerAppend) checkMarker(pid int64, epoch int16, coordinatorEpoch int32) error {
	e := pa.entry(pid)
	if e == nil {
		return nil
	}
	if epoch < e.epoch {
		return fmt.Errorf("%w: marker for producer %d has epoch %d, older than %d", ErrInvalidProducerEpoch, pid, epoch, e.epoch)
	}
	if coordinatorEpoch < e.coordinatorEpoch {
		return fmt.Errorf("%w: marker for producer %d from coordinator epoch %d, the last was %d", ErrCoordinatorFenced, pid, coordinatorEpoch, e.coordinatorEpoch)
	}
	return nil
}

func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}

// add records an accepted batch (offsets assigned) in the tentative state.
// batch is the batch's bytes; only a control batch's are read (its marker).
func (pa *producerAppend) add(h *BatchHeader, batch []byte) {
	if pa.pending == nil {
		pa.pending = make(map[int64]*producerEntry)
	}
	e, ok := pa.pending[h.ProducerID]
	if !ok {
		if old, ok := pa.ps.producers[h.ProducerID]; ok {
			e = old.clone()
		} else {
			e = newProducerEntry(h.ProducerEpoch)
		}
		pa.pending[h.ProducerID] = e
	}
	if c, ok := applyBatch(e, h, batch); ok {
		if pa.started != nil {
			delete(pa.started, h.ProducerID)
		}
		pa.completed = append(pa.completed, c)
	} else if e.txnFirstOffset == h.BaseOffset && h.Attributes&attrTransactional != 0 {
		if pa.started == nil {
			pa.started = make(map[int64]int64)
		}
		pa.started[h.ProducerID] = h.BaseOffset
	}
}

// applyBatch updates e with one batch. A transaction marker completes the
// producer's transaction: it returns it (Kafka creates one even when no data
// batch preceded the marker; it then spans the marker alone). A transactional
// data batch of a producer without an ongoing transaction begins one.
func applyBatch(e *producerEntry, h *BatchHeader, batch []byte) (completedTxn, bool) {
	if h.Attributes&attrControl != 0 {
		commit, coordEpoch, ok := parseMarker(batch)
		if !ok {
			return completedTxn{}, false // another control type, or unreadable: no producer effect
		}
		e.setEpoch(h.ProducerEpoch)
		e.coordinatorEpoch = coordEpoch
		e.lastTimestamp = h.MaxTimestamp
		first := e.txnFirstOffset
		if first < 0 {
			first = h.BaseOffset
		}
		e.txnFirstOffset = -1
		return completedTxn{producerID: h.ProducerID, firstOffset: first, lastOffset: h.BaseOffset, aborted: !commit}, true
	}
	if h.BaseSequence >= 0 {
		e.add(h.ProducerEpoch, batchMeta{firstSeq: h.BaseSequence, lastSeq: h.LastSequence(), firstOffset: h.BaseOffset, lastOffset: h.LastOffset()})
	} else {
		e.setEpoch(h.ProducerEpoch) // a coordinator's batch: no sequence to remember
	}
	e.lastTimestamp = h.MaxTimestamp
	if h.Attributes&attrTransactional != 0 && e.txnFirstOffset < 0 {
		e.txnFirstOffset = h.BaseOffset
	}
	return completedTxn{}, false
}

// commit publishes the tentative state.
func (pa *producerAppend) commit() {
	for pid, e := range pa.pending {
		pa.ps.producers[pid] = e
	}
}

// load applies a batch read back from the log, without validation (Kafka's
// loadProducersFromRecords); batch is needed for control batches only.
func (ps *producerState) load(h *BatchHeader, batch []byte) (completedTxn, bool) {
	if h.ProducerID < 0 {
		return completedTxn{}, false
	}
	e, ok := ps.producers[h.ProducerID]
	if !ok {
		e = newProducerEntry(h.ProducerEpoch)
		ps.producers[h.ProducerID] = e
	}
	return applyBatch(e, h, batch)
}

// Producer snapshot file (<offset>.snapshot, offset = next offset covered):
//
//	version u8 (1) | count u32 | count x producer | crc32c u32 of everything before
//	producer v1: id i64 | epoch i16 | coordinatorEpoch i32 | lastTimestamp i64 |
//	             txnFirstOffset i64 | n u8 | n x batch
//	producer v0: id i64 | epoch i16 | n u8 | n x batch (read only)
//	batch:       firstSeq i32 | lastSeq i32 | firstOffset i64 | lastOffset i64
const (
	snapshotVersion   = 1
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
		b = binary.BigEndian.AppendUint32(b, uint32(e.coordinatorEpoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.lastTimestamp))
		b = binary.BigEndian.AppendUint64(b, uint64(e.txnFirstOffset))
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

// decodeProducerSnapshot parses a snapshot file (version 0 or 1); it never
// panics.
func decodeProducerSnapshot(b []byte) (*producerState, error) {
	if len(b) < 9 {
		return nil, fmt.Errorf("%w: producer snapshot of %d bytes", ErrCorruptFile, len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: producer snapshot crc mismatch", ErrCorruptFile)
	}
	version := body[0]
	if version > snapshotVersion {
		return nil, fmt.Errorf("%w: producer snapshot version %d", ErrCorruptFile, version)
	}
	head := 11 // id, epoch, n
	if version >= 1 {
		head += 20 // coordinator epoch, last timestamp, txn first offset
	}
	n := binary.BigEndian.Uint32(body[1:])
	body = body[5:]
	ps := newProducerState()
	for i := uint32(0); i < n; i++ {
		if len(body) < head {
			return nil, fmt.Errorf("%w: producer snapshot truncated at producer %d", ErrCorruptFile, i)
		}
		id := int64(binary.BigEndian.Uint64(body))
		e := newProducerEntry(int16(binary.BigEndian.Uint16(body[8:])))
		if version >= 1 {
			e.coordinatorEpoch = int32(binary.BigEndian.Uint32(body[10:]))
			e.lastTimestamp = int64(binary.BigEndian.Uint64(body[14:]))
			e.txnFirstOffset = int64(binary.BigEndian.Uint64(body[22:]))
		}
		cnt := int(body[head-1])
		body = body[head:]
		if cnt > maxCachedBatches || len(body) < cnt*snapshotBatchSize {
			return nil, fmt.Errorf("%w: producer snapshot entry %d holds %d batches", ErrCorruptFile, i, cnt)
		}
		e.batches = e.batches[:cnt]
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
