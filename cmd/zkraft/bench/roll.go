package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Modes `zkraft bench roll` can run a cluster in.
const (
	RollModeZooKeeper = "zk"     // 3 ZooKeeper-mode brokers on --zookeeper
	RollModeQuorum    = "quorum" // 1 controller + 3 process.roles=broker nodes
)

// rollTopic is the benchmark topic: RF 3, min.insync.replicas 2 (the brokers' default).
const rollTopic = "zkraft-roll"

// RollConfig configures `zkraft bench roll`. Each field is one flag (named in its comment).
type RollConfig struct {
	Mode         string        // --mode: zk or quorum
	ZooKeeper    string        // --zookeeper: host:port of a running ZooKeeper (zk mode); each run uses a fresh chroot
	Partitions   int32         // --partitions: partitions of the RF 3 topic
	Rate         float64       // --rate: records/s of the acks=all producer
	RecordSize   int           // --record-size: value bytes per record
	Rounds       int           // --rounds: how many times all three brokers are rolled
	Settle       time.Duration // --settle: producing time before the first roll and after each full ISR
	ZkraftBinary string        // --zkraft-binary: binary to spawn; default os.Executable()
	Dir          string        // --dir: parent of the run's temp dir
	StartTimeout time.Duration // --start-timeout: bound on a start, a stop and the wait for a full ISR
	JSON         bool          // --json: one JSON document instead of the table
	Keep         bool          // --keep: leave the run's temp dir (the nodes' logs) in place
	Overrides    []string      // --zkraft-override key=value (repeatable): extra `serve --override`s for the brokers

	// controllers is the quorum size in quorum mode (0 = 1); `bench cluster` runs 3.
	controllers int
}

// DefaultRollConfig: 6 partitions, 300 records/s of 1 KiB, one round, 3 s settle.
func DefaultRollConfig() RollConfig {
	return RollConfig{Mode: RollModeZooKeeper, Partitions: 6, Rate: 300, RecordSize: 1024, Rounds: 1,
		Settle: 3 * time.Second, Dir: os.TempDir(), StartTimeout: 60 * time.Second}
}

// Validate names the flag and value at fault.
func (c RollConfig) Validate() error {
	bad := func(flagName, format string, args ...any) error {
		return fmt.Errorf("%w: --%s: %s", ErrUsage, flagName, fmt.Sprintf(format, args...))
	}
	switch c.Mode {
	case RollModeZooKeeper:
		if !strings.Contains(c.ZooKeeper, ":") {
			return bad("zookeeper", "zk mode needs host:port of a running ZooKeeper, got %q", c.ZooKeeper)
		}
	case RollModeQuorum:
	default:
		return bad("mode", "want zk or quorum, got %q", c.Mode)
	}
	if c.Partitions < 1 || c.Partitions > maxPartitions {
		return bad("partitions", "want 1..%d, got %d", maxPartitions, c.Partitions)
	}
	if c.Rate <= 0 || c.Rate > 100000 {
		return bad("rate", "want (0, 100000] records/s, got %g", c.Rate)
	}
	if c.RecordSize < 1 || c.RecordSize > maxRecordSize {
		return bad("record-size", "want 1..%d bytes, got %d", maxRecordSize, c.RecordSize)
	}
	if c.Rounds < 1 || c.Rounds > 20 {
		return bad("rounds", "want 1..20, got %d", c.Rounds)
	}
	if c.Settle < 0 {
		return bad("settle", "want >= 0, got %s", c.Settle)
	}
	if c.StartTimeout <= 0 {
		return bad("start-timeout", "want > 0, got %s", c.StartTimeout)
	}
	for _, kv := range c.Overrides {
		if !strings.Contains(kv, "=") {
			return bad("zkraft-override", "want key=value, got %q", kv)
		}
	}
	return nil
}

// RollStep is one broker's roll: SIGTERM, exit, restart, full ISR again.
type RollStep struct {
	Round        int     `json:"round"`
	Broker       int32   `json:"broker"`
	StopMillis   float64 `json:"stop_ms"`        // SIGTERM -> process exited
	RejoinMillis float64 `json:"rejoin_ms"`      // restart -> every partition has 3 in its ISR
	MaxGapMillis float64 `json:"max_ack_gap_ms"` // longest gap between acks from SIGTERM to full ISR
	GapAtMillis  float64 `json:"gap_at_ms"`      // when that gap began, from SIGTERM (negative: before it)

	from, to time.Time // the window MaxGapMillis covers, computed once the load has stopped
}

// RollReport is one `zkraft bench roll` run.
type RollReport struct {
	Mode           string     `json:"mode"`
	Partitions     int32      `json:"partitions"`
	Rate           float64    `json:"rate"`
	BaselineGapMs  float64    `json:"baseline_max_ack_gap_ms"` // the settle before the first roll
	Steps          []RollStep `json:"steps"`
	MaxGapMillis   float64    `json:"max_ack_gap_ms"` // over every step
	Acked          int64      `json:"acked"`
	Failed         int64      `json:"failed"`
	FirstFailure   string     `json:"first_failure,omitempty"`
	ElapsedSeconds float64    `json:"elapsed_s"`
}

// WriteText prints the steps as a table and the summary.
func (r *RollReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "mode %s: 3 brokers, %d partitions RF 3 min.insync.replicas 2, acks=all producer at %.0f records/s\n",
		r.Mode, r.Partitions, r.Rate)
	fmt.Fprintf(w, "baseline (no roll): longest ack gap %.0f ms\n", r.BaselineGapMs)
	fmt.Fprintf(w, "%-6s %-7s %-9s %-10s %-15s %-10s\n", "round", "broker", "stop_ms", "rejoin_ms", "max_ack_gap_ms", "gap_at_ms")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%-6d %-7d %-9.0f %-10.0f %-15.0f %-10.0f\n", s.Round, s.Broker, s.StopMillis, s.RejoinMillis, s.MaxGapMillis, s.GapAtMillis)
	}
	fmt.Fprintf(w, "longest ack gap while rolling: %.0f ms; acked %d, failed %d in %.1f s\n",
		r.MaxGapMillis, r.Acked, r.Failed, r.ElapsedSeconds)
	if r.FirstFailure != "" {
		fmt.Fprintf(w, "first failure: %s\n", r.FirstFailure)
	}
}

func mainRoll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := DefaultRollConfig()
	fs := flag.NewFlagSet("zkraft bench roll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Mode, "mode", c.Mode, "zk (3 ZooKeeper-mode brokers) or quorum (1 controller + 3 brokers)")
	fs.StringVar(&c.ZooKeeper, "zookeeper", c.ZooKeeper, "host:port of a running ZooKeeper (zk mode)")
	var parts int
	fs.IntVar(&parts, "partitions", int(c.Partitions), "partitions of the RF 3 topic")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "records/s of the acks=all producer")
	fs.IntVar(&c.RecordSize, "record-size", c.RecordSize, "value bytes per record")
	fs.IntVar(&c.Rounds, "rounds", c.Rounds, "how many times every broker is rolled")
	fs.DurationVar(&c.Settle, "settle", c.Settle, "producing time before the first roll and after each full ISR")
	fs.StringVar(&c.ZkraftBinary, "zkraft-binary", c.ZkraftBinary, "binary to spawn (default: this executable)")
	fs.StringVar(&c.Dir, "dir", c.Dir, "parent directory of the run's temp dir")
	fs.DurationVar(&c.StartTimeout, "start-timeout", c.StartTimeout, "bound on a start, a stop and a wait for full ISR")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON document")
	fs.BoolVar(&c.Keep, "keep", c.Keep, "keep the run's temp dir (the nodes' logs)")
	var overrides stringList
	fs.Var(&overrides, "zkraft-override", "extra key=value passed to the brokers' `serve --override` (repeatable)")
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
	if err := c.Validate(); err != nil {
		return err
	}
	rep, err := Roll(ctx, c, newLogger(stderr))
	if rep != nil {
		writeReport(stdout, c.JSON, rep, rep.WriteText)
	}
	return err
}

// rollCluster is the spawned cluster: brokers 1-3 and, in quorum mode, controllers 10, 11, ...
type rollCluster struct {
	cfg         RollConfig
	log         *zap.Logger
	controllers []*broker
	brokers     map[int32]*broker
	args        map[int32][]string // serve arguments, for restarts
}

func (rc *rollCluster) addrs() []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(rc.brokers)) {
		out = append(out, rc.brokers[id].addr)
	}
	return out
}

// startRollCluster spawns the cluster in dir and waits until every broker answers.
func startRollCluster(ctx context.Context, cfg RollConfig, dir string, logger *zap.Logger) (rc *rollCluster, err error) {
	rc = &rollCluster{cfg: cfg, log: logger, brokers: map[int32]*broker{}, args: map[int32][]string{}}
	defer func() {
		if err != nil {
			rc.close()
		}
	}()
	nctl := max(1, cfg.controllers)
	ports, err := freePortList(3 + nctl)
	if err != nil {
		return rc, fmt.Errorf("%w: %w", ErrBrokerStart, err)
	}
	common := []string{"default.replication.factor=3", "min.insync.replicas=2", "offsets.topic.replication.factor=3",
		"auto.create.topics.enable=false"}
	var mode []string
	switch cfg.Mode {
	case RollModeZooKeeper:
		chroot := fmt.Sprintf("/zkraft-roll-%d", time.Now().UnixNano())
		mode = []string{"zookeeper.connect=" + cfg.ZooKeeper + chroot}
	case RollModeQuorum:
		var voters []string
		for i := 0; i < nctl; i++ {
			voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", 10+i, ports[3+i]))
		}
		vs := strings.Join(voters, ",")
		mode = []string{"controller.quorum.voters=" + vs, "controller.listener.names=CONTROLLER"}
		for i := 0; i < nctl; i++ {
			ctrl := fmt.Sprintf("127.0.0.1:%d", ports[3+i])
			cd := filepath.Join(dir, fmt.Sprintf("controller-%d", 10+i))
			if err := os.MkdirAll(cd, 0o755); err != nil {
				return rc, err
			}
			c := &broker{target: "controller", addr: ctrl, dir: cd, logPath: filepath.Join(cd, "zkraft.log"), done: make(chan struct{})}
			cargs := serveArgs("process.roles=controller", fmt.Sprintf("node.id=%d", 10+i), "listeners=CONTROLLER://"+ctrl,
				"controller.quorum.voters="+vs, "controller.listener.names=CONTROLLER",
				"log.dirs="+filepath.Join(cd, "logs"), "metadata.log.dir="+filepath.Join(cd, "metadata"))
			if err := c.exec(cfg.ZkraftBinary, cargs, logger); err != nil {
				return rc, fmt.Errorf("%w: controller %d: %w", ErrBrokerStart, 10+i, err)
			}
			rc.controllers = append(rc.controllers, c)
		}
	}
	for id := int32(1); id <= 3; id++ {
		bd := filepath.Join(dir, fmt.Sprintf("broker-%d", id))
		if err := os.MkdirAll(bd, 0o755); err != nil {
			return rc, err
		}
		b := &broker{target: "zkraft", addr: fmt.Sprintf("127.0.0.1:%d", ports[id-1]), dir: bd,
			logPath: filepath.Join(bd, "zkraft.log"), done: make(chan struct{})}
		kv := []string{"listeners=PLAINTEXT://" + b.addr, "log.dirs=" + filepath.Join(bd, "logs"),
			"metadata.log.dir=" + filepath.Join(bd, "metadata")}
		if cfg.Mode == RollModeZooKeeper {
			kv = append(kv, fmt.Sprintf("broker.id=%d", id))
		} else {
			kv = append(kv, "process.roles=broker", fmt.Sprintf("node.id=%d", id))
		}
		kv = append(append(append(kv, mode...), common...), cfg.Overrides...)
		// A properties file, not overrides of the embedded default (which is a combined
		// quorum node: process.roles cannot be unset by an override).
		props := filepath.Join(bd, "server.properties")
		if err := os.WriteFile(props, []byte(strings.Join(kv, "\n")+"\n"), 0o644); err != nil {
			return rc, err
		}
		rc.args[id] = []string{"serve", props}
		if err := b.exec(cfg.ZkraftBinary, rc.args[id], logger); err != nil {
			return rc, fmt.Errorf("%w: broker %d: %w", ErrBrokerStart, id, err)
		}
		rc.brokers[id] = b
	}
	for _, b := range rc.brokers {
		if err := waitReady(ctx, b, time.Now().Add(cfg.StartTimeout)); err != nil {
			return rc, err
		}
	}
	return rc, nil
}

func serveArgs(kv ...string) []string {
	args := []string{"serve"}
	for _, s := range kv {
		args = append(args, "--override", s)
	}
	return args
}

func (rc *rollCluster) close() {
	for _, b := range rc.brokers {
		_ = b.stop(15 * time.Second)
	}
	for _, c := range rc.controllers {
		_ = c.stop(15 * time.Second)
	}
}

// fullISR waits until a Metadata response shows every partition of the topic with a leader
// and all three replicas in its ISR.
func (rc *rollCluster) fullISR(ctx context.Context, cl *kgo.Client) error {
	var last error
	err := poll(ctx, time.Now().Add(rc.cfg.StartTimeout), 50*time.Millisecond, func() (bool, error) {
		md := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(rollTopic)
		md.Topics = append(md.Topics, mt)
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := md.RequestWith(rctx, cl)
		cancel()
		if err != nil {
			last = err
			return false, nil
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != int(rc.cfg.Partitions) {
			last = fmt.Errorf("metadata for %s incomplete", rollTopic)
			return false, nil
		}
		for _, p := range resp.Topics[0].Partitions {
			if p.Leader < 0 || len(p.ISR) != 3 {
				last = fmt.Errorf("partition %d: leader %d, isr %v", p.Partition, p.Leader, p.ISR)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%w: full ISR of %s: %w (last: %v)", ErrTopic, rollTopic, err, last)
	}
	return nil
}

// ackTimes records when acks arrived (safe for concurrent use).
type ackTimes struct {
	mu sync.Mutex
	ts []time.Time
}

func (a *ackTimes) add(t time.Time) {
	a.mu.Lock()
	a.ts = append(a.ts, t)
	a.mu.Unlock()
}

func (a *ackTimes) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ts)
}

// maxGap is the longest gap between consecutive acks among the acks of [from, to], counting
// the gaps from the last ack before from and to the first ack after to (so a window in which
// nothing was acknowledged reports the whole silence), and when that gap began.
func (a *ackTimes) maxGap(from, to time.Time) (time.Duration, time.Time) {
	a.mu.Lock()
	ts := slices.Clone(a.ts)
	a.mu.Unlock()
	slices.SortFunc(ts, func(x, y time.Time) int { return x.Compare(y) })
	var gap time.Duration
	var at time.Time
	for i := 1; i < len(ts); i++ {
		if ts[i].Before(from) || ts[i-1].After(to) {
			continue
		}
		if g := ts[i].Sub(ts[i-1]); g > gap {
			gap, at = g, ts[i-1]
		}
	}
	return gap, at
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Roll runs the roll benchmark: it spawns the cluster, creates the RF 3 topic, starts one
// acks=all producer (kgo defaults otherwise, so a 5 s metadata min age), and rolls broker 1,
// 2, 3 (Rounds times): SIGTERM, wait for the exit, restart, wait until every partition's ISR
// is full again, settle. It reports the longest gap between acks in each roll.
func Roll(ctx context.Context, cfg RollConfig, logger *zap.Logger) (*RollReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(cfg.Dir, "zkraft-bench-roll-*")
	if err != nil {
		return nil, fmt.Errorf("%w: temp dir in %q: %w", ErrBrokerStart, cfg.Dir, err)
	}
	rc, err := startRollCluster(ctx, cfg, dir, logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		rc.close()
		if cfg.Keep {
			logger.Info("kept the run's directory", zap.String("dir", dir))
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	deadline := time.Now().Add(cfg.StartTimeout)
	if err := ensureTopic(ctx, rc.addrs(), rollTopic, cfg.Partitions, 3, deadline); err != nil {
		return nil, err
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(rc.addrs()...))
	if err != nil {
		return nil, fmt.Errorf("%w: admin client: %w", ErrTopic, err)
	}
	defer admin.Close()
	if err := rc.fullISR(ctx, admin); err != nil {
		return nil, err
	}

	acks := &ackTimes{}
	stop := make(chan struct{})
	type loadOut struct {
		res loadResult
		err error
	}
	loadDone := make(chan loadOut, 1)
	start := time.Now()
	go func() {
		res, err := runLoad(ctx, loadSpec{brokers: rc.addrs(), topic: rollTopic, recordSize: cfg.RecordSize,
			records: math.MaxInt64, duration: 24 * time.Hour, acks: -1, linger: 5 * time.Millisecond,
			rate: cfg.Rate, stop: stop, onAck: acks.add}, logger)
		loadDone <- loadOut{res, err}
	}()
	stopLoad := sync.OnceValue(func() loadOut { close(stop); return <-loadDone })
	defer stopLoad()

	rep := &RollReport{Mode: cfg.Mode, Partitions: cfg.Partitions, Rate: cfg.Rate}
	rollErr := func() error {
		// The baseline starts at the first timed ack (after the client's warm-up record).
		if err := poll(ctx, time.Now().Add(cfg.StartTimeout), 20*time.Millisecond, func() (bool, error) {
			return acks.count() > 0, nil
		}); err != nil {
			return fmt.Errorf("%w: no record acknowledged: %w", ErrProduce, err)
		}
		base := time.Now()
		if err := settle(ctx, cfg.Settle); err != nil {
			return err
		}
		gap, _ := acks.maxGap(base, time.Now())
		rep.BaselineGapMs = millis(gap)
		for round := 1; round <= cfg.Rounds; round++ {
			for id := int32(1); id <= 3; id++ {
				step, err := rc.roll(ctx, admin, round, id)
				if err != nil {
					return err
				}
				rep.Steps = append(rep.Steps, step)
				logger.Info("rolled broker", zap.Int("round", round), zap.Int32("broker", id),
					zap.Float64("stop_ms", step.StopMillis), zap.Float64("rejoin_ms", step.RejoinMillis))
				if err := settle(ctx, cfg.Settle); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	out := stopLoad()
	// Only now: a gap still open when a step ended is closed by a later ack.
	for i := range rep.Steps {
		st := &rep.Steps[i]
		gap, at := acks.maxGap(st.from, st.to)
		st.MaxGapMillis, st.GapAtMillis = millis(gap), millis(at.Sub(st.from))
		rep.MaxGapMillis = max(rep.MaxGapMillis, st.MaxGapMillis)
	}
	rep.Acked, rep.Failed = out.res.acked, out.res.failed
	rep.ElapsedSeconds = time.Since(start).Seconds()
	if out.res.firstErr != nil {
		rep.FirstFailure = out.res.firstErr.Error()
	}
	if rollErr != nil {
		return rep, rollErr
	}
	if out.err != nil {
		return rep, out.err
	}
	return rep, nil
}

// roll stops broker id with SIGTERM, restarts it and waits for a full ISR.
func (rc *rollCluster) roll(ctx context.Context, admin *kgo.Client, round int, id int32) (RollStep, error) {
	b := rc.brokers[id]
	t0 := time.Now()
	if err := b.stop(rc.cfg.StartTimeout); err != nil {
		return RollStep{}, fmt.Errorf("%w: stop broker %d: %w\n%s", ErrBrokerStart, id, err, b.logTail())
	}
	stopped := time.Now()
	if err := b.exec(rc.cfg.ZkraftBinary, rc.args[id], rc.log); err != nil {
		return RollStep{}, fmt.Errorf("%w: restart broker %d: %w", ErrBrokerStart, id, err)
	}
	if err := waitReady(ctx, b, time.Now().Add(rc.cfg.StartTimeout)); err != nil {
		return RollStep{}, err
	}
	if err := rc.fullISR(ctx, admin); err != nil {
		return RollStep{}, err
	}
	done := time.Now()
	return RollStep{Round: round, Broker: id, StopMillis: millis(stopped.Sub(t0)), RejoinMillis: millis(done.Sub(stopped)),
		from: t0, to: done}, nil
}

// settle lets the producer run for d (or until ctx ends).
func settle(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
