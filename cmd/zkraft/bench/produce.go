package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Run kinds.
const (
	KindPeak    = "peak"    // as fast as the client can go
	KindFixed   = "fixed"   // every run at --rate
	KindLatency = "latency" // one run per target at --latency-fraction of the peak rate
)

// RunResult is one measured run. Optional figures are nil when not measured.
type RunResult struct {
	Index            int      `json:"index"`
	Target           string   `json:"target"`
	Kind             string   `json:"kind"`
	Rate             float64  `json:"rate"`           // records/s the run was paced at; 0 = unpaced
	WarmupRecords    int64    `json:"warmup_records"` // untimed, before the clock starts; not in Sent
	Sent             int64    `json:"sent"`
	Acked            int64    `json:"acked"`
	Failed           int64    `json:"failed"`
	FirstError       string   `json:"first_error,omitempty"`
	Seconds          float64  `json:"seconds"` // first Produce call -> last promise
	RecordsPerSec    float64  `json:"records_per_sec"`
	MiBPerSec        float64  `json:"mib_per_sec"` // acknowledged value bytes
	P50Ms            float64  `json:"p50_ms"`
	P99Ms            float64  `json:"p99_ms"`
	BrokerCPUSeconds *float64 `json:"broker_cpu_seconds,omitempty"`  // utime+stime of the spawned broker during the run
	CPUSecondsPerGiB *float64 `json:"cpu_seconds_per_gib,omitempty"` // BrokerCPUSeconds per GiB of acknowledged value bytes
	BrokerExit       string   `json:"broker_exit,omitempty"`         // a spawned broker's unclean exit after SIGTERM
}

// Report is everything one `bench produce` invocation measured.
type Report struct {
	Target              string      `json:"target"`
	Brokers             string      `json:"brokers,omitempty"`
	RecordSize          int         `json:"record_size"`
	Records             int64       `json:"records"`
	Duration            string      `json:"duration"`
	Acks                string      `json:"acks"`
	Partitions          int32       `json:"partitions"`
	Topic               string      `json:"topic"`
	Linger              string      `json:"linger"`
	SecurityProtocols   []string    `json:"security_protocols,omitempty"`
	ClockTicksPerSecond int         `json:"clock_ticks_per_second"` // assumed USER_HZ, see proc.go
	Disk                *DiskResult `json:"disk,omitempty"`
	Runs                []RunResult `json:"runs"`
	Summary             Summary     `json:"summary"`
}

// Summary condenses the runs.
type Summary struct {
	// PeakMedian per target: medians over its peak (or fixed-rate) runs.
	PeakMedian map[string]TargetMedian `json:"peak_median"`
	// ThroughputRatio: median over the compare pairs of zkraft rec/s / kfake rec/s.
	ThroughputRatio *float64 `json:"throughput_ratio_zkraft_over_kfake,omitempty"`
	// CPURatio: median over the compare pairs of zkraft CPU-s/GiB / kfake CPU-s/GiB.
	CPURatio *float64 `json:"cpu_ratio_zkraft_over_kfake,omitempty"`
	// ProtocolRatio: per security protocol (SSL, SASL_SSL), the median over pairs of its
	// rec/s over PLAINTEXT's (--security-protocols); ProtocolCPURatio the same of CPU-s/GiB.
	ProtocolRatio    map[string]float64 `json:"throughput_ratio_over_plaintext,omitempty"`
	ProtocolCPURatio map[string]float64 `json:"cpu_per_gib_ratio_over_plaintext,omitempty"`
	// LatencyRate: records/s of the latency runs (0 = none were run).
	LatencyRate float64 `json:"latency_rate"`
	// Latency per target at LatencyRate.
	Latency map[string]Latency `json:"latency,omitempty"`
}

// TargetMedian holds one target's medians.
type TargetMedian struct {
	Runs             int      `json:"runs"`
	RecordsPerSec    float64  `json:"records_per_sec"`
	MiBPerSec        float64  `json:"mib_per_sec"`
	P99Ms            float64  `json:"p99_ms"`
	CPUSecondsPerGiB *float64 `json:"cpu_seconds_per_gib,omitempty"`
}

// Latency is the ack latency of a fixed-rate run.
type Latency struct {
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// Produce runs the benchmark cfg describes (cfg must be valid): the disk probe, --pairs peak
// runs per target (alternating zkraft, kfake in compare mode), then the latency runs. Each run
// against a spawned broker gets a fresh broker in a fresh temp dir. A run whose records were
// not all acknowledged does not stop the benchmark; Produce then returns the report and an
// error wrapping ErrProduce. A broker that does not start ends the benchmark.
func Produce(ctx context.Context, cfg ProduceConfig, logger *zap.Logger) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{
		Target: cfg.Target, Brokers: cfg.Brokers, RecordSize: cfg.RecordSize, Records: cfg.Records,
		Duration: cfg.Duration.String(), Acks: cfg.Acks, Partitions: cfg.Partitions, Topic: cfg.Topic,
		Linger: cfg.Linger.String(), ClockTicksPerSecond: clockTicksPerSecond, SecurityProtocols: cfg.SecurityProtocols,
	}
	dir := cfg.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	// absolute, because a spawned broker runs in its own dir and gets paths on its command line
	dir, err := filepath.Abs(dir)
	if err != nil {
		return rep, fmt.Errorf("%w: --dir %q: %w", ErrUsage, cfg.Dir, err)
	}
	if cfg.DiskMiB > 0 {
		d, err := MeasureDisk(ctx, dir, cfg.DiskMiB)
		if err != nil {
			return rep, err
		}
		rep.Disk = &d
		logger.Info("disk probe", zap.String("dir", dir), zap.Float64("mib_per_sec", d.MiBPerSec))
	}

	targets := []string{cfg.Target}
	if cfg.Target == TargetCompare {
		targets = []string{TargetZkraft, TargetKfake}
	}
	var pki *benchPKI
	if cfg.Target == TargetZkraft && cfg.Brokers == "" && len(protocolTargets(cfg.SecurityProtocols)) > 1 {
		targets = protocolTargets(cfg.SecurityProtocols)
		if pki, err = newBenchPKI(dir); err != nil {
			return rep, err
		}
		defer pki.remove()
	}
	kind := KindPeak
	if cfg.Rate > 0 {
		kind = KindFixed
	}
	for i := 0; i < cfg.Pairs; i++ {
		for _, tg := range targets {
			r, err := oneRun(ctx, cfg, dir, tg, kind, cfg.Rate, len(rep.Runs)+1, pki, logger)
			if err != nil {
				return rep, err
			}
			rep.Runs = append(rep.Runs, r)
		}
	}
	rep.Summary = summarize(rep.Runs, targets)

	if cfg.Rate == 0 && cfg.LatencyFraction > 0 {
		// one rate for every target, so their latencies are comparable: a fraction of the
		// slowest target's median peak.
		var slowest float64
		for i, tg := range targets {
			m := rep.Summary.PeakMedian[tg].RecordsPerSec
			if i == 0 || m < slowest {
				slowest = m
			}
		}
		if rate := cfg.LatencyFraction * slowest; rate >= 1 {
			rep.Summary.LatencyRate = rate
			rep.Summary.Latency = map[string]Latency{}
			for _, tg := range targets {
				r, err := oneRun(ctx, cfg, dir, tg, KindLatency, rate, len(rep.Runs)+1, pki, logger)
				if err != nil {
					return rep, err
				}
				rep.Runs = append(rep.Runs, r)
				rep.Summary.Latency[tg] = Latency{P50Ms: r.P50Ms, P99Ms: r.P99Ms}
			}
		}
	}

	var bad []string
	for _, r := range rep.Runs {
		if r.Failed > 0 || r.Acked != r.Sent {
			bad = append(bad, fmt.Sprintf("run %d (%s): %d of %d acknowledged, first error: %s",
				r.Index, r.Target, r.Acked, r.Sent, r.FirstError))
		}
	}
	if len(bad) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrProduce, strings.Join(bad, "; "))
	}
	return rep, nil
}

// oneRun measures one run against cfg.Brokers or a freshly spawned broker of target
// (zkraft/<protocol>: over that security protocol, keyed by pki).
func oneRun(ctx context.Context, cfg ProduceConfig, dir, target, kind string, rate float64, index int, pki *benchPKI, logger *zap.Logger) (RunResult, error) {
	log := logger.With(zap.Int("run", index), zap.String("target", target), zap.String("kind", kind))
	res := RunResult{Index: index, Target: target, Kind: kind, Rate: rate}
	var b *broker
	brokers := strings.Split(cfg.Brokers, ",")
	loadBrokers := brokers
	bkind, protocol := splitTarget(target)
	var loadOpts []kgo.Opt
	if cfg.Brokers == "" {
		var err error
		b, err = spawnBroker(ctx, bkind, spawnConfig{
			binary: cfg.ZkraftBinary, parentDir: dir, timeout: cfg.StartTimeout, overrides: cfg.Overrides,
			protocol: protocol, pki: pki,
		}, log)
		if err != nil {
			return res, err
		}
		defer b.remove()
		defer b.stop(10 * time.Second) // no-op after the stop below; covers early returns
		brokers = []string{b.addr}
		loadBrokers = []string{b.loadAddr}
		if pki != nil {
			loadOpts = pki.clientOpts(protocol)
		}
	}
	if err := ensureTopic(ctx, brokers, cfg.Topic, cfg.Partitions, 1, time.Now().Add(cfg.StartTimeout)); err != nil {
		if b != nil {
			err = fmt.Errorf("%w\n%s", err, b.logTail())
		}
		return res, err
	}

	var before uint64
	cpuOK := false
	if b != nil {
		var err error
		before, err = cpuTicks(b.pid())
		cpuOK = err == nil
		if err != nil {
			log.Warn("broker cpu time not measurable", zap.Error(err))
		}
	}
	acks, _ := parseAcks(cfg.Acks) // validated
	lr, err := runLoad(ctx, loadSpec{
		brokers: loadBrokers, topic: cfg.Topic, recordSize: cfg.RecordSize, records: cfg.Records,
		duration: cfg.Duration, acks: acks, linger: cfg.Linger, rate: rate, opts: loadOpts,
	}, log)
	if err != nil {
		return res, err
	}
	if cpuOK {
		after, err := cpuTicks(b.pid())
		if err != nil {
			log.Warn("broker cpu time not measurable", zap.Error(err))
		} else {
			secs := float64(after-before) / clockTicksPerSecond
			res.BrokerCPUSeconds = &secs
			if gib := float64(lr.acked) * float64(cfg.RecordSize) / (1 << 30); gib > 0 {
				perGiB := secs / gib
				res.CPUSecondsPerGiB = &perGiB
			}
		}
	}
	if b != nil {
		if err := b.stop(10 * time.Second); err != nil {
			res.BrokerExit = err.Error()
			log.Warn("broker did not exit cleanly", zap.Error(err))
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
	res.P50Ms = ms(lr.latency.Quantile(0.50))
	res.P99Ms = ms(lr.latency.Quantile(0.99))
	log.Info("run done", zap.Int64("acked", res.Acked), zap.Int64("failed", res.Failed),
		zap.Float64("records_per_sec", res.RecordsPerSec), zap.Float64("p99_ms", res.P99Ms))
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize computes per-target medians over the non-latency runs and, when both zkraft and
// kfake ran, the median over pairs of their throughput and CPU ratios. Pair i is the i-th
// zkraft run with the i-th kfake run.
func summarize(runs []RunResult, targets []string) Summary {
	s := Summary{PeakMedian: map[string]TargetMedian{}}
	by := map[string][]RunResult{}
	for _, r := range runs {
		if r.Kind != KindLatency {
			by[r.Target] = append(by[r.Target], r)
		}
	}
	for _, tg := range targets {
		s.PeakMedian[tg] = targetMedian(by[tg])
	}
	s.ThroughputRatio, s.CPURatio = pairRatios(by[TargetZkraft], by[TargetKfake])
	s.ProtocolRatio, s.ProtocolCPURatio = protocolRatios(by, targets)
	return s
}

// targetMedian is the median of one target's runs: records/s, MiB/s, p99
// and (over the runs that measured it) CPU-s per GiB.
func targetMedian(runs []RunResult) TargetMedian {
	var rps, mibs, p99, cpu []float64
	for _, r := range runs {
		rps, mibs, p99 = append(rps, r.RecordsPerSec), append(mibs, r.MiBPerSec), append(p99, r.P99Ms)
		if r.CPUSecondsPerGiB != nil {
			cpu = append(cpu, *r.CPUSecondsPerGiB)
		}
	}
	m := TargetMedian{Runs: len(rps)}
	if len(rps) > 0 {
		m.RecordsPerSec, m.MiBPerSec, m.P99Ms = median(rps), median(mibs), median(p99)
	}
	if len(cpu) > 0 {
		c := median(cpu)
		m.CPUSecondsPerGiB = &c
	}
	return m
}

// pairRatios are the medians over the pairs (a[i], b[i]) of a's records/s
// over b's and a's CPU-s per GiB over b's; nil where no pair has both (a
// run too short to take one clock tick of CPU measures none).
func pairRatios(a, b []RunResult) (tput, cpu *float64) {
	var ts, cs []float64
	for i := 0; i < len(a) && i < len(b); i++ {
		if b[i].RecordsPerSec > 0 {
			ts = append(ts, a[i].RecordsPerSec/b[i].RecordsPerSec)
		}
		if a[i].CPUSecondsPerGiB != nil && b[i].CPUSecondsPerGiB != nil && *b[i].CPUSecondsPerGiB > 0 {
			cs = append(cs, *a[i].CPUSecondsPerGiB / *b[i].CPUSecondsPerGiB)
		}
	}
	if len(ts) > 0 {
		v := median(ts)
		tput = &v
	}
	if len(cs) > 0 {
		v := median(cs)
		cpu = &v
	}
	return tput, cpu
}
