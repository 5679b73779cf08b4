package storage

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// Records is what ReadRecords found: whole batches as byte ranges of
// segment files, in offset order, possibly spanning segments. The files
// stay open (pinned in the handle cache) until Release, so a segment that
// retention deletes or the cleaner swaps meanwhile still reads as it was
// (the open descriptor keeps the inode). TruncateTo cuts the active file in
// place: a range past the cut then reads short, which AppendTo reports as
// ErrTruncatedRead and which a sendfile writer must treat the same way
// (close the connection rather than send a torn frame).
//
// A nil *Records is empty. Records is not safe for concurrent use.
type Records struct {
	cache *fileCache
	parts []recordsPart
	size  int64
}

type recordsPart struct {
	cf     *cachedFile
	pos, n int64
}

// Len is the number of record bytes.
func (r *Records) Len() int64 {
	if r == nil {
		return 0
	}
	return r.size
}

// NumParts is the number of file ranges (one per segment read).
func (r *Records) NumParts() int {
	if r == nil {
		return 0
	}
	return len(r.parts)
}

// Part returns range i: n bytes of f at off. f is valid until Release;
// read it only with positioned reads (ReadAt, sendfile with an offset),
// never through its shared file offset.
func (r *Records) Part(i int) (f *os.File, off, n int64) {
	p := r.parts[i]
	return p.cf.f, p.pos, p.n
}

// AppendTo appends the record bytes to dst (a copy: tests, the group
// coordinator's load, the pooled-buffer fallback of callers that need bytes).
func (r *Records) AppendTo(dst []byte) ([]byte, error) {
	if r == nil {
		return dst, nil
	}
	for _, p := range r.parts {
		start := len(dst)
		dst = append(dst, make([]byte, p.n)...)
		n, err := p.cf.f.ReadAt(dst[start:], p.pos)
		if int64(n) < p.n {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("%w: %s: %d of %d bytes at %d", ErrTruncatedRead, p.cf.path, n, p.n, p.pos)
			}
			return dst[:start], err
		}
	}
	return dst, nil
}

// Release unpins the files. It may be called more than once.
func (r *Records) Release() {
	if r == nil {
		return
	}
	for _, p := range r.parts {
		r.cache.release(p.cf)
	}
	r.parts, r.size = nil, 0
}

// ReadRecords locates whole raw batches starting with the one holding
// offset: up to maxBytes, but always at least one batch (KIP-74), none
// whose base offset is >= maxOffset (the high watermark for consumers),
// continuing into the next segments while maxBytes allows. Nothing is
// copied: the caller sends the ranges (sendfile) and then calls Release.
// offset == LogEndOffset yields an empty result; below LogStartOffset or
// past LogEndOffset is ErrOffsetOutOfRange.
//
// Batch boundaries come from the in-memory offset index (every index
// position starts a batch) and from 61-byte header reads (pread) for the
// few batches between index entries.
func (l *Log) ReadRecords(offset int64, maxBytes int32, maxOffset int64) (*Records, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, fmt.Errorf("read %s: %w", l.name(), ErrClosed)
	}
	start := l.startLocked()
	if offset < start || offset > l.leo {
		return nil, fmt.Errorf("read %s at %d: %w: log holds [%d, %d)", l.name(), offset, ErrOffsetOutOfRange, start, l.leo)
	}
	recs := &Records{cache: l.cache}
	if offset == l.leo || offset >= maxOffset {
		return recs, nil
	}
	budget := int64(maxBytes)
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset }) - 1
	first := true
	for ; i < len(l.segments); i++ {
		s := l.segments[i]
		if offset >= s.nextOffset || s.size == 0 {
			continue // a compacted segment's tail gap, or an empty active segment
		}
		if s.base >= maxOffset {
			break
		}
		cf, err := l.cache.acquire(s.logPath(), false)
		if err != nil {
			recs.Release()
			return nil, fmt.Errorf("read %s segment %d at %d: %w", l.name(), s.base, offset, err)
		}
		at, end, err := sliceSegment(cf.f, s, offset, budget, maxOffset, first)
		if err != nil {
			l.cache.release(cf)
			recs.Release()
			return nil, fmt.Errorf("read %s segment %d at %d: %w", l.name(), s.base, offset, err)
		}
		if end <= at {
			l.cache.release(cf)
			if at < 0 {
				continue // offset lies past this segment's batches (compacted away)
			}
			break
		}
		recs.parts = append(recs.parts, recordsPart{cf: cf, pos: at, n: end - at})
		recs.size += end - at
		budget -= end - at
		first = false
		if end < s.size || budget <= 0 {
			break
		}
		offset = s.nextOffset // go on from the next segment's first batch
	}
	return recs, nil
}

// sliceSegment returns the byte range [at, end) of s's whole batches to
// send for a read at offset: the batch holding offset (or the first after
// it) and those following while they fit in budget bytes and start below
// maxOffset; with first, the first batch is taken whatever its size. at is
// -1 when no batch of s holds offset or a later one. Log.mu held (s.size
// and s.index are stable; bytes past s.size are never read).
func sliceSegment(f *os.File, s *segment, offset, budget, maxOffset int64, first bool) (at, end int64, err error) {
	var hdr [BatchHeaderSize]byte
	header := func(pos int64) (BatchHeader, error) {
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			return BatchHeader{}, fmt.Errorf("read batch header at %d: %w", pos, err)
		}
		h, err := ParseBatchHeader(hdr[:])
		if err != nil {
			return h, fmt.Errorf("batch at %d: %w", pos, err)
		}
		if pos+h.Size() > s.size {
			return h, fmt.Errorf("%w: batch at %d claims %d bytes, segment holds %d", ErrCorruptMessage, pos, h.Size(), s.size)
		}
		return h, nil
	}
	at = -1
	var h0 BatchHeader
	for pos := s.lookup(offset); pos < s.size; {
		h, err := header(pos)
		if err != nil {
			return 0, 0, err
		}
		if h.LastOffset() >= offset {
			at, h0 = pos, h
			break
		}
		pos += h.Size()
	}
	if at < 0 {
		return -1, -1, nil
	}
	if h0.BaseOffset >= maxOffset || (!first && h0.Size() > budget) {
		return at, at, nil
	}
	end = at + h0.Size()
	limit := at + max(budget, h0.Size())
	if limit < 0 { // overflow: no bound
		limit = math.MaxInt64
	}
	if limit >= s.size && maxOffset >= s.nextOffset {
		return at, s.size, nil // the rest of the segment: no header to read
	}
	// Jump with the index: every entry's position starts a batch, and the
	// batches before an entry whose last offset is below maxOffset all
	// start below it too.
	j := sort.Search(len(s.index), func(j int) bool { return int64(s.index[j].pos) > limit }) - 1
	k := sort.Search(len(s.index), func(k int) bool { return s.base+int64(s.index[k].rel) >= maxOffset })
	j = min(j, k-1)
	if j >= 0 && int64(s.index[j].pos) > end {
		end = int64(s.index[j].pos)
	}
	for end < s.size {
		h, err := header(end)
		if err != nil {
			return 0, 0, err
		}
		if h.BaseOffset >= maxOffset || end+h.Size() > limit {
			break
		}
		end += h.Size()
	}
	return at, end, nil
}
