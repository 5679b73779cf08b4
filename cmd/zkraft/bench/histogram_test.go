package bench

import (
	"math"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestBucketOfAndRangeAgree(t *testing.T) {
	vals := []uint64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 1 << 20, 1<<20 + 12345, 1<<40 - 1, math.MaxInt64}
	for _, v := range vals {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0,%d)", v, i, numBuckets)
		}
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d whose range is [%d,%d]", v, i, lo, hi)
		}
		if v >= subCount && float64(hi-lo+1)/float64(lo) > 1.0/halfCount+1e-12 {
			t.Errorf("bucket %d [%d,%d] wider than 1/%d of its value", i, lo, hi, halfCount)
		}
	}
	// buckets tile the number line: each starts right after the previous ends.
	for i := 1; i < numBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
	}
}

// exactQuantile is the nearest-rank definition on sorted samples.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func TestHistogramQuantile(t *testing.T) {
	lin := func(n int, step time.Duration) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i+1) * step
		}
		return out
	}
	tests := []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
		relTol  float64
	}{
		{"empty", nil, 0.5, 0, 0},
		{"single", []time.Duration{7 * time.Millisecond}, 0.99, 7 * time.Millisecond, 0},
		{"exact small values p50", lin(100, 1), 0.50, 50, 0},
		{"exact small values p99", lin(100, 1), 0.99, 99, 0},
		{"q=0 is the minimum", lin(100, 1), 0, 1, 0},
		{"q=1 is the maximum", lin(1000, time.Microsecond), 1, 1000 * time.Microsecond, 0},
		{"uniform ms p50", lin(10000, 10*time.Microsecond), 0.50, 50 * time.Millisecond, 1.0 / 128},
		{"uniform ms p99", lin(10000, 10*time.Microsecond), 0.99, 99 * time.Millisecond, 1.0 / 128},
		{"bimodal p99 in the tail", append(repeat(98, time.Millisecond), repeat(2, time.Second)...), 0.99, time.Second, 1.0 / 128},
		{"bimodal p50 in the body", append(repeat(98, time.Millisecond), repeat(2, time.Second)...), 0.50, time.Millisecond, 1.0 / 128},
		{"negative counts as zero", []time.Duration{-5, -1}, 0.5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for _, s := range tc.samples {
				h.Record(s)
			}
			if got := h.Count(); got != uint64(len(tc.samples)) {
				t.Fatalf("Count = %d, want %d", got, len(tc.samples))
			}
			got := h.Quantile(tc.q)
			if len(tc.samples) > 0 {
				sorted := append([]time.Duration(nil), tc.samples...)
				for i := range sorted {
					sorted[i] = max(sorted[i], 0)
				}
				sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
				if ex := exactQuantile(sorted, tc.q); ex != tc.want {
					t.Fatalf("test table wrong: exact quantile is %v, table says %v", ex, tc.want)
				}
			}
			diff := math.Abs(float64(got - tc.want))
			if diff > tc.relTol*float64(tc.want) {
				t.Errorf("Quantile(%v) = %v, want %v within %.2f%%", tc.q, got, tc.want, tc.relTol*100)
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{0.8, 1.2, 0.9, 5, 1.0}, 1.0},
	}
	for _, tc := range tests {
		in := append([]float64(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("median reordered its input: %v", tc.in)
			}
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}

func TestSummarizePairs(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	runs := []RunResult{
		{Target: TargetZkraft, Kind: KindPeak, RecordsPerSec: 80, CPUSecondsPerGiB: f(4)},
		{Target: TargetKfake, Kind: KindPeak, RecordsPerSec: 100, CPUSecondsPerGiB: f(2)},
		{Target: TargetZkraft, Kind: KindPeak, RecordsPerSec: 90, CPUSecondsPerGiB: f(3)},
		{Target: TargetKfake, Kind: KindPeak, RecordsPerSec: 100, CPUSecondsPerGiB: f(2)},
		{Target: TargetZkraft, Kind: KindPeak, RecordsPerSec: 120, CPUSecondsPerGiB: f(2)},
		{Target: TargetKfake, Kind: KindPeak, RecordsPerSec: 100, CPUSecondsPerGiB: f(2)},
		{Target: TargetZkraft, Kind: KindLatency, RecordsPerSec: 1}, // not a pair member
	}
	s := summarize(runs, []string{TargetZkraft, TargetKfake})
	if s.ThroughputRatio == nil || math.Abs(*s.ThroughputRatio-0.9) > 1e-9 {
		t.Errorf("ThroughputRatio = %v, want 0.9 (median of 0.8, 0.9, 1.2)", optF(s.ThroughputRatio, 3))
	}
	if s.CPURatio == nil || math.Abs(*s.CPURatio-1.5) > 1e-9 {
		t.Errorf("CPURatio = %v, want 1.5 (median of 2, 1.5, 1)", optF(s.CPURatio, 3))
	}
	if m := s.PeakMedian[TargetZkraft]; m.Runs != 3 || m.RecordsPerSec != 90 {
		t.Errorf("zkraft median = %+v, want 3 runs at 90 rec/s", m)
	}
}

func TestHistogramConcurrentRecord(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 1000; i++ {
				h.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if h.Count() != 4000 {
		t.Fatalf("Count = %d, want 4000", h.Count())
	}
	if got := h.Quantile(0); got != time.Microsecond {
		t.Errorf("min = %v, want 1µs", got)
	}
	if got := h.Quantile(1); got != 4000*time.Microsecond {
		t.Errorf("max = %v, want 4ms", got)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i%100000) * time.Microsecond)
	}
}
