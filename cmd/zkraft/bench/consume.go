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
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// ConsumeConfig configures `zkraft bench consume`. Each field is one flag; the flag name is
// in the field's comment.
type ConsumeConfig struct {
	Brokers      string        // --brokers: host:port of a running target; empty = spawn one per run
	Target       string        // --target: zkraft, kfake or compare
	RecordSize   int           // --record-size: value bytes per record
	Records      int64         // --records: records written to the topic before reading it back
	Partitions   int32         // --partitions: partitions of the benchmark topic
	Topic        string        // --topic: topic name
	Groups       []int         // --groups: comma-separated consumer-group counts read at once (fan-out), one phase each
	Pairs        int           // --pairs: runs per target (compare: alternating zkraft/kfake pairs)
	ReadTimeout  time.Duration // --read-timeout: cap on one read phase
	TailRate     float64       // --tail-rate: records/s produced while one consumer tails the topic; 0 = no latency phase
	TailDuration time.Duration // --tail-duration: length of the latency phase
	JSON         bool          // --json: print one JSON document
	ZkraftBinary string        // --zkraft-binary: binary to spawn; default os.Executable()
	Dir          string        // --dir: parent of the temp dirs; default os.TempDir()
	StartTimeout time.Duration // --start-timeout: how long a spawned broker may take to become ready
	Overrides    []string      // --zkraft-override key=value (repeatable)
	PerfRecord   string        // --perf-record DIR: `perf record -g` the spawned zkraft broker during each read phase into DIR
}

// DefaultConsumeConfig returns the defaults of every flag of `zkraft bench consume`: 1 GiB
// of 1 KiB records over 12 partitions, read back by 1 and then 3 groups, 5 pairs.
func DefaultConsumeConfig() ConsumeConfig {
	return ConsumeConfig{
		Target: TargetCompare, RecordSize: 1024, Records: 1 << 20, Partitions: 12, Topic: "zkraft-bench",
		Groups: []int{1, 3}, Pairs: 5, ReadTimeout: 2 * time.Minute, TailRate: 5000, TailDuration: 5 * time.Second,
		StartTimeout: 30 * time.Second,
	}
}

// Validate checks every field; the error wraps ErrUsage and names the flag.
func (c ConsumeConfig) Validate() error {
	bad := func(flagName, format string, args ...any) error {
		return fmt.Errorf("%w: --%s: %s", ErrUsage, flagName, fmt.Sprintf(format, args...))
	}
	p := DefaultProduceConfig()
	p.Brokers, p.Target, p.RecordSize, p.Partitions, p.Topic = c.Brokers, c.Target, c.RecordSize, c.Partitions, c.Topic
	p.Pairs, p.StartTimeout, p.Overrides = c.Pairs, c.StartTimeout, c.Overrides
	if err := p.Validate(); err != nil {
		return err
	}
	if c.Records < 1 || c.Records > 100<<20 {
		return bad("records", "want 1..%d, got %d", 100<<20, c.Records)
	}
	if len(c.Groups) == 0 {
		return bad("groups", "want at least one group count")
	}
	for _, g := range c.Groups {
		if g < 1 || g > 16 {
			return bad("groups", "want counts in 1..16, got %d", g)
		}
	}
	if c.ReadTimeout <= 0 {
		return bad("read-timeout", "want > 0, got %s", c.ReadTimeout)
	}
	if c.TailRate < 0 || c.TailRate > 1e6 || c.TailRate != c.TailRate {
		return bad("tail-rate", "want 0..1000000 records/s, got %v", c.TailRate)
	}
	if c.TailRate > 0 && (c.TailDuration <= 0 || c.TailDuration > 10*time.Minute) {
		return bad("tail-duration", "want 0 < d <= 10m, got %s", c.TailDuration)
	}
	return nil
}

func parseConsumeFlags(args []string, stderr io.Writer) (ConsumeConfig, error) {
	c := DefaultConsumeConfig()
	fs := flag.NewFlagSet("zkraft bench consume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Brokers, "brokers", c.Brokers, "host:port of a running target; empty = spawn a broker per run")
	fs.StringVar(&c.Target, "target", c.Target, "zkraft, kfake or compare")
	fs.IntVar(&c.RecordSize, "record-size", c.RecordSize, "value bytes per record")
	fs.Int64Var(&c.Records, "records", c.Records, "records written, then read back by every group")
	parts := int(c.Partitions)
	fs.IntVar(&parts, "partitions", parts, "partitions of the benchmark topic")
	fs.StringVar(&c.Topic, "topic", c.Topic, "topic name")
	groups := "1,3"
	fs.StringVar(&groups, "groups", groups, "consumer-group counts, one read phase each (fan-out)")
	fs.IntVar(&c.Pairs, "pairs", c.Pairs, "runs per target (compare: alternating pairs)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "cap on one read phase")
	fs.Float64Var(&c.TailRate, "tail-rate", c.TailRate, "records/s produced while one consumer tails (latency); 0 = skip")
	fs.DurationVar(&c.TailDuration, "tail-duration", c.TailDuration, "length of the latency phase")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON document")
	fs.StringVar(&c.ZkraftBinary, "zkraft-binary", c.ZkraftBinary, "binary to spawn (default: this executable)")
	fs.StringVar(&c.Dir, "dir", c.Dir, "parent directory for temp dirs (default: $TMPDIR)")
	fs.DurationVar(&c.StartTimeout, "start-timeout", c.StartTimeout, "how long a spawned broker may take to become ready")
	var overrides stringList
	fs.Var(&overrides, "zkraft-override", "extra key=value passed to `serve --override` (repeatable)")
	fs.StringVar(&c.PerfRecord, "perf-record", c.PerfRecord,
		"directory: run `perf record -g` on each spawned zkraft broker during each read phase (perf must be installed)")
	if err := parseFlags(fs, args); err != nil {
		return c, err
	}
	if err := checkPartitions(parts); err != nil {
		return c, err
	}
	c.Partitions = int32(parts)
	c.Groups = nil
	for _, g := range strings.Split(groups, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(g))
		if err != nil {
			return c, fmt.Errorf("%w: --groups: %q is not a count", ErrUsage, g)
		}
		c.Groups = append(c.Groups, n)
	}
	c.Overrides = overrides
	if c.Brokers == "" {
		if err := defaultBinary(&c.ZkraftBinary); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}

// ConsumePhase is one measured read: Groups consumer groups at once, each one kgo client
// reading the whole topic from the start.
type ConsumePhase struct {
	Groups           int      `json:"groups"`
	Records          int64    `json:"records"` // read, over all groups
	Seconds          float64  `json:"seconds"` // first record of any group -> last record of the last group
	RecordsPerSec    float64  `json:"records_per_sec"`
	MiBPerSec        float64  `json:"mib_per_sec"` // value bytes read, over all groups
	BrokerCPUSeconds *float64 `json:"broker_cpu_seconds,omitempty"`
	CPUSecondsPerGiB *float64 `json:"cpu_seconds_per_gib,omitempty"` // per GiB of value bytes read
	// BrokerUserCPUSeconds is the utime part of BrokerCPUSeconds: the broker's own work per
	// fetch (decode, sessions, lookups, encode), without the kernel's per-byte sendfile and
	// loopback TCP work that stime holds.
	BrokerUserCPUSeconds *float64 `json:"broker_user_cpu_seconds,omitempty"`
	Error                string   `json:"error,omitempty"`
}

// ConsumeRun is one target's run: fill, then one phase per --groups entry, then the tail.
type ConsumeRun struct {
	Index     int            `json:"index"`
	Target    string         `json:"target"`
	Filled    int64          `json:"filled"`
	FillRecPS float64        `json:"fill_records_per_sec"`
	Phases    []ConsumePhase `json:"phases"`
	TailP50Ms *float64       `json:"tail_p50_ms,omitempty"` // produce call -> consumer, ms resolution
	TailP99Ms *float64       `json:"tail_p99_ms,omitempty"`
	TailCount int64          `json:"tail_records,omitempty"`
	// TailCPUPerSec: broker CPU-s per second of the tail phase (what idle partitions cost:
	// every fetch of a sessionless client names all of them).
	TailCPUPerSec *float64 `json:"tail_broker_cpu_s_per_s,omitempty"`
	BrokerExit    string   `json:"broker_exit,omitempty"`
}

// ConsumeReport is everything one `bench consume` invocation measured.
type ConsumeReport struct {
	Target              string       `json:"target"`
	RecordSize          int          `json:"record_size"`
	Records             int64        `json:"records"`
	Partitions          int32        `json:"partitions"`
	Groups              []int        `json:"groups"`
	TailRate            float64      `json:"tail_rate"`
	ClockTicksPerSecond int          `json:"clock_ticks_per_second"`
	Runs                []ConsumeRun `json:"runs"`
	// Medians per target and group count, and zkraft/kfake ratios over the pairs.
	Summary []ConsumeSummary `json:"summary"`
}

// ConsumeSummary condenses one group count.
type ConsumeSummary struct {
	Groups           int                     `json:"groups"`
	Median           map[string]TargetMedian `json:"median"`
	ThroughputRatio  *float64                `json:"throughput_ratio_zkraft_over_kfake,omitempty"`
	CPURatio         *float64                `json:"cpu_per_gib_ratio_zkraft_over_kfake,omitempty"`
	FanOutCPUOverOne map[string]float64      `json:"fan_out_cpu_seconds_over_one_group,omitempty"` // median cpu-s of this phase / of the 1-group phase
	// FanOutUserCPUOverOne is FanOutCPUOverOne for user CPU only (the per-fetch share).
	FanOutUserCPUOverOne map[string]float64 `json:"fan_out_user_cpu_seconds_over_one_group,omitempty"`
}

// Consume runs the consume benchmark cfg describes (cfg must be valid).
func Consume(ctx context.Context, cfg ConsumeConfig, logger *zap.Logger) (*ConsumeReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := &ConsumeReport{Target: cfg.Target, RecordSize: cfg.RecordSize, Records: cfg.Records,
		Partitions: cfg.Partitions, Groups: cfg.Groups, TailRate: cfg.TailRate, ClockTicksPerSecond: clockTicksPerSecond}
	dir := cfg.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return rep, fmt.Errorf("%w: --dir %q: %w", ErrUsage, cfg.Dir, err)
	}
	targets := []string{cfg.Target}
	if cfg.Target == TargetCompare {
		targets = []string{TargetZkraft, TargetKfake}
	}
	var failed []string
	for i := 0; i < cfg.Pairs; i++ {
		for _, tg := range targets {
			r, err := consumeRun(ctx, cfg, dir, tg, len(rep.Runs)+1, logger)
			if err != nil {
				return rep, err
			}
			for _, ph := range r.Phases {
				if ph.Error != "" {
					failed = append(failed, fmt.Sprintf("run %d (%s) %d groups: %s", r.Index, r.Target, ph.Groups, ph.Error))
				}
			}
			rep.Runs = append(rep.Runs, r)
		}
	}
	rep.Summary = summarizeConsume(rep.Runs, targets, cfg.Groups)
	if len(failed) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrConsume, strings.Join(failed, "; "))
	}
	return rep, nil
}

// consumeRun spawns (or uses) a broker, fills the topic and runs every phase against it.
func consumeRun(ctx context.Context, cfg ConsumeConfig, dir, target string, index int, logger *zap.Logger) (ConsumeRun, error) {
	log := logger.With(zap.Int("run", index), zap.String("target", target))
	res := ConsumeRun{Index: index, Target: target}
	brokers := strings.Split(cfg.Brokers, ",")
	var b *broker
	if cfg.Brokers == "" {
		var err error
		// Groups form at once: the benchmark measures reading, not the join delay.
		overrides := append([]string{"group.initial.rebalance.delay.ms=0"}, cfg.Overrides...)
		b, err = spawnBroker(ctx, target, spawnConfig{binary: cfg.ZkraftBinary, parentDir: dir,
			timeout: cfg.StartTimeout, overrides: overrides}, log)
		if err != nil {
			return res, err
		}
		defer b.remove()
		defer b.stop(10 * time.Second)
		brokers = []string{b.addr}
	}
	topic := cfg.Topic
	if cfg.Brokers != "" {
		topic = fmt.Sprintf("%s-%d-%d", cfg.Topic, time.Now().Unix(), index) // a fresh topic on a shared broker
	}
	if err := ensureTopic(ctx, brokers, topic, cfg.Partitions, 1, time.Now().Add(cfg.StartTimeout)); err != nil {
		if b != nil {
			err = fmt.Errorf("%w\n%s", err, b.logTail())
		}
		return res, err
	}
	lr, err := runLoad(ctx, loadSpec{brokers: brokers, topic: topic, recordSize: cfg.RecordSize,
		records: cfg.Records - 1, duration: 10 * time.Minute, acks: 1, linger: 5 * time.Millisecond}, log)
	if err != nil {
		return res, err
	}
	if lr.failed > 0 {
		return res, fmt.Errorf("%w: fill: %d of %d records failed: %v", ErrConsume, lr.failed, lr.sent, lr.firstErr)
	}
	res.Filled = lr.acked + lr.warmup
	if s := lr.elapsed.Seconds(); s > 0 {
		res.FillRecPS = float64(lr.acked) / s
	}
	log.Info("filled", zap.Int64("records", res.Filled), zap.Float64("records_per_sec", res.FillRecPS))
	// Untimed: one group reads one record first, so the group coordinator's topic
	// (__consumer_offsets, 50 partitions on zkraft) exists before any phase is measured.
	if _, _, err := readBack(ctx, brokers, topic, fmt.Sprintf("bench-warmup-%d-%d", time.Now().UnixNano(), index), 1, 1, cfg.ReadTimeout); err != nil {
		return res, fmt.Errorf("%w: warm-up group: %w", ErrConsume, err)
	}

	for _, g := range cfg.Groups {
		ph := ConsumePhase{Groups: g}
		var before, beforeUser uint64
		cpuOK := false
		if b != nil {
			var sys uint64
			if beforeUser, sys, err = cpuTicksSplit(b.pid()); err == nil {
				before, cpuOK = beforeUser+sys, true
			}
		}
		var stopPerf func() error
		if cfg.PerfRecord != "" && b != nil && target == TargetZkraft {
			out := filepath.Join(cfg.PerfRecord, fmt.Sprintf("zkraft-run%d-groups%d.perf.data", index, g))
			if stopPerf, err = startPerfRecord(strconv.Itoa(b.pid()), out); err != nil {
				return res, fmt.Errorf("%w: %w", ErrConsume, err)
			}
		}
		read, secs, rerr := readBack(ctx, brokers, topic, fmt.Sprintf("bench-%d-%d-%d", time.Now().UnixNano(), index, g), g, res.Filled, cfg.ReadTimeout)
		if cpuOK {
			if afterUser, afterSys, err := cpuTicksSplit(b.pid()); err == nil {
				c := float64(afterUser+afterSys-before) / clockTicksPerSecond
				u := float64(afterUser-beforeUser) / clockTicksPerSecond
				ph.BrokerCPUSeconds, ph.BrokerUserCPUSeconds = &c, &u
				if gib := float64(read) * float64(cfg.RecordSize) / (1 << 30); gib > 0 {
					v := c / gib
					ph.CPUSecondsPerGiB = &v
				}
			}
		}
		if stopPerf != nil {
			if err := stopPerf(); err != nil {
				log.Warn("perf record", zap.Error(err))
			}
		}
		ph.Records, ph.Seconds = read, secs
		if secs > 0 {
			ph.RecordsPerSec = float64(read) / secs
			ph.MiBPerSec = float64(read) * float64(cfg.RecordSize) / (1 << 20) / secs
		}
		if rerr != nil {
			ph.Error = rerr.Error()
		}
		log.Info("read phase done", zap.Int("groups", g), zap.Int64("records", read),
			zap.Float64("mib_per_sec", ph.MiBPerSec), zap.Stringp("cpu_s_per_gib", fptr(ph.CPUSecondsPerGiB)))
		res.Phases = append(res.Phases, ph)
	}

	if cfg.TailRate > 0 {
		var before uint64
		cpuOK := false
		if b != nil {
			before, err = cpuTicks(b.pid())
			cpuOK = err == nil
		}
		start := time.Now()
		n, p50, p99, err := tailLatency(ctx, brokers, topic, cfg, log)
		if err != nil {
			log.Warn("tail latency phase failed", zap.Error(err))
		} else if n > 0 {
			res.TailCount, res.TailP50Ms, res.TailP99Ms = n, &p50, &p99
		}
		if after, err := cpuTicks(pidOf(b)); cpuOK && err == nil {
			v := float64(after-before) / clockTicksPerSecond / time.Since(start).Seconds()
			res.TailCPUPerSec = &v
		}
	}
	if b != nil {
		if err := b.stop(10 * time.Second); err != nil {
			res.BrokerExit = err.Error()
		}
	}
	return res, nil
}

func pidOf(b *broker) int {
	if b == nil {
		return -1
	}
	return b.pid()
}

func fptr(p *float64) *string {
	if p == nil {
		return nil
	}
	s := strconv.FormatFloat(*p, 'f', 3, 64)
	return &s
}

// readBack runs groups consumers at once, each the only member of its own group, each
// reading want records from the start of topic. It returns the records read over all of them
// and the seconds from the first record any of them got to the last record the last one got.
func readBack(ctx context.Context, brokers []string, topic, groupPrefix string, groups int, want int64, timeout time.Duration) (int64, float64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		n           int64
		first, last time.Time
		err         error
	}
	results := make([]result, groups)
	var wg sync.WaitGroup
	for i := 0; i < groups; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := &results[i]
			cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
				kgo.ConsumerGroup(fmt.Sprintf("%s-%d", groupPrefix, i)), kgo.DisableAutoCommit(),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				r.err = err
				return
			}
			defer cl.Close()
			for r.n < want && ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				now := time.Now()
				fs.EachError(func(_ string, _ int32, err error) {
					if r.err == nil && ctx.Err() == nil {
						r.err = err
					}
				})
				if k := int64(fs.NumRecords()); k > 0 {
					if r.first.IsZero() {
						r.first = now
					}
					r.last = now
					r.n += k
				}
			}
			if r.n < want && r.err == nil {
				r.err = fmt.Errorf("read %d of %d records before the %s read timeout", r.n, want, timeout)
			}
		}(i)
	}
	wg.Wait()
	var total int64
	var first, last time.Time
	var errs []error
	for _, r := range results {
		total += r.n
		if !r.first.IsZero() && (first.IsZero() || r.first.Before(first)) {
			first = r.first
		}
		if r.last.After(last) {
			last = r.last
		}
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	secs := 0.0
	if !first.IsZero() {
		secs = last.Sub(first).Seconds()
	}
	return total, secs, errors.Join(errs...)
}

// tailLatency produces at cfg.TailRate for cfg.TailDuration while one consumer (no group)
// reads from the log end, and reports the records it saw and the p50/p99 of now minus the
// record's timestamp (set by the producer at the Produce call; millisecond resolution).
func tailLatency(ctx context.Context, brokers []string, topic string, cfg ConsumeConfig, log *zap.Logger) (int64, float64, float64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return 0, 0, 0, err
	}
	defer cl.Close()
	// The consumer must know the log end before anything is produced: one empty poll.
	pctx, pcancel := context.WithTimeout(ctx, time.Second)
	cl.PollFetches(pctx)
	pcancel()

	hist := new(Histogram)
	var n int64
	done := make(chan struct{})
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	go func() {
		defer close(done)
		for cctx.Err() == nil {
			fs := cl.PollFetches(cctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				hist.Record(now.Sub(r.Timestamp))
				n++
			})
		}
	}()
	_, lerr := runLoad(ctx, loadSpec{brokers: brokers, topic: topic, recordSize: cfg.RecordSize,
		records: int64(cfg.TailRate*cfg.TailDuration.Seconds()) + 1, duration: cfg.TailDuration, acks: 1,
		linger: time.Millisecond, rate: cfg.TailRate}, log)
	// Give the consumer its last records: at most one fetch wait more.
	t := time.NewTimer(time.Second)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	ccancel()
	<-done
	if lerr != nil {
		return 0, 0, 0, lerr
	}
	return n, ms(hist.Quantile(0.50)), ms(hist.Quantile(0.99)), nil
}

// summarizeConsume computes, per group count, the medians per target, the zkraft/kfake ratios
// over pairs (the i-th zkraft run with the i-th kfake run) and the fan-out CPU ratios.
func summarizeConsume(runs []ConsumeRun, targets []string, groups []int) []ConsumeSummary {
	phase := func(r ConsumeRun, g int) (ConsumePhase, bool) {
		for _, ph := range r.Phases {
			if ph.Groups == g && ph.Error == "" {
				return ph, true
			}
		}
		return ConsumePhase{}, false
	}
	by := map[string][]ConsumeRun{}
	for _, r := range runs {
		by[r.Target] = append(by[r.Target], r)
	}
	var out []ConsumeSummary
	for _, g := range groups {
		s := ConsumeSummary{Groups: g, Median: map[string]TargetMedian{}, FanOutCPUOverOne: map[string]float64{},
			FanOutUserCPUOverOne: map[string]float64{}}
		for _, tg := range targets {
			var rps, mibs, cpu, fan, fanUser []float64
			for _, r := range by[tg] {
				ph, ok := phase(r, g)
				if !ok {
					continue
				}
				rps, mibs = append(rps, ph.RecordsPerSec), append(mibs, ph.MiBPerSec)
				if ph.CPUSecondsPerGiB != nil {
					cpu = append(cpu, *ph.CPUSecondsPerGiB)
				}
				if one, ok := phase(r, 1); ok && g != 1 && ph.BrokerCPUSeconds != nil && one.BrokerCPUSeconds != nil && *one.BrokerCPUSeconds > 0 {
					fan = append(fan, *ph.BrokerCPUSeconds / *one.BrokerCPUSeconds)
				}
				if one, ok := phase(r, 1); ok && g != 1 && ph.BrokerUserCPUSeconds != nil && one.BrokerUserCPUSeconds != nil && *one.BrokerUserCPUSeconds > 0 {
					fanUser = append(fanUser, *ph.BrokerUserCPUSeconds / *one.BrokerUserCPUSeconds)
				}
			}
			m := TargetMedian{Runs: len(rps)}
			if len(rps) > 0 {
				m.RecordsPerSec, m.MiBPerSec = median(rps), median(mibs)
			}
			if len(cpu) > 0 {
				c := median(cpu)
				m.CPUSecondsPerGiB = &c
			}
			s.Median[tg] = m
			if len(fan) > 0 {
				s.FanOutCPUOverOne[tg] = median(fan)
			}
			if len(fanUser) > 0 {
				s.FanOutUserCPUOverOne[tg] = median(fanUser)
			}
		}
		z, k := by[TargetZkraft], by[TargetKfake]
		var tput, cpu []float64
		for i := 0; i < len(z) && i < len(k); i++ {
			zp, zok := phase(z[i], g)
			kp, kok := phase(k[i], g)
			if !zok || !kok {
				continue
			}
			if kp.RecordsPerSec > 0 {
				tput = append(tput, zp.RecordsPerSec/kp.RecordsPerSec)
			}
			if zp.CPUSecondsPerGiB != nil && kp.CPUSecondsPerGiB != nil && *kp.CPUSecondsPerGiB > 0 {
				cpu = append(cpu, *zp.CPUSecondsPerGiB / *kp.CPUSecondsPerGiB)
			}
		}
		if len(tput) > 0 {
			v := median(tput)
			s.ThroughputRatio = &v
		}
		if len(cpu) > 0 {
			v := median(cpu)
			s.CPURatio = &v
		}
		out = append(out, s)
	}
	return out
}

// WriteText prints one row per phase, then the summary.
func (r *ConsumeReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\ttarget\tgroups\trecords\tsecs\trec/s\tMiB/s\tcpu-s\tuser cpu-s\tcpu-s/GiB\ttail p50 ms\ttail p99 ms\ttail cpu-s/s\t")
	for _, x := range r.Runs {
		for _, ph := range x.Phases {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.2f\t%.0f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", x.Index, x.Target, ph.Groups, ph.Records,
				ph.Seconds, ph.RecordsPerSec, ph.MiBPerSec, optF(ph.BrokerCPUSeconds, 2), optF(ph.BrokerUserCPUSeconds, 2), optF(ph.CPUSecondsPerGiB, 3),
				optF(x.TailP50Ms, 1), optF(x.TailP99Ms, 1), optF(x.TailCPUPerSec, 3))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range r.Runs {
		for _, ph := range x.Phases {
			if ph.Error != "" {
				fmt.Fprintf(w, "run %d %d groups: %s\n", x.Index, ph.Groups, ph.Error)
			}
		}
		if x.BrokerExit != "" {
			fmt.Fprintf(w, "run %d: broker exit: %s\n", x.Index, x.BrokerExit)
		}
	}
	fmt.Fprintf(w, "\nworkload: %d records of %d bytes over %d partitions, read back from the start by %v consumer groups at once; tail at %.0f rec/s\n",
		r.Records, r.RecordSize, r.Partitions, r.Groups, r.TailRate)
	for _, s := range r.Summary {
		for _, tg := range []string{TargetZkraft, TargetKfake} {
			m, ok := s.Median[tg]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "%d groups, %s: median of %d runs: %.0f rec/s, %.1f MiB/s, cpu %s s/GiB", s.Groups, tg, m.Runs,
				m.RecordsPerSec, m.MiBPerSec, optF(m.CPUSecondsPerGiB, 3))
			if f, ok := s.FanOutCPUOverOne[tg]; ok {
				fmt.Fprintf(w, ", cpu-s %.2fx the 1-group phase", f)
			}
			if f, ok := s.FanOutUserCPUOverOne[tg]; ok {
				fmt.Fprintf(w, " (user cpu-s %.2fx)", f)
			}
			fmt.Fprintln(w)
		}
		if s.ThroughputRatio != nil {
			fmt.Fprintf(w, "%d groups: zkraft/kfake throughput %.2fx", s.Groups, *s.ThroughputRatio)
			if s.CPURatio != nil {
				fmt.Fprintf(w, ", cpu per GiB %.2fx", *s.CPURatio)
			}
			fmt.Fprintln(w, " (median over pairs)")
		}
	}
	for _, tg := range []string{TargetZkraft, TargetKfake} {
		var p50, p99, cpu []float64
		for _, x := range r.Runs {
			if x.Target != tg || x.TailP50Ms == nil {
				continue
			}
			p50, p99 = append(p50, *x.TailP50Ms), append(p99, *x.TailP99Ms)
			if x.TailCPUPerSec != nil {
				cpu = append(cpu, *x.TailCPUPerSec)
			}
		}
		if len(p50) > 0 {
			fmt.Fprintf(w, "tail at %.0f rec/s, %s: median p50 %.1f ms, p99 %.1f ms, broker cpu %.3f s/s\n",
				r.TailRate, tg, median(p50), median(p99), median(cpu))
		}
	}
	_, err := fmt.Fprintf(w, "cpu: utime+stime of the broker process from /proc/<pid>/stat, assuming %d clock ticks/s (USER_HZ)\n",
		r.ClockTicksPerSecond)
	return err
}

// WriteJSON prints the report as one indented JSON document.
func (r *ConsumeReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func mainConsume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConsumeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	rep, err := Consume(ctx, cfg, newLogger(stderr))
	if rep != nil && len(rep.Runs) > 0 {
		var werr error
		if cfg.JSON {
			werr = rep.WriteJSON(stdout)
		} else {
			werr = rep.WriteText(stdout)
		}
		if err == nil && werr != nil {
			err = fmt.Errorf("bench: write report: %w", werr)
		}
	}
	return err
}
