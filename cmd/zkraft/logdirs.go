package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const logDirsUsage = `Usage (as kafka-log-dirs.sh):
  zkraft log-dirs --bootstrap-server H:P[,H:P] --describe [--broker-list 1,2] [--topic-list a,b] [--timeout 30s]
        [--command-config client.properties]
        each broker's log directories and the partitions in them, as Kafka's JSON
        (DescribeLogDirs over the Kafka protocol)
`

// logDirsJSON is kafka-log-dirs.sh's output shape (version 1).
type logDirsJSON struct {
	Version int             `json:"version"`
	Brokers []logDirsBroker `json:"brokers"`
}

type logDirsBroker struct {
	Broker  int32        `json:"broker"`
	LogDirs []logDirJSON `json:"logDirs"`
}

type logDirJSON struct {
	Partitions []logDirPartition `json:"partitions"`
	Error      *string           `json:"error"`
	LogDir     string            `json:"logDir"`
}

type logDirPartition struct {
	Partition string `json:"partition"`
	Size      int64  `json:"size"`
	OffsetLag int64  `json:"offsetLag"`
	IsFuture  bool   `json:"isFuture"`
}

// logDirsMain runs `zkraft log-dirs` (args exclude "log-dirs").
func logDirsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("log-dirs", logDirsUsage, stderr)
	describe := fs.Bool("describe", false, "describe the log directories")
	brokerList := fs.String("broker-list", "", "broker ids to ask (default: every broker)")
	topicList := fs.String("topic-list", "", "topics to show (default: every topic)")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if !*describe {
		return fs.usageError()
	}
	ctx, cancel := context.WithTimeout(ctx, fs.timeout)
	defer cancel()
	cl, err := fs.client()
	if err != nil {
		return err
	}
	defer cl.Close()

	meta, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("log-dirs: metadata from %s: %w", fs.bootstrap, err)
	}
	var ids []int32
	for _, b := range meta.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	if *brokerList != "" {
		var want []int32
		for _, s := range strings.Split(*brokerList, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
			if err != nil {
				return fmt.Errorf("log-dirs: --broker-list %q: %q is not a broker id", *brokerList, s)
			}
			if !slices.Contains(ids, int32(id)) {
				return fmt.Errorf("log-dirs: --broker-list %q: broker %d is not in the cluster (brokers %v)", *brokerList, id, ids)
			}
			want = append(want, int32(id))
		}
		ids = want
	}
	var topics []string
	if *topicList != "" {
		topics = strings.Split(*topicList, ",")
	}
	fmt.Fprintln(stdout, "Querying brokers for log directories information")
	var out logDirsJSON
	out.Version = 1
	for _, id := range ids {
		// Every directory and partition, filtered here: a named-topic
		// request would only reach the brokers kgo thinks host them.
		resp, err := kmsg.NewPtrDescribeLogDirsRequest().RequestWith(ctx, cl.Broker(int(id)))
		if err != nil {
			return fmt.Errorf("log-dirs: broker %d: %w", id, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return fmt.Errorf("log-dirs: broker %d: %w", id, err)
		}
		entry := logDirsBroker{Broker: id, LogDirs: []logDirJSON{}}
		for _, d := range resp.Dirs {
			dir := logDirJSON{LogDir: d.Dir, Partitions: []logDirPartition{}}
			if err := kerr.ErrorForCode(d.ErrorCode); err != nil {
				msg := err.Error()
				dir.Error = &msg
			}
			for _, t := range d.Topics {
				if topics != nil && !slices.Contains(topics, t.Topic) {
					continue
				}
				for _, p := range t.Partitions {
					dir.Partitions = append(dir.Partitions, logDirPartition{Partition: fmt.Sprintf("%s-%d", t.Topic, p.Partition),
						Size: p.Size, OffsetLag: p.OffsetLag, IsFuture: p.IsFuture})
				}
			}
			entry.LogDirs = append(entry.LogDirs, dir)
		}
		out.Brokers = append(out.Brokers, entry)
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.Itoa(int(id))
	}
	fmt.Fprintf(stdout, "Received log directory information from brokers %s\n", strings.Join(strs, ","))
	enc, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(enc))
	return nil
}
