package main_test

// End-to-end tests of consumer groups (issue 6): the group coordinator on
// __consumer_offsets, driven by franz-go group consumers and kcat -G.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
)

// groupOverrides make rebalances immediate and the offsets topic small.
var groupOverrides = []string{"group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=10"}

func groupConsumer(t *testing.T, n *node, group, topic string, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	return n.client(t, append([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.HeartbeatInterval(200 * time.Millisecond),
		kgo.SessionTimeout(6 * time.Second), kgo.FetchMaxWait(200 * time.Millisecond), kgo.DisableAutoCommit()}, extra...)...)
}

// pollN polls until n records arrived.
func pollN(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("got %d of %d records", len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func offsetFetch(cl *kgo.Client, group string) (map[int32]int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if resp.ErrorCode != 0 {
		return nil, fmt.Errorf("offset fetch error %d", resp.ErrorCode)
	}
	out := map[int32]int64{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out, nil
}

// TestE2EGroupDescribeCommitSurvivesKill9: two franz-go consumers share a
// four-partition topic, DescribeGroups shows both with their assignments,
// the committed offsets are still there after kill -9 and a restart, and a
// consumer of the restarted broker resumes after them.
func TestE2EGroupDescribeCommitSurvivesKill9(t *testing.T) {
	n := startNode(t, t.TempDir(), groupOverrides...)
	admin := n.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, admin, "orders", 4)
	for p := int32(0); p < 4; p++ {
		for i := 0; i < 5; i++ {
			r := &kgo.Record{Topic: "orders", Partition: p, Value: []byte(fmt.Sprintf("%d-%d", p, i))}
			if err := admin.ProduceSync(context.Background(), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	c1 := groupConsumer(t, n, "fg", "orders")
	c2 := groupConsumer(t, n, "fg", "orders")
	wait.For(t, 30*time.Second, "two members sharing four partitions", func() error {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{"fg"}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, admin)
		if err != nil {
			return err
		}
		g := resp.Groups[0]
		if g.State != "Stable" || len(g.Members) != 2 || g.ProtocolType != "consumer" {
			return fmt.Errorf("group %s with %d members", g.State, len(g.Members))
		}
		total := 0
		for _, m := range g.Members {
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(m.MemberAssignment); err != nil {
				return err
			}
			for _, at := range a.Topics {
				total += len(at.Partitions)
			}
			if m.ClientID == "" || m.ClientHost == "" {
				return fmt.Errorf("member %+v lacks client id or host", m)
			}
		}
		if total != 4 {
			return fmt.Errorf("%d partitions assigned", total)
		}
		return nil
	})
	// Both poll what they own; together they see all 20 records.
	got := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < 20 && time.Now().Before(deadline) {
		for _, cl := range []*kgo.Client{c1, c2} {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
			cancel()
		}
	}
	if len(got) != 20 {
		t.Fatalf("consumed %d distinct records, want 20", len(got))
	}
	for _, cl := range []*kgo.Client{c1, c2} {
		if err := cl.CommitUncommittedOffsets(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	before, err := offsetFetch(admin, "fg")
	if err != nil || len(before) != 4 {
		t.Fatalf("committed before kill: %v %v", before, err)
	}
	for p, o := range before {
		if o != 5 {
			t.Fatalf("partition %d committed at %d, want 5", p, o)
		}
	}

	c1.Close() // leave the group: the restarted broker must not hand partitions to them
	c2.Close()
	n.kill()
	n.start()
	after := n.client(t)
	wait.For(t, 30*time.Second, "offsets reloaded after kill -9", func() error {
		got, err := offsetFetch(after, "fg")
		if err != nil {
			return err
		}
		for p := int32(0); p < 4; p++ {
			if got[p] != 5 {
				return fmt.Errorf("after restart: %v", got)
			}
		}
		return nil
	})
	// A new consumer of the group resumes at the committed offsets.
	prod := n.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: "orders", Partition: 2, Value: []byte("new")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	recs := pollN(t, groupConsumer(t, n, "fg", "orders"), 1)
	if string(recs[0].Value) != "new" || recs[0].Offset != 5 {
		t.Fatalf("resumed at %d %q, want offset 5 \"new\"", recs[0].Offset, recs[0].Value)
	}
}

// TestE2EGroupKcatBalancedConsumer: kcat -G (librdkafka's balanced consumer)
// joins, consumes and commits; a second run resumes after the commit.
func TestE2EGroupKcatBalancedConsumer(t *testing.T) {
	n := startNode(t, t.TempDir(), groupOverrides...)
	var in strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&in, "m%d\n", i)
	}
	runKcat(t, []byte(in.String()), "-b", n.addr, "-P", "-t", "kt")
	out := runKcat(t, nil, "-b", n.addr, "-G", "kgrp", "-c", "10", "-f", "%o:%s\n", "-X", "auto.offset.reset=earliest", "kt")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 10 || lines[0] != "0:m0" || lines[9] != "9:m9" {
		t.Fatalf("first kcat -G run printed %q", out)
	}
	runKcat(t, []byte("m10\n"), "-b", n.addr, "-P", "-t", "kt")
	out = runKcat(t, nil, "-b", n.addr, "-G", "kgrp", "-c", "1", "-f", "%o:%s\n", "-X", "auto.offset.reset=earliest", "kt")
	if strings.TrimSpace(out) != "10:m10" {
		t.Fatalf("second kcat -G run printed %q, want to resume at the committed offset 10", out)
	}
}

// TestE2EGroupCoordinatorFailover: with three brokers, __consumer_offsets
// has three replicas; after kill -9 of the group's coordinator another
// broker leads the partition, loads it and answers the committed offsets.
func TestE2EGroupCoordinatorFailover(t *testing.T) {
	qc := startQuorumCluster(t)
	cl := qc.brokerClient(4)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The embedded default has offsets.topic.replication.factor=1 (one
	// node); create the offsets topic as a three-broker cluster would.
	if err := createTopicRF(ctx, cl, "__consumer_offsets", 50, 3); err != nil {
		t.Fatalf("create __consumer_offsets: %v", err)
	}
	if err := createTopicRF(ctx, cl, "gt", 2, 3); err != nil {
		t.Fatalf("create topic gt: %v", err)
	}
	prod := qc.brokerClient(4)
	for i := 0; i < 10; i++ {
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "gt", Value: []byte(fmt.Sprintf("v%d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons := groupConsumer(t, qc.brokers[4], "fo", "gt")
	pollN(t, cons, 10)
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close()
	want, err := offsetFetch(cl, "fo")
	if err != nil || len(want) == 0 {
		t.Fatalf("committed offsets %v %v", want, err)
	}
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "fo"
	fr, err := fc.RequestWith(ctx, cl)
	if err != nil || fr.ErrorCode != 0 {
		t.Fatalf("find coordinator: %v %+v", err, fr)
	}
	victim := fr.NodeID
	qc.brokers[victim].kill()
	survivor := int32(4)
	if victim == 4 {
		survivor = 5
	}
	wait.For(t, 60*time.Second, fmt.Sprintf("offsets served after kill -9 of coordinator %d", victim), func() error {
		// A fresh client per try: kgo keeps a group's coordinator cached
		// across dial errors, and the first look-up may still name the victim.
		after, err := kgo.NewClient(kgo.SeedBrokers(qc.brokers[survivor].addr))
		if err != nil {
			return err
		}
		defer after.Close()
		got, err := offsetFetch(after, "fo")
		if err != nil {
			return err
		}
		for p, o := range want {
			if got[p] != o {
				return fmt.Errorf("got %v, want %v", got, want)
			}
		}
		return nil
	})
}
