package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"
)

// Replication kinds a cluster run measures.
const (
	clusterRF3 = "rf3" // replication factor 3, min.insync.replicas 2
	clusterRF1 = "rf1" // replication factor 1, min.insync.replicas 1
)

// ClusterConfig configures `zkraft bench cluster`. Each field is one flag (named in its comment).
type ClusterConfig struct {
	Partitions      int32         // --partitions: partitions of each topic
	RecordSize      int           // --record-size: value bytes per record
	Records         int64         // --records: cap per run
	Duration        time.Duration // --duration: cap per run
	Linger          time.Duration // --linger: kgo ProducerLinger
	Pairs           int           // --pairs: alternating RF 3 / RF 1 peak runs (0 only with --latency-rate)
	LatencyFraction float64       // --latency-fraction: then one run per RF at this fraction of the RF 3 median peak; 0 = none
	LatencyRate     float64       // --latency-rate: the latency runs' rate in records/s instead of the fraction of the peak; 0 = use the fraction
	LatencyRuns     int           // --latency-runs: alternating RF 3 / RF 1 latency runs (each RF this many times)
	PerfRecord      string        // --perf-record DIR: `perf record -g` the three brokers during each latency run into DIR
	ZkraftBinary    string        // --zkraft-binary
	Dir             string        // --dir
	StartTimeout    time.Duration // --start-timeout
	JSON            bool          // --json
	Keep            bool          // --keep: leave the nodes' dirs and logs
	Overrides       []string      // --zkraft-override key=value for the brokers (repeatable)
}

// DefaultClusterConfig: 12 partitions, 1 KiB records, 10 s or 1,000,000 records per run, 3 pairs.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{Partitions: 12, RecordSize: 1024, Records: 1_000_000, Duration: 10 * time.Second,
		Linger: 5 * time.Millisecond, Pairs: 3, LatencyFraction: 0.33, LatencyRuns: 1, Dir: os.TempDir(), StartTimeout: 60 * time.Second}
}

// Validate names the flag at fault.
func (c ClusterConfig) Validate() error {
	p := DefaultProduceConfig()
	p.RecordSize, p.Records, p.Duration, p.Partitions, p.Linger, p.Pairs = c.RecordSize, c.Records, c.Duration, c.Partitions, c.Linger, max(c.Pairs, 1)
	p.LatencyFraction, p.StartTimeout, p.Overrides = c.LatencyFraction, c.StartTimeout, c.Overrides
	if err := p.Validate(); err != nil {
		return err
	}
	switch {
	case c.LatencyRate < 0 || c.LatencyRate != c.LatencyRate:
		return fmt.Errorf("%w: --latency-rate: want >= 0 records/s, got %v", ErrUsage, c.LatencyRate)
	case c.Pairs < 0 || c.Pairs == 0 && c.LatencyRate == 0:
		return fmt.Errorf("%w: --pairs: want 1..%d (0 only with --latency-rate), got %d", ErrUsage, maxPairs, c.Pairs)
	case c.LatencyRuns < 1 || c.LatencyRuns > maxPairs:
		return fmt.Errorf("%w: --latency-runs: want 1..%d, got %d", ErrUsage, maxPairs, c.LatencyRuns)
	}
	return nil
}

// ClusterSummary condenses a cluster run.
type ClusterSummary struct {
	PeakMedian      map[string]TargetMedian `json:"peak_median"`
	ThroughputRatio *float64                `json:"throughput_ratio_rf3_over_rf1,omitempty"`  // median over pairs
	CPURatio        *float64                `json:"cpu_per_gib_ratio_rf3_over_rf1,omitempty"` // median over pairs
	LatencyRate     float64                 `json:"latency_rate"`
	Latency         map[string]Latency      `json:"latency,omitempty"`
}

// ClusterReport is one `zkraft bench cluster` run: one cluster, every run on it.
type ClusterReport struct {
	Partitions          int32          `json:"partitions"`
	RecordSize          int            `json:"record_size"`
	ClockTicksPerSecond int            `json:"clock_ticks_per_second"`
	Runs                []RunResult    `json:"runs"` // Target is rf3 or rf1; CPU is the whole cluster's
	Summary             ClusterSummary `json:"summary"`
}

// Cluster spawns 3 controllers and 3 brokers (quorum mode), creates an RF 3 topic
// (min.insync.replicas 2) and an RF 1 topic, and runs acks=all producers against them in
// alternating pairs, then one fixed-rate latency run each; CPU is utime+stime summed over
// all six processes.
func Cluster(ctx context.Context, cfg ClusterConfig, logger *zap.Logger) (*ClusterReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := &ClusterReport{Partitions: cfg.Partitions, RecordSize: cfg.RecordSize, ClockTicksPerSecond: clockTicksPerSecond}
	dir, err := os.MkdirTemp(cfg.Dir, "zkraft-bench-cluster-*")
	if err != nil {
		return nil, fmt.Errorf("%w: temp dir in %q: %w", ErrBrokerStart, cfg.Dir, err)
	}
	rc, err := startRollCluster(ctx, RollConfig{Mode: RollModeQuorum, ZkraftBinary: cfg.ZkraftBinary,
		StartTimeout: cfg.StartTimeout, Overrides: cfg.Overrides, controllers: 3}, dir, logger)
	defer func() {
		if rc != nil {
			rc.close()
		}
		if cfg.Keep {
			logger.Info("kept the run's directory", zap.String("dir", dir))
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	if err != nil {
		return nil, err
	}
	topics := map[string]string{clusterRF3: "zkraft-cluster-rf3", clusterRF1: "zkraft-cluster-rf1"}
	deadline := time.Now().Add(cfg.StartTimeout)
	if err := ensureTopic(ctx, rc.addrs(), topics[clusterRF3], cfg.Partitions, 3, deadline, [2]string{"min.insync.replicas", "2"}); err != nil {
		return nil, err
	}
	if err := ensureTopic(ctx, rc.addrs(), topics[clusterRF1], cfg.Partitions, 1, deadline, [2]string{"min.insync.replicas", "1"}); err != nil {
		return nil, err
	}
	run := func(kind, rf string, rate float64) (RunResult, error) {
		res := RunResult{Index: len(rep.Runs) + 1, Target: rf, Kind: kind, Rate: rate}
		log := logger.With(zap.Int("run", res.Index), zap.String("rf", rf), zap.String("kind", kind))
		before, cerr := rc.cpuTicks()
		lr, err := runLoad(ctx, loadSpec{brokers: rc.addrs(), topic: topics[rf], recordSize: cfg.RecordSize,
			records: cfg.Records, duration: cfg.Duration, acks: -1, linger: cfg.Linger, rate: rate}, log)
		if err != nil {
			return res, err
		}
		if after, err := rc.cpuTicks(); err == nil && cerr == nil {
			secs := float64(after-before) / clockTicksPerSecond
			res.BrokerCPUSeconds = &secs
			if gib := float64(lr.acked) * float64(cfg.RecordSize) / (1 << 30); gib > 0 {
				v := secs / gib
				res.CPUSecondsPerGiB = &v
			}
		}
		res.WarmupRecords, res.Sent, res.Acked, res.Failed = lr.warmup, lr.sent, lr.acked, lr.failed
		if lr.firstErr != nil {
			res.FirstError = lr.firstErr.Error()
		}
		res.Seconds = lr.elapsed.Seconds()
		if res.Seconds > 0 {
			res.RecordsPerSec = float64(lr.acked) / res.Seconds
			res.MiBPerSec = float64(lr.acked) * float64(cfg.RecordSize) / (1 << 20) / res.Seconds
		}
		res.P50Ms, res.P99Ms = ms(lr.latency.Quantile(0.50)), ms(lr.latency.Quantile(0.99))
		log.Info("run done", zap.Int64("acked", res.Acked), zap.Float64("records_per_sec", res.RecordsPerSec),
			zap.Float64("p99_ms", res.P99Ms))
		return res, nil
	}
	kind := KindPeak
	for i := 0; i < cfg.Pairs; i++ {
		for _, rf := range []string{clusterRF3, clusterRF1} {
			r, err := run(kind, rf, 0)
			if err != nil {
				return rep, err
			}
			rep.Runs = append(rep.Runs, r)
		}
	}
	rep.Summary = summarizeCluster(rep.Runs)
	rate := cfg.LatencyRate
	if rate == 0 && cfg.LatencyFraction > 0 {
		rate = cfg.LatencyFraction * rep.Summary.PeakMedian[clusterRF3].RecordsPerSec
	}
	if rate >= 1 {
		rep.Summary.LatencyRate, rep.Summary.Latency = rate, map[string]Latency{}
		lat := map[string][]RunResult{}
		for i := 0; i < cfg.LatencyRuns; i++ {
			for _, rf := range []string{clusterRF3, clusterRF1} {
				var stopPerf func() error
				if cfg.PerfRecord != "" {
					out := filepath.Join(cfg.PerfRecord, fmt.Sprintf("cluster-run%d-%s.perf.data", len(rep.Runs)+1, rf))
					if stopPerf, err = startPerfRecord(rc.brokerPIDs(), out); err != nil {
						return rep, err
					}
				}
				r, err := run(KindLatency, rf, rate)
				if stopPerf != nil {
					if perr := stopPerf(); perr != nil {
						logger.Warn("perf record", zap.Error(perr))
					}
				}
				if err != nil {
					return rep, err
				}
				rep.Runs = append(rep.Runs, r)
				lat[rf] = append(lat[rf], r)
			}
		}
		for rf, rs := range lat {
			rep.Summary.Latency[rf] = medianLatency(rs)
		}
	}
	var bad []string
	for _, r := range rep.Runs {
		if r.Failed > 0 || r.Acked != r.Sent {
			bad = append(bad, fmt.Sprintf("run %d (%s): %d of %d acknowledged: %s", r.Index, r.Target, r.Acked, r.Sent, r.FirstError))
		}
	}
	if len(bad) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrProduce, strings.Join(bad, "; "))
	}
	return rep, nil
}

// cpuTicks sums utime+stime over every process of the cluster.
func (rc *rollCluster) cpuTicks() (uint64, error) {
	var sum uint64
	var errs []error
	for _, b := range append(rc.controllers, rc.sortedBrokers()...) {
		t, err := cpuTicks(b.pid())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sum += t
	}
	return sum, errors.Join(errs...)
}

// brokerPIDs is the brokers' process ids, comma-separated (perf record -p).
func (rc *rollCluster) brokerPIDs() string {
	var ids []string
	for _, b := range rc.sortedBrokers() {
		ids = append(ids, strconv.Itoa(b.pid()))
	}
	return strings.Join(ids, ",")
}

// medianLatency is the median p50 and the median p99 over runs (each its own median).
func medianLatency(runs []RunResult) Latency {
	var p50, p99 []float64
	for _, r := range runs {
		p50, p99 = append(p50, r.P50Ms), append(p99, r.P99Ms)
	}
	return Latency{P50Ms: median(p50), P99Ms: median(p99)}
}

func (rc *rollCluster) sortedBrokers() []*broker {
	var out []*broker
	for id := int32(1); id <= 3; id++ {
		if b, ok := rc.brokers[id]; ok {
			out = append(out, b)
		}
	}
	return out
}

// summarizeCluster: medians per RF over the peak runs, and the RF 3 / RF 1 ratios over pairs
// (the i-th RF 3 run with the i-th RF 1 run).
func summarizeCluster(runs []RunResult) ClusterSummary {
	s := ClusterSummary{PeakMedian: map[string]TargetMedian{}}
	by := map[string][]RunResult{}
	for _, r := range runs {
		if r.Kind != KindLatency {
			by[r.Target] = append(by[r.Target], r)
		}
	}
	for _, rf := range []string{clusterRF3, clusterRF1} {
		s.PeakMedian[rf] = targetMedian(by[rf])
	}
	s.ThroughputRatio, s.CPURatio = pairRatios(by[clusterRF3], by[clusterRF1])
	return s
}

// WriteText prints one row per run, then the summary.
func (r *ClusterReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\trf\tkind\trate/s\tacked\tfailed\tsecs\trec/s\tMiB/s\tp50 ms\tp99 ms\tcluster cpu-s\tcpu-s/GiB\t")
	for _, x := range r.Runs {
		rate := "max"
		if x.Rate > 0 {
			rate = fmt.Sprintf("%.0f", x.Rate)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%.2f\t%.0f\t%.1f\t%.2f\t%.2f\t%s\t%s\t\n", x.Index, x.Target, x.Kind, rate,
			x.Acked, x.Failed, x.Seconds, x.RecordsPerSec, x.MiBPerSec, x.P50Ms, x.P99Ms, optF(x.BrokerCPUSeconds, 2), optF(x.CPUSecondsPerGiB, 2))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ncluster: 3 controllers + 3 brokers (quorum mode); %d partitions per topic, %d-byte records, acks=all\n",
		r.Partitions, r.RecordSize)
	s := r.Summary
	for _, rf := range []string{clusterRF3, clusterRF1} {
		m := s.PeakMedian[rf]
		fmt.Fprintf(w, "%s: median of %d runs: %.0f rec/s, %.1f MiB/s, p99 %.2f ms, cluster cpu %s s/GiB acked\n",
			rf, m.Runs, m.RecordsPerSec, m.MiBPerSec, m.P99Ms, optF(m.CPUSecondsPerGiB, 2))
	}
	if s.ThroughputRatio != nil {
		fmt.Fprintf(w, "rf3/rf1 throughput: %.2fx; ", *s.ThroughputRatio)
	}
	if s.CPURatio != nil {
		fmt.Fprintf(w, "rf3/rf1 cpu per GiB: %.2fx", *s.CPURatio)
	}
	fmt.Fprintln(w, " (medians over pairs)")
	if s.LatencyRate > 0 {
		fmt.Fprintf(w, "latency at %.0f rec/s (a fraction of the rf3 peak):", s.LatencyRate)
		for _, rf := range []string{clusterRF3, clusterRF1} {
			if l, ok := s.Latency[rf]; ok {
				fmt.Fprintf(w, "  %s p50 %.2f ms p99 %.2f ms", rf, l.P50Ms, l.P99Ms)
			}
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "cpu: utime+stime of all six processes from /proc/<pid>/stat, assuming %d clock ticks/s\n", r.ClockTicksPerSecond)
	return err
}

func mainCluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := DefaultClusterConfig()
	fs := flag.NewFlagSet("zkraft bench cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parts := int(c.Partitions)
	fs.IntVar(&parts, "partitions", parts, "partitions of each topic")
	fs.IntVar(&c.RecordSize, "record-size", c.RecordSize, "value bytes per record")
	fs.Int64Var(&c.Records, "records", c.Records, "records per run (cap)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "time per run (cap)")
	fs.DurationVar(&c.Linger, "linger", c.Linger, "producer linger")
	fs.IntVar(&c.Pairs, "pairs", c.Pairs, "alternating RF 3 / RF 1 peak runs")
	fs.Float64Var(&c.LatencyFraction, "latency-fraction", c.LatencyFraction, "latency runs at this fraction of the RF 3 peak; 0 = none")
	fs.Float64Var(&c.LatencyRate, "latency-rate", c.LatencyRate, "latency runs at this rate (records/s) instead of the fraction; allows --pairs 0")
	fs.IntVar(&c.LatencyRuns, "latency-runs", c.LatencyRuns, "latency runs per RF, alternating RF 3 and RF 1; the summary takes medians")
	fs.StringVar(&c.PerfRecord, "perf-record", c.PerfRecord, "directory: run `perf record -g` on the three brokers during each latency run")
	fs.StringVar(&c.ZkraftBinary, "zkraft-binary", c.ZkraftBinary, "binary to spawn (default: this executable)")
	fs.StringVar(&c.Dir, "dir", c.Dir, "parent directory of the run's temp dir")
	fs.DurationVar(&c.StartTimeout, "start-timeout", c.StartTimeout, "bound on the cluster's start")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON document")
	fs.BoolVar(&c.Keep, "keep", c.Keep, "keep the nodes' dirs and logs")
	var overrides stringList
	fs.Var(&overrides, "zkraft-override", "extra key=value for the brokers (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := checkPartitions(parts); err != nil {
		return err
	}
	c.Partitions, c.Overrides = int32(parts), overrides
	if err := defaultBinary(&c.ZkraftBinary); err != nil {
		return err
	}
	rep, err := Cluster(ctx, c, newLogger(stderr))
	if rep != nil && len(rep.Runs) > 0 {
		var werr error
		if c.JSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			werr = enc.Encode(rep)
		} else {
			werr = rep.WriteText(stdout)
		}
		if err == nil && werr != nil {
			err = fmt.Errorf("bench: write report: %w", werr)
		}
	}
	return err
}
