package quorum

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// TestClientPartitionWrites: CreatePartitions and ElectLeaders forwarded
// by a broker's Client to the controller listener, written by the Node
// (PartitionRecords, PartitionChangeRecords) and in the broker's image
// when the call returns; Kafka's codes per topic and partition.
func TestClientPartitionWrites(t *testing.T) {
	n := startNode(t, tcpVoter(t, t.TempDir()))
	waitController(t, n)
	c := startClient(t, 7, map[int32]string{1: n.Addr().String()})
	ctx := testCtx(t)
	if err := c.WaitUnfenced(ctx); err != nil {
		t.Fatal(err)
	}
	if errs := c.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "p", NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	errs := c.CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "p", Count: 3}, {Topic: "nope", Count: 2},
		{Topic: "p", Count: 1}}, false)
	if !errors.Is(errs[0], kerr.InvalidRequest) || !errors.Is(errs[1], kerr.UnknownTopicOrPartition) || !errors.Is(errs[2], kerr.InvalidRequest) {
		t.Fatalf("duplicates and unknown: %v", errs)
	}
	errs = c.CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "p", Count: 3}}, true)
	if errs[0] != nil || c.Image().PartitionCount() != 1 {
		t.Fatalf("validate only: %v, %d partitions", errs, c.Image().PartitionCount())
	}
	errs = c.CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "p", Count: 3}}, false)
	if errs[0] != nil || c.Image().PartitionCount() != 3 {
		t.Fatalf("create: %v, %d partitions in the broker's image", errs, c.Image().PartitionCount())
	}
	if errs := c.CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "p", Count: 3, Assignments: [][]int32{}}}, false); !errors.Is(errs[0], kerr.InvalidPartitions) {
		t.Fatalf("same count: %v", errs)
	}
	res := c.ElectLeaders(ctx, metadata.ElectPreferred, []metadata.TopicPartition{{Topic: "p", Partition: 0}, {Topic: "p", Partition: 9}})
	if len(res) != 2 || !errors.Is(res[0].Err, kerr.ElectionNotNeeded) || !errors.Is(res[1].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("elect: %+v", res)
	}
	if res := c.ElectLeaders(ctx, metadata.ElectUnclean, nil); len(res) != 0 {
		t.Fatalf("all partitions, none leaderless: %+v", res)
	}
}
