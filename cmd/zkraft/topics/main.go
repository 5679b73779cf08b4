package topics

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
)

// Usage is printed by `zkraft topics --help` and on a usage error.
const Usage = `zkraft topics: create, delete, describe or change topics, as Kafka's
kafka-topics.sh does, over the Kafka protocol (any zkraft mode, any Kafka broker).

Usage:
  zkraft topics --bootstrap-server host:port[,host:port] COMMAND [flags]

Commands (exactly one):
  --list [--topic T] [--exclude-internal] [--json]
        topic names, one a line
  --describe [--topic T] [--if-exists] [--exclude-internal] [--json]
             [--under-replicated-partitions]
        topic, id, partition count, replication factor, non-default configs,
        then leader, replicas and ISR of every partition; with
        --under-replicated-partitions only the partition lines whose ISR is
        smaller than their replicas (nothing printed: every ISR is full)
  --create --topic T [--partitions N] [--replication-factor R]
           [--config k=v]... [--if-not-exists]
        without --partitions / --replication-factor the broker's defaults apply
  --delete --topic T [--if-exists]
  --alter --topic T --partitions N [--if-exists]
        add partitions (needs the CreatePartitions API, which zkraft does not offer)

--topic made of topic-name characters ([a-zA-Z0-9._-]) names one topic exactly;
anything else is a regular expression over whole names (commas separate
alternatives). Not with --create, which takes a name.
--timeout D (default 30s) bounds the whole command.
--command-config F: a Kafka client properties file for a secured cluster
(security.protocol, ssl.truststore.location, sasl.mechanism, sasl.jaas.config).
`

// options is a parsed command line.
type options struct {
	bootstrap                              string
	commandConfig                          string
	list, describe, create, delete, alter  bool
	topic                                  string
	partitions, replicationFactor          int
	configs                                configFlag
	ifExists, ifNotExists, excludeInternal bool
	json                                   bool
	underReplicated                        bool
	timeout                                time.Duration
	set                                    map[string]bool // flags given on the command line
}

// configFlag collects repeated --config key=value.
type configFlag []string

func (c *configFlag) String() string     { return strings.Join(*c, ",") }
func (c *configFlag) Set(s string) error { *c = append(*c, s); return nil }

// errHelp: --help was asked for; Main prints Usage to stdout and succeeds.
var errHelp = errors.New("help")

// parseArgs parses and checks args (after "topics") as Kafka's
// TopicCommandOptions.checkArgs does.
func parseArgs(args []string) (options, error) {
	o := options{set: map[string]bool{}}
	fs := flag.NewFlagSet("zkraft topics", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.bootstrap, "bootstrap-server", "", "")
	fs.StringVar(&o.commandConfig, "command-config", "", "")
	fs.BoolVar(&o.list, "list", false, "")
	fs.BoolVar(&o.describe, "describe", false, "")
	fs.BoolVar(&o.create, "create", false, "")
	fs.BoolVar(&o.delete, "delete", false, "")
	fs.BoolVar(&o.alter, "alter", false, "")
	fs.StringVar(&o.topic, "topic", "", "")
	fs.IntVar(&o.partitions, "partitions", 0, "")
	fs.IntVar(&o.replicationFactor, "replication-factor", 0, "")
	fs.Var(&o.configs, "config", "")
	fs.BoolVar(&o.ifExists, "if-exists", false, "")
	fs.BoolVar(&o.ifNotExists, "if-not-exists", false, "")
	fs.BoolVar(&o.excludeInternal, "exclude-internal", false, "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.underReplicated, "under-replicated-partitions", false, "")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp
		}
		return o, fmt.Errorf("%w: %w", err, ErrUsage)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), ErrUsage)
	}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })

	actions := 0
	for _, a := range []bool{o.list, o.describe, o.create, o.delete, o.alter} {
		if a {
			actions++
		}
	}
	if actions != 1 {
		return o, fmt.Errorf("command must include exactly one action: --list, --describe, --create, --alter or --delete: %w", ErrUsage)
	}
	if len(splitBootstrap(o.bootstrap)) == 0 {
		return o, fmt.Errorf("--bootstrap-server must be specified: %w", ErrUsage)
	}
	if !o.list && !o.describe && o.topic == "" {
		return o, fmt.Errorf("--%s needs --topic: %w", o.action(), ErrUsage)
	}
	if o.describe && o.ifExists && o.topic == "" {
		return o, fmt.Errorf("--topic is required to describe a topic with --if-exists: %w", ErrUsage)
	}
	// Flags valid only with some actions.
	only := []struct {
		flag string
		ok   bool
	}{
		{"config", o.create},
		{"partitions", o.create || o.alter},
		{"replication-factor", o.create},
		{"if-exists", o.alter || o.delete || o.describe},
		{"if-not-exists", o.create},
		{"exclude-internal", o.list || o.describe},
		{"json", o.list || o.describe},
		{"under-replicated-partitions", o.describe},
	}
	for _, c := range only {
		if o.set[c.flag] && !c.ok {
			return o, fmt.Errorf("option --%s is not valid with --%s: %w", c.flag, o.action(), ErrUsage)
		}
	}
	if o.alter && !o.set["partitions"] {
		return o, fmt.Errorf("--alter needs --partitions (to change topic configs: zkraft configs --alter --entity-type topics --entity-name T --add-config k=v): %w", ErrUsage)
	}
	if o.set["replication-factor"] && (o.replicationFactor < 1 || o.replicationFactor > 32767) {
		return o, fmt.Errorf("--replication-factor %d: the replication factor must be between 1 and 32767 inclusive: %w", o.replicationFactor, ErrUsage)
	}
	if maxParts := partitionLimit(o); o.set["partitions"] && (o.partitions < 1 || o.partitions > maxParts) {
		return o, fmt.Errorf("--partitions %d: must be between 1 and %d inclusive: %w", o.partitions, maxParts, ErrUsage)
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("--timeout %s: must be positive: %w", o.timeout, ErrUsage)
	}
	if o.create {
		if _, err := parseConfigs(o.configs); err != nil {
			return o, err
		}
	}
	if o.topic != "" && !o.create {
		if _, err := newTopicFilter(o.topic); err != nil {
			return o, err
		}
	}
	return o, nil
}

// action names the chosen command, for messages.
func (o options) action() string {
	switch {
	case o.list:
		return "list"
	case o.describe:
		return "describe"
	case o.create:
		return "create"
	case o.delete:
		return "delete"
	case o.alter:
		return "alter"
	}
	return "?"
}

// parseConfigs turns --config key=value flags into a map. The value may
// hold '='; spaces around key and value are dropped (Kafka trims them).
func parseConfigs(kvs []string) (map[string]string, error) {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("--config %q: invalid topic config, want key=value: %w", kv, ErrUsage)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--config %q: %s given twice: %w", kv, k, ErrUsage)
		}
		out[k] = v
	}
	return out, nil
}

// topicFilter selects topics by --topic: one exact name, or a regular
// expression over whole names (Kafka's IncludeList).
type topicFilter struct {
	exact string         // set when --topic is a plain topic name
	re    *regexp.Regexp // set otherwise
}

var plainTopicName = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

func newTopicFilter(s string) (topicFilter, error) {
	if plainTopicName.MatchString(s) {
		return topicFilter{exact: s}, nil
	}
	expr := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(s), ",", "|"), " ", "")
	expr = strings.TrimRight(strings.TrimLeft(expr, `"'`), `"'`)
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil || expr == "" {
		return topicFilter{}, fmt.Errorf("--topic %q is an invalid regular expression: %w: %w", s, err, ErrUsage)
	}
	return topicFilter{re: re}, nil
}

// match reports whether name is selected; the zero filter selects all.
func (f topicFilter) match(name string) bool {
	switch {
	case f.exact != "":
		return name == f.exact
	case f.re != nil:
		return f.re.MatchString(name)
	}
	return true
}

// Main runs `zkraft topics ...`; args exclude "topics". Output goes to
// stdout, warnings to stderr; a usage error also prints Usage to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, Usage)
		return nil
	}
	if err != nil {
		fmt.Fprint(stderr, Usage)
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	seeds := splitBootstrap(o.bootstrap)
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.DialTimeout(10 * time.Second)}
	if o.commandConfig != "" {
		sec, err := config.LoadClient(o.commandConfig)
		if err != nil {
			return fmt.Errorf("%w: %w", err, ErrUsage)
		}
		opts = append(opts, sec.KgoOpts()...)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("--bootstrap-server %s: %w: %w", o.bootstrap, err, ErrUsage)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("%w (%s): %w", ErrConnect, strings.Join(seeds, ","), err)
	}
	return run(ctx, cl, o, stdout, stderr)
}

// splitBootstrap splits host:port[,host:port] and drops empty parts.
func splitBootstrap(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// run executes the parsed command through r.
func run(ctx context.Context, r Requester, o options, stdout, stderr io.Writer) error {
	var filter topicFilter
	if o.topic != "" && !o.create {
		f, err := newTopicFilter(o.topic)
		if err != nil {
			return err
		}
		filter = f
	}
	switch {
	case o.list:
		topics, err := listTopics(ctx, r, filter, o.excludeInternal)
		if err != nil {
			return err
		}
		names := make([]string, len(topics))
		for i, t := range topics {
			names[i] = t.name
		}
		sort.Strings(names)
		return writeList(stdout, names, o.json)
	case o.describe:
		descs, err := describeTopics(ctx, r, filter, o.excludeInternal, o.ifExists)
		if err != nil {
			return err
		}
		if o.underReplicated {
			return writeDescribe(stdout, underReplicated(descs), o.json, true)
		}
		return writeDescribe(stdout, descs, o.json, false)
	case o.create:
		if strings.ContainsAny(o.topic, "._") { // Kafka's Topic.hasCollisionChars
			fmt.Fprintln(stderr, "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.")
		}
		configs, err := parseConfigs(o.configs)
		if err != nil {
			return err
		}
		spec := createSpec{name: o.topic, partitions: -1, replicationFactor: -1, configs: configs}
		if o.set["partitions"] {
			spec.partitions = int32(o.partitions)
		}
		if o.set["replication-factor"] {
			spec.replicationFactor = int16(o.replicationFactor)
		}
		created, err := createTopic(ctx, r, spec, o.ifNotExists, o.timeout)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stdout, "Created topic %s.\n", o.topic)
		}
		return nil
	case o.delete:
		return deleteTopics(ctx, r, filter, o.ifExists, o.timeout)
	case o.alter:
		return alterPartitions(ctx, r, filter, int32(o.partitions), o.ifExists, o.timeout)
	}
	return fmt.Errorf("no command: %w", ErrUsage)
}

// partitionLimit is the largest --partitions: the controller's limit for
// one topic creation, the int32 range for --alter (a partition count).
func partitionLimit(o options) int {
	if o.create {
		return metadata.MaxCreatePartitions
	}
	return 1<<31 - 1
}
