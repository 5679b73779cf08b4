package replica_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata/wait"
)

// TestClusterFollowerBehindLogStart: a follower away while the leader's
// DeleteRecords moves the log start past the follower's log end gets
// OFFSET_OUT_OF_RANGE, asks the leader for its log start and starts its
// log over there (Kafka's handleOutOfRangeError), then catches up and
// rejoins the ISR; a follower that was there learns the new start from
// its Fetch answers.
func TestClusterFollowerBehindLogStart(t *testing.T) {
	c := newCluster(t, 1, 2)
	c.createTopic("s", []int32{1, 2}, map[string]string{"min.insync.replicas": "1"})
	p := c.produce("s")
	c.waitAcks(p, 10, "start")
	c.stop(2)
	c.waitISR("s", 1)
	c.waitAcks(p, 20, "ISR {1}")
	p.stop()

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[1].addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "s", Partition: 0, At: -1, LeaderEpoch: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := kadm.NewClient(cl).DeleteRecords(ctx, offs)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := res.Lookup("s", 0)
	if r.Err != nil || r.LowWatermark < 30 {
		t.Fatalf("delete records: %+v", r)
	}
	leader, _ := c.nodes[1].logs.Get("s", 0)
	c.start(2)
	c.waitISR("s", 1, 2)
	wait.For(t, 30*time.Second, "the follower's log starts at the leader's", func() error {
		l, ok := c.nodes[2].logs.Get("s", 0)
		if !ok {
			return fmt.Errorf("no log")
		}
		if l.LogStartOffset() != r.LowWatermark || l.LogEndOffset() != leader.LogEndOffset() {
			return fmt.Errorf("follower [%d, %d), leader [%d, %d)", l.LogStartOffset(), l.LogEndOffset(), leader.LogStartOffset(), leader.LogEndOffset())
		}
		return nil
	})
}
