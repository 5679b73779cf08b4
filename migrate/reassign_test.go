package migrate

import (
	"slices"
	"testing"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// TestReassignmentAcrossMigration (KIP-455 with KIP-866): a reassignment
// in progress in ZooKeeper (the topic znode's adding_replicas /
// removing_replicas) is carried by the load into the log, where the
// quorum completes it; the dual-write mirrors both the start of a
// reassignment and its completion back to the topic znode.
func TestReassignmentAcrossMigration(t *testing.T) {
	id := metadata.RandomUuid()
	tree := zk.NewTree()
	tree.Topics["t"] = &zk.TopicNode{
		ZNode: zk.TopicZNode{TopicID: id, Partitions: map[int32][]int32{0: {4, 5, 1, 2}},
			AddingReplicas: map[int32][]int32{0: {4, 5}}, RemovingReplicas: map[int32][]int32{0: {1, 2}}},
		States: map[int32]zk.StateNode{0: {State: zk.PartitionState{Leader: 1, LeaderEpoch: 2, ISR: []int32{1, 2, 4}}, ZkVersion: 3}},
	}
	var all []metadata.Record
	for _, b := range LoadRecords(tree, nil, 100) {
		all = append(all, b...)
	}
	var brokers []metadata.Record
	for b := int32(1); b <= 5; b++ {
		brokers = append(brokers, &metadata.RegisterBrokerRecord{BrokerID: b, BrokerEpoch: int64(b)})
	}
	img := image(t, image(t, metadata.EmptyImage(), brokers...), all...)
	tp, _ := img.Topic("t")
	p := tp.Partitions[0]
	if !p.Reassigning() || !slices.Equal(p.AddingReplicas, []int32{4, 5}) || !slices.Equal(p.RemovingReplicas, []int32{1, 2}) {
		t.Fatalf("loaded %+v", p)
	}
	// The quorum completes it on the ISR change adding 5.
	next, recs, err := metadata.AlterPartition(img, metadata.AlterPartitionRequest{BrokerID: 1, BrokerEpoch: 1, TopicID: id,
		LeaderEpoch: 2, NewISR: []int32{1, 2, 4, 5}, PartitionEpoch: 3})
	if err != nil {
		t.Fatal(err)
	}
	done := metadata.CompleteReassignment(img, id, 0, next)
	if done == nil {
		t.Fatal("not completed with the whole target in the ISR")
	}
	after := image(t, img, append(recs, done)...)
	tp, _ = after.Topic("t")
	if p := tp.Partitions[0]; !slices.Equal(p.Replicas, []int32{4, 5}) || p.Reassigning() || p.Leader != 4 {
		t.Fatalf("completed %+v", p)
	}
	// Dual-write of the completion: the topic znode without the old
	// replicas and lists, the state with the new leader.
	ops := DiffOps(img, after, 9)
	var topicSet []byte
	for _, o := range ops {
		if o.Path == zk.TopicPath("t") {
			topicSet = o.Data
		}
	}
	z, err := zk.DecodeTopic(topicSet)
	if err != nil || !slices.Equal(z.Partitions[0], []int32{4, 5}) || len(z.AddingReplicas[0]) != 0 || len(z.RemovingReplicas[0]) != 0 {
		t.Fatalf("topic znode written %+v (%v) in %q", z, err, opPaths(ops))
	}
	// Dual-write of a new reassignment started in the log.
	start, err := metadata.AlterPartitionReassignment(after, metadata.Reassignment{Topic: "t", Partition: 0, Replicas: []int32{3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	moved := image(t, after, start...)
	for _, o := range DiffOps(after, moved, 9) {
		if o.Path == zk.TopicPath("t") {
			z, err := zk.DecodeTopic(o.Data)
			if err != nil || !slices.Equal(z.Partitions[0], []int32{3, 4, 5}) || !slices.Equal(z.AddingReplicas[0], []int32{3}) ||
				!slices.Equal(z.RemovingReplicas[0], []int32{5}) {
				t.Fatalf("topic znode written %+v (%v)", z, err)
			}
			return
		}
	}
	t.Fatal("the start of a reassignment wrote no topic znode")
}
