package meta

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
)

// Usage is printed by `zkraft meta help` and on a usage error.
const Usage = `zkraft meta: inspect a metadata log directory (metadata.log.dir) or a live
controller quorum, read-only. Safe while the node runs: a locked raft.db is
read from a copy.

Usage:
  zkraft meta dump --dir D [--from OFFSET] [--type TopicRecord,...] [--json]
        every record with offset (raft index), epoch (raft term), append time,
        type, version and fields; snapshots and raft control entries labelled
  zkraft meta shell --dir D [--at OFFSET] [--json]
        interactive shell over the image as a tree (ls, cd, pwd, cat, tree,
        find, history, help, exit), like kafka-metadata-shell
  zkraft meta --dir D [--at OFFSET] [--json] COMMAND [ARGS]
        run one shell command, e.g. zkraft meta --dir D cat /image/topics/byName/orders/0
  zkraft meta diff --dir D --at A --to B [--json]
        what changed in the image between offsets A and B
  zkraft meta zk-diff --dir D --zookeeper host:port[/chroot] [--at OFFSET] [--json]
        compare the image with a ZooKeeper tree in Kafka's layout

Every command takes --bootstrap-controller host:port[,host:port] instead of
--dir: the committed log is then read from the active controller over the
Kafka protocol (Fetch of __cluster_metadata, FetchSnapshot when compacted);
raft control entries and append times are not served that way.
--command-config F (a Kafka client properties file: security.protocol,
ssl.*, sasl.*) dials a TLS controller listener.

--timeout D (default 30s) bounds a command that dials: finding the active
controller and reading the log, or zk-diff's connecting to and reading
ZooKeeper. It fails with one line saying what did not happen in time.

Flags may come before or after the command. --at defaults to the last offset.
`

type options struct {
	dir, at, to, types, zookeeper string
	bootstrap                     string
	commandConfig                 string
	from                          uint64
	json                          bool
	timeout                       time.Duration
}

// DefaultTimeout bounds what a command that dials (--bootstrap-controller,
// zk-diff's --zookeeper) waits for, connecting and reading together.
const DefaultTimeout = 30 * time.Second

// parseArgs accepts flags anywhere among the positional arguments.
func parseArgs(args []string) (options, []string, error) {
	var o options
	fs := flag.NewFlagSet("zkraft meta", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.dir, "dir", "", "metadata.log.dir")
	fs.StringVar(&o.at, "at", "", "offset of the image (default: last)")
	fs.StringVar(&o.to, "to", "", "second offset of diff")
	fs.StringVar(&o.types, "type", "", "record types to dump")
	fs.StringVar(&o.zookeeper, "zookeeper", "", "ZooKeeper connect string")
	fs.StringVar(&o.bootstrap, "bootstrap-controller", "", "live controllers host:port[,host:port]")
	fs.StringVar(&o.commandConfig, "command-config", "", "Kafka client properties (security.protocol, ssl.*, sasl.*) for --bootstrap-controller")
	fs.Uint64Var(&o.from, "from", 0, "first offset to dump")
	fs.BoolVar(&o.json, "json", false, "JSON output")
	fs.DurationVar(&o.timeout, "timeout", DefaultTimeout, "deadline of --bootstrap-controller and --zookeeper")
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return o, nil, err
		} else if err != nil {
			return o, nil, fmt.Errorf("%w: %w", err, ErrUsage)
		}
		args = fs.Args()
		if len(args) == 0 {
			return o, pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func parseOffset(flagName, s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: not an offset: %w", flagName, s, ErrUsage)
	}
	return v, nil
}

// Main runs `zkraft meta ...`; args exclude "meta". `--help` (or -h, or
// the help command) prints Usage to stdout and succeeds. A usage error is
// returned as one line; the full usage is printed (after it, to stderr)
// only when no command was given at all.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := run(ctx, args, stdin, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, Usage)
		return nil
	case errors.Is(err, errNoCommand):
		fmt.Fprint(stderr, Usage)
	case errors.Is(err, ErrUsage):
		return fmt.Errorf("%w (zkraft meta help lists the commands and flags)", err)
	}
	return err
}

// errNoCommand: no command at all (Main prints the whole usage).
var errNoCommand = fmt.Errorf("no command: %w", ErrUsage)

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, pos, err := parseArgs(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errNoCommand
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive: %w", o.timeout, ErrUsage)
	}
	if pos[0] == "help" && o.dir == "" && o.bootstrap == "" {
		fmt.Fprint(stdout, Usage)
		return nil
	}
	l, err := openSource(ctx, o)
	if err != nil {
		return err
	}
	for _, w := range l.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	cmd := pos[0]
	switch cmd {
	case "dump":
		if len(pos) > 1 {
			return fmt.Errorf("dump: unexpected argument %q: %w", pos[1], ErrUsage)
		}
		types, err := ParseTypes(o.types)
		if err != nil {
			return err
		}
		if last := l.LastOffset(); o.from > last {
			// As --at: an offset past the end is an error, not an empty dump.
			if l.Err != nil {
				return fmt.Errorf("meta: --from %d is past the last readable offset %d: %w (%w)", o.from, last, l.Err, ErrOffsetUnavailable)
			}
			return fmt.Errorf("meta: --from %d is past the last offset %d: %w", o.from, last, ErrOffsetUnavailable)
		}
		return Dump(stdout, l, DumpOptions{From: o.from, Types: types, JSON: o.json})
	case "diff":
		if o.at == "" || o.to == "" {
			return fmt.Errorf("diff needs --at A and --to B: %w", ErrUsage)
		}
		a, err := stateAt(l, o.at)
		if err != nil {
			return err
		}
		b, err := stateAt(l, o.to)
		if err != nil {
			return err
		}
		if !o.json {
			fmt.Fprintf(stdout, "diff of the image from offset %d (%s) to offset %d (%s)\n", a.At, a.From, b.At, b.From)
		}
		if err := WriteChanges(stdout, DiffTrees(BuildTree(a, l), BuildTree(b, l), nil), o.json); err != nil {
			return err
		}
		return l.Err
	case "zk-diff":
		if o.zookeeper == "" {
			return fmt.Errorf("zk-diff needs --zookeeper host:port: %w", ErrUsage)
		}
		st, err := stateAt(l, o.at)
		if err != nil {
			return err
		}
		return zkDiff(ctx, stdout, l, st, o.zookeeper, o.json, o.timeout)
	}
	st, err := stateAt(l, o.at)
	if err != nil {
		return err
	}
	sh := newShell(BuildTree(st, l), o.json, stdout, stderr)
	if cmd == "shell" {
		if len(pos) > 1 {
			return fmt.Errorf("shell: unexpected argument %q: %w", pos[1], ErrUsage)
		}
		if l.Err != nil {
			fmt.Fprintf(stderr, "warning: the image stops before a damaged entry: %v\n", l.Err)
		}
		fmt.Fprintf(stdout, "zkraft metadata shell: %s, image at offset %d from %s. Type help for commands.\n", l.Source(), st.At, st.From)
		lines, err := openLines(sh, stdin, stdout)
		if err != nil {
			return err
		}
		return sh.repl(lines)
	}
	if err := sh.exec(pos); err != nil {
		return err
	}
	return l.Err
}

// openSource reads --dir or --bootstrap-controller (exactly one).
func openSource(ctx context.Context, o options) (*Log, error) {
	switch {
	case o.dir != "" && o.bootstrap != "":
		return nil, fmt.Errorf("--dir and --bootstrap-controller exclude each other: %w", ErrUsage)
	case o.bootstrap != "":
		opts := DefaultLiveOptions()
		opts.Timeout, opts.RequestTimeout = min(opts.Timeout, o.timeout), min(opts.RequestTimeout, o.timeout)
		if o.commandConfig != "" {
			sec, err := config.LoadClient(o.commandConfig)
			if err != nil {
				return nil, fmt.Errorf("meta: %w: %w", err, ErrUsage)
			}
			opts.Security = sec
		}
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		start := time.Now()
		l, err := OpenLive(ctx, o.bootstrap, opts)
		// The deadline, or a request that used all of it: one message.
		if err != nil && (errors.Is(ctx.Err(), context.DeadlineExceeded) || time.Since(start) >= o.timeout) {
			return nil, fmt.Errorf("meta: --bootstrap-controller %s: the metadata log was not read within --timeout %s (last error: %v): %w",
				o.bootstrap, o.timeout, err, ErrTimeout)
		}
		return l, err
	case o.dir != "":
		return Open(ctx, o.dir, DefaultOpenOptions())
	}
	return nil, fmt.Errorf("--dir or --bootstrap-controller is required: %w", ErrUsage)
}

// stateAt builds the image at --at (s), or at the last offset when s is "".
func stateAt(l *Log, s string) (*State, error) {
	at := l.LastOffset()
	if s != "" {
		v, err := parseOffset("--at", s)
		if err != nil {
			return nil, err
		}
		at = v
	}
	return l.ImageAt(at)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
