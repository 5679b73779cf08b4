package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// Log is one partition's log: an ordered list of segments in one directory
// (Kafka's UnifiedLog + LocalLog). It is safe for concurrent use. It holds no
// open file of its own: every call borrows handles from the Manager's cache.
//
// Locks (see doc.go): appendMu serializes every writer (Append, TruncateTo,
// retention, Flush, close); mu guards the state readers see and is held
// for writing only to publish a change, never across a write(2) of data.
type Log struct {
	topic     string
	partition int32
	dir       string // the partition directory <logdir>/<topic>-<partition>
	logDir    string // the log directory holding dir
	logger    *zap.Logger
	cache     *fileCache
	interval  int

	appendMu  sync.Mutex
	producers *producerState // appendMu
	snapshots []int64        // appendMu: offsets of producer snapshot files, ascending
	dirty     bool           // appendMu: bytes written since the last fsync
	// txnIndexLost (appendMu): a .txnindex was corrupt or a cleaning's
	// recovery dropped some; the next rebuildProducerState replays the
	// whole log to rebuild them.
	txnIndexLost bool

	mu       sync.RWMutex
	segments []*segment // ascending base offsets, never empty; last is active
	leo      int64
	hw       int64 // high watermark, in [log start, leo]
	start    int64 // log start offset set by DeleteRecords (start.go); the log start is max(start, segments[0].base)
	epochs   epochCache
	cfg      LogConfig
	topicID  metadata.Uuid
	waiters  map[*waiter]struct{}
	closed   bool

	txns txnState // ongoing and unreplicated transactions (txn.go)

	cleaner cleanerState // the log cleaner's own state (cleaner.go)
}

// AppendResult reports where Append put the batches.
type AppendResult struct {
	FirstOffset    int64 // base offset of the first batch
	LastOffset     int64 // last offset of the last batch
	LogAppendTime  int64 // the stamped time with LogConfig.LogAppendTime; -1 for CreateTime and duplicates
	LogStartOffset int64
	Duplicate      bool // an idempotent retry: the offsets are the original ones, nothing was written
}

// Topic returns the log's topic name.
func (l *Log) Topic() string { return l.topic }

// Partition returns the log's partition number.
func (l *Log) Partition() int32 { return l.partition }

// Dir returns the partition directory.
func (l *Log) Dir() string { return l.dir }

// TopicID returns the topic id from partition.metadata (zero if none).
func (l *Log) TopicID() metadata.Uuid {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.topicID
}

// Config returns the log's segment and retention settings.
func (l *Log) Config() LogConfig {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

// SetConfig replaces the per-topic settings; the next roll and retention
// pass use them.
func (l *Log) SetConfig(c LogConfig) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("set config of %s: %w", l.name(), err)
	}
	l.mu.Lock()
	l.cfg = c
	l.mu.Unlock()
	return nil
}

func (l *Log) name() string { return fmt.Sprintf("%s-%d", l.topic, l.partition) }

// LogStartOffset is the first offset still held.
func (l *Log) LogStartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.startLocked()
}

// LogEndOffset is the offset the next appended record gets.
func (l *Log) LogEndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.leo
}

// HighWatermark returns the last value given to SetHighWatermark (or read
// from replication-offset-checkpoint), clamped to the log's range.
func (l *Log) HighWatermark() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.hw
}

// SetHighWatermark records the high watermark (owned by the replica
// manager), clamped to [LogStartOffset, LogEndOffset]. The Manager writes it
// to replication-offset-checkpoint on CheckpointHighWatermarks and Close.
func (l *Log) SetHighWatermark(hw int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hw = min(max(hw, l.startLocked()), l.leo)
}

// Size is the number of bytes in all segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segments {
		n += s.size
	}
	return n
}

// NumSegments is the number of segment files.
func (l *Log) NumSegments() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.segments)
}

// LeaderEpochs returns a copy of the leader epoch cache.
func (l *Log) LeaderEpochs() []EpochEntry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return append([]EpochEntry(nil), l.epochs.entries...)
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch (KIP-101) as Kafka's
// LeaderEpochFileCache.endOffsetFor does: the largest epoch <= epoch and the
// offset where the next epoch started (the log end for the latest one); for
// an epoch older than the whole cache, (epoch, start of the first entry);
// (-1, -1) for epoch < 0 or an empty cache. Never clamped to the high
// watermark.
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.endOffsetFor(epoch, l.leo)
}

// Append validates and appends one or more concatenated v2 record batches
// (a produce request's records) as the leader with leaderEpoch. It rewrites
// baseOffset and partitionLeaderEpoch of each batch in place in batches (the
// CRC does not cover them), or of a rewritten copy when the log's
// compression.type recompresses them (compression.go). On return the bytes have been written to the
// segment file with write(2): they survive the process being killed, and
// are fsynced by the next roll, Flush or Close.
func (l *Log) Append(batches []byte, leaderEpoch int32) (AppendResult, error) {
	return l.appendAsLeader(batches, leaderEpoch, false)
}

// AppendFromCoordinator is Append for batches a coordinator on this broker
// wrote (Kafka's AppendOrigin.COORDINATOR): the group coordinator's
// transactional offset commits carry a producer id and epoch but no
// sequence, so only the epoch and transaction rules apply, never the
// sequence or duplicate checks.
func (l *Log) AppendFromCoordinator(batches []byte, leaderEpoch int32) (AppendResult, error) {
	return l.appendAsLeader(batches, leaderEpoch, true)
}

func (l *Log) appendAsLeader(batches []byte, leaderEpoch int32, coordinator bool) (AppendResult, error) {
	cfg := l.Config()
	hs, err := splitBatches(batches, cfg.SegmentBytes)
	if err != nil {
		return AppendResult{}, fmt.Errorf("append to %s: %w", l.name(), err)
	}
	if !coordinator {
		// compression.type (compression.go); the segment.bytes checks
		// see the rewritten size, and max.message.bytes is checked again
		// on it (the broker checked the produced size; a batch kept as
		// produced passes both again).
		if batches, hs, err = recompress(batches, hs, cfg.Compression); err != nil {
			return AppendResult{}, fmt.Errorf("append to %s: %w", l.name(), err)
		}
		for i := range hs {
			if hs[i].Size() > cfg.SegmentBytes {
				return AppendResult{}, fmt.Errorf("append to %s: batch %d: %w: %d bytes (compression.type %s), segment.bytes=%d",
					l.name(), i, ErrRecordTooLarge, hs[i].Size(), cfg.Compression, cfg.SegmentBytes)
			}
			if cfg.MaxMessageBytes > 0 && hs[i].Length > cfg.MaxMessageBytes {
				return AppendResult{}, fmt.Errorf("append to %s: batch %d: %w: %d bytes (compression.type %s), max.message.bytes=%d",
					l.name(), i, ErrRecordTooLarge, hs[i].Size(), cfg.Compression, cfg.MaxMessageBytes)
			}
		}
	}
	if int64(len(batches)) > cfg.SegmentBytes {
		return AppendResult{}, fmt.Errorf("append to %s: %w: %d bytes in one request, segment.bytes=%d", l.name(), ErrRecordTooLarge, len(batches), cfg.SegmentBytes)
	}
	if cfg.Compacts() {
		if err := checkKeyed(batches, hs); err != nil {
			return AppendResult{}, fmt.Errorf("append to %s: %w", l.name(), err)
		}
	}

	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed { // only changed with appendMu held
		return AppendResult{}, fmt.Errorf("append to %s: %w", l.name(), ErrClosed)
	}
	l.mu.RLock()
	start := l.startLocked()
	l.mu.RUnlock()

	pa := l.producers.begin()
	next := l.leo
	appendTime := int64(-1)
	if cfg.LogAppendTime {
		appendTime = time.Now().UnixMilli()
	}
	pos := 0
	for i := range hs {
		h := &hs[i]
		if h.ProducerID >= 0 && coordinator {
			if err := pa.checkEpoch(h); err != nil {
				return AppendResult{}, fmt.Errorf("append to %s: %w", l.name(), err)
			}
		} else if h.ProducerID >= 0 {
			dup, isDup, err := pa.check(h)
			if err != nil {
				return AppendResult{}, fmt.Errorf("append to %s: %w", l.name(), err)
			}
			if isDup {
				return AppendResult{FirstOffset: dup.firstOffset, LastOffset: dup.lastOffset, LogAppendTime: -1, LogStartOffset: start, Duplicate: true}, nil
			}
		}
		h.BaseOffset = next
		h.LeaderEpoch = leaderEpoch
		binary.BigEndian.PutUint64(batches[pos+offBaseOffset:], uint64(next))
		binary.BigEndian.PutUint32(batches[pos+offLeaderEpoch:], uint32(leaderEpoch))
		if appendTime >= 0 {
			stampAppendTime(batches[pos:pos+int(h.Size())], h, appendTime)
		}
		if h.ProducerID >= 0 {
			pa.add(h, batches[pos:pos+int(h.Size())])
		}
		next = h.LastOffset() + 1
		pos += int(h.Size())
	}
	if err := l.writeLocked(batches, hs, cfg.SegmentBytes, pa); err != nil {
		return AppendResult{}, err
	}
	pa.commit()
	return AppendResult{FirstOffset: hs[0].BaseOffset, LastOffset: next - 1, LogAppendTime: appendTime, LogStartOffset: start}, nil
}

// writeLocked writes validated batches whose headers (offsets and leader
// epochs final) are hs at the log end, rolling first if the active segment
// is full, then publishes them to readers: indexes, log end offset, the
// leader epoch cache (each batch's partitionLeaderEpoch), the transactions
// pa began and completed (so a reader never sees a transactional batch
// before it holds back the last stable offset) and waiters. appendMu
// held; the caller commits producer state once it returns nil.
func (l *Log) writeLocked(batches []byte, hs []BatchHeader, segmentBytes int64, pa *producerAppend) error {
	first, last := hs[0].BaseOffset, hs[len(hs)-1].LastOffset()
	next := last + 1

	active := l.segments[len(l.segments)-1]
	if active.size > 0 && (active.size+int64(len(batches)) > segmentBytes || last-active.base > math.MaxInt32) {
		if err := l.roll(first); err != nil {
			return fmt.Errorf("append to %s: %w", l.name(), err)
		}
		active = l.segments[len(l.segments)-1]
	}

	at := active.size
	if err := l.cache.withFile(active.logPath(), false, func(f *os.File) error {
		if _, err := f.WriteAt(batches, at); err != nil {
			_ = f.Truncate(at) // drop a partial write so the tail stays whole batches
			return err
		}
		return nil
	}); err != nil {
		return fmt.Errorf("append to %s: write segment %d: %w", l.name(), active.base, err)
	}
	l.dirty = true

	// Publish: readers see the batches from here on.
	l.mu.Lock()
	idxFrom, timeFrom := len(active.index), len(active.tindex)
	p := at
	epochChanged := false
	for i := range hs {
		active.noteBatch(p, &hs[i], l.interval)
		p += hs[i].Size()
		if l.epochs.assign(hs[i].LeaderEpoch, hs[i].BaseOffset) {
			epochChanged = true
		}
	}
	l.leo = next
	abortFrom := len(active.aborted)
	aborted := l.publishTxnsLocked(pa)
	var epochData []byte
	if epochChanged {
		epochData = l.epochs.encode()
	}
	newIdx := append([]indexEntry(nil), active.index[idxFrom:]...)
	newTime := append([]timeEntry(nil), active.tindex[timeFrom:]...)
	l.wakeLocked(next)
	l.mu.Unlock()

	// The indexes can always be rebuilt from the log: a failed index write is
	// logged, and the next open finds and rebuilds the damaged file.
	if err := l.writeIndexEntries(active, idxFrom, newIdx, timeFrom, newTime); err != nil {
		l.logger.Warn("index write failed", zap.Int64("segment", active.base), zap.Error(err))
	}
	if len(aborted) > 0 {
		l.appendTxnIndex(active, abortFrom, aborted)
	}
	if epochData != nil {
		if err := writeFileAtomic(l.dir, epochCheckpointFile, epochData); err != nil {
			l.logger.Warn("leader epoch checkpoint write failed", zap.Error(err))
		}
	}
	return nil
}

func (l *Log) writeIndexEntries(s *segment, idxFrom int, idx []indexEntry, timeFrom int, ts []timeEntry) error {
	if len(idx) > 0 {
		b := make([]byte, 0, len(idx)*indexEntrySize)
		for _, e := range idx {
			b = append(b, encodeIndexEntry(e)...)
		}
		if err := l.cache.withFile(s.indexPath(), true, func(f *os.File) error {
			_, err := f.WriteAt(b, int64(idxFrom)*indexEntrySize)
			return err
		}); err != nil {
			return err
		}
	}
	if len(ts) > 0 {
		b := make([]byte, 0, len(ts)*timeIndexEntrySize)
		for _, e := range ts {
			b = append(b, encodeTimeEntry(e)...)
		}
		return l.cache.withFile(s.timePath(), true, func(f *os.File) error {
			_, err := f.WriteAt(b, int64(timeFrom)*timeIndexEntrySize)
			return err
		})
	}
	return nil
}

// roll closes the active segment (final time index entry, fsync), snapshots
// the producer state and starts a new segment at base. appendMu held.
func (l *Log) roll(base int64) error {
	old := l.segments[len(l.segments)-1]
	l.mu.Lock()
	timeFrom := len(old.tindex)
	te := old.maybeTimeEntry()
	l.mu.Unlock()
	if te != nil {
		if err := l.writeIndexEntries(old, 0, nil, timeFrom, []timeEntry{*te}); err != nil {
			l.logger.Warn("time index write failed", zap.Int64("segment", old.base), zap.Error(err))
		}
	}
	if err := l.syncSegment(old); err != nil {
		return fmt.Errorf("roll segment %d: %w", old.base, err)
	}
	s := newSegment(l.dir, base)
	for _, p := range s.paths() {
		if err := l.cache.withFile(p, true, func(*os.File) error { return nil }); err != nil {
			return fmt.Errorf("roll to segment %d: %w", base, err)
		}
	}
	if err := syncDir(l.dir); err != nil {
		return fmt.Errorf("roll to segment %d: %w", base, err)
	}
	l.mu.Lock()
	l.segments = append(l.segments, s)
	l.mu.Unlock()
	l.dirty = false
	if err := l.writeProducerSnapshot(base, true); err != nil {
		l.logger.Warn("producer snapshot failed", zap.Int64("offset", base), zap.Error(err))
	}
	l.logger.Debug("rolled segment", zap.Int64("base", base), zap.Int64("previous", old.base), zap.Int64("previous_bytes", old.size))
	return nil
}

func (l *Log) syncSegment(s *segment) error {
	for _, p := range s.paths() {
		if err := l.cache.withFile(p, true, func(f *os.File) error { return f.Sync() }); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
	}
	l.mu.RLock()
	hasTxnIndex := len(s.aborted) > 0
	l.mu.RUnlock()
	if hasTxnIndex {
		if err := l.cache.withFile(s.txnIndexPath(), true, func(f *os.File) error { return f.Sync() }); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
	}
	return nil
}

// Flush fsyncs the active segment and its indexes.
func (l *Log) Flush() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	return l.flushLocked()
}

func (l *Log) flushLocked() error {
	if l.closed || !l.dirty {
		return nil
	}
	if err := l.syncSegment(l.segments[len(l.segments)-1]); err != nil {
		return fmt.Errorf("flush %s: %w", l.name(), err)
	}
	l.dirty = false
	return nil
}

// Read returns a copy of what ReadRecords finds (nil when nothing): whole
// raw batches starting with the one holding offset, up to maxBytes but at
// least one batch (KIP-74), none whose base offset is >= maxOffset.
func (l *Log) Read(offset int64, maxBytes int32, maxOffset int64) ([]byte, error) {
	recs, err := l.ReadRecords(offset, maxBytes, maxOffset)
	if err != nil {
		return nil, err
	}
	defer recs.Release()
	if recs.Len() == 0 {
		return nil, nil
	}
	out, err := recs.AppendTo(make([]byte, 0, recs.Len()))
	if err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", l.name(), offset, err)
	}
	return out, nil
}

// OffsetForTimestamp returns the first offset whose record timestamp is >=
// ts and that timestamp (ListOffsets). ts = -2 (earliest) gives the log
// start and ts = -1 (latest) the log end, both with timestamp -1. For a
// compressed batch the answer is the batch's base offset and max timestamp.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	switch ts {
	case -2:
		return l.startLocked(), -1, true
	case -1:
		return l.leo, -1, true
	}
	for _, s := range l.segments {
		if s.maxTs < ts || s.size == 0 {
			continue
		}
		from := s.lookupTime(ts)
		err := l.cache.withFile(s.logPath(), false, func(f *os.File) error {
			_, err := scanBatches(f, s.lookup(from), s.size, true, func(_ int64, h *BatchHeader, batch []byte) bool {
				if h.LastOffset() < from || h.MaxTimestamp < ts {
					return true
				}
				offset, timestamp = recordAtOrAfter(batch, h, ts)
				ok = true
				return false
			})
			return err
		})
		if err != nil {
			l.logger.Warn("time lookup scan failed", zap.Int64("segment", s.base), zap.Error(err))
		}
		if ok {
			return offset, timestamp, true
		}
	}
	return -1, -1, false
}

// recordAtOrAfter walks an uncompressed batch's records for the first one
// with timestamp >= ts. Malformed records fall back to the batch as a whole,
// and so do LogAppendTime batches: each of their records has the batch's
// max timestamp.
func recordAtOrAfter(batch []byte, h *BatchHeader, ts int64) (int64, int64) {
	if h.Attributes&(attrCompressionMask|attrTimestampType) != 0 {
		return h.BaseOffset, h.MaxTimestamp
	}
	p := BatchHeaderSize
	for i := int32(0); i < h.RecordCount && p < len(batch); i++ {
		length, n := binary.Varint(batch[p:])
		if n <= 0 || length < 0 || int64(len(batch)-p-n) < length {
			break
		}
		rec := batch[p+n : p+n+int(length)]
		p += n + int(length)
		if len(rec) < 1 {
			break
		}
		tsDelta, n1 := binary.Varint(rec[1:])
		if n1 <= 0 {
			break
		}
		offDelta, n2 := binary.Varint(rec[1+n1:])
		if n2 <= 0 || offDelta < 0 || offDelta > int64(h.LastOffsetDelta) {
			break
		}
		if h.BaseTimestamp+tsDelta >= ts {
			return h.BaseOffset + offDelta, h.BaseTimestamp + tsDelta
		}
	}
	return h.BaseOffset, h.MaxTimestamp
}

type waiter struct {
	past int64
	ch   chan struct{}
	stop func() bool
	// notify, when set (Notify), gets a non-blocking send instead of ch
	// being closed; it is shared by many waiters and never closed.
	notify chan<- struct{}
}

// Wait returns a channel that is closed once LogEndOffset > pastOffset, ctx
// is done, or the log is closed (a long-poll Fetch waits on it, then reads).
func (l *Log) Wait(ctx context.Context, pastOffset int64) <-chan struct{} {
	w := &waiter{past: pastOffset, ch: make(chan struct{})}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leo > pastOffset || l.closed || ctx.Err() != nil {
		close(w.ch)
		return w.ch
	}
	l.waiters[w] = struct{}{}
	// The callback blocks on mu until this call returns, so w.stop is set
	// before anyone can read it.
	w.stop = context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.waiters[w]; ok {
			delete(l.waiters, w)
			close(w.ch)
		}
	})
	return w.ch
}

// Notify arranges a non-blocking send on ch once LogEndOffset > pastOffset
// or the log is closed (at once if that is so already); cancel removes the
// registration and may be called any number of times. Many logs may share
// one ch (capacity >= 1): a long poll over many partitions waits on one
// channel, with no context callback or goroutine per partition.
func (l *Log) Notify(pastOffset int64, ch chan<- struct{}) (cancel func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leo > pastOffset || l.closed {
		select {
		case ch <- struct{}{}:
		default:
		}
		return func() {}
	}
	w := &waiter{past: pastOffset, notify: ch}
	l.waiters[w] = struct{}{}
	return func() {
		l.mu.Lock()
		delete(l.waiters, w)
		l.mu.Unlock()
	}
}

// wakeLocked releases the waiters whose offset was passed (all on close,
// with leo = math.MaxInt64). mu held for writing.
func (l *Log) wakeLocked(leo int64) {
	for w := range l.waiters {
		if leo > w.past {
			delete(l.waiters, w)
			if w.notify != nil {
				select {
				case w.notify <- struct{}{}:
				default:
				}
				continue
			}
			w.stop()
			close(w.ch)
		}
	}
}

// TruncateTo removes every batch from the one holding offset onwards (a
// follower truncating to its leader's epoch end). Offsets below the log
// start empty the log and restart it at offset. Producer state, indexes and
// the leader epoch cache follow.
func (l *Log) TruncateTo(offset int64) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return fmt.Errorf("truncate %s: %w", l.name(), ErrClosed)
	}
	if offset >= l.leo {
		return nil
	}
	if offset < 0 {
		return fmt.Errorf("truncate %s to %d: %w", l.name(), offset, ErrOffsetOutOfRange)
	}
	var drop []*segment
	keep := l.segments
	if offset <= l.segments[0].base || offset < l.start {
		// Truncate fully and start at offset.
		drop = keep
		s := newSegment(l.dir, offset)
		for _, p := range s.paths() {
			if err := l.cache.withFile(p, true, func(f *os.File) error { return f.Truncate(0) }); err != nil {
				return fmt.Errorf("truncate %s: %w", l.name(), err)
			}
		}
		keep = []*segment{s}
		if drop[0].base == offset {
			drop = drop[1:] // same file names: reused above
			if err := l.rewriteTxnIndex(s, nil); err != nil {
				return fmt.Errorf("truncate %s: %w", l.name(), err)
			}
		}
	} else {
		n := sort.Search(len(keep), func(i int) bool { return keep[i].base >= offset })
		drop, keep = keep[n:], keep[:n:n]
		old := keep[len(keep)-1]
		s, err := l.truncateSegment(old, offset)
		if err != nil {
			return fmt.Errorf("truncate %s to %d: %w", l.name(), offset, err)
		}
		for _, a := range old.aborted {
			if a.lastOffset < offset {
				s.aborted = append(s.aborted, a)
			}
		}
		if len(s.aborted) != len(old.aborted) {
			if err := l.rewriteTxnIndex(s, s.aborted); err != nil {
				return fmt.Errorf("truncate %s to %d: %w", l.name(), offset, err)
			}
		}
		keep[len(keep)-1] = s
	}
	for _, s := range drop {
		l.removeSegmentFiles(s)
	}
	active := keep[len(keep)-1]
	if err := l.syncSegment(active); err != nil {
		return fmt.Errorf("truncate %s: %w", l.name(), err)
	}

	l.mu.Lock()
	l.segments = keep
	l.leo = active.nextOffset
	l.start = min(l.start, l.leo)
	l.hw = min(max(l.hw, l.startLocked()), l.leo)
	changed := l.epochs.truncateFromEnd(l.leo)
	if len(keep) == 1 && keep[0].base == offset && len(l.epochs.entries) > 0 {
		l.epochs.entries = nil // truncated fully: Kafka clears the cache
		changed = true
	}
	epochData := l.epochs.encode()
	newLeo := l.leo
	l.mu.Unlock()

	if changed {
		if err := writeFileAtomic(l.dir, epochCheckpointFile, epochData); err != nil {
			return fmt.Errorf("truncate %s: %w", l.name(), err)
		}
	}
	if err := l.rebuildProducerState(newLeo, false); err != nil {
		return fmt.Errorf("truncate %s: %w", l.name(), err)
	}
	l.logger.Info("truncated log", zap.Int64("offset", offset), zap.Int64("log_end_offset", newLeo))
	return nil
}

// truncateSegment returns a copy of s cut before the batch holding offset,
// with its files truncated and its indexes rebuilt.
func (l *Log) truncateSegment(s *segment, offset int64) (*segment, error) {
	var cut int64 = -1
	err := l.cache.withFile(s.logPath(), false, func(f *os.File) error {
		_, err := scanBatches(f, s.lookup(offset), s.size, false, func(pos int64, h *BatchHeader, _ []byte) bool {
			if h.LastOffset() >= offset {
				cut = pos
				return false
			}
			return true
		})
		if err != nil {
			return err
		}
		if cut < 0 {
			cut = s.size
		}
		return f.Truncate(cut)
	})
	if err != nil {
		return nil, err
	}
	ns, _, err := l.rebuildSegment(s.base, cut, false)
	return ns, err
}

// rebuildSegment scans [0, size) of a segment's log (checking CRCs when
// verify is set), truncates the log to the last whole batch, and rewrites
// both index files. It returns the new segment and, when bytes were cut, why.
func (l *Log) rebuildSegment(base, size int64, verify bool) (*segment, string, error) {
	s := newSegment(l.dir, base)
	var tail string
	err := l.cache.withFile(s.logPath(), true, func(f *os.File) error {
		end, err := scanBatches(f, 0, size, verify, func(pos int64, h *BatchHeader, _ []byte) bool {
			if h.BaseOffset < s.nextOffset || h.LastOffset()-base > math.MaxInt32 {
				tail = fmt.Sprintf("batch at %d has offset %d, want >= %d", pos, h.BaseOffset, s.nextOffset)
				return false
			}
			s.noteBatch(pos, h, l.interval)
			return true
		})
		if err != nil {
			if !errors.Is(err, errTornBatch) {
				return err
			}
			tail = err.Error()
		}
		if tail != "" || end < size {
			if tail == "" {
				tail = fmt.Sprintf("scan stopped at %d", end)
			}
			return f.Truncate(s.size)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("rebuild segment %d: %w", base, err)
	}
	s.maybeTimeEntry()
	if err := l.rewriteIndexes(s); err != nil {
		return nil, "", fmt.Errorf("rebuild segment %d: %w", base, err)
	}
	return s, tail, nil
}

// rewriteIndexes replaces both index files with s's in-memory entries.
func (l *Log) rewriteIndexes(s *segment) error {
	ib := make([]byte, 0, len(s.index)*indexEntrySize)
	for _, e := range s.index {
		ib = append(ib, encodeIndexEntry(e)...)
	}
	tb := make([]byte, 0, len(s.tindex)*timeIndexEntrySize)
	for _, e := range s.tindex {
		tb = append(tb, encodeTimeEntry(e)...)
	}
	for _, w := range []struct {
		path string
		b    []byte
	}{{s.indexPath(), ib}, {s.timePath(), tb}} {
		if err := l.cache.withFile(w.path, true, func(f *os.File) error {
			if err := f.Truncate(0); err != nil {
				return err
			}
			_, err := f.WriteAt(w.b, 0)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

func (l *Log) removeSegmentFiles(s *segment) {
	ps := s.paths()
	for _, p := range append(ps[:], s.txnIndexPath()) {
		l.cache.forget(p)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.logger.Warn("remove segment file failed", zap.String("path", p), zap.Error(err))
		}
	}
}

// applyRetention deletes whole non-active segments whose newest timestamp
// is older than retention.ms, then the oldest while the log stays at or
// above retention.bytes without them (Kafka's deleteRetentionMsBreached and
// deleteRetentionSizeBreached). It returns the number of segments deleted.
func (l *Log) applyRetention(nowMs int64) int {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return 0
	}
	cfg := l.Config()
	if !cfg.Deletes() {
		return 0 // compact only: the cleaner, not retention, removes records
	}
	segs := l.segments
	k := 0
	for k < len(segs)-1 && segs[k+1].base <= l.start {
		k++ // wholly below the log start DeleteRecords set (start.go)
	}
	if cfg.RetentionMs >= 0 {
		for k < len(segs)-1 {
			ts := segs[k].maxTs
			if ts < 0 {
				if fi, err := os.Stat(segs[k].logPath()); err == nil {
					ts = fi.ModTime().UnixMilli()
				}
			}
			if nowMs-ts <= cfg.RetentionMs {
				break
			}
			k++
		}
	}
	if cfg.RetentionBytes >= 0 {
		var total int64
		for _, s := range segs[k:] {
			total += s.size
		}
		for k < len(segs)-1 && total-segs[k].size >= cfg.RetentionBytes {
			total -= segs[k].size
			k++
		}
	}
	if k == 0 {
		return 0
	}
	drop := segs[:k]
	l.mu.Lock()
	l.segments = append([]*segment(nil), segs[k:]...)
	start := l.startLocked()
	l.hw = max(l.hw, start)
	changed := l.epochs.truncateFromStart(start)
	epochData := l.epochs.encode()
	l.mu.Unlock()
	for _, s := range drop {
		l.removeSegmentFiles(s)
	}
	if changed {
		if err := writeFileAtomic(l.dir, epochCheckpointFile, epochData); err != nil {
			l.logger.Warn("leader epoch checkpoint write failed", zap.Error(err))
		}
	}
	l.logger.Info("deleted segments by retention", zap.Int("segments", k), zap.Int64("log_start_offset", start))
	return k
}

// close snapshots producer state and releases waiters. It does not fsync:
// Manager.Close syncs each whole file system once (syncfs) afterwards, far
// cheaper than an fsync per file with many partitions.
func (l *Log) close() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return nil
	}
	var err error
	l.mu.RLock()
	leo := l.leo
	l.mu.RUnlock()
	// After a clean shutdown the newest snapshot is the state at the log
	// end; no snapshot means no producers.
	if len(l.producers.producers) == 0 {
		for _, off := range l.snapshots {
			_ = os.Remove(filepath.Join(l.dir, snapshotName(off)))
		}
		l.snapshots = nil
	} else if n := len(l.snapshots); n == 0 || l.snapshots[n-1] != leo {
		if serr := l.writeProducerSnapshot(leo, false); serr != nil {
			err = errors.Join(err, fmt.Errorf("close %s: %w", l.name(), serr))
		}
	}
	l.mu.Lock()
	l.closed = true
	l.wakeLocked(math.MaxInt64)
	l.mu.Unlock()
	for _, s := range l.segments {
		for _, p := range s.paths() {
			l.cache.forget(p)
		}
		l.cache.forget(s.txnIndexPath())
	}
	return err
}

// remove closes the log without flushing and deletes its directory.
func (l *Log) remove() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	l.closed = true
	l.wakeLocked(math.MaxInt64)
	l.mu.Unlock()
	for _, s := range l.segments {
		for _, p := range s.paths() {
			l.cache.forget(p)
		}
		l.cache.forget(s.txnIndexPath())
	}
	if err := os.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("delete %s: %w", l.name(), err)
	}
	return syncDir(l.logDir)
}
