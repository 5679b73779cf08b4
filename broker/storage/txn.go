package storage

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Transactions on the partition side (Kafka's ProducerStateManager ongoing
// and unreplicated transactions, UnifiedLog.lastStableOffset, the
// TransactionIndex): which transactions are open, the last stable offset
// readers with isolation_level=read_committed stop at, and the aborted
// transactions they must skip.

const (
	txnIndexSuffix    = ".txnindex"
	txnIndexVersion   = 0
	txnIndexEntrySize = 34 // version i16 | producerId i64 | firstOffset i64 | lastOffset i64 | lastStableOffset i64

	controlTypeAbort  = 0
	controlTypeCommit = 1
)

// completedTxn is a transaction its marker ended (Kafka's CompletedTxn).
type completedTxn struct {
	producerID  int64
	firstOffset int64
	lastOffset  int64 // the marker's offset
	aborted     bool
}

// abortedTxn is one entry of a segment's aborted transaction index, held
// by the segment whose .log holds the abort marker (lastOffset).
type abortedTxn struct {
	producerID       int64
	firstOffset      int64
	lastOffset       int64
	lastStableOffset int64 // the LSO once the abort was written
}

// AbortedTxn is what a read_committed Fetch answers for an aborted
// transaction: the consumer drops that producer's batches from firstOffset
// until it meets the abort marker.
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
}

// txnState is what readers see of the transactions (Log.mu): the ongoing
// ones by producer id and the completed ones whose marker the high
// watermark has not passed yet (they hold the last stable offset back
// until the marker is replicated, as Kafka's unreplicatedTxns).
type txnState struct {
	ongoing      map[int64]int64 // producer id -> first offset
	unreplicated []completedTxn  // ascending lastOffset
}

// publishTxnsLocked applies one append's transaction changes. Aborted
// transactions go to the active segment's index (returned, to persist).
// Log.mu held for writing.
func (l *Log) publishTxnsLocked(pa *producerAppend) []abortedTxn {
	if pa == nil || (len(pa.started) == 0 && len(pa.completed) == 0) {
		return nil
	}
	if l.txns.ongoing == nil {
		l.txns.ongoing = make(map[int64]int64)
	}
	for pid, first := range pa.started {
		l.txns.ongoing[pid] = first
	}
	var aborted []abortedTxn
	active := l.segments[len(l.segments)-1]
	for _, c := range pa.completed {
		delete(l.txns.ongoing, c.producerID)
		l.txns.unreplicated = append(l.txns.unreplicated, c)
		if c.aborted {
			a := abortedTxn{producerID: c.producerID, firstOffset: c.firstOffset, lastOffset: c.lastOffset,
				lastStableOffset: l.txns.nextIncomplete(c.lastOffset + 1)}
			active.aborted = append(active.aborted, a)
			aborted = append(aborted, a)
		}
	}
	return aborted
}

// nextIncomplete is the first offset of the earliest ongoing transaction,
// else def (Kafka's lastStableOffset(completedTxn)).
func (t *txnState) nextIncomplete(def int64) int64 {
	for _, f := range t.ongoing {
		def = min(def, f)
	}
	return def
}

// lso is the last stable offset for high watermark hw.
func (t *txnState) lso(hw int64) int64 {
	m := t.nextIncomplete(hw)
	for _, c := range t.unreplicated {
		if c.lastOffset >= hw {
			m = min(m, c.firstOffset)
		}
	}
	return m
}

// LastStableOffset is the offset below which every transaction is decided
// (KIP-98): the first offset of the earliest transaction that is ongoing,
// or whose marker is not yet below hw, else hw itself, and never below the
// log start offset. hw is the partition's high watermark (from the
// replication manager).
func (l *Log) LastStableOffset(hw int64) int64 {
	l.mu.RLock()
	stale := len(l.txns.unreplicated) > 0 && l.txns.unreplicated[0].lastOffset < hw
	// Never below the log start: retention may have deleted the start of
	// an open transaction (Kafka's updateFirstUnstableOffset clamps too).
	lso := max(l.txns.lso(hw), min(l.startLocked(), hw))
	l.mu.RUnlock()
	if stale {
		l.mu.Lock()
		l.pruneUnreplicatedLocked(hw)
		l.mu.Unlock()
	}
	return lso
}

// pruneUnreplicatedLocked forgets the completed transactions whose marker
// is below hw. Log.mu held for writing.
func (l *Log) pruneUnreplicatedLocked(hw int64) {
	u := l.txns.unreplicated
	i := sort.Search(len(u), func(i int) bool { return u[i].lastOffset >= hw })
	if i > 0 {
		l.txns.unreplicated = append(u[:0:0], u[i:]...)
	}
}

// AbortedTxns lists the aborted transactions a read_committed reader of
// [from, upTo) must know: those whose abort marker is at or after from and
// whose first offset is below upTo (Kafka's collectAbortedTransactions;
// a superset of the range read is harmless, a consumer drops only
// batches of the named producer ids before their abort marker).
func (l *Log) AbortedTxns(from, upTo int64) []AbortedTxn {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []AbortedTxn
	for _, s := range l.segments {
		if s.nextOffset <= from {
			continue // every marker of s is below from
		}
		for _, a := range s.aborted {
			if a.lastOffset >= from && a.firstOffset < upTo {
				out = append(out, AbortedTxn{ProducerID: a.producerID, FirstOffset: a.firstOffset})
			}
		}
	}
	return out
}

// expireProducers forgets producers without an open transaction whose
// last batch's timestamp is older than expiration (Kafka's
// removeExpiredProducers); 0 means DefaultProducerIDExpiration, < 0 never.
// It returns how many went.
func (l *Log) expireProducers(nowMs int64, expiration time.Duration) int {
	if expiration == 0 {
		expiration = DefaultProducerIDExpiration
	}
	if expiration < 0 {
		return 0
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return 0
	}
	n := 0
	for id, e := range l.producers.producers {
		if e.txnFirstOffset < 0 && e.lastTimestamp >= 0 && nowMs-e.lastTimestamp > expiration.Milliseconds() {
			delete(l.producers.producers, id)
			n++
		}
	}
	return n
}

// OpenTxn reports producer pid's current epoch and the first offset of
// its open transaction on this partition (ok false when it has none): a
// map lookup, for the produce path's KIP-890 verification.
func (l *Log) OpenTxn(pid int64) (epoch int16, firstOffset int64, ok bool) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	e := l.producers.producers[pid]
	if e == nil || e.txnFirstOffset < 0 {
		return 0, -1, false
	}
	return e.epoch, e.txnFirstOffset, true
}

// ProducerInfo is one active producer of a partition (DescribeProducers).
type ProducerInfo struct {
	ProducerID            int64
	ProducerEpoch         int16
	LastSequence          int32 // -1 when no batch is cached
	LastTimestamp         int64
	CoordinatorEpoch      int32
	CurrentTxnStartOffset int64 // -1 when no transaction is ongoing
}

// Producers lists the producer state of the partition, by producer id.
func (l *Log) Producers() []ProducerInfo {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	out := make([]ProducerInfo, 0, len(l.producers.producers))
	for id, e := range l.producers.producers {
		seq := int32(-1)
		if n := len(e.batches); n > 0 {
			seq = e.batches[n-1].lastSeq
		}
		out = append(out, ProducerInfo{ProducerID: id, ProducerEpoch: e.epoch, LastSequence: seq, LastTimestamp: e.lastTimestamp,
			CoordinatorEpoch: e.coordinatorEpoch, CurrentTxnStartOffset: e.txnFirstOffset})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProducerID < out[j].ProducerID })
	return out
}

// Marker is a transaction marker a coordinator asks the partition leader
// to write (WriteTxnMarkers).
type Marker struct {
	ProducerID       int64
	ProducerEpoch    int16
	CoordinatorEpoch int32
	Commit           bool // else abort
}

// AppendMarker writes a commit or abort control batch for m as the leader
// with leaderEpoch (Kafka's appendAsLeader with origin COORDINATOR): it
// ends the producer's ongoing transaction, moving the last stable offset,
// and an abort is added to the active segment's aborted transaction index.
// A marker with an older producer epoch than the partition has seen is
// ErrInvalidProducerEpoch; one from an older coordinator epoch is
// ErrCoordinatorFenced.
func (l *Log) AppendMarker(m Marker, leaderEpoch int32) (AppendResult, error) {
	cfg := l.Config()
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return AppendResult{}, fmt.Errorf("append marker to %s: %w", l.name(), ErrClosed)
	}
	pa := l.producers.begin()
	if err := pa.checkMarker(m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch); err != nil {
		return AppendResult{}, fmt.Errorf("append marker to %s: %w", l.name(), err)
	}
	l.mu.RLock()
	start, next := l.segments[0].base, l.leo
	l.mu.RUnlock()
	now := time.Now().UnixMilli()
	batch := buildMarkerBatch(m, next, leaderEpoch, now)
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return AppendResult{}, fmt.Errorf("append marker to %s: %w", l.name(), err)
	}
	pa.add(&h, batch)
	if err := l.writeLocked(batch, []BatchHeader{h}, cfg.SegmentBytes, pa); err != nil {
		return AppendResult{}, err
	}
	pa.commit()
	return AppendResult{FirstOffset: next, LastOffset: next, LogAppendTime: -1, LogStartOffset: start}, nil
}

// buildMarkerBatch encodes the control batch of m at offset: one record
// whose key is Kafka's ControlRecordType (version 0, type 0 abort / 1
// commit) and whose value is the EndTransactionMarker (version 0,
// coordinator epoch); attributes transactional | control, no sequence.
func buildMarkerBatch(m Marker, offset int64, leaderEpoch int32, nowMs int64) []byte {
	typ := kmsg.ControlRecordKeyType(controlTypeAbort)
	if m.Commit {
		typ = controlTypeCommit
	}
	key := (&kmsg.ControlRecordKey{Version: 0, Type: typ}).AppendTo(nil)
	val := (&kmsg.EndTxnMarker{Version: 0, CoordinatorEpoch: m.CoordinatorEpoch}).AppendTo(nil)
	rec := kmsg.Record{Key: key, Value: val}
	body := rec.AppendTo(nil)
	rec.Length = int32(len(body) - 1) // Length 0 took one varint byte
	rb := kmsg.RecordBatch{
		FirstOffset:          offset,
		PartitionLeaderEpoch: leaderEpoch,
		Magic:                2,
		Attributes:           attrTransactional | attrControl,
		LastOffsetDelta:      0,
		FirstTimestamp:       nowMs,
		MaxTimestamp:         nowMs,
		ProducerID:           m.ProducerID,
		ProducerEpoch:        m.ProducerEpoch,
		FirstSequence:        -1,
		NumRecords:           1,
		Records:              rec.AppendTo(nil),
	}
	b := rb.AppendTo(nil)
	SealBatch(b)
	return b
}

// parseMarker reads the transaction marker of a control batch: whether it
// commits, and the coordinator epoch. ok is false for other control types
// (KRaft's leader change and snapshot records) and unreadable records.
func parseMarker(batch []byte) (commit bool, coordinatorEpoch int32, ok bool) {
	if len(batch) <= BatchHeaderSize {
		return false, 0, false
	}
	p := batch[BatchHeaderSize:]
	_, n := binary.Varint(p) // record length
	if n <= 0 || len(p) < n+1 {
		return false, 0, false
	}
	p = p[n+1:]              // and the record's attributes
	for i := 0; i < 2; i++ { // timestamp delta, offset delta
		_, n := binary.Varint(p)
		if n <= 0 {
			return false, 0, false
		}
		p = p[n:]
	}
	kl, n := binary.Varint(p)
	if n <= 0 || kl < 4 || int64(len(p)-n) < kl {
		return false, 0, false
	}
	key := p[n : n+int(kl)]
	p = p[n+int(kl):]
	typ := int16(binary.BigEndian.Uint16(key[2:]))
	if typ != controlTypeAbort && typ != controlTypeCommit {
		return false, 0, false
	}
	vl, n := binary.Varint(p)
	if n > 0 && vl >= 6 && int64(len(p)-n) >= vl {
		coordinatorEpoch = int32(binary.BigEndian.Uint32(p[n+2:]))
	}
	return typ == controlTypeCommit, coordinatorEpoch, true
}

// IsControlBatch reports whether the batch header h is a control batch.
func (h *BatchHeader) IsControlBatch() bool { return h.Attributes&attrControl != 0 }

// IsTransactional reports whether the batch header h is transactional.
func (h *BatchHeader) IsTransactional() bool { return h.Attributes&attrTransactional != 0 }

func (s *segment) txnIndexPath() string {
	return filepath.Join(s.dir, segmentName(s.base)+txnIndexSuffix)
}

func encodeAbortedTxn(a abortedTxn) []byte {
	b := make([]byte, 0, txnIndexEntrySize)
	b = binary.BigEndian.AppendUint16(b, txnIndexVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(a.producerID))
	b = binary.BigEndian.AppendUint64(b, uint64(a.firstOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(a.lastOffset))
	return binary.BigEndian.AppendUint64(b, uint64(a.lastStableOffset))
}

// decodeTxnIndex parses a .txnindex file: whole 34-byte entries of version
// 0 whose markers lie in [base, next) in ascending order.
func decodeTxnIndex(b []byte, base, next int64) ([]abortedTxn, error) {
	if len(b)%txnIndexEntrySize != 0 {
		return nil, fmt.Errorf("%w: txn index size %d is not a multiple of %d", ErrCorruptFile, len(b), txnIndexEntrySize)
	}
	out := make([]abortedTxn, 0, len(b)/txnIndexEntrySize)
	for i := 0; i < len(b); i += txnIndexEntrySize {
		if v := binary.BigEndian.Uint16(b[i:]); v != txnIndexVersion {
			return nil, fmt.Errorf("%w: txn index entry %d has version %d", ErrCorruptFile, i/txnIndexEntrySize, v)
		}
		a := abortedTxn{
			producerID:       int64(binary.BigEndian.Uint64(b[i+2:])),
			firstOffset:      int64(binary.BigEndian.Uint64(b[i+10:])),
			lastOffset:       int64(binary.BigEndian.Uint64(b[i+18:])),
			lastStableOffset: int64(binary.BigEndian.Uint64(b[i+26:])),
		}
		if a.lastOffset < base || a.lastOffset >= next || a.firstOffset > a.lastOffset {
			return nil, fmt.Errorf("%w: txn index entry %d (marker %d) outside the segment [%d, %d)", ErrCorruptFile, i/txnIndexEntrySize, a.lastOffset, base, next)
		}
		if n := len(out); n > 0 && a.lastOffset <= out[n-1].lastOffset {
			return nil, fmt.Errorf("%w: txn index entry %d is not increasing", ErrCorruptFile, i/txnIndexEntrySize)
		}
		out = append(out, a)
	}
	return out, nil
}

// appendTxnIndex persists entries added at the end of s.aborted (from
// index from on). A failed write is logged: recovery rebuilds the index.
func (l *Log) appendTxnIndex(s *segment, from int, entries []abortedTxn) {
	b := make([]byte, 0, len(entries)*txnIndexEntrySize)
	for _, a := range entries {
		b = append(b, encodeAbortedTxn(a)...)
	}
	if err := l.cache.withFile(s.txnIndexPath(), true, func(f *os.File) error {
		_, err := f.WriteAt(b, int64(from)*txnIndexEntrySize)
		return err
	}); err != nil {
		l.logger.Warn("txn index write failed", zap.Int64("segment", s.base), zap.Error(err))
	}
}

// rewriteTxnIndex replaces s's .txnindex with its in-memory entries; an
// empty index has no file (as Kafka creates it lazily).
func (l *Log) rewriteTxnIndex(s *segment, entries []abortedTxn) error {
	if len(entries) == 0 {
		l.cache.forget(s.txnIndexPath())
		if err := os.Remove(s.txnIndexPath()); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove txn index of segment %d: %w", s.base, err)
		}
		return nil
	}
	b := make([]byte, 0, len(entries)*txnIndexEntrySize)
	for _, a := range entries {
		b = append(b, encodeAbortedTxn(a)...)
	}
	return l.cache.withFile(s.txnIndexPath(), true, func(f *os.File) error {
		if err := f.Truncate(0); err != nil {
			return err
		}
		_, err := f.WriteAt(b, 0)
		return err
	})
}
