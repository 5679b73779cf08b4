package broker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/metadata/wait"
)

// newGroupHarness is a harness whose group coordinator rebalances at once
// and whose __consumer_offsets is small; the coordinator is closed at cleanup.
func newGroupHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, func(c *Config) {
		c.GroupInitialRebalanceDelay = 0
		c.OffsetsTopicNumPartitions = 5
	})
	t.Cleanup(func() {
		if err := h.b.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// consumed collects what group consumers read: partition/offset -> reader.
type consumed struct {
	mu   sync.Mutex
	seen map[[2]int64]int
}

func (c *consumed) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *consumed) missing(partitions int32, perPartition int64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for p := int64(0); p < int64(partitions); p++ {
		for o := int64(0); o < perPartition; o++ {
			if _, ok := c.seen[[2]int64{p, o}]; !ok {
				out = append(out, fmt.Sprintf("%d@%d", p, o))
			}
		}
	}
	return out
}

// runConsumer polls until the client is closed, recording every record.
func runConsumer(cl *kgo.Client, id int, into *consumed, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		fs := cl.PollFetches(context.Background())
		if fs.IsClientClosed() {
			return
		}
		into.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) { into.seen[[2]int64{int64(r.Partition), r.Offset}] = id })
		into.mu.Unlock()
	}
}

// TestGroupConsumersShareAndTakeOver: three franz-go group consumers share a
// six-partition topic (cooperative-sticky, franz-go's default); one leaves
// and the others take over its partitions without skipping a record.
func TestGroupConsumersShareAndTakeOver(t *testing.T) {
	h := newGroupHarness(t)
	admin := h.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	h.createTopic(admin, "events", 6, nil)
	produce := func(n int) {
		for p := int32(0); p < 6; p++ {
			for i := 0; i < n; i++ {
				r := &kgo.Record{Topic: "events", Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, i))}
				if err := admin.ProduceSync(ctxT(t), r).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	produce(20)

	got := &consumed{seen: map[[2]int64]int{}}
	var wg sync.WaitGroup
	clients := make([]*kgo.Client, 3)
	for i := range clients {
		cl, err := kgo.NewClient(kgo.SeedBrokers(h.addr.String()), kgo.ConsumerGroup("share"),
			kgo.ConsumeTopics("events"), kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.SessionTimeout(6*time.Second), kgo.FetchMaxWait(200*time.Millisecond),
			kgo.AutoCommitInterval(200*time.Millisecond), kgo.ClientID(fmt.Sprintf("consumer-%d", i)),
			kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }))
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = cl
		wg.Add(1)
		go runConsumer(cl, i, got, &wg)
	}
	closed := make([]bool, 3)
	t.Cleanup(func() {
		for i, cl := range clients {
			if !closed[i] {
				cl.Close()
			}
		}
		wg.Wait()
	})

	// DescribeGroups: three members, each with a share of the six partitions.
	wait.Until(t, 20*time.Second, "three members with two partitions each", func() bool {
		g := describeGroup(t, admin, "share")
		if g.State != "Stable" || len(g.Members) != 3 {
			return false
		}
		for _, m := range g.Members {
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(m.MemberAssignment); err != nil || len(a.Topics) != 1 || len(a.Topics[0].Partitions) != 2 {
				return false
			}
		}
		return true
	})
	wait.Until(t, 20*time.Second, "first 120 records consumed", func() bool { return got.count() == 120 })

	// Consumer 2 commits and leaves (LeaveGroup); the others take over.
	if err := clients[2].CommitUncommittedOffsets(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	clients[2].Close()
	closed[2] = true
	wait.Until(t, 20*time.Second, "two members left with three partitions each", func() bool {
		g := describeGroup(t, admin, "share")
		if g.State != "Stable" || len(g.Members) != 2 {
			return false
		}
		total := 0
		for _, m := range g.Members {
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(m.MemberAssignment); err != nil || len(a.Topics) != 1 {
				return false
			}
			total += len(a.Topics[0].Partitions)
		}
		return total == 6
	})
	produce(20)
	wait.Until(t, 20*time.Second, "all 240 records consumed", func() bool { return got.count() == 240 })
	if miss := got.missing(6, 40); len(miss) > 0 {
		t.Fatalf("records skipped: %v", miss)
	}

	// Committed offsets reach OffsetFetch: the survivors commit, and every
	// partition ends at 40.
	for _, cl := range clients[:2] {
		if err := cl.CommitUncommittedOffsets(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = "share"
	resp, err := req.RequestWith(ctxT(t), admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 6 {
		t.Fatalf("offset fetch %+v", resp)
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.Offset != 40 {
			t.Errorf("partition %d committed at %d, want 40", p.Partition, p.Offset)
		}
	}
}

func describeGroup(t *testing.T, cl *kgo.Client, id string) kmsg.DescribeGroupsResponseGroup {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{id}
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Groups[0]
}

func TestFindCoordinator(t *testing.T) {
	h := newGroupHarness(t)
	cl := h.client()
	for _, v := range []int16{0, 3, 4} {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version = v
		req.CoordinatorKey = "group1"
		req.CoordinatorKeys = []string{"group1", "other"}
		resp := h.handle(req).(*kmsg.FindCoordinatorResponse)
		if v < 4 {
			if resp.ErrorCode != 0 || resp.NodeID != 1 || resp.Port == 0 {
				t.Fatalf("v%d: %+v", v, resp)
			}
			continue
		}
		if len(resp.Coordinators) != 2 || resp.Coordinators[0].ErrorCode != 0 || resp.Coordinators[1].NodeID != 1 {
			t.Fatalf("v4: %+v", resp.Coordinators)
		}
	}
	// The topic: offsets.topic.num.partitions partitions, rf capped to the one broker, compacted.
	img := h.b.Image()
	topic, ok := img.Topic(group.OffsetsTopic)
	if !ok || topic.NumPartitions() != 5 || len(topic.Partitions[0].Replicas) != 1 {
		t.Fatalf("offsets topic %+v", topic)
	}
	if img.Configs(2, group.OffsetsTopic)["cleanup.policy"] != "compact" {
		t.Fatalf("offsets topic configs %v", img.Configs(2, group.OffsetsTopic))
	}
	// Transaction coordinators (key type 1) live on __transaction_state.
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version, req.CoordinatorType, req.CoordinatorKeys = 4, 1, []string{"txn"}
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Coordinators[0]; c.ErrorCode != 0 || c.NodeID != 1 {
		t.Fatalf("transactional key: %v node %d", kerr.ErrorForCode(c.ErrorCode), c.NodeID)
	}
}
