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
// means no producers, so nothing is scanned. appendMu held.
func (l *Log) rebuildProducerState(leo int64, clean bool) error {
	for len(l.snapshots) > 0 && l.snapshots[len(l.snapshots)-1] > leo {
		_ = os.Remove(filepath.Join(l.dir, snapshotName(l.snapshots[len(l.snapshots)-1])))
		l.snapshots = l.snapshots[:len(l.snapshots)-1]
	}
	ps, from := newProducerState(), int64(-1)
	for i := len(l.snapshots) - 1; i >= 0 && from < 0; i-- {
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
	if from == leo || clean && from < 0 {
		l.producers = ps
		return nil
	}
	l.mu.RLock()
	segs := l.segments
	l.mu.RUnlock()
	for _, s := range segs {
		if s.nextOffset <= from || s.size == 0 {
			continue
		}
		pos := int64(0)
		if from > s.base {
			pos = s.lookup(from)
		}
		err := l.cache.withFile(s.logPath(), false, func(f *os.File) error {
			_, err := scanBatches(f, pos, s.size, false, func(_ int64, h *BatchHeader, _ []byte) bool {
				if h.BaseOffset >= from {
					ps.load(h)
				}
				return true
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("rebuild producer state from segment %d: %w", s.base, err)
		}
	}
	l.producers = ps
	return nil
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
	for _, e := range entries {
		n := e.Name()
		switch {
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
