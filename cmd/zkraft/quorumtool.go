package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/quorum"
)

const quorumUsage = `Usage (as kafka-metadata-quorum.sh):
  zkraft quorum --bootstrap-controller H:P[,H:P] [--command-config F] describe --status|--replication
        --status: cluster id, leader, epoch, high watermark, the largest follower lag, voters and
        observers; --replication: each voter's and observer's log end offset, lag and the times
        the leader last heard from it and last saw it caught up (DescribeQuorum on the
        controller listener; give every controller, the leader answers)
`

// quorumMain runs `zkraft quorum` (args exclude "quorum").
func quorumMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("zkraft quorum", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bootstrap := fs.String("bootstrap-controller", "", "host:port[,host:port] of the controllers")
	commandConfig := fs.String("command-config", "", "a Kafka client properties file (security.protocol, ssl.*)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, quorumUsage)
			return nil
		}
		return usageError{text: quorumUsage}
	}
	rest := fs.Args()
	if *bootstrap == "" || len(rest) != 2 || rest[0] != "describe" || (rest[1] != "--status" && rest[1] != "--replication") {
		return usageError{text: quorumUsage}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var secOpts []kgo.Opt
	if *commandConfig != "" {
		sec, err := config.LoadClient(*commandConfig)
		if err != nil {
			return fmt.Errorf("quorum: %w", err)
		}
		secOpts = sec.KgoOpts()
	}
	p, clusterID, err := describeQuorum(ctx, strings.Split(*bootstrap, ","), secOpts)
	if err != nil {
		return err
	}
	if rest[1] == "--status" {
		return writeQuorumStatus(stdout, p, clusterID)
	}
	return writeQuorumReplication(stdout, p)
}

// describeQuorum asks each controller in turn for the metadata partition's
// quorum state until the leader answers, and for the cluster id.
func describeQuorum(ctx context.Context, addrs []string, secOpts []kgo.Opt) (*kmsg.DescribeQuorumResponseTopicPartition, string, error) {
	var errs []error
	for _, addr := range addrs {
		addr = strings.TrimSpace(addr)
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.DialTimeout(10 * time.Second)}, secOpts...)...)
		if err != nil {
			return nil, "", fmt.Errorf("quorum: --bootstrap-controller %s: %w", addr, err)
		}
		p, cid, err := describeQuorumAt(ctx, cl.SeedBrokers()[0])
		cl.Close()
		if err == nil {
			return p, cid, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return nil, "", fmt.Errorf("quorum: no controller answered as the leader: %w", errors.Join(errs...))
}

func describeQuorumAt(ctx context.Context, b *kgo.Broker) (*kmsg.DescribeQuorumResponseTopicPartition, string, error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	t := kmsg.NewDescribeQuorumRequestTopic()
	t.Topic = quorum.MetadataTopic
	t.Partitions = append(t.Partitions, kmsg.NewDescribeQuorumRequestTopicPartition())
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, b)
	if err != nil {
		return nil, "", err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, "", err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, "", fmt.Errorf("DescribeQuorum answered %d topics", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return nil, "", fmt.Errorf("%w (leader %d, epoch %d)", err, p.LeaderID, p.LeaderEpoch)
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, b)
	if err != nil {
		return nil, "", fmt.Errorf("DescribeCluster: %w", err)
	}
	return &p, dc.ClusterID, nil
}

func writeQuorumStatus(w io.Writer, p *kmsg.DescribeQuorumResponseTopicPartition, clusterID string) error {
	var maxLag int64
	maxLagTime := int64(-1)
	var voters, observers []string
	for _, v := range p.CurrentVoters {
		voters = append(voters, fmt.Sprint(v.ReplicaID))
		if v.ReplicaID == p.LeaderID {
			continue
		}
		maxLag = max(maxLag, max(p.HighWatermark-v.LogEndOffset, 0))
		if v.LastCaughtUpTimestamp >= 0 {
			maxLagTime = max(maxLagTime, time.Now().UnixMilli()-v.LastCaughtUpTimestamp)
		}
	}
	for _, o := range p.Observers {
		observers = append(observers, fmt.Sprint(o.ReplicaID))
	}
	slices.Sort(observers)
	_, err := fmt.Fprintf(w, "ClusterId:              %s\nLeaderId:               %d\nLeaderEpoch:            %d\nHighWatermark:          %d\n"+
		"MaxFollowerLag:         %d\nMaxFollowerLagTimeMs:   %d\nCurrentVoters:          [%s]\nCurrentObservers:       [%s]\n",
		clusterID, p.LeaderID, p.LeaderEpoch, p.HighWatermark, maxLag, maxLagTime, strings.Join(voters, ","), strings.Join(observers, ","))
	return err
}

func writeQuorumReplication(w io.Writer, p *kmsg.DescribeQuorumResponseTopicPartition) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NodeId\tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus")
	row := func(s kmsg.DescribeQuorumResponseTopicPartitionReplicaState, status string) {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\n", s.ReplicaID, s.LogEndOffset, max(p.HighWatermark-s.LogEndOffset, 0),
			s.LastFetchTimestamp, s.LastCaughtUpTimestamp, status)
	}
	for _, v := range p.CurrentVoters {
		if v.ReplicaID == p.LeaderID {
			row(v, "Leader")
		}
	}
	for _, v := range p.CurrentVoters {
		if v.ReplicaID != p.LeaderID {
			row(v, "Follower")
		}
	}
	for _, o := range p.Observers {
		row(o, "Observer")
	}
	return tw.Flush()
}
