package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

const groupsUsage = `Usage (as kafka-consumer-groups.sh):
  zkraft consumer-groups --bootstrap-server H:P[,H:P] [--command-config F] [--timeout 30s] COMMAND
  --list                               every group's name
  --describe (--group G | --all-groups) each partition's committed offset, log end offset, lag and owner
  --delete --group G                   delete an empty group (its offsets too)
  --reset-offsets --group G (--topic T[:P,P] ... | --all-topics)
        (--to-earliest | --to-latest | --to-offset N | --shift-by N | --to-datetime 2026-01-02T15:04:05.000)
        [--dry-run (default) | --execute]    plan, or commit, new offsets for an inactive group
`

// groupsMain runs `zkraft consumer-groups` (args exclude "consumer-groups").
func groupsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("consumer-groups", groupsUsage, stderr)
	list := fs.Bool("list", false, "list the groups")
	describe := fs.Bool("describe", false, "describe groups")
	del := fs.Bool("delete", false, "delete groups")
	all := fs.Bool("all-groups", false, "every group (with --describe)")
	var groups, topics listFlag
	fs.Var(&groups, "group", "a group (repeatable)")
	var rs resetSpec
	reset := fs.Bool("reset-offsets", false, "reset a group's committed offsets")
	fs.Var(&topics, "topic", "with --reset-offsets: a topic, or topic:p,p (repeatable)")
	fs.BoolVar(&rs.allTopics, "all-topics", false, "with --reset-offsets: every topic the group has offsets for")
	fs.BoolVar(&rs.earliest, "to-earliest", false, "reset to the log start")
	fs.BoolVar(&rs.latest, "to-latest", false, "reset to the log end")
	fs.Var(&rs.toOffset, "to-offset", "reset to this offset (within the log)")
	fs.Var(&rs.shiftBy, "shift-by", "move the committed offset by this many")
	fs.StringVar(&rs.datetime, "to-datetime", "", "reset to the first offset at or after this time (YYYY-MM-DDTHH:mm:SS.sss, local time, or RFC 3339)")
	fs.BoolVar(&rs.dryRun, "dry-run", false, "print the plan only (the default)")
	fs.BoolVar(&rs.execute, "execute", false, "commit the new offsets")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	commands := 0
	for _, c := range []bool{*list, *describe, *del, *reset} {
		if c {
			commands++
		}
	}
	switch {
	case commands != 1:
		return fs.usageError()
	case *describe && len(groups) == 0 && !*all:
		return errors.New("consumer-groups: --describe needs --group or --all-groups")
	case *del && len(groups) == 0:
		return errors.New("consumer-groups: --delete needs --group")
	case *reset:
		if len(groups) != 1 {
			return errors.New("consumer-groups: --reset-offsets needs one --group")
		}
		if err := rs.check(topics); err != nil {
			return fmt.Errorf("consumer-groups: --reset-offsets: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, fs.timeout)
	defer cancel()
	cl, err := fs.client()
	if err != nil {
		return err
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
	if *reset {
		return resetOffsets(ctx, adm, groups[0], topics, rs, stdout)
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

// resetSpec is --reset-offsets' choice of partitions and target.
type resetSpec struct {
	allTopics, earliest, latest, dryRun, execute bool
	toOffset, shiftBy                            optInt
	datetime                                     string
	at                                           int64 // --to-datetime in Unix ms
}

// optInt is an int64 flag that knows whether it was given.
type optInt struct {
	v   int64
	set bool
}

func (o *optInt) String() string { return fmt.Sprint(o.v) }
func (o *optInt) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	o.v, o.set = v, true
	return err
}

func (rs *resetSpec) check(topics []string) error {
	n := 0
	for _, b := range []bool{rs.earliest, rs.latest, rs.toOffset.set, rs.shiftBy.set, rs.datetime != ""} {
		if b {
			n++
		}
	}
	switch {
	case n != 1:
		return errors.New("give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime")
	case rs.dryRun && rs.execute:
		return errors.New("--dry-run and --execute together")
	case rs.allTopics == (len(topics) > 0):
		return errors.New("give --topic or --all-topics")
	}
	if rs.datetime != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04:05.000", rs.datetime, time.Local)
		if err != nil {
			if t, err = time.Parse(time.RFC3339Nano, rs.datetime); err != nil {
				return fmt.Errorf("--to-datetime %q: want YYYY-MM-DDTHH:mm:SS.sss or RFC 3339", rs.datetime)
			}
		}
		rs.at = t.UnixMilli()
	}
	return nil
}

// resetOffsets is kafka-consumer-groups.sh --reset-offsets: only for a
// group without members (Kafka refuses an active one), new offsets kept
// within each partition's log, printed, and committed with --execute.
func resetOffsets(ctx context.Context, adm *kadm.Client, group string, topicArgs []string, rs resetSpec, stdout io.Writer) error {
	dg, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("consumer-groups: describe %s: %w", group, err)
	}
	if d := dg[group]; d.Err != nil {
		return fmt.Errorf("consumer-groups: describe %s: %w", group, d.Err)
	} else if d.State != "Empty" && d.State != "Dead" {
		return fmt.Errorf("consumer-groups: assignments can only be reset if the group '%s' is inactive, but the current state is %s", group, d.State)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("consumer-groups: offsets of %s: %w", group, err)
	}
	// The partitions: named ones, every partition of a named topic, or
	// every partition the group has an offset for.
	want := map[string][]int32{} // nil slice = every partition
	if rs.allTopics {
		committed.Each(func(o kadm.OffsetResponse) { want[o.Topic] = append(want[o.Topic], o.Partition) })
	}
	for _, a := range topicArgs {
		t, ps, hasParts := strings.Cut(a, ":")
		if !hasParts {
			want[t] = nil
			continue
		}
		for _, p := range strings.Split(ps, ",") {
			n, err := strconv.ParseInt(p, 10, 32)
			if err != nil {
				return fmt.Errorf("consumer-groups: --topic %q: %q is not a partition", a, p)
			}
			want[t] = append(want[t], int32(n))
		}
	}
	names := make([]string, 0, len(want))
	for t := range want {
		names = append(names, t)
	}
	starts, err := adm.ListStartOffsets(ctx, names...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("consumer-groups: log start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("consumer-groups: log end offsets: %w", err)
	}
	var after kadm.ListedOffsets
	if rs.datetime != "" {
		if after, err = adm.ListOffsetsAfterMilli(ctx, rs.at, names...); err != nil {
			return fmt.Errorf("consumer-groups: offsets after %s: %w", rs.datetime, err)
		}
	}
	plan := kadm.Offsets{}
	var planErr error
	ends.Each(func(end kadm.ListedOffset) {
		if ps := want[end.Topic]; ps != nil && !slices.Contains(ps, end.Partition) {
			return
		}
		start, _ := starts.Lookup(end.Topic, end.Partition)
		var to int64
		switch {
		case rs.earliest:
			to = start.Offset
		case rs.latest:
			to = end.Offset
		case rs.toOffset.set:
			to = rs.toOffset.v
		case rs.shiftBy.set:
			c, ok := committed.Lookup(end.Topic, end.Partition)
			if !ok || c.Err != nil || c.At < 0 {
				planErr = fmt.Errorf("consumer-groups: --shift-by: group %s has no committed offset for %s-%d", group, end.Topic, end.Partition)
				return
			}
			to = c.At + rs.shiftBy.v
		default:
			to = end.Offset
			if a, ok := after.Lookup(end.Topic, end.Partition); ok && a.Err == nil && a.Offset >= 0 {
				to = a.Offset
			}
		}
		to = min(max(to, start.Offset), end.Offset)
		if plan[end.Topic] == nil {
			plan[end.Topic] = map[int32]kadm.Offset{}
		}
		plan[end.Topic][end.Partition] = kadm.Offset{Topic: end.Topic, Partition: end.Partition, At: to, LeaderEpoch: -1}
	})
	if planErr != nil {
		return planErr
	}
	for t, ps := range want {
		for _, p := range ps {
			if _, ok := plan.Lookup(t, p); !ok {
				return fmt.Errorf("consumer-groups: --topic %s: no partition %d", t, p)
			}
		}
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tNEW-OFFSET")
	for _, o := range plan.Sorted() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", group, o.Topic, o.Partition, o.At)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !rs.execute {
		return nil
	}
	if err := adm.CommitAllOffsets(ctx, group, plan); err != nil {
		return fmt.Errorf("consumer-groups: commit the new offsets of %s: %w", group, err)
	}
	return nil
}
