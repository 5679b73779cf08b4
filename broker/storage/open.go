package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

const (
	partitionMetadataFile = "partition.metadata"
	tmpSuffix             = ".tmp"
	keepSnapshots         = 2
)

// parsePartitionDir splits "<topic>-<partition>" at the last dash.
func parsePartitionDir(name string) (string, int32, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return "", 0, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || validateTopic(name[:i]) != nil {
		return "", 0, false
	}
	return name[:i], int32(p), true
}

// validateTopic applies Kafka's Topic.validate rules.
func validateTopic(t string) error {
	if t == "" || t == "." || t == ".." || len(t) > 249 {
		return fmt.Errorf("%w: %q", ErrInvalidTopic, t)
	}
	for _, c := range []byte(t) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q holds %q", ErrInvalidTopic, t, c)
		}
	}
	return nil
}

// encodePartitionMetadata writes Kafka's partition.metadata text.
func encodePartitionMetadata(id metadata.Uuid) []byte {
	return []byte("version: 0\ntopic_id: " + id.String() + "\n")
}

func decodePartitionMetadata(b []byte) (metadata.Uuid, error) {
	var id metadata.Uuid
	var version, topicID string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "version":
			version = strings.TrimSpace(v)
		case "topic_id":
			topicID = strings.TrimSpace(v)
		}
	}
	if version != "0" {
		return id, fmt.Errorf("%w: partition.metadata version %q", ErrCorruptFile, version)
	}
	id, err := metadata.ParseUuid(topicID)
	if err != nil {
		return id, fmt.Errorf("%w: partition.metadata topic_id %q: %w", ErrCorruptFile, topicID, err)
	}
	return id, nil
}

// writeFileAtomic writes dir/name through a temporary file, fsync and
// rename, as Kafka's CheckpointFile does.
func writeFileAtomic(dir, name string, data []byte) error { return writeFile(dir, name, data, true) }

// writeFile writes dir/name through a temporary file and rename, with an
// fsync before the rename when sync is set.
func writeFile(dir, name string, data []byte, sync bool) error {
	tmp := filepath.Join(dir, name+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s in %s: %w", name, dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

func snapshotName(offset int64) string { return segmentName(offset) + snapshotSuffix }

// writeProducerSnapshot saves the producer state as of offset. appendMu
// held. Without sync the caller makes it durable (Manager.Close's syncfs).
func (l *Log) writeProducerSnapshot(offset int64, sync bool) error {
	if err := writeFile(l.dir, snapshotName(offset), l.producers.encode(), sync); err != nil {
		return err
	}
	i := sort.Search(len(l.snapshots), func(i int) bool { return l.snapshots[i] >= offset })
	if i == len(l.snapshots) || l.snapshots[i] != offset {
		l.snapshots = append(l.snapshots[:i], append([]int64{offset}, l.snapshots[i:]...)...)
	}
	for len(l.snapshots) > keepSnapshots {
		_ = os.Remove(filepath.Join(l.dir, snapshotName(l.snapshots[0])))
		l.snapshots = l.snapshots[1:]
	}
	return nil
}

// rebuildProducerState loads the newest usable snapshot at or below leo and
// replays the batch headers after it (Kafka's loadProducerState). Snapshots
// past leo are deleted. After a clean shutdown (clean) a missing snapshot
// means no producers, so nothing is scanned. The replay also re-derives the
// aborted transaction index entries of the segments it reads (a kill -9
// may have lost their writes); when an index was lost or corrupt
// (l.txnIndexLost) the snapshots are ignored and the whole log is
// replayed, rebuilding every index. The ongoing transactions are then
// published to readers. appendMu held.
func (l *Log) rebuildProducerState(leo int64, clean bool) error {
	for len(l.snapshots) > 0 && l.snapshots[len(l.snapshots)-1] > leo {
		_ = os.Remove(filepath.Join(l.dir, snapshotName(l.snapshots[len(l.snapshots)-1])))
		l.snapshots = l.snapshots[:len(l.snapshots)-1]
	}
	full := l.txnIndexLost
	ps, from := newProducerState(), int64(-1)
	for i := len(l.snapshots) - 1; i >= 0 && from < 0 && !full; i-- {
		b, err := os.ReadFile(filepath.Join(l.dir, snapshotName(l.snapshots[i])))
		if err == nil {
			var dps *producerState
			if dps, err = decodeProducerSnapshot(b); err == nil {
				ps, from = dps, l.snapshots[i]
				break
			}
		}
		l.logger.Warn("producer snapshot unusable", zap.Int64("offset", l.snapshots[i]), zap.Error(err))
	}
	ongoing := make(map[int64]int64)
	for id, e := range ps.producers {
		if e.txnFirstOffset >= 0 {
			ongoing[id] = e.txnFirstOffset
		}
	}
	var unreplicated []completedTxn
	l.mu.RLock()
	segs, hw := l.segments, l.hw
	l.mu.RUnlock()
	if full {
		l.mu.Lock()
		for _, s := range segs {
			s.aborted = nil // rebuilt below
		}
		l.mu.Unlock()
	}
	if !(from == leo || clean && from < 0 && !full) {
		for _, s := range segs {
			if s.nextOffset <= from || s.size == 0 {
				continue
			}
			pos := int64(0)
			if from > s.base {
				pos = s.lookup(from)
			}
			var found []abortedTxn
			err := l.cache.withFile(s.logPath(), false, func(f *os.File) error {
				var rerr error
				_, err := scanBatches(f, pos, s.size, false, func(at int64, h *BatchHeader, _ []byte) bool {
					if h.BaseOffset < from {
						return true
					}
					var batch []byte
					if h.IsControlBatch() && h.ProducerID >= 0 {
						batch = make([]byte, h.Size())
						if _, rerr = f.ReadAt(batch, at); rerr != nil {
							return false
						}
					}
					c, done := ps.load(h, batch)
					switch {
					case done:
						delete(ongoing, c.producerID)
						if c.lastOffset >= hw {
							unreplicated = append(unreplicated, c)
						}
						if c.aborted {
							found = append(found, abortedTxn{producerID: c.producerID, firstOffset: c.firstOffset,
								lastOffset: c.lastOffset, lastStableOffset: (&txnState{ongoing: ongoing}).nextIncomplete(c.lastOffset + 1)})
						}
					case h.ProducerID >= 0 && h.IsTransactional():
						if _, ok := ongoing[h.ProducerID]; !ok {
							ongoing[h.ProducerID] = h.BaseOffset
						}
					}
					return true
				})
				if rerr != nil {
					return rerr
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("rebuild producer state from segment %d: %w", s.base, err)
			}
			if merged, changed := mergeAborted(s.aborted, found); changed || full {
				l.mu.Lock()
				s.aborted = merged
				l.mu.Unlock()
				if err := l.rewriteTxnIndex(s, merged); err != nil {
					return fmt.Errorf("rebuild txn index of segment %d: %w", s.base, err)
				}
			}
		}
	}
	l.txnIndexLost = false
	l.producers = ps
	l.mu.Lock()
	l.txns = txnState{ongoing: ongoing, unreplicated: unreplicated}
	l.mu.Unlock()
	return nil
}

// mergeAborted adds the entries of found (in marker order) that held lacks,
// keeping marker order. changed reports whether any was added.
func mergeAborted(held, found []abortedTxn) ([]abortedTxn, bool) {
	have := make(map[int64]bool, len(held))
	for _, a := range held {
		have[a.lastOffset] = true
	}
	out := append([]abortedTxn(nil), held...)
	changed := false
	for _, a := range found {
		if !have[a.lastOffset] {
			out = append(out, a)
			changed = true
		}
	}
	if changed {
		sort.Slice(out, func(i, j int) bool { return out[i].lastOffset < out[j].lastOffset })
	}
	return out, changed
}

// loadTxnIndexes reads each segment's .txnindex (absent = no aborted
// transaction) and deletes those of no segment. A corrupt one sets
// txnIndexLost: rebuildProducerState then rebuilds them all from the log.
func (l *Log) loadTxnIndexes(names []string) {
	have := make(map[int64]*segment, len(l.segments))
	for _, s := range l.segments {
		have[s.base] = s
	}
	for _, n := range names {
		b, err := strconv.ParseInt(strings.TrimSuffix(n, txnIndexSuffix), 10, 64)
		s, ok := have[b]
		if err != nil || !ok {
			_ = os.Remove(filepath.Join(l.dir, n))
			continue
		}
		data, err := os.ReadFile(s.txnIndexPath())
		if err == nil {
			s.aborted, err = decodeTxnIndex(data, s.base, s.nextOffset)
		}
		if err != nil {
			l.logger.Warn("txn index unusable, rebuilding from the log", zap.Int64("segment", s.base), zap.Error(err))
			s.aborted = nil
			l.txnIndexLost = true
		}
	}
}

// openLog loads the partition directory dir. clean says the log directory
// was shut down cleanly; otherwise the active segment is recovered.
func (m *Manager) openLog(logDir, name string, clean bool) (*Log, error) {
	topic, partition, ok := parsePartitionDir(name)
	if !ok {
		return nil, fmt.Errorf("%w: directory name %q is not <topic>-<partition>", ErrInvalidTopic, name)
	}
	l := m.newLog(logDir, topic, partition)
	if err := l.recoverCleanerFiles(); err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	var bases []int64
	var txnIndexes []string
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, txnIndexSuffix):
			txnIndexes = append(txnIndexes, n)
		case strings.HasSuffix(n, tmpSuffix):
			_ = os.Remove(filepath.Join(l.dir, n))
		case strings.HasSuffix(n, logSuffix):
			if b, err := strconv.ParseInt(strings.TrimSuffix(n, logSuffix), 10, 64); err == nil && b >= 0 {
				bases = append(bases, b)
			}
		case strings.HasSuffix(n, snapshotSuffix):
			if b, err := strconv.ParseInt(strings.TrimSuffix(n, snapshotSuffix), 10, 64); err == nil && b >= 0 {
				l.snapshots = append(l.snapshots, b)
			}
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	sort.Slice(l.snapshots, func(i, j int) bool { return l.snapshots[i] < l.snapshots[j] })

	if b, err := os.ReadFile(filepath.Join(l.dir, partitionMetadataFile)); err == nil {
		if l.topicID, err = decodePartitionMetadata(b); err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}

	if len(bases) == 0 {
		s := newSegment(l.dir, 0)
		for _, p := range s.paths() {
			if err := m.cache.withFile(p, true, func(*os.File) error { return nil }); err != nil {
				return nil, fmt.Errorf("open %s: %w", name, err)
			}
		}
		l.segments = []*segment{s}
	}
	for i, base := range bases {
		active := i == len(bases)-1
		next := int64(-1)
		if !active {
			next = bases[i+1]
		}
		s, err := l.loadSegment(base, next, active && !clean)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		l.segments = append(l.segments, s)
		if !active && s.nextOffset < next && !s.torn {
			s.nextOffset = next // the cleaner removed the segment's last records: a gap
		}
		if !active && s.nextOffset < next {
			// A torn batch inside an older segment: later segments would
			// leave a gap, so they go too (Kafka's recovery does the same).
			l.logger.Error("deleting segments after a corrupt one", zap.Int64("segment", base), zap.Int("deleted", len(bases)-i-1))
			for _, b := range bases[i+1:] {
				l.removeSegmentFiles(newSegment(l.dir, b))
			}
			break
		}
	}
	l.leo = l.segments[len(l.segments)-1].nextOffset
	l.loadTxnIndexes(txnIndexes)

	if b, err := os.ReadFile(filepath.Join(l.dir, epochCheckpointFile)); err == nil {
		if l.epochs.entries, err = decodeEpochCheckpoint(b); err != nil {
			l.logger.Warn("leader epoch checkpoint unreadable, starting empty", zap.Error(err))
		}
	}
	c1 := l.epochs.truncateFromEnd(l.leo)
	c2 := l.epochs.truncateFromStart(l.segments[0].base)
	if c1 || c2 {
		if err := writeFileAtomic(l.dir, epochCheckpointFile, l.epochs.encode()); err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
	}
	if err := l.rebuildProducerState(l.leo, clean); err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return l, nil
}

// loadSegment builds one segment's in-memory state. next is the following
// segment's base (-1 for the active one). recover scans and CRC-checks the
// whole log file, truncating a torn tail.
func (l *Log) loadSegment(base, next int64, recover bool) (*segment, error) {
	s := newSegment(l.dir, base)
	fi, err := os.Stat(s.logPath())
	if err != nil {
		return nil, fmt.Errorf("segment %d: %w", base, err)
	}
	size := fi.Size()
	if recover {
		return l.recoverSegment(base, size, true)
	}
	s.size = size
	ib, ierr := os.ReadFile(s.indexPath())
	if ierr == nil {
		s.index, ierr = decodeIndex(ib, size)
	}
	if ierr == nil && len(s.index) == 0 && size > 2*int64(l.interval) {
		ierr = fmt.Errorf("%w: empty index for %d log bytes", ErrCorruptFile, size)
	}
	if ierr != nil {
		l.logger.Warn("rebuilding offset index", zap.Int64("segment", base), zap.Error(ierr))
		return l.recoverSegment(base, size, false)
	}
	if next >= 0 {
		s.nextOffset = next
		if n := len(s.index); n > 0 && base+int64(s.index[n-1].rel) >= next {
			l.logger.Warn("rebuilding offset index past the next segment", zap.Int64("segment", base))
			return l.recoverSegment(base, size, false)
		}
	} else {
		// Active segment after a clean shutdown: scan the tail after the
		// last index entry for the log end offset and max timestamp.
		from := int64(0)
		if n := len(s.index); n > 0 {
			from = int64(s.index[n-1].pos)
		}
		var torn error
		err := l.cache.withFile(s.logPath(), false, func(f *os.File) error {
			end, err := scanBatches(f, from, size, false, func(pos int64, h *BatchHeader, _ []byte) bool {
				if h.MaxTimestamp > s.maxTs {
					s.maxTs, s.maxTsOff = h.MaxTimestamp, h.LastOffset()
				}
				s.nextOffset = h.LastOffset() + 1
				return true
			})
			if errors.Is(err, errTornBatch) || err == nil && end != size {
				torn = fmt.Errorf("tail scan stopped at %d of %d: %v", end, size, err)
				return nil
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", base, err)
		}
		if torn != nil {
			l.logger.Warn("clean segment has a torn tail, recovering", zap.Int64("segment", base), zap.Error(torn))
			return l.recoverSegment(base, size, true)
		}
		s.bytesSinceIndex = size - from
	}
	tb, terr := os.ReadFile(s.timePath())
	if terr == nil {
		s.tindex, terr = decodeTimeIndex(tb, base, s.nextOffset)
	}
	if terr != nil {
		l.logger.Warn("rebuilding time index", zap.Int64("segment", base), zap.Error(terr))
		return l.recoverSegment(base, size, false)
	}
	if n := len(s.tindex); n > 0 && s.tindex[n-1].ts > s.maxTs {
		s.maxTs, s.maxTsOff = s.tindex[n-1].ts, base+int64(s.tindex[n-1].rel)
	}
	return s, nil
}

// recoverSegment rebuilds a segment from its log file and logs what was cut.
func (l *Log) recoverSegment(base, size int64, verify bool) (*segment, error) {
	s, tail, err := l.rebuildSegment(base, size, verify)
	if err != nil {
		return nil, err
	}
	s.torn = tail != ""
	if tail != "" {
		l.logger.Warn("truncated corrupt log tail",
			zap.Int64("segment", base), zap.Int64("valid_bytes", s.size),
			zap.Int64("truncated_bytes", size-s.size), zap.String("reason", tail))
	} else if verify {
		l.logger.Debug("recovered segment", zap.Int64("segment", base), zap.Int64("bytes", s.size), zap.Int64("next_offset", s.nextOffset))
	}
	return s, nil
}
