package main

import (
	"fmt"
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
