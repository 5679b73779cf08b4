package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

const (
	epochCheckpointFile    = "leader-epoch-checkpoint"
	epochCheckpointVersion = 0
)

// EpochEntry says that leader epoch Epoch wrote its first batch at StartOffset.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is Kafka's LeaderEpochFileCache: the (epoch, start offset)
// pairs of a partition, increasing in both. Owned by the Log (appendMu to
// change, mu to read).
type epochCache struct {
	entries []EpochEntry
}

func (c *epochCache) latest() (EpochEntry, bool) {
	if len(c.entries) == 0 {
		return EpochEntry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// assign records that epoch starts at offset; it reports whether anything
// changed. Lower or equal epochs are ignored, as Kafka does.
func (c *epochCache) assign(epoch int32, offset int64) bool {
	if epoch < 0 {
		return false
	}
	if last, ok := c.latest(); ok && epoch <= last.Epoch {
		return false
	}
	// Entries at or past offset were from a truncated history.
	c.truncateFromEnd(offset)
	c.entries = append(c.entries, EpochEntry{Epoch: epoch, StartOffset: offset})
	return true
}

// truncateFromEnd drops entries starting at or after endOffset.
func (c *epochCache) truncateFromEnd(endOffset int64) bool {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= endOffset {
		n--
	}
	changed := n != len(c.entries)
	c.entries = c.entries[:n]
	return changed
}

// truncateFromStart drops entries wholly before startOffset, moving the
// last of them up to startOffset (Kafka's truncateFromStart).
func (c *epochCache) truncateFromStart(startOffset int64) bool {
	i := 0
	for i+1 < len(c.entries) && c.entries[i+1].StartOffset <= startOffset {
		i++
	}
	changed := i > 0
	c.entries = c.entries[i:]
	if len(c.entries) > 0 && c.entries[0].StartOffset < startOffset {
		c.entries[0].StartOffset = startOffset
		changed = true
	}
	return changed
}

// endOffsetFor answers OffsetForLeaderEpoch as Kafka's
// LeaderEpochFileCache.endOffsetFor does: the largest epoch <= epoch and the
// start offset of the epoch after it, or logEnd when that is the latest
// epoch. An epoch older than every entry answers (epoch, start offset of the
// first entry): whatever lay before it is gone from the log. An undefined
// epoch (< 0) or an empty cache answers (-1, -1).
//
// One difference: Kafka's leader adds its epoch to the cache when it becomes
// leader, ours at its first append, so an epoch newer than the latest entry
// is the current leader's that has not written yet. Its records end at
// logEnd, which is what this answers (Kafka, never asked, answers -1, -1).
func (c *epochCache) endOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	if epoch < 0 || len(c.entries) == 0 {
		return -1, -1
	}
	for i := len(c.entries) - 1; i >= 0; i-- {
		if c.entries[i].Epoch <= epoch {
			if i == len(c.entries)-1 {
				return c.entries[i].Epoch, logEnd
			}
			return c.entries[i].Epoch, c.entries[i+1].StartOffset
		}
	}
	return epoch, c.entries[0].StartOffset
}

// encode writes Kafka's checkpoint text format: version, count, then
// "<epoch> <startOffset>" per line.
func (c *epochCache) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", epochCheckpointVersion, len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return b.Bytes()
}

// decodeEpochCheckpoint parses a leader-epoch-checkpoint file; never panics.
func decodeEpochCheckpoint(data []byte) ([]EpochEntry, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := func(what string) (string, error) {
		if !sc.Scan() {
			return "", fmt.Errorf("%w: leader-epoch-checkpoint: missing %s", ErrCorruptFile, what)
		}
		return strings.TrimSpace(sc.Text()), nil
	}
	v, err := line("version")
	if err != nil {
		return nil, err
	}
	if v != strconv.Itoa(epochCheckpointVersion) {
		return nil, fmt.Errorf("%w: leader-epoch-checkpoint: version %q", ErrCorruptFile, v)
	}
	cs, err := line("count")
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(cs)
	if err != nil || n < 0 || n > len(data) {
		return nil, fmt.Errorf("%w: leader-epoch-checkpoint: count %q", ErrCorruptFile, cs)
	}
	out := make([]EpochEntry, 0, n)
	for i := 0; i < n; i++ {
		l, err := line(fmt.Sprintf("entry %d", i))
		if err != nil {
			return nil, err
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: leader-epoch-checkpoint: entry %d %q", ErrCorruptFile, i, l)
		}
		ep, err1 := strconv.ParseInt(f[0], 10, 32)
		off, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || ep < 0 || off < 0 {
			return nil, fmt.Errorf("%w: leader-epoch-checkpoint: entry %d %q", ErrCorruptFile, i, l)
		}
		if k := len(out); k > 0 && (int32(ep) <= out[k-1].Epoch || off < out[k-1].StartOffset) {
			return nil, fmt.Errorf("%w: leader-epoch-checkpoint: entry %d not increasing", ErrCorruptFile, i)
		}
		out = append(out, EpochEntry{Epoch: int32(ep), StartOffset: off})
	}
	if sc.Scan() && strings.TrimSpace(sc.Text()) != "" {
		return nil, fmt.Errorf("%w: leader-epoch-checkpoint: trailing data", ErrCorruptFile)
	}
	return out, nil
}
