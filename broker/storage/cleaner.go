package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Kafka's defaults for the cleaner settings.
const (
	// DefaultDeleteRetentionMs is delete.retention.ms's default (1 day).
	DefaultDeleteRetentionMs = 24 * 60 * 60 * 1000
	// DefaultMinCleanableDirtyRatio is min.cleanable.dirty.ratio's default.
	DefaultMinCleanableDirtyRatio = 0.5

	// PolicyDelete and PolicyCompact are the cleanup.policy values.
	PolicyDelete  = "delete"
	PolicyCompact = "compact"

	defaultCleanerBackoff         = 15 * time.Second
	defaultCleanerMaxBytesPerPass = 128 << 20

	cleanedSuffix = ".cleaned" // <base>.log.cleaned: a cleaned segment being written
	swapSuffix    = ".swap"    // <base>.log.swap: a cleaned segment committed, replacing its sources

	// attrDeleteHorizon is attribute bit 6 (KIP-534): the batch's
	// baseTimestamp holds the time after which its tombstones may go.
	attrDeleteHorizon = 0x40
)

// errCleanAborted: the segments changed (retention, truncation, close)
// while the cleaner prepared their replacement; nothing was changed.
var errCleanAborted = errors.New("storage: cleaning aborted, segments changed")

// parseCleanupPolicy reads Kafka's cleanup.policy list.
func parseCleanupPolicy(p string) (del, compact bool, err error) {
	if strings.TrimSpace(p) == "" {
		return true, false, nil
	}
	for _, v := range strings.Split(p, ",") {
		switch strings.TrimSpace(strings.ToLower(v)) {
		case PolicyDelete:
			del = true
		case PolicyCompact:
			compact = true
		default:
			return false, false, fmt.Errorf("%w: cleanup.policy=%q, want a list of delete and compact", ErrInvalidConfig, p)
		}
	}
	return del, compact, nil
}

// Compacts reports whether cleanup.policy holds compact.
func (c LogConfig) Compacts() bool {
	if c.CleanupPolicy == "" || c.CleanupPolicy == PolicyDelete { // Append's hot path: no allocation
		return false
	}
	_, compact, err := parseCleanupPolicy(c.CleanupPolicy)
	return err == nil && compact
}

// Deletes reports whether cleanup.policy holds delete (retention applies).
// An unparseable policy counts as delete, Kafka's default.
func (c LogConfig) Deletes() bool {
	if c.CleanupPolicy == "" || c.CleanupPolicy == PolicyDelete {
		return true
	}
	del, _, err := parseCleanupPolicy(c.CleanupPolicy)
	return err != nil || del
}

// cleanerState is what the cleaner remembers about one log, in memory only
// (Kafka keeps firstDirty in cleaner-offset-checkpoint; here a restart
// makes every compacted log fully dirty once).
type cleanerState struct {
	mu          sync.Mutex // one cleaning of the log at a time
	cleanedTo   int64      // mu: offsets below were mapped by a previous cleaning
	nextHorizon int64      // mu: earliest delete horizon of a kept tombstone; 0 = none
}

// CleanStats reports one cleaning of a log.
type CleanStats struct {
	Segments       int   // segments rewritten (from the log start)
	SegmentsAfter  int   // segments that replaced them (empty ones are dropped)
	BytesBefore    int64 // their bytes before
	BytesAfter     int64 // and after
	Records        int64 // records read in batches the cleaner decodes
	Kept           int64 // of those, records kept
	DirtyBytes     int64 // bytes of the segments the offset map covered
	LogStartOffset int64 // after the cleaning
}

// Compact cleans the log now, whatever its dirty ratio: the same work as
// one pass of the Manager's cleaner (bounded to CleanerMaxBytesPerPass of
// dirty bytes), with now as the clock for delete horizons. Only segments
// below both the active segment and the high watermark are cleaned. A log
// whose cleanup.policy lacks compact is ErrInvalidConfig.
func (l *Log) Compact(now time.Time) (CleanStats, error) {
	if !l.Config().Compacts() {
		return CleanStats{}, fmt.Errorf("compact %s: %w: cleanup.policy=%q does not compact", l.name(), ErrInvalidConfig, l.Config().CleanupPolicy)
	}
	return l.clean(now.UnixMilli(), defaultCleanerMaxBytesPerPass, nil)
}

// cleanPlan is what one cleaning covers: segs[:n] are rewritten, the
// offset map is built from segs[dirty:n].
type cleanPlan struct {
	segs     []*segment
	dirty, n int
}

// segEnd is the offset where segs[i] ends: the next segment's base (gaps
// left by earlier cleanings belong to the segment before them).
func segEnd(segs []*segment, i int) int64 {
	if i+1 < len(segs) {
		return segs[i+1].base
	}
	return segs[i].nextOffset
}

// plan picks the cleanable segments: non-active, wholly below the high
// watermark; the dirty ones start at cleanedTo and are taken while their
// bytes stay within budget (at least one). ok is false when nothing is
// cleanable.
func planClean(segs []*segment, hw, cleanedTo, budget int64) (p cleanPlan, dirtyBytes, cleanBytes int64) {
	p.segs = segs
	c := 0
	for c < len(segs)-1 && segEnd(segs, c) <= hw {
		c++
	}
	for p.dirty < c && segEnd(segs, p.dirty) <= cleanedTo {
		cleanBytes += segs[p.dirty].size
		p.dirty++
	}
	p.n = p.dirty
	for p.n < c && (p.n == p.dirty || dirtyBytes+segs[p.n].size <= budget) {
		dirtyBytes += segs[p.n].size
		p.n++
	}
	if p.n == p.dirty { // nothing dirty: rewrite the clean part (expired tombstones)
		p.n = c
	}
	return p, dirtyBytes, cleanBytes
}

// cleanable reports how dirty the log is and whether the cleaner should
// pick it (Kafka's LogCleanerManager.grabFilthiestCompactedLog).
func (l *Log) cleanable(nowMs, budget int64) (ratio float64, ok bool) {
	l.mu.RLock()
	segs, hw, cfg, closed := l.segments, l.hw, l.cfg, l.closed
	l.mu.RUnlock()
	if closed || !cfg.Compacts() {
		return 0, false
	}
	if !l.cleaner.mu.TryLock() {
		return 0, false
	}
	cleanedTo, horizon := l.cleaner.cleanedTo, l.cleaner.nextHorizon
	l.cleaner.mu.Unlock()
	p, dirty, clean := planClean(segs, hw, cleanedTo, budget)
	if p.n == 0 {
		return 0, false
	}
	if dirty > 0 {
		ratio = float64(dirty) / float64(dirty+clean)
	}
	if dirty > 0 && ratio >= cfg.MinCleanableDirtyRatio {
		return ratio, true
	}
	return ratio, horizon > 0 && nowMs >= horizon
}

// clean runs one cleaning of the log: it builds the offset map (key ->
// last offset) over the dirty segments, writes the replacement of every
// segment from the log start through them to .cleaned files without
// blocking appends, then swaps them in under appendMu. stop, when closed,
// abandons the work.
func (l *Log) clean(nowMs, budget int64, stop <-chan struct{}) (CleanStats, error) {
	l.cleaner.mu.Lock()
	defer l.cleaner.mu.Unlock()
	// Snapshots only move up: one taken later lies above this one too.
	markersBelow := int64(math.MaxInt64)
	l.appendMu.Lock()
	if len(l.snapshots) > 0 {
		markersBelow = l.snapshots[0]
	}
	l.appendMu.Unlock()
	l.mu.RLock()
	segs := append([]*segment(nil), l.segments...)
	// Only decided transactions are cleaned: the range ends at the last
	// stable offset (Kafka's cleaner stops at the first unstable offset).
	hw, cfg, closed := l.txns.lso(l.hw), l.cfg, l.closed
	aborted := make(map[int64][][2]int64) // producer id -> [first offset, abort marker) of its aborted transactions
	for _, s := range segs {
		for _, a := range s.aborted {
			aborted[a.producerID] = append(aborted[a.producerID], [2]int64{a.firstOffset, a.lastOffset})
		}
	}
	l.mu.RUnlock()
	var st CleanStats
	if closed {
		return st, fmt.Errorf("clean %s: %w", l.name(), ErrClosed)
	}
	p, dirtyBytes, _ := planClean(segs, hw, l.cleaner.cleanedTo, budget)
	st.LogStartOffset = segs[0].base
	if p.n == 0 {
		return st, nil
	}
	st.DirtyBytes = dirtyBytes
	om, err := l.buildOffsetMap(segs[p.dirty:p.n], aborted, stop)
	if err != nil {
		return st, l.cleanFailed(segs, err)
	}
	groups := groupSegments(segs[:p.n], cfg.SegmentBytes)
	f := &filter{offsets: om, nowMs: nowMs, deleteRetentionMs: cfg.DeleteRetentionMs, aborted: aborted, markersBelow: markersBelow}
	for _, g := range groups {
		if err := l.writeCleaned(g, f, stop); err != nil {
			removeCleaned(groups)
			return st, l.cleanFailed(segs, err)
		}
	}
	for _, g := range groups {
		g.dropAborted = f.dropAborted
	}
	if err := l.swapCleaned(segs[:p.n], groups); err != nil {
		removeCleaned(groups)
		return st, l.cleanFailed(segs, err)
	}
	l.cleaner.cleanedTo = segEnd(segs, p.n-1)
	l.cleaner.nextHorizon = f.nextHorizon
	st.Segments = p.n
	for _, s := range segs[:p.n] {
		st.BytesBefore += s.size
	}
	for _, g := range groups {
		if g.seg != nil {
			st.SegmentsAfter++
			st.BytesAfter += g.seg.size
		}
	}
	st.Records, st.Kept = f.records, f.kept
	st.LogStartOffset = l.LogStartOffset()
	l.logger.Info("cleaned log", zap.Int("segments", st.Segments), zap.Int("segments_after", st.SegmentsAfter),
		zap.Int64("bytes_before", st.BytesBefore), zap.Int64("bytes_after", st.BytesAfter),
		zap.Int64("records", st.Records), zap.Int64("kept", st.Kept), zap.Int64("cleaned_to", l.cleaner.cleanedTo))
	return st, nil
}

// cleanFailed turns a failure into errCleanAborted when the segments it
// read changed under it (a retention pass, truncation or close won).
func (l *Log) cleanFailed(segs []*segment, err error) error {
	l.mu.RLock()
	same := !l.closed && prefixOf(l.segments, segs)
	l.mu.RUnlock()
	if !same || errors.Is(err, errCleanAborted) {
		return fmt.Errorf("clean %s: %w (%w)", l.name(), errCleanAborted, err)
	}
	return fmt.Errorf("clean %s: %w", l.name(), err)
}

// prefixOf reports whether cur starts with the segments of old[:len(old)-1]
// unchanged and still holds more after them. (old's last one was active and
// may have grown.)
func prefixOf(cur, old []*segment) bool {
	if len(cur) < len(old) {
		return false
	}
	for i := range old[:len(old)-1] {
		if cur[i] != old[i] {
			return false
		}
	}
	return true
}

// stopped reports whether stop is closed (nil never is).
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// buildOffsetMap maps every key in the decodable batches of segs to the
// offset of its last record. The data batches of aborted transactions
// (aborted: see filter.aborted) are skipped, as in Kafka's
// buildOffsetMapForSegment: the cleaner drops them, so a key they hold
// must not hide the committed value before them.
func (l *Log) buildOffsetMap(segs []*segment, aborted map[int64][][2]int64, stop <-chan struct{}) (map[string]int64, error) {
	om := make(map[string]int64)
	for _, s := range segs {
		err := l.cache.withFile(s.logPath(), false, func(f *os.File) error {
			_, err := scanBatches(f, 0, s.size, true, func(_ int64, h *BatchHeader, batch []byte) bool {
				if stopped(stop) {
					return false
				}
				if isAborted(aborted, h) {
					return true
				}
				_ = eachRecord(batch, h, func(off int64, rec *kmsg.Record, _ []byte) {
					if rec.Key != nil {
						om[string(rec.Key)] = off
					}
				})
				return true
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("map segment %d: %w", s.base, err)
		}
		if stopped(stop) {
			return nil, fmt.Errorf("map segment %d: %w", s.base, errCleanAborted)
		}
	}
	return om, nil
}

// errOpaque: a batch the cleaner keeps as it is (control, or not
// decodable: a records section that does not decompress or frame).
var errOpaque = errors.New("opaque batch")

// eachRecord calls fn with each record of a non-control batch (transactional
// ones too: the cleaner only reads below the last stable offset, where each
// transaction is decided and an aborted one's batches are dropped first),
// its offset and its raw bytes (length prefix included). A compressed
// batch's records section is decompressed first with franz-go's
// decompressor (compression.go); raw then points into the decompressed
// bytes. Control batches, and batches that do not decompress or that kmsg
// cannot decode, are errOpaque and fn is not called.
func eachRecord(batch []byte, h *BatchHeader, fn func(off int64, rec *kmsg.Record, raw []byte)) error {
	if h.Attributes&attrControl != 0 {
		return errOpaque
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil {
		return errOpaque
	}
	if codec := kgo.CompressionCodecType(h.Attributes & attrCompressionMask); codec != kgo.CodecNone {
		d, err := decompressor.Decompress(rb.Records, codec)
		if err != nil {
			return errOpaque
		}
		rb.Records = d
	}
	type one struct {
		rec kmsg.Record
		raw []byte
	}
	recs := make([]one, 0, max(0, min(int(rb.NumRecords), len(rb.Records))))
	raw := rb.Records
	for i := int32(0); i < rb.NumRecords; i++ {
		n, w := binary.Varint(raw)
		if w <= 0 || n < 0 || int64(len(raw)-w) < n {
			return errOpaque
		}
		var r one
		r.raw = raw[:w+int(n)]
		if err := r.rec.ReadFrom(r.raw); err != nil || r.rec.OffsetDelta < 0 || r.rec.OffsetDelta > h.LastOffsetDelta {
			return errOpaque
		}
		raw = raw[w+int(n):]
		recs = append(recs, r)
	}
	if len(raw) != 0 {
		return errOpaque
	}
	for i := range recs {
		fn(h.BaseOffset+int64(recs[i].rec.OffsetDelta), &recs[i].rec, recs[i].raw)
	}
	return nil
}

// checkKeyed rejects records without a key in the decodable batches of a
// produce request for a compacted log (Kafka: "Compacted topic cannot
// accept message without key", INVALID_RECORD). Compressed batches are
// decompressed to check, as Kafka's LogValidator does; a batch that does
// not decode is left to the append's other checks.
func checkKeyed(batches []byte, hs []BatchHeader) error {
	pos := 0
	for i := range hs {
		h := &hs[i]
		b := batches[pos : pos+int(h.Size())]
		pos += int(h.Size())
		keyless := false
		if err := eachRecord(b, h, func(_ int64, rec *kmsg.Record, _ []byte) {
			keyless = keyless || rec.Key == nil
		}); err != nil && !errors.Is(err, errOpaque) {
			return err
		}
		if keyless {
			return fmt.Errorf("%w: batch %d holds a record without a key, and the topic is compacted", ErrInvalidRecord, i)
		}
	}
	return nil
}

// filter decides, batch by batch, what a cleaning keeps.
type filter struct {
	offsets           map[string]int64
	nowMs             int64
	deleteRetentionMs int64
	// aborted: per producer id, the [first offset, abort marker) ranges of
	// its aborted transactions (the .txnindex entries); their data batches
	// go (Kafka's cleaner discards aborted transactional batches). An open
	// transaction is in no range, so its data always stays. Markers: see
	// filter.marker.
	aborted map[int64][][2]int64
	// markersBelow: a transaction marker may go only below it, the oldest
	// producer snapshot's offset (math.MaxInt64 when there is none), so
	// that every snapshot a recovery may load already holds the end of
	// the transaction the marker closed.
	markersBelow int64

	// txnData: per producer id, whether a data batch of its current
	// transaction (since its last marker) was read (false: read and all
	// dropped, true: some kept); absent = none read (Kafka's
	// ongoingCommittedTxns and lastObservedBatchOffset).
	txnData map[int64]bool
	// dropAborted: the aborted-index entries (producer id, marker offset)
	// whose transaction had no data batch left; the cleaned segments'
	// .txnindex leaves them out, as Kafka's cleanedIndex does.
	dropAborted map[[2]int64]bool

	opaque      bool  // an opaque batch was kept whole: it may hold values a tombstone hides
	nextHorizon int64 // earliest delete horizon of a kept tombstone or removable marker, 0 = none
	records     int64
	kept        int64
}

// batch returns the cleaned form of batch: batch itself when every record
// stays, nil when none does, else a new batch with the same base offset,
// last offset delta, producer fields and max timestamp, the kept records'
// offset deltas unchanged, and a new CRC-32C. A batch whose kept
// tombstones have no delete horizon yet gets one (attribute bit 6 and
// baseTimestamp = now + delete.retention.ms, record timestamp deltas
// rebased on it, as Kafka does since KIP-534); tombstones of a batch whose
// horizon has passed are dropped, unless an opaque batch came before (its
// hidden records might be older values of the same key). A transaction
// marker is decided by marker; an aborted transaction's data batches go.
func (f *filter) batch(batch []byte, h *BatchHeader) []byte {
	if h.IsControlBatch() && h.IsTransactional() && h.ProducerID >= 0 {
		return f.marker(batch, h)
	}
	if h.IsTransactional() && !h.IsControlBatch() {
		f.noteTxnData(h.ProducerID, false)
		if isAborted(f.aborted, h) {
			f.records += int64(h.RecordCount)
			return nil // aborted data
		}
		out := f.dataBatch(batch, h)
		if out != nil {
			f.noteTxnData(h.ProducerID, true)
		}
		return out
	}
	return f.dataBatch(batch, h)
}

// isAborted reports whether h is a data batch of an aborted transaction:
// transactional, not control, in one of its producer's aborted ranges.
func isAborted(aborted map[int64][][2]int64, h *BatchHeader) bool {
	if !h.IsTransactional() || h.IsControlBatch() {
		return false
	}
	for _, r := range aborted[h.ProducerID] {
		if h.BaseOffset >= r[0] && h.BaseOffset < r[1] {
			return true
		}
	}
	return false
}

func (f *filter) noteTxnData(pid int64, kept bool) {
	if f.txnData == nil {
		f.txnData = make(map[int64]bool)
	}
	f.txnData[pid] = f.txnData[pid] || kept
}

// marker decides a transaction marker's fate (Kafka's
// CleanedTransactionMetadata.onControlBatchRead with the KIP-534 delete
// horizon). While this cleaning read a data batch of the transaction the
// marker ends, the marker stays (and an abort's index entry with it); if
// none of those batches was kept, another cleaning is asked for at once.
// Once a cleaning reads none, the transaction has no record left: an
// abort's index entry goes, and the marker gets a delete horizon (attribute
// bit 6, baseTimestamp = now + delete.retention.ms) unless it has one; a
// marker whose horizon has passed is dropped, if it lies below every
// producer snapshot. Markers kmsg cannot decode and other control types
// stay.
func (f *filter) marker(batch []byte, h *BatchHeader) []byte {
	if h.Attributes&attrCompressionMask != 0 {
		return batch
	}
	commit, _, ok := parseMarker(batch)
	if !ok {
		return batch
	}
	kept, read := f.txnData[h.ProducerID]
	delete(f.txnData, h.ProducerID)
	if read {
		if !kept {
			f.noteHorizon(max(f.nowMs, 1))
		}
		return batch
	}
	if !commit {
		if f.dropAborted == nil {
			f.dropAborted = make(map[[2]int64]bool)
		}
		f.dropAborted[[2]int64{h.ProducerID, h.BaseOffset}] = true
	}
	if h.Attributes&attrDeleteHorizon != 0 {
		if h.BaseOffset < f.markersBelow {
			if f.nowMs >= h.BaseTimestamp {
				return nil
			}
			f.noteHorizon(h.BaseTimestamp)
		}
		return batch
	}
	horizon := f.nowMs + f.deleteRetentionMs
	if f.deleteRetentionMs > math.MaxInt64-f.nowMs {
		horizon = math.MaxInt64
	}
	out, err := stampHorizon(batch, h, horizon)
	if err != nil {
		return batch
	}
	if h.BaseOffset < f.markersBelow {
		f.noteHorizon(horizon)
	}
	return out
}

func (f *filter) noteHorizon(ms int64) {
	if f.nextHorizon == 0 || ms < f.nextHorizon {
		f.nextHorizon = max(ms, 1)
	}
}

// stampHorizon re-encodes an uncompressed batch with attribute bit 6 set
// and baseTimestamp = horizon, its records' timestamp deltas rebased so each
// keeps its timestamp.
func stampHorizon(batch []byte, h *BatchHeader, horizon int64) ([]byte, error) {
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil {
		return nil, err
	}
	var recs []byte
	raw := rb.Records
	for i := int32(0); i < rb.NumRecords; i++ {
		n, w := binary.Varint(raw)
		if w <= 0 || n < 0 || int64(len(raw)-w) < n {
			return nil, errOpaque
		}
		var r kmsg.Record
		if err := r.ReadFrom(raw[:w+int(n)]); err != nil {
			return nil, errOpaque
		}
		raw = raw[w+int(n):]
		r.TimestampDelta64 = h.BaseTimestamp + r.TimestampDelta64 - horizon
		r.TimestampDelta = int32(r.TimestampDelta64)
		r.Length = 0
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb.Attributes |= attrDeleteHorizon
	rb.FirstTimestamp = horizon
	rb.Records = recs
	rb.Length = 0
	out := rb.AppendTo(make([]byte, 0, BatchHeaderSize+len(recs)))
	SealBatch(out)
	return out, nil
}

// dataBatch filters a data batch's records by key (see batch). A
// compressed batch is decompressed, filtered, and its kept records
// compressed again in the batch's codec with franz-go's compressor
// (compression.go), as Kafka's MemoryRecords.filterTo does; if that
// compressor fails, the batch is kept whole (and counts as opaque).
func (f *filter) dataBatch(batch []byte, h *BatchHeader) []byte {
	type kept struct {
		rec kmsg.Record
		raw []byte
	}
	var keep []kept
	total := 0
	needHorizon := false
	hasHorizon := h.Attributes&attrDeleteHorizon != 0
	err := eachRecord(batch, h, func(off int64, rec *kmsg.Record, raw []byte) {
		total++
		if rec.Key == nil {
			return
		}
		if last, ok := f.offsets[string(rec.Key)]; ok && last > off {
			return
		}
		if rec.Value == nil { // tombstone
			if hasHorizon && f.nowMs >= h.BaseTimestamp && !f.opaque {
				return
			}
			needHorizon = !hasHorizon
		}
		keep = append(keep, kept{*rec, raw})
	})
	if err != nil {
		f.opaque = true
		return batch
	}
	if len(keep) == 0 {
		f.records += int64(total)
		return nil
	}
	tombstones := false
	for i := range keep {
		tombstones = tombstones || keep[i].rec.Value == nil
	}
	base, attrs := h.BaseTimestamp, h.Attributes
	if needHorizon {
		base = f.nowMs + f.deleteRetentionMs
		if f.deleteRetentionMs > math.MaxInt64-f.nowMs {
			base = math.MaxInt64
		}
		attrs |= attrDeleteHorizon
	}
	if tombstones && attrs&attrDeleteHorizon != 0 {
		f.noteHorizon(base)
	}
	if len(keep) == total && !needHorizon {
		f.records += int64(total)
		f.kept += int64(total)
		return batch
	}
	var recs []byte
	for i := range keep {
		if !needHorizon {
			recs = append(recs, keep[i].raw...)
			continue
		}
		r := keep[i].rec
		r.TimestampDelta64 = h.BaseTimestamp + r.TimestampDelta64 - base
		r.TimestampDelta = int32(r.TimestampDelta64)
		r.Length = 0
		r.Length = int32(len(r.AppendTo(nil)) - 1) // Length 0 takes one varint byte
		recs = r.AppendTo(recs)
	}
	rb := kmsg.RecordBatch{
		FirstOffset:          h.BaseOffset,
		PartitionLeaderEpoch: h.LeaderEpoch,
		Magic:                2,
		Attributes:           attrs,
		LastOffsetDelta:      h.LastOffsetDelta,
		FirstTimestamp:       base,
		MaxTimestamp:         h.MaxTimestamp,
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		FirstSequence:        h.BaseSequence,
		NumRecords:           int32(len(keep)),
		Records:              recs,
	}
	if codec := kgo.CompressionCodecType(attrs & attrCompressionMask); codec != kgo.CodecNone {
		body, err := compress(new(bytes.Buffer), recs, codec)
		if err != nil {
			f.opaque = true
			f.records += int64(total)
			f.kept += int64(total)
			return batch
		}
		rb.Records = body
	}
	f.records += int64(total)
	f.kept += int64(len(keep))
	out := rb.AppendTo(make([]byte, 0, BatchHeaderSize+len(rb.Records)))
	SealBatch(out)
	return out
}

// compress compresses a records section in codec with franz-go's
// compressor; the result aliases buf.
func compress(buf *bytes.Buffer, recs []byte, codec kgo.CompressionCodecType) ([]byte, error) {
	if err := loadCompressors(); err != nil {
		return nil, err
	}
	c, ok := compressors[codec]
	if !ok {
		return nil, fmt.Errorf("storage: no compressor for codec %d", codec)
	}
	body, used := c.Compress(buf, recs)
	if used != codec {
		return nil, fmt.Errorf("storage: compress with codec %d failed", codec)
	}
	return body, nil
}

// cleanGroup is consecutive source segments cleaned into one segment with
// the first one's base (Kafka's groupSegmentsBySize).
type cleanGroup struct {
	olds []*segment
	seg  *segment // the cleaned segment; nil when nothing was kept
	// dropAborted: aborted-index entries (producer id, marker offset) the
	// cleaned segment's .txnindex leaves out (filter.dropAborted).
	dropAborted map[[2]int64]bool
}

func (g *cleanGroup) base() int64 { return g.olds[0].base }

func (g *cleanGroup) cleanedPath() string {
	return filepath.Join(g.olds[0].dir, segmentName(g.base())+logSuffix+cleanedSuffix)
}

func (g *cleanGroup) swapPath() string {
	return filepath.Join(g.olds[0].dir, segmentName(g.base())+logSuffix+swapSuffix)
}

// groupSegments splits segs into groups of at most segmentBytes source
// bytes whose offsets fit a 32-bit index relative to the group's base.
func groupSegments(segs []*segment, segmentBytes int64) []*cleanGroup {
	var out []*cleanGroup
	for i := 0; i < len(segs); {
		g := &cleanGroup{olds: []*segment{segs[i]}}
		size := segs[i].size
		j := i + 1
		for ; j < len(segs); j++ {
			if size+segs[j].size > segmentBytes || segEnd(segs, j)-1-segs[i].base > math.MaxInt32 {
				break
			}
			size += segs[j].size
			g.olds = append(g.olds, segs[j])
		}
		out = append(out, g)
		i = j
	}
	return out
}

// writeCleaned writes the cleaned batches of g's sources to <base>.log.cleaned
// and fsyncs it, building the new segment's indexes in memory. A group with
// nothing kept leaves no file and g.seg nil.
func (l *Log) writeCleaned(g *cleanGroup, f *filter, stop <-chan struct{}) (err error) {
	out, err := os.OpenFile(g.cleanedPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write cleaned segment %d: %w", g.base(), err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write cleaned segment %d: %w", g.base(), cerr)
		}
		if err != nil || g.seg == nil {
			_ = os.Remove(g.cleanedPath())
		}
	}()
	w := bufio.NewWriterSize(out, 256<<10)
	ns := newSegment(l.dir, g.base())
	var pos int64
	var werr error
	for _, s := range g.olds {
		err := l.cache.withFile(s.logPath(), false, func(src *os.File) error {
			_, err := scanBatches(src, 0, s.size, true, func(_ int64, h *BatchHeader, batch []byte) bool {
				if stopped(stop) {
					werr = errCleanAborted
					return false
				}
				b := f.batch(batch, h)
				if b == nil {
					return true
				}
				if _, werr = w.Write(b); werr != nil {
					return false
				}
				nh, perr := ParseBatchHeader(b)
				if perr != nil { // cannot happen: b is batch or our own encoding
					werr = perr
					return false
				}
				ns.noteBatch(pos, &nh, l.interval)
				pos += nh.Size()
				return true
			})
			return err
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			return fmt.Errorf("clean segment %d: %w", s.base, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write cleaned segment %d: %w", g.base(), err)
	}
	if pos == 0 {
		return nil
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("fsync cleaned segment %d: %w", g.base(), err)
	}
	ns.maybeTimeEntry()
	g.seg = ns
	return nil
}

func removeCleaned(groups []*cleanGroup) {
	for _, g := range groups {
		_ = os.Remove(g.cleanedPath())
		_ = os.Remove(g.swapPath())
	}
}

// swapCleaned replaces old (the first segments of the log) with the
// groups' cleaned segments, crash-safely, as Kafka's replaceSegments does:
//
//  1. each <base>.log.cleaned (already fsynced) is renamed to
//     <base>.log.swap, in offset order, with a directory fsync after each:
//     from here on, recovery completes the swap (recoverCleanerFiles);
//  2. for each group in offset order, with Log.mu held so that readers
//     see either the old or the new segments: the sources' files are
//     deleted, the .swap is renamed to <base>.log, the directory fsynced;
//  3. the new segment list is published, the indexes are written, and the
//     log start offset (and with it the leader epoch cache) moves if the
//     first segments were emptied.
//
// Groups are swapped oldest first, so a crash between two groups never
// keeps an old value whose tombstone a later group already dropped.
func (l *Log) swapCleaned(old []*segment, groups []*cleanGroup) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.RLock()
	ok := !l.closed && len(l.segments) > len(old)
	for i := 0; ok && i < len(old); i++ {
		ok = l.segments[i] == old[i]
	}
	l.mu.RUnlock()
	if !ok {
		return errCleanAborted
	}
	for _, g := range groups {
		if g.seg == nil {
			continue
		}
		if err := os.Rename(g.cleanedPath(), g.swapPath()); err != nil {
			return fmt.Errorf("swap cleaned segment %d: %w", g.base(), err)
		}
		if err := syncDir(l.dir); err != nil {
			return fmt.Errorf("swap cleaned segment %d: %w", g.base(), err)
		}
	}

	// Committed: errors from here on are logged, and the next Open
	// finishes what is left from the .swap files.
	l.mu.Lock()
	var fresh []*segment
	for _, g := range groups {
		for _, s := range g.olds {
			if g.seg != nil {
				// A kept entry's transaction still had data this cleaning read.
				for _, a := range s.aborted {
					if !g.dropAborted[[2]int64{a.producerID, a.lastOffset}] {
						g.seg.aborted = append(g.seg.aborted, a)
					}
				}
			}
			if g.seg == nil || s.base != g.base() {
				l.cache.forget(s.txnIndexPath())
				if err := os.Remove(s.txnIndexPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
					l.logger.Error("cleaner: remove replaced txn index failed", zap.Int64("segment", s.base), zap.Error(err))
				}
			}
			for i, p := range s.paths() {
				l.cache.forget(p)
				if i == 0 && g.seg != nil && s.base == g.base() {
					continue // replaced by the rename below
				}
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					l.logger.Error("cleaner: remove replaced segment file failed", zap.String("path", p), zap.Error(err))
				}
			}
		}
		if g.seg != nil {
			// The cleaned segment's index replaces its first source's in place.
			if err := l.rewriteTxnIndex(g.seg, g.seg.aborted); err != nil {
				l.logger.Error("cleaner: txn index write failed", zap.Int64("segment", g.base()), zap.Error(err))
			}
			if err := os.Rename(g.swapPath(), g.seg.logPath()); err != nil {
				l.logger.Error("cleaner: rename swap file failed", zap.String("path", g.swapPath()), zap.Error(err))
			}
			fresh = append(fresh, g.seg)
		}
		if err := syncDir(l.dir); err != nil {
			l.logger.Error("cleaner: fsync dir failed", zap.Error(err))
		}
	}
	segs := append(fresh, l.segments[len(old):]...)
	for i := range fresh {
		fresh[i].nextOffset = segs[i+1].base // gaps belong to the segment before them
	}
	l.segments = segs
	start := segs[0].base
	l.hw = min(max(l.hw, start), l.leo)
	changed := l.epochs.truncateFromStart(start)
	epochData := l.epochs.encode()
	l.mu.Unlock()

	for _, s := range fresh {
		if err := l.rewriteIndexes(s); err != nil {
			l.logger.Warn("cleaner: index write failed, rebuilt at next open", zap.Int64("segment", s.base), zap.Error(err))
		}
	}
	if changed {
		if err := writeFileAtomic(l.dir, epochCheckpointFile, epochData); err != nil {
			l.logger.Warn("leader epoch checkpoint write failed", zap.Error(err))
		}
	}
	return nil
}

// recoverCleanerFiles finishes or discards a cleaning a crash interrupted,
// before the partition's segments are loaded (Kafka's LogLoader does the
// same): *.cleaned files were never committed and are deleted; each
// <base>.log.swap was, so every segment whose base lies in [base, the
// swap's next offset) is deleted with its indexes and the .swap becomes
// <base>.log (its indexes are rebuilt by the load that follows). A source
// segment past the swap's last offset held nothing the swap kept and stays.
func (l *Log) recoverCleanerFiles() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("recover cleaner files: %w", err)
	}
	var swaps, bases []int64
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, cleanedSuffix):
			if err := os.Remove(filepath.Join(l.dir, n)); err != nil {
				return fmt.Errorf("recover cleaner files: %w", err)
			}
			l.logger.Warn("deleted an interrupted cleaning's file", zap.String("file", n))
		case strings.HasSuffix(n, logSuffix+swapSuffix):
			if b, err := strconv.ParseInt(strings.TrimSuffix(n, logSuffix+swapSuffix), 10, 64); err == nil && b >= 0 {
				swaps = append(swaps, b)
			}
		case strings.HasSuffix(n, logSuffix):
			if b, err := strconv.ParseInt(strings.TrimSuffix(n, logSuffix), 10, 64); err == nil && b >= 0 {
				bases = append(bases, b)
			}
		}
	}
	sort.Slice(swaps, func(i, j int) bool { return swaps[i] < swaps[j] })
	for _, base := range swaps {
		s := newSegment(l.dir, base)
		swap := s.logPath() + swapSuffix
		next, err := swapNextOffset(swap)
		if err != nil {
			return fmt.Errorf("recover cleaner swap %d: %w", base, err)
		}
		for _, b := range bases {
			if b < base || b >= next {
				continue
			}
			for _, p := range newSegment(l.dir, b).paths() {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("recover cleaner swap %d: %w", base, err)
				}
			}
			if err := os.Remove(newSegment(l.dir, b).txnIndexPath()); err == nil {
				l.txnIndexLost = true // the swapped segment's index is rebuilt from the log
			}
		}
		for _, p := range []string{s.indexPath(), s.timePath()} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("recover cleaner swap %d: %w", base, err)
			}
		}
		if err := os.Rename(swap, s.logPath()); err != nil {
			return fmt.Errorf("recover cleaner swap %d: %w", base, err)
		}
		if err := syncDir(l.dir); err != nil {
			return err
		}
		l.logger.Warn("completed an interrupted cleaning", zap.Int64("segment", base), zap.Int64("next_offset", next))
	}
	return nil
}

// swapNextOffset scans a .swap file (fsynced before it was named so) and
// returns the offset after its last whole batch; a torn tail is cut.
func swapNextOffset(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	next := int64(-1)
	end, err := scanBatches(f, 0, fi.Size(), true, func(_ int64, h *BatchHeader, _ []byte) bool {
		if h.BaseOffset < next {
			return false
		}
		next = h.LastOffset() + 1
		return true
	})
	if err != nil && !errors.Is(err, errTornBatch) {
		return 0, err
	}
	if end < fi.Size() {
		if err := f.Truncate(end); err != nil {
			return 0, err
		}
	}
	if next < 0 {
		return 0, fmt.Errorf("%w: %s holds no batch", ErrCorruptFile, path)
	}
	return next, nil
}

// cleanerLoop runs a cleaning pass every CleanerBackoff until Close.
func (m *Manager) cleanerLoop() {
	defer m.wg.Done()
	backoff := m.cfg.CleanerBackoff
	if backoff == 0 {
		backoff = defaultCleanerBackoff
	}
	t := time.NewTicker(backoff)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.cleanPass(now)
		}
	}
}

// cleanPass cleans the compacted logs that are dirty enough (or hold
// tombstones whose horizon passed), dirtiest first, until
// CleanerMaxBytesPerPass dirty bytes were cleaned. It returns the logs
// cleaned.
func (m *Manager) cleanPass(now time.Time) int {
	budget := m.cfg.CleanerMaxBytesPerPass
	if budget == 0 {
		budget = defaultCleanerMaxBytesPerPass
	}
	nowMs := now.UnixMilli()
	m.mu.Lock()
	logs := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		logs = append(logs, l)
	}
	m.mu.Unlock()
	type cand struct {
		l     *Log
		ratio float64
	}
	var cands []cand
	for _, l := range logs {
		if r, ok := l.cleanable(nowMs, budget); ok {
			cands = append(cands, cand{l, r})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ratio > cands[j].ratio })
	n := 0
	for _, c := range cands {
		if budget <= 0 || stopped(m.stop) {
			break
		}
		st, err := c.l.clean(nowMs, budget, m.stop)
		switch {
		case errors.Is(err, errCleanAborted) || errors.Is(err, ErrClosed):
			c.l.logger.Debug("cleaning aborted", zap.Error(err))
		case err != nil:
			c.l.logger.Warn("cleaning failed", zap.Error(err))
		default:
			n++
			budget -= max(st.DirtyBytes, 1)
		}
	}
	return n
}
