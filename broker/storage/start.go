package storage

// The log start offset (Kafka's UnifiedLog.logStartOffset): the first
// offset a reader may ask for. Retention moves it by deleting whole
// segments; DeleteRecords (key 21) moves it to any offset up to the high
// watermark, inside a segment, and the follower's fetcher moves it to the
// leader's (the LogStartOffset of each Fetch answer). The log start is
// max(Log.start, first segment's base). Segments wholly below it are
// deleted at once. Each log dir's log-start-offset-checkpoint (Kafka's
// file, the replication-offset-checkpoint format) keeps it across
// restarts; it is written with the high watermarks and by
// CheckpointLogStartOffsets.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"
)

// logStartCheckpointFile is Kafka's per-log-dir log start checkpoint.
const logStartCheckpointFile = "log-start-offset-checkpoint"

// startLocked is the log start offset; l.mu (either mode) or l.appendMu
// held.
func (l *Log) startLocked() int64 { return max(l.start, l.segments[0].base) }

// DeleteRecordsBefore is Kafka's deleteRecordsOnLocalLog on the leader,
// hw being the partition's high watermark (the replica manager's): offset
// -1 means hw; an offset past hw (or another negative one) is
// ErrOffsetOutOfRange; a topic without cleanup.policy=delete is
// ErrPolicyViolation. It moves the log start to offset (never back),
// deletes the segments wholly below it and returns the new log start
// (Kafka's low watermark).
func (l *Log) DeleteRecordsBefore(offset, hw int64) (int64, error) {
	if !l.Config().Deletes() {
		return 0, fmt.Errorf("delete records of %s: cleanup.policy %q: %w", l.name(), l.Config().CleanupPolicy, ErrPolicyViolation)
	}
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return 0, fmt.Errorf("delete records of %s before %d: high watermark %d: %w", l.name(), offset, hw, ErrOffsetOutOfRange)
	}
	return l.advanceStart(offset)
}

// MaybeIncrementLogStartOffset is the follower's side: the leader's log
// start from a Fetch answer, clamped to this log's end. It returns the
// log start after the call.
func (l *Log) MaybeIncrementLogStartOffset(offset int64) (int64, error) {
	l.mu.RLock()
	cur, leo := l.startLocked(), l.leo
	l.mu.RUnlock()
	if offset <= cur {
		return cur, nil
	}
	return l.advanceStart(min(offset, leo))
}

// advanceStart moves the log start up to offset (<= leo) and deletes the
// segments wholly below it.
func (l *Log) advanceStart(offset int64) (int64, error) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return 0, fmt.Errorf("delete records of %s: %w", l.name(), ErrClosed)
	}
	l.mu.Lock()
	if offset <= l.startLocked() {
		start := l.startLocked()
		l.mu.Unlock()
		return start, nil
	}
	offset = min(offset, l.leo)
	l.start = offset
	l.hw = max(l.hw, offset)
	k := 0
	for k < len(l.segments)-1 && l.segments[k+1].base <= offset {
		k++
	}
	drop := l.segments[:k]
	if k > 0 {
		l.segments = append([]*segment(nil), l.segments[k:]...)
	}
	changed := l.epochs.truncateFromStart(offset)
	epochData := l.epochs.encode()
	l.mu.Unlock()
	for _, s := range drop {
		l.removeSegmentFiles(s)
	}
	var err error
	if changed {
		if werr := writeFileAtomic(l.dir, epochCheckpointFile, epochData); werr != nil {
			err = fmt.Errorf("delete records of %s: %w", l.name(), werr)
		}
	}
	l.logger.Info("log start offset moved", zap.Int64("log_start_offset", offset), zap.Int("segments_deleted", k))
	return offset, err
}

// CheckpointLogStartOffsets writes every log's start offset to the
// log-start-offset-checkpoint file of its log dir (Kafka's
// checkpointLogStartOffsets).
func (m *Manager) CheckpointLogStartOffsets() error {
	m.mu.Lock()
	per := make(map[string][]hwEntry, len(m.cfg.Dirs))
	for tp, l := range m.logs {
		per[l.logDir] = append(per[l.logDir], hwEntry{tp, l.LogStartOffset()})
	}
	m.mu.Unlock()
	var errs []error
	for _, dir := range m.cfg.Dirs {
		if err := writeFileAtomic(dir, logStartCheckpointFile, encodeHWCheckpoint(per[dir])); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// loadLogStarts applies dir's log-start-offset-checkpoint to the logs
// loaded from it (before the high watermarks, which are clamped to it).
func (m *Manager) loadLogStarts(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, logStartCheckpointFile))
	if err != nil {
		return
	}
	starts, err := decodeHWCheckpoint(b)
	if err != nil {
		m.logger.Warn("ignoring log start offset checkpoint", zap.String("dir", dir), zap.Error(err))
		return
	}
	for tp, off := range starts {
		if l, ok := m.logs[tp]; ok && l.logDir == dir {
			l.mu.Lock()
			l.start = min(max(off, 0), l.leo)
			l.hw = max(l.hw, l.startLocked())
			l.mu.Unlock()
		}
	}
}

// TruncateFullyAndStartAt empties the log and starts it at offset (Kafka's
// truncateFullyAndStartAt): a follower whose log ends below the leader's
// log start (DeleteRecords or retention moved it while the follower was
// away) fetches from there. Every segment goes; the leader-epoch cache
// and producer state start empty.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("truncate %s fully at %d: %w", l.name(), offset, ErrOffsetOutOfRange)
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return fmt.Errorf("truncate %s fully: %w", l.name(), ErrClosed)
	}
	drop := l.segments
	s := newSegment(l.dir, offset)
	for _, p := range s.paths() {
		if err := l.cache.withFile(p, true, func(f *os.File) error { return f.Truncate(0) }); err != nil {
			return fmt.Errorf("truncate %s fully: %w", l.name(), err)
		}
	}
	for _, old := range drop {
		if old.base != offset { // the same file names were reused above
			l.removeSegmentFiles(old)
		}
	}
	if err := l.rewriteTxnIndex(s, nil); err != nil {
		return fmt.Errorf("truncate %s fully: %w", l.name(), err)
	}
	if err := l.syncSegment(s); err != nil {
		return fmt.Errorf("truncate %s fully: %w", l.name(), err)
	}
	l.mu.Lock()
	l.segments = []*segment{s}
	l.leo, l.start, l.hw = offset, offset, offset
	l.epochs.entries = nil
	epochData := l.epochs.encode()
	l.mu.Unlock()
	if err := writeFileAtomic(l.dir, epochCheckpointFile, epochData); err != nil {
		return fmt.Errorf("truncate %s fully: %w", l.name(), err)
	}
	if err := l.rebuildProducerState(offset, false); err != nil {
		return fmt.Errorf("truncate %s fully: %w", l.name(), err)
	}
	l.logger.Info("truncated fully", zap.Int64("log_start_offset", offset))
	return nil
}
