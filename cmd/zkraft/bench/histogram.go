package bench

import (
	"math"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Histogram of durations with log-linear buckets (the HdrHistogram idea): values below
// 2^subBits ns are exact; above, each power of two is split into 2^(subBits-1) equal buckets,
// so a bucket is at most 1/64 of its values wide and a quantile, reported as its bucket's
// middle, is within 1/128 (< 0.8%) of the true sample value. The zero value is ready to use.
// Record is safe for concurrent use; read quantiles after the writers are done.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64

	mu       sync.Mutex // guards min and max
	min, max int64
}

const (
	subBits    = 7
	subCount   = 1 << subBits // values below this are exact
	halfCount  = subCount / 2 // buckets per power of two above that
	numBuckets = subCount + halfCount*(64-subBits)
)

// bucketOf maps v >= 0 to its bucket index.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	// shift so the top subBits bits remain: top is in [halfCount, subCount).
	shift := bits.Len64(v) - subBits
	top := v >> uint(shift)
	return subCount + (shift-1)*halfCount + int(top-halfCount)
}

// bucketRange returns the smallest and largest value that map to bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	j := i - subCount
	shift := j/halfCount + 1
	top := uint64(j%halfCount + halfCount)
	lo = top << uint(shift)
	hi = lo + (uint64(1) << uint(shift)) - 1
	return lo, hi
}

// Record adds one sample; negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.mu.Lock()
	if h.n.Load() == 0 || v < h.min {
		h.min = v
	}
	if h.n.Load() == 0 || v > h.max {
		h.max = v
	}
	h.n.Add(1) // under mu, so n == 0 means min and max are unset
	h.mu.Unlock()
	h.counts[bucketOf(uint64(v))].Add(1)
}

// Count is the number of samples recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Quantile returns the nearest-rank q-quantile (0 <= q <= 1): the smallest sample s such that
// at least ceil(q*n) samples are <= s, approximated by the middle of its bucket and clamped to
// the observed min and max. Quantile(0) and Quantile(1) are the exact min and max. An empty
// histogram returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	h.mu.Lock()
	lowest, highest := h.min, h.max
	h.mu.Unlock()
	if q <= 0 {
		return time.Duration(lowest)
	}
	if q >= 1 {
		return time.Duration(highest)
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			lo, hi := bucketRange(i)
			mid := int64(lo + (hi-lo)/2)
			return time.Duration(max(lowest, min(mid, highest)))
		}
	}
	return time.Duration(highest)
}

// median returns the median of xs (mean of the two middle values for an even count), or NaN
// for none. xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
