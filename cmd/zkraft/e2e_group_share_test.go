package main_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
)

// TestE2EGroupThreeConsumersOneLeaves is issue 6's acceptance scenario against the real
// binary: three franz-go group consumers share a six-partition topic (two partitions each,
// per DescribeGroups); one commits and leaves, the other two take over its partitions, and
// every produced record is consumed with none skipped.
func TestE2EGroupThreeConsumersOneLeaves(t *testing.T) {
	n := startNode(t, t.TempDir(), groupOverrides...)
	admin := n.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	createTopic(t, admin, "share", 6)
	produce := func(round int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for p := int32(0); p < 6; p++ {
			for i := 0; i < 20; i++ {
				r := &kgo.Record{Topic: "share", Partition: p, Value: []byte(fmt.Sprintf("r%d-p%d-%d", round, p, i))}
				if err := admin.ProduceSync(ctx, r).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	produce(1)

	var (
		mu   sync.Mutex
		seen = map[[2]int64]bool{} // partition, offset
	)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	consumers := make([]*kgo.Client, 3)
	for i := range consumers {
		cl := groupConsumer(t, n, "share-group", "share", kgo.ClientID(fmt.Sprintf("consumer-%d", i)))
		consumers[i] = cl
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				if fs.IsClientClosed() {
					return
				}
				fs.EachRecord(func(r *kgo.Record) {
					mu.Lock()
					seen[[2]int64{int64(r.Partition), r.Offset}] = true
					mu.Unlock()
				})
				_ = cl.CommitUncommittedOffsets(ctx)
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }

	members := func(want, each int) func() error {
		return func() error {
			req := kmsg.NewPtrDescribeGroupsRequest()
			req.Groups = []string{"share-group"}
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := req.RequestWith(c, admin)
			if err != nil {
				return err
			}
			g := resp.Groups[0]
			if g.State != "Stable" || len(g.Members) != want {
				return fmt.Errorf("state %s with %d members", g.State, len(g.Members))
			}
			total := 0
			for _, m := range g.Members {
				var a kmsg.ConsumerMemberAssignment
				if err := a.ReadFrom(m.MemberAssignment); err != nil || len(a.Topics) != 1 {
					return fmt.Errorf("member %s assignment: %v", m.MemberID, err)
				}
				if got := len(a.Topics[0].Partitions); got != each {
					return fmt.Errorf("member %s has %d partitions, want %d", m.MemberID, got, each)
				}
				total += len(a.Topics[0].Partitions)
			}
			if total != 6 {
				return fmt.Errorf("%d partitions assigned, want 6", total)
			}
			return nil
		}
	}
	wait.For(t, 60*time.Second, "three members with two partitions each", members(3, 2))
	wait.For(t, 60*time.Second, "first 120 records consumed", func() error {
		if c := count(); c != 120 {
			return fmt.Errorf("%d consumed", c)
		}
		return nil
	})

	// Consumer 2 leaves the group (Close sends LeaveGroup after committing).
	consumers[2].Close()
	wait.For(t, 60*time.Second, "two members with three partitions each", members(2, 3))
	produce(2)
	wait.For(t, 60*time.Second, "all 240 records consumed", func() error {
		if c := count(); c != 240 {
			return fmt.Errorf("%d consumed", c)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for p := int64(0); p < 6; p++ {
		for o := int64(0); o < 40; o++ {
			if !seen[[2]int64{p, o}] {
				t.Errorf("record at partition %d offset %d was skipped", p, o)
			}
		}
	}
}
