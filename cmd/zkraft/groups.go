package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
)

const groupsUsage = `Usage (as kafka-consumer-groups.sh):
  zkraft consumer-groups --bootstrap-server H:P[,H:P] [--command-config F] [--timeout 30s] COMMAND
  --list                               every group's name
  --describe (--group G | --all-groups) each partition's committed offset, log end offset, lag and owner
  --delete --group G                   delete an empty group (its offsets too)
`

// groupsMain runs `zkraft consumer-groups` (args exclude "consumer-groups").
func groupsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("zkraft consumer-groups", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bootstrap := fs.String("bootstrap-server", "", "host:port[,host:port] of any broker")
	commandConfig := fs.String("command-config", "", "a Kafka client properties file (security.protocol, ssl.*, sasl.*)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait")
	list := fs.Bool("list", false, "list the groups")
	describe := fs.Bool("describe", false, "describe groups")
	del := fs.Bool("delete", false, "delete groups")
	all := fs.Bool("all-groups", false, "every group (with --describe)")
	var groups listFlag
	fs.Var(&groups, "group", "a group (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, groupsUsage)
			return nil
		}
		return usageError{text: groupsUsage}
	}
	commands := 0
	for _, c := range []bool{*list, *describe, *del} {
		if c {
			commands++
		}
	}
	switch {
	case *bootstrap == "" || commands != 1 || fs.NArg() > 0:
		return usageError{text: groupsUsage}
	case *describe && len(groups) == 0 && !*all:
		return errors.New("consumer-groups: --describe needs --group or --all-groups")
	case *del && len(groups) == 0:
		return errors.New("consumer-groups: --delete needs --group")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(*bootstrap, ",")...), kgo.DialTimeout(10 * time.Second)}
	if *commandConfig != "" {
		sec, err := config.LoadClient(*commandConfig)
		if err != nil {
			return fmt.Errorf("consumer-groups: %w", err)
		}
		opts = append(opts, sec.KgoOpts()...)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("consumer-groups: --bootstrap-server %s: %w", *bootstrap, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	switch {
	case *list:
		ls, err := adm.ListGroups(ctx)
		if err != nil {
			return fmt.Errorf("consumer-groups: list: %w", err)
		}
		for _, g := range ls.Groups() {
			fmt.Fprintln(stdout, g)
		}
		return nil
	case *del:
		res, err := adm.DeleteGroups(ctx, groups...)
		if err != nil {
			return fmt.Errorf("consumer-groups: delete: %w", err)
		}
		var failed []string
		for _, g := range groups {
			if r := res[g]; r.Err != nil {
				failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted due to: %v", g, r.Err))
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("deletion of some consumer groups failed:\n%s", strings.Join(failed, "\n"))
		}
		fmt.Fprintf(stdout, "Deletion of requested consumer groups ('%s') was successful.\n", strings.Join(groups, "', '"))
		return nil
	}
	if *all {
		ls, err := adm.ListGroups(ctx)
		if err != nil {
			return fmt.Errorf("consumer-groups: list: %w", err)
		}
		groups = ls.Groups()
	}
	lags, err := adm.Lag(ctx, groups...)
	if err != nil {
		return fmt.Errorf("consumer-groups: describe: %w", err)
	}
	for _, g := range groups {
		l, ok := lags[g]
		if !ok {
			return fmt.Errorf("consumer-groups: group %s: not described", g)
		}
		if err := l.Error(); err != nil {
			return fmt.Errorf("consumer-groups: group %s: %w", g, err)
		}
		fmt.Fprintln(stdout)
		if l.State == "Dead" {
			fmt.Fprintf(stdout, "Consumer group '%s' does not exist.\n", g)
			continue
		}
		if len(l.Members) == 0 {
			fmt.Fprintf(stdout, "Consumer group '%s' has no active members.\n\n", g)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID\tHOST\tCLIENT-ID")
		for _, m := range l.Lag.Sorted() {
			current, lag := "-", "-"
			if m.Commit.At >= 0 && m.Err == nil {
				current, lag = fmt.Sprint(m.Commit.At), fmt.Sprint(m.Lag)
			}
			id, host, client := "-", "-", "-"
			if m.Member != nil {
				id, host, client = m.Member.MemberID, m.Member.ClientHost, m.Member.ClientID
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", g, m.Topic, m.Partition, current, m.End.Offset, lag, id, host, client)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
