package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"

	indexEntrySize     = 8  // relative offset u32, position u32
	timeIndexEntrySize = 12 // timestamp i64, relative offset u32
)

// indexEntry maps the last offset of a batch (relative to the segment base)
// to the file position where that batch starts, like Kafka's OffsetIndex.
type indexEntry struct {
	rel uint32
	pos uint32
}

// timeEntry says: every record up to base+rel has a timestamp <= ts, and
// base+rel is the batch holding the largest timestamp so far (Kafka's TimeIndex).
type timeEntry struct {
	ts  int64
	rel uint32
}

// segment is one .log file with its two indexes. Its fields are written by
// the appender with Log.appendMu and Log.mu held, and read with Log.mu held.
type segment struct {
	dir  string
	base int64

	size       int64 // bytes of whole batches in the .log file
	nextOffset int64 // offset after the last batch; base when empty
	maxTs      int64 // largest batch maxTimestamp, -1 when none
	maxTsOff   int64 // last offset of the batch holding maxTs

	index           []indexEntry
	tindex          []timeEntry
	bytesSinceIndex int64
	torn            bool // recovery cut a torn or corrupt tail off the .log

	// aborted is the segment's aborted transaction index (.txnindex):
	// the aborted transactions whose abort marker this .log holds, in
	// marker order (txn.go).
	aborted []abortedTxn
}

func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

func (s *segment) logPath() string   { return filepath.Join(s.dir, segmentName(s.base)+logSuffix) }
func (s *segment) indexPath() string { return filepath.Join(s.dir, segmentName(s.base)+indexSuffix) }
func (s *segment) timePath() string  { return filepath.Join(s.dir, segmentName(s.base)+timeIndexSuffix) }
func (s *segment) paths() [3]string  { return [3]string{s.logPath(), s.indexPath(), s.timePath()} }

func newSegment(dir string, base int64) *segment {
	return &segment{dir: dir, base: base, nextOffset: base, maxTs: -1, maxTsOff: base}
}

// noteBatch records a batch written at pos in the in-memory state and
// returns the index entries to persist (nil when none), following Kafka's
// LogSegment.append: an entry is added once more than interval bytes were
// written since the previous one.
func (s *segment) noteBatch(pos int64, h *BatchHeader, interval int) (*indexEntry, *timeEntry) {
	last := h.LastOffset()
	if h.MaxTimestamp > s.maxTs {
		s.maxTs, s.maxTsOff = h.MaxTimestamp, last
	}
	var ie *indexEntry
	var te *timeEntry
	if s.bytesSinceIndex > int64(interval) {
		ie = &indexEntry{rel: uint32(last - s.base), pos: uint32(pos)}
		s.index = append(s.index, *ie)
		te = s.maybeTimeEntry()
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += h.Size()
	s.size = pos + h.Size()
	s.nextOffset = last + 1
	return ie, te
}

// maybeTimeEntry appends a time index entry when the max timestamp grew
// since the last one.
func (s *segment) maybeTimeEntry() *timeEntry {
	if s.maxTs < 0 {
		return nil
	}
	if n := len(s.tindex); n > 0 && s.tindex[n-1].ts >= s.maxTs {
		return nil
	}
	te := timeEntry{ts: s.maxTs, rel: uint32(s.maxTsOff - s.base)}
	s.tindex = append(s.tindex, te)
	return &te
}

// lookup returns the file position to start scanning for offset: the
// position of the largest index entry at or below it, else 0.
func (s *segment) lookup(offset int64) int64 {
	rel := offset - s.base
	i := sort.Search(len(s.index), func(i int) bool { return int64(s.index[i].rel) > rel })
	if i == 0 {
		return 0
	}
	return int64(s.index[i-1].pos)
}

// lookupTime returns an offset such that every record before it has a
// timestamp below ts: the offset of the largest time entry with ts' < ts.
func (s *segment) lookupTime(ts int64) int64 {
	i := sort.Search(len(s.tindex), func(i int) bool { return s.tindex[i].ts >= ts })
	if i == 0 {
		return s.base
	}
	return s.base + int64(s.tindex[i-1].rel)
}

func encodeIndexEntry(e indexEntry) []byte {
	var b [indexEntrySize]byte
	binary.BigEndian.PutUint32(b[0:], e.rel)
	binary.BigEndian.PutUint32(b[4:], e.pos)
	return b[:]
}

func encodeTimeEntry(e timeEntry) []byte {
	var b [timeIndexEntrySize]byte
	binary.BigEndian.PutUint64(b[0:], uint64(e.ts))
	binary.BigEndian.PutUint32(b[8:], e.rel)
	return b[:]
}

// decodeIndex parses an .index file and checks its invariants against the
// segment's log size: whole entries, strictly increasing offsets and
// positions, positions inside the log.
func decodeIndex(b []byte, logSize int64) ([]indexEntry, error) {
	if len(b)%indexEntrySize != 0 {
		return nil, fmt.Errorf("%w: index size %d is not a multiple of %d", ErrCorruptFile, len(b), indexEntrySize)
	}
	out := make([]indexEntry, 0, len(b)/indexEntrySize)
	for i := 0; i < len(b); i += indexEntrySize {
		e := indexEntry{rel: binary.BigEndian.Uint32(b[i:]), pos: binary.BigEndian.Uint32(b[i+4:])}
		if int64(e.pos) >= logSize {
			return nil, fmt.Errorf("%w: index entry %d points at byte %d past the log end %d", ErrCorruptFile, i/indexEntrySize, e.pos, logSize)
		}
		if n := len(out); n > 0 && (e.rel <= out[n-1].rel || e.pos <= out[n-1].pos) {
			return nil, fmt.Errorf("%w: index entry %d is not increasing", ErrCorruptFile, i/indexEntrySize)
		}
		out = append(out, e)
	}
	return out, nil
}

// decodeTimeIndex parses a .timeindex file: whole entries with increasing
// timestamps and non-decreasing offsets below nextOffset.
func decodeTimeIndex(b []byte, base, nextOffset int64) ([]timeEntry, error) {
	if len(b)%timeIndexEntrySize != 0 {
		return nil, fmt.Errorf("%w: time index size %d is not a multiple of %d", ErrCorruptFile, len(b), timeIndexEntrySize)
	}
	out := make([]timeEntry, 0, len(b)/timeIndexEntrySize)
	for i := 0; i < len(b); i += timeIndexEntrySize {
		e := timeEntry{ts: int64(binary.BigEndian.Uint64(b[i:])), rel: binary.BigEndian.Uint32(b[i+8:])}
		if base+int64(e.rel) >= nextOffset || e.ts < 0 {
			return nil, fmt.Errorf("%w: time index entry %d (ts %d, offset %d) out of range", ErrCorruptFile, i/timeIndexEntrySize, e.ts, base+int64(e.rel))
		}
		if n := len(out); n > 0 && (e.ts <= out[n-1].ts || e.rel < out[n-1].rel) {
			return nil, fmt.Errorf("%w: time index entry %d is not increasing", ErrCorruptFile, i/timeIndexEntrySize)
		}
		out = append(out, e)
	}
	return out, nil
}

// errTornBatch marks the point where a scan found bytes that are not a whole
// valid batch; everything before it is good.
var errTornBatch = errors.New("torn batch")

// scanBatches reads the batches of f in [start, end) in order and calls fn
// with each one's position and header (and its bytes when verify is set,
// valid only during the call). With verify, each batch's CRC is checked. It
// returns the position after the last good batch; a torn or corrupt batch
// ends the scan with an error wrapping errTornBatch. fn returning false
// stops the scan early without error.
func scanBatches(f *os.File, start, end int64, verify bool, fn func(pos int64, h *BatchHeader, batch []byte) bool) (int64, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, start, end-start), 64<<10)
	var hdr [BatchHeaderSize]byte
	var buf []byte
	pos := start
	for pos < end {
		if end-pos < BatchHeaderSize {
			return pos, fmt.Errorf("%w: %d trailing bytes at %d", errTornBatch, end-pos, pos)
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return pos, fmt.Errorf("read batch header at %d: %w", pos, err)
		}
		h, err := ParseBatchHeader(hdr[:])
		if err != nil {
			return pos, fmt.Errorf("%w: at %d: %w", errTornBatch, pos, err)
		}
		if h.Size() > end-pos {
			return pos, fmt.Errorf("%w: batch at %d claims %d bytes, %d left", errTornBatch, pos, h.Size(), end-pos)
		}
		if h.LastOffsetDelta < 0 {
			return pos, fmt.Errorf("%w: batch at %d has last offset delta %d", errTornBatch, pos, h.LastOffsetDelta)
		}
		var batch []byte
		if verify {
			if int64(cap(buf)) < h.Size() {
				buf = make([]byte, h.Size())
			}
			batch = buf[:h.Size()]
			copy(batch, hdr[:])
			if _, err := io.ReadFull(r, batch[BatchHeaderSize:]); err != nil {
				return pos, fmt.Errorf("read batch at %d: %w", pos, err)
			}
			if _, err := checkBatch(batch); err != nil {
				return pos, fmt.Errorf("%w: at %d: %w", errTornBatch, pos, err)
			}
		} else if _, err := r.Discard(int(h.Size() - BatchHeaderSize)); err != nil {
			return pos, fmt.Errorf("skip batch at %d: %w", pos, err)
		}
		if !fn(pos, &h, batch) {
			return pos, nil
		}
		pos += h.Size()
	}
	return pos, nil
}
