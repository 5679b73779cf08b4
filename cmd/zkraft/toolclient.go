package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
)

// toolClient is the franz-go client of a Kafka-style tool: the seeds of
// --bootstrap-server (or --bootstrap-controller), dialled with the
// security of --command-config when given. tool prefixes its errors.
func toolClient(tool, bootstrap, commandConfig string) (*kgo.Client, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(bootstrap, ",")...), kgo.DialTimeout(10 * time.Second)}
	if commandConfig != "" {
		sec, err := config.LoadClient(commandConfig)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tool, err)
		}
		opts = append(opts, sec.KgoOpts()...)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", tool, bootstrap, err)
	}
	return cl, nil
}

// toolFlags are the flags every admin tool shares, by Kafka's names:
// --bootstrap-server, --command-config and --timeout; a tool adds its own.
type toolFlags struct {
	*flag.FlagSet
	tool, usage   string
	bootstrap     string
	commandConfig string
	timeout       time.Duration
}

func newToolFlags(tool, usage string, stderr io.Writer) *toolFlags {
	fs := &toolFlags{FlagSet: flag.NewFlagSet("zkraft "+tool, flag.ContinueOnError), tool: tool, usage: usage}
	fs.SetOutput(stderr)
	fs.StringVar(&fs.bootstrap, "bootstrap-server", "", "host:port[,host:port] of any broker")
	fs.StringVar(&fs.commandConfig, "command-config", "", "a Kafka client properties file (security.protocol, ssl.*, sasl.*)")
	fs.DurationVar(&fs.timeout, "timeout", 30*time.Second, "how long to wait")
	return fs
}

// parse parses args: help true when -h printed the usage to stdout (the
// tool returns nil); a bad flag, no --bootstrap-server or a stray
// argument is the tool's usage error.
func (fs *toolFlags) parse(args []string, stdout io.Writer) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, fs.usage)
			return true, nil
		}
		return false, fs.usageError()
	}
	if fs.bootstrap == "" || fs.NArg() > 0 {
		return false, fs.usageError()
	}
	return false, nil
}

// usageError prints the tool's usage and exits 2 (main).
func (fs *toolFlags) usageError() error { return usageError{text: fs.usage} }

// client is toolClient for these flags.
func (fs *toolFlags) client() (*kgo.Client, error) {
	return toolClient(fs.tool, fs.bootstrap, fs.commandConfig)
}
