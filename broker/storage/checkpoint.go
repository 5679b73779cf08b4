package storage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// hwCheckpointFile is Kafka's per-log-dir high watermark checkpoint:
//
//	0\n<count>\n<topic> <partition> <offset>\n...
const hwCheckpointFile = "replication-offset-checkpoint"

type hwEntry struct {
	tp TopicPartition
	hw int64
}

func encodeHWCheckpoint(es []hwEntry) []byte {
	sort.Slice(es, func(i, j int) bool {
		if es[i].tp.Topic != es[j].tp.Topic {
			return es[i].tp.Topic < es[j].tp.Topic
		}
		return es[i].tp.Partition < es[j].tp.Partition
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "0\n%d\n", len(es))
	for _, e := range es {
		fmt.Fprintf(&b, "%s %d %d\n", e.tp.Topic, e.tp.Partition, e.hw)
	}
	return b.Bytes()
}

// decodeHWCheckpoint parses replication-offset-checkpoint; never panics.
func decodeHWCheckpoint(data []byte) (map[TopicPartition]int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		return strings.TrimSpace(sc.Text()), true
	}
	if v, ok := next(); !ok || v != "0" {
		return nil, fmt.Errorf("%w: %s: version %q", ErrCorruptFile, hwCheckpointFile, v)
	}
	cs, _ := next()
	n, err := strconv.Atoi(cs)
	if err != nil || n < 0 || n > len(data) {
		return nil, fmt.Errorf("%w: %s: count %q", ErrCorruptFile, hwCheckpointFile, cs)
	}
	out := make(map[TopicPartition]int64, n)
	for i := 0; i < n; i++ {
		line, ok := next()
		f := strings.Fields(line)
		if !ok || len(f) != 3 {
			return nil, fmt.Errorf("%w: %s: entry %d %q", ErrCorruptFile, hwCheckpointFile, i, line)
		}
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		hw, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || hw < 0 {
			return nil, fmt.Errorf("%w: %s: entry %d %q", ErrCorruptFile, hwCheckpointFile, i, line)
		}
		out[TopicPartition{f[0], int32(p)}] = hw
	}
	return out, nil
}

// CheckpointHighWatermarks writes every log's high watermark to the
// replication-offset-checkpoint file of its log dir (Kafka does this every
// replica.high.watermark.checkpoint.interval.ms; Close does it too).
func (m *Manager) CheckpointHighWatermarks() error {
	m.mu.Lock()
	per := make(map[string][]hwEntry, len(m.cfg.Dirs))
	for tp, l := range m.logs {
		per[l.logDir] = append(per[l.logDir], hwEntry{tp, l.HighWatermark()})
	}
	m.mu.Unlock()
	var errs []error
	for _, dir := range m.cfg.Dirs {
		if err := writeFileAtomic(dir, hwCheckpointFile, encodeHWCheckpoint(per[dir])); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.CheckpointLogStartOffsets(); err != nil { // start.go
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// loadHighWatermarks applies dir's checkpoint to the logs loaded from it.
func (m *Manager) loadHighWatermarks(dir string) {
	m.loadLogStarts(dir) // start.go
	b, err := os.ReadFile(filepath.Join(dir, hwCheckpointFile))
	if err != nil {
		return
	}
	hws, err := decodeHWCheckpoint(b)
	if err != nil {
		m.logger.Warn("ignoring high watermark checkpoint", zap.String("dir", dir), zap.Error(err))
		return
	}
	for tp, hw := range hws {
		if l, ok := m.logs[tp]; ok && l.logDir == dir {
			l.SetHighWatermark(hw)
		}
	}
}
