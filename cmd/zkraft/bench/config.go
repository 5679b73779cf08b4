package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Targets a produce run can measure.
const (
	TargetZkraft  = "zkraft"  // zkraft's own broker (`zkraft serve`)
	TargetKfake   = "kfake"   // franz-go's in-memory kfake cluster (`zkraft bench kfake-serve`)
	TargetCompare = "compare" // alternating zkraft/kfake runs, each on a freshly spawned broker
)

// Limits that Validate enforces.
const (
	maxRecordSize = 512 << 10 // below kgo's default 1 MB ProducerBatchMaxBytes, so a record always fits a batch
	maxPartitions = 10000
	maxPairs      = 100
)

// ProduceConfig configures `zkraft bench produce`. Each field is one flag; the flag name is
// in the field's comment.
type ProduceConfig struct {
	Brokers         string        // --brokers: host:port[,host:port] of a running target; empty = spawn one per run
	Target          string        // --target: zkraft, kfake or compare
	RecordSize      int           // --record-size: value bytes per record (no key, no compression)
	Records         int64         // --records: records per run (a run stops at Records or Duration, whichever first)
	Duration        time.Duration // --duration: time cap per run
	Acks            string        // --acks: all, 1 or 0
	Partitions      int32         // --partitions: partitions of the benchmark topic
	Topic           string        // --topic: topic name
	Linger          time.Duration // --linger: kgo ProducerLinger
	Rate            float64       // --rate: records/s for every run; 0 = as fast as possible
	Pairs           int           // --pairs: peak runs per target (compare: alternating zkraft/kfake pairs)
	LatencyFraction float64       // --latency-fraction: after the peak runs, one run per target at this fraction of the peak rate; 0 = none
	JSON            bool          // --json: print one JSON document instead of tables
	ZkraftBinary    string        // --zkraft-binary: binary to spawn (`serve`, `bench kfake-serve`); default os.Executable()
	Dir             string        // --dir: parent of the temp dirs (broker data, disk probe); default os.TempDir()
	DiskMiB         int           // --disk-mib: size of the disk bandwidth probe; 0 = skip it
	StartTimeout    time.Duration // --start-timeout: how long a spawned broker may take to become ready
	Overrides       []string      // --zkraft-override key=value (repeatable): extra `serve --override`s
	// --security-protocols: PLAINTEXT, SSL, SASL_SSL (comma-separated) for --target zkraft on
	// spawned brokers: each other than PLAINTEXT is a target of its own (zkraft/SSL, ...),
	// alternating with PLAINTEXT runs, reported as a ratio to PLAINTEXT (security.go).
	SecurityProtocols []string
}

// DefaultProduceConfig returns the defaults of every flag of `zkraft bench produce`.
// Records is sized so that a peak run is capped by Duration on this class of machine (2 cores):
// 1,000,000 records of 1 KiB are ~1 GiB.
func DefaultProduceConfig() ProduceConfig {
	return ProduceConfig{
		Target:          TargetCompare,
		RecordSize:      1024,
		Records:         1_000_000,
		Duration:        10 * time.Second,
		Acks:            "all",
		Partitions:      12,
		Topic:           "zkraft-bench",
		Linger:          5 * time.Millisecond,
		Pairs:           5,
		LatencyFraction: 0.33,
		DiskMiB:         256,
		StartTimeout:    30 * time.Second,
	}
}

// Validate checks every field; the error wraps ErrUsage and names the flag and the bad value.
func (c ProduceConfig) Validate() error {
	bad := func(flagName string, format string, args ...any) error {
		return fmt.Errorf("%w: --%s: %s", ErrUsage, flagName, fmt.Sprintf(format, args...))
	}
	switch c.Target {
	case TargetZkraft, TargetKfake, TargetCompare:
	default:
		return bad("target", "want zkraft, kfake or compare, got %q", c.Target)
	}
	if c.Brokers != "" {
		if c.Target == TargetCompare {
			return bad("brokers", "a running target (%q) needs --target zkraft or kfake, not compare", c.Brokers)
		}
		for _, hp := range strings.Split(c.Brokers, ",") {
			if !strings.Contains(hp, ":") {
				return bad("brokers", "want host:port, got %q", hp)
			}
		}
	}
	if c.RecordSize < 1 || c.RecordSize > maxRecordSize {
		return bad("record-size", "want 1..%d bytes, got %d", maxRecordSize, c.RecordSize)
	}
	if c.Records < 1 {
		return bad("records", "want >= 1, got %d", c.Records)
	}
	if c.Duration <= 0 {
		return bad("duration", "want > 0, got %s", c.Duration)
	}
	if _, err := parseAcks(c.Acks); err != nil {
		return bad("acks", "%v", err)
	}
	if c.Partitions < 1 || c.Partitions > maxPartitions {
		return bad("partitions", "want 1..%d, got %d", maxPartitions, c.Partitions)
	}
	if err := validTopic(c.Topic); err != nil {
		return bad("topic", "%v", err)
	}
	if c.Linger < 0 {
		return bad("linger", "want >= 0, got %s", c.Linger)
	}
	if c.Rate < 0 || c.Rate != c.Rate {
		return bad("rate", "want >= 0 records/s, got %v", c.Rate)
	}
	if c.Pairs < 1 || c.Pairs > maxPairs {
		return bad("pairs", "want 1..%d, got %d", maxPairs, c.Pairs)
	}
	if !(c.LatencyFraction >= 0 && c.LatencyFraction <= 1) {
		return bad("latency-fraction", "want 0..1, got %v", c.LatencyFraction)
	}
	if c.DiskMiB < 0 || c.DiskMiB > 64<<10 {
		return bad("disk-mib", "want 0..65536, got %d", c.DiskMiB)
	}
	if c.StartTimeout <= 0 {
		return bad("start-timeout", "want > 0, got %s", c.StartTimeout)
	}
	secure := false
	for _, p := range c.SecurityProtocols {
		if !slices.Contains(benchProtocols, p) {
			return bad("security-protocols", "want PLAINTEXT, SSL or SASL_SSL, got %q", p)
		}
		secure = secure || p != ProtocolPlaintext
	}
	if secure && (c.Target != TargetZkraft || c.Brokers != "") {
		return bad("security-protocols", "%s needs --target zkraft and spawned brokers (no --brokers)", strings.Join(c.SecurityProtocols, ","))
	}
	for _, kv := range c.Overrides {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return bad("zkraft-override", "want key=value, got %q", kv)
		}
	}
	return nil
}

// parseAcks maps the --acks spelling to Kafka's acks value.
func parseAcks(s string) (int16, error) {
	switch s {
	case "all", "-1":
		return -1, nil
	case "1":
		return 1, nil
	case "0":
		return 0, nil
	}
	return 0, fmt.Errorf("want all, 1 or 0, got %q", s)
}

// validTopic applies Kafka's topic name rule: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
func validTopic(s string) error {
	if s == "" || s == "." || s == ".." || len(s) > 249 {
		return fmt.Errorf("invalid topic name %q", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("invalid character %q in topic name %q", r, s)
		}
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// parseProduceFlags parses `bench produce` flags over DefaultProduceConfig and validates them.
// -h prints the usage to stderr and returns flag.ErrHelp.
func parseProduceFlags(args []string, stderr io.Writer) (ProduceConfig, error) {
	c := DefaultProduceConfig()
	fs := flag.NewFlagSet("zkraft bench produce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Brokers, "brokers", c.Brokers, "host:port of a running target; empty = spawn a broker per run")
	fs.StringVar(&c.Target, "target", c.Target, "zkraft, kfake or compare")
	fs.IntVar(&c.RecordSize, "record-size", c.RecordSize, "value bytes per record")
	fs.Int64Var(&c.Records, "records", c.Records, "records per run (cap)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "time per run (cap)")
	fs.StringVar(&c.Acks, "acks", c.Acks, "all, 1 or 0")
	var parts int
	fs.IntVar(&parts, "partitions", int(c.Partitions), "partitions of the benchmark topic")
	fs.StringVar(&c.Topic, "topic", c.Topic, "topic name")
	fs.DurationVar(&c.Linger, "linger", c.Linger, "producer linger")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "records/s for every run; 0 = as fast as possible")
	fs.IntVar(&c.Pairs, "pairs", c.Pairs, "peak runs per target (compare: alternating pairs)")
	fs.Float64Var(&c.LatencyFraction, "latency-fraction", c.LatencyFraction, "latency run at this fraction of the peak rate; 0 = none")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON document")
	fs.StringVar(&c.ZkraftBinary, "zkraft-binary", c.ZkraftBinary, "binary to spawn (default: this executable)")
	fs.StringVar(&c.Dir, "dir", c.Dir, "parent directory for temp dirs (default: $TMPDIR)")
	fs.IntVar(&c.DiskMiB, "disk-mib", c.DiskMiB, "MiB written by the disk bandwidth probe; 0 = skip")
	fs.DurationVar(&c.StartTimeout, "start-timeout", c.StartTimeout, "how long a spawned broker may take to become ready")
	var overrides stringList
	fs.Var(&overrides, "zkraft-override", "extra key=value passed to `serve --override` (repeatable)")
	protocols := fs.String("security-protocols", "", "PLAINTEXT,SSL,SASL_SSL: measure a spawned zkraft over each, TLS ones as a ratio to PLAINTEXT")
	if err := parseFlags(fs, args); err != nil {
		return c, err
	}
	if err := checkPartitions(parts); err != nil {
		return c, err
	}
	c.Partitions = int32(parts)
	c.Overrides = overrides
	for _, p := range strings.Split(*protocols, ",") {
		if p = strings.ToUpper(strings.TrimSpace(p)); p != "" && !slices.Contains(c.SecurityProtocols, p) {
			c.SecurityProtocols = append(c.SecurityProtocols, p)
		}
	}
	if c.Brokers == "" {
		if err := defaultBinary(&c.ZkraftBinary); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}

// checkPartitions is the bound on every bench's --partitions.
func checkPartitions(n int) error {
	if n < 1 || n > maxPartitions {
		return fmt.Errorf("%w: --partitions: want 1..%d, got %d", ErrUsage, maxPartitions, n)
	}
	return nil
}

// defaultBinary sets an unset --zkraft-binary to this executable.
func defaultBinary(bin *string) error {
	if *bin != "" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("%w: --zkraft-binary: not set and os.Executable failed: %w", ErrUsage, err)
	}
	*bin = exe
	return nil
}

// parseFlags parses args and rejects stray positional arguments; errors wrap ErrUsage
// (flag.ErrHelp is returned as is).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", ErrUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}
