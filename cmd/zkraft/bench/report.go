package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteText prints the report as an aligned table, one row per run, then the summary.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\ttarget\tkind\trate/s\tsent\tacked\tfailed\tsecs\trec/s\tMiB/s\tp50 ms\tp99 ms\tcpu-s\tcpu-s/GiB\t")
	for _, x := range r.Runs {
		rate := "max"
		if x.Rate > 0 {
			rate = fmt.Sprintf("%.0f", x.Rate)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%.2f\t%.0f\t%.1f\t%.2f\t%.2f\t%s\t%s\t\n",
			x.Index, x.Target, x.Kind, rate, x.Sent, x.Acked, x.Failed, x.Seconds,
			x.RecordsPerSec, x.MiBPerSec, x.P50Ms, x.P99Ms, optF(x.BrokerCPUSeconds, 2), optF(x.CPUSecondsPerGiB, 2))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range r.Runs {
		if x.FirstError != "" {
			fmt.Fprintf(w, "run %d: first error: %s\n", x.Index, x.FirstError)
		}
		if x.BrokerExit != "" {
			fmt.Fprintf(w, "run %d: broker exit: %s\n", x.Index, x.BrokerExit)
		}
	}

	fmt.Fprintf(w, "\nworkload: %d-byte records (no key, no compression), acks=%s, %d partitions, linger %s, cap %d records / %s per run\n",
		r.RecordSize, r.Acks, r.Partitions, r.Linger, r.Records, r.Duration)
	if r.Disk != nil {
		fmt.Fprintf(w, "disk: sequential write %.1f MiB/s (%d x 1 MiB writes + fsync in %s, %.2f s)\n",
			r.Disk.MiBPerSec, r.Disk.MiB, r.Disk.Dir, r.Disk.Seconds)
	}
	s := r.Summary
	for _, tg := range reportTargets() {
		m, ok := s.PeakMedian[tg]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "%s: median of %d runs: %.0f rec/s, %.1f MiB/s, p99 %.2f ms, cpu %s s/GiB\n",
			tg, m.Runs, m.RecordsPerSec, m.MiBPerSec, m.P99Ms, optF(m.CPUSecondsPerGiB, 2))
	}
	if s.ThroughputRatio != nil {
		fmt.Fprintf(w, "zkraft/kfake throughput: %.2fx (median over pairs)\n", *s.ThroughputRatio)
	}
	if s.CPURatio != nil {
		fmt.Fprintf(w, "zkraft/kfake cpu per GiB: %.2fx (median over pairs)\n", *s.CPURatio)
	}
	for _, p := range benchProtocols[1:] {
		if v, ok := s.ProtocolRatio[p]; ok {
			fmt.Fprintf(w, "%s/PLAINTEXT throughput: %.2fx (median over pairs)", p, v)
			if c, ok := s.ProtocolCPURatio[p]; ok {
				fmt.Fprintf(w, ", cpu per GiB %.2fx", c)
			}
			fmt.Fprintln(w)
		}
	}
	if s.LatencyRate > 0 {
		fmt.Fprintf(w, "latency at %.0f rec/s:", s.LatencyRate)
		for _, tg := range reportTargets() {
			if l, ok := s.Latency[tg]; ok {
				fmt.Fprintf(w, "  %s p50 %.2f ms p99 %.2f ms", tg, l.P50Ms, l.P99Ms)
			}
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "cpu: utime+stime of the broker process from /proc/<pid>/stat, assuming %d clock ticks/s (USER_HZ)\n",
		r.ClockTicksPerSecond)
	return err
}

// WriteJSON prints the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func optF(p *float64, prec int) string {
	if p == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*p, 'f', prec, 64)
}

// reportTargets are the targets in the order the text report shows them.
func reportTargets() []string {
	out := []string{TargetZkraft, TargetKfake}
	for _, p := range benchProtocols[1:] {
		out = append(out, TargetZkraft+"/"+p)
	}
	return out
}
