package main

// zkraft leader-election and zkraft delete-records: kafka-leader-election.sh
// and kafka-delete-records.sh over the Kafka protocol (ElectLeaders 43 to
// the controller, DeleteRecords 21 to each partition's leader, both
// through kadm), with Kafka's flags, JSON files and output lines.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

const leaderElectionUsage = `Usage (as kafka-leader-election.sh):
  zkraft leader-election --bootstrap-server H:P[,H:P] --election-type PREFERRED|UNCLEAN
        (--topic T --partition P | --all-topic-partitions | --path-to-json-file F)
        [--command-config client.properties] [--timeout 30s]
        elect leaders (ElectLeaders over the Kafka protocol); the JSON file is
        {"partitions":[{"topic":"t","partition":0}]}
`

const deleteRecordsUsage = `Usage (as kafka-delete-records.sh):
  zkraft delete-records --bootstrap-server H:P[,H:P] --offset-json-file F
        [--command-config client.properties] [--timeout 30s]
        move each partition's log start to an offset (-1: the high watermark);
        the JSON file is {"partitions":[{"topic":"t","partition":0,"offset":10}],"version":1}
`

// partitionsJSON is the JSON file of both tools.
type partitionsJSON struct {
	Version    int `json:"version"`
	Partitions []struct {
		Topic     string `json:"topic"`
		Partition *int32 `json:"partition"`
		Offset    *int64 `json:"offset"`
	} `json:"partitions"`
}

func readPartitionsJSON(tool, path string, offsets bool) (partitionsJSON, error) {
	var v partitionsJSON
	data, err := os.ReadFile(path)
	if err != nil {
		return v, fmt.Errorf("%s: %w", tool, err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("%s: %s: %w", tool, path, err)
	}
	if len(v.Partitions) == 0 {
		return v, fmt.Errorf("%s: %s: no partitions", tool, path)
	}
	seen := map[string]bool{}
	for i, p := range v.Partitions {
		switch {
		case p.Topic == "" || p.Partition == nil:
			return v, fmt.Errorf("%s: %s: partition %d needs a topic and a partition", tool, path, i)
		case offsets && p.Offset == nil:
			return v, fmt.Errorf("%s: %s: %s-%d has no offset", tool, path, p.Topic, *p.Partition)
		}
		k := fmt.Sprintf("%s-%d", p.Topic, *p.Partition)
		if seen[k] {
			return v, fmt.Errorf("%s: %s: duplicate partition %s", tool, path, k)
		}
		seen[k] = true
	}
	return v, nil
}

// leaderElectionMain runs `zkraft leader-election`.
func leaderElectionMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("leader-election", leaderElectionUsage, stderr)
	typ := fs.String("election-type", "", "PREFERRED or UNCLEAN")
	topic := fs.String("topic", "", "the topic (with --partition)")
	partition := fs.Int("partition", -1, "the partition (with --topic)")
	all := fs.Bool("all-topic-partitions", false, "every partition of every topic")
	jsonFile := fs.String("path-to-json-file", "", "the partitions, as Kafka's JSON")
	fs.StringVar(&fs.commandConfig, "admin.config", "", "the same as --command-config (Kafka's name)")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	var how kadm.ElectLeadersHow
	switch strings.ToUpper(*typ) {
	case "PREFERRED":
		how = kadm.ElectPreferredReplica
	case "UNCLEAN":
		how = kadm.ElectLiveReplica
	case "":
		return errors.New("leader-election: missing required option --election-type (PREFERRED or UNCLEAN)")
	default:
		return fmt.Errorf("leader-election: --election-type %q: want PREFERRED or UNCLEAN", *typ)
	}
	sources := 0
	for _, b := range []bool{*topic != "", *all, *jsonFile != ""} {
		if b {
			sources++
		}
	}
	switch {
	case sources != 1:
		return errors.New("leader-election: exactly one of --topic, --all-topic-partitions or --path-to-json-file is required")
	case *topic != "" && *partition < 0:
		return errors.New("leader-election: --topic needs --partition")
	case *topic == "" && *partition >= 0:
		return errors.New("leader-election: --partition needs --topic")
	}
	var set kadm.TopicsSet
	switch {
	case *topic != "":
		set = kadm.TopicsSet{}
		set.Add(*topic, int32(*partition))
	case *jsonFile != "":
		v, err := readPartitionsJSON("leader-election", *jsonFile, false)
		if err != nil {
			return err
		}
		set = kadm.TopicsSet{}
		for _, p := range v.Partitions {
			set.Add(p.Topic, *p.Partition)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, fs.timeout)
	defer cancel()
	cl, err := fs.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := kadm.NewClient(cl).ElectLeaders(ctx, how, set)
	if err != nil {
		return fmt.Errorf("leader-election: %w", err)
	}
	name := strings.ToUpper(*typ)
	var done, noop []string
	var failed []kadm.ElectLeadersResult
	for _, ps := range res {
		for _, r := range ps {
			tp := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
			switch {
			case r.Err == nil:
				done = append(done, tp)
			case errors.Is(r.Err, kerr.ElectionNotNeeded):
				noop = append(noop, tp)
			default:
				failed = append(failed, r)
			}
		}
	}
	sort.Strings(done)
	sort.Strings(noop)
	sort.Slice(failed, func(i, j int) bool {
		if failed[i].Topic != failed[j].Topic {
			return failed[i].Topic < failed[j].Topic
		}
		return failed[i].Partition < failed[j].Partition
	})
	if len(done) > 0 {
		fmt.Fprintf(stdout, "Successfully completed leader election (%s) for partitions %s\n", name, strings.Join(done, ", "))
	}
	if len(noop) > 0 {
		fmt.Fprintf(stdout, "Valid replica already elected for partitions %s\n", strings.Join(noop, ", "))
	}
	if len(failed) > 0 {
		for _, r := range failed {
			msg := r.Err.Error()
			if r.ErrMessage != "" {
				msg += ": " + r.ErrMessage
			}
			fmt.Fprintf(stdout, "Error completing leader election (%s) for partition: %s-%d: %s\n", name, r.Topic, r.Partition, msg)
		}
		return fmt.Errorf("leader-election: %d replica(s) could not be elected", len(failed))
	}
	return nil
}

// deleteRecordsMain runs `zkraft delete-records`.
func deleteRecordsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("delete-records", deleteRecordsUsage, stderr)
	jsonFile := fs.String("offset-json-file", "", "the partitions and offsets, as Kafka's JSON")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if *jsonFile == "" {
		return fs.usageError()
	}
	v, err := readPartitionsJSON("delete-records", *jsonFile, true)
	if err != nil {
		return err
	}
	offs := kadm.Offsets{}
	for _, p := range v.Partitions {
		offs.Add(kadm.Offset{Topic: p.Topic, Partition: *p.Partition, At: *p.Offset, LeaderEpoch: -1})
	}
	ctx, cancel := context.WithTimeout(ctx, fs.timeout)
	defer cancel()
	cl, err := fs.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	fmt.Fprintln(stdout, "Executing records delete operation")
	res, err := kadm.NewClient(cl).DeleteRecords(ctx, offs)
	if err != nil {
		return fmt.Errorf("delete-records: %w", err)
	}
	fmt.Fprintln(stdout, "Records delete operation completed:")
	failed := 0
	for _, p := range v.Partitions {
		r, ok := res.Lookup(p.Topic, *p.Partition)
		switch {
		case !ok:
			failed++
			fmt.Fprintf(stdout, "partition: %s-%d\terror: no answer for the partition\n", p.Topic, *p.Partition)
		case r.Err != nil:
			failed++
			fmt.Fprintf(stdout, "partition: %s-%d\terror: %v\n", p.Topic, *p.Partition, r.Err)
		default:
			fmt.Fprintf(stdout, "partition: %s-%d\tlow_watermark: %d\n", p.Topic, *p.Partition, r.LowWatermark)
		}
	}
	if failed > 0 {
		return fmt.Errorf("delete-records: %d partition(s) failed", failed)
	}
	return nil
}
