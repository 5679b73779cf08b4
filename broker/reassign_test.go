package broker

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// AlterPartitionReassignments implements ReassignController on the fake:
// metadata.AlterPartitionReassignment per entry, applied at once.
func (c *fakeController) AlterPartitionReassignments(_ context.Context, rs []metadata.Reassignment) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(rs))
	for i, r := range rs {
		recs, err := metadata.AlterPartitionReassignment(c.img, r)
		if err == nil && len(recs) > 0 {
			err = c.applyLocked(recs)
		}
		errs[i] = err
	}
	return errs
}

// TestPartitionReassignmentHandlers drives keys 45 and 46 (KIP-455): a
// started reassignment is listed with its adding and removing replicas,
// the new replica's broker is in the replica set, errors carry Kafka's
// codes, and a cancel reverts.
func TestPartitionReassignmentHandlers(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	h.ctrl.register(t, 2, nil)
	h.createTopic(cl, "moved", 1, nil)
	tp, _ := h.b.Image().Topic("moved")
	from := tp.Partitions[0].Replicas[0]
	to := 3 - from // brokers 1 and 2

	alter := func(p int32, replicas []int32) int16 {
		t.Helper()
		req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
		rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		rt.Topic = "moved"
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = p, replicas
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := h.handle(req).(*kmsg.AlterPartitionAssignmentsResponse)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	list := func() []kmsg.ListPartitionReassignmentsResponseTopic {
		t.Helper()
		resp := h.handle(kmsg.NewPtrListPartitionReassignmentsRequest()).(*kmsg.ListPartitionReassignmentsResponse)
		if resp.ErrorCode != 0 {
			t.Fatalf("list: code %d", resp.ErrorCode)
		}
		return resp.Topics
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("nothing in progress, listed %+v", got)
	}
	if code := alter(0, nil); code != kerr.NoReassignmentInProgress.Code {
		t.Fatalf("cancel of nothing: code %d", code)
	}
	if code := alter(0, []int32{to, 9}); code != kerr.InvalidReplicaAssignment.Code {
		t.Fatalf("unknown broker: code %d", code)
	}
	if code := alter(4, []int32{to}); code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown partition: code %d", code)
	}
	if code := alter(0, []int32{to}); code != 0 {
		t.Fatalf("start: code %d", code)
	}
	got := list()
	if len(got) != 1 || len(got[0].Partitions) != 1 {
		t.Fatalf("listed %+v", got)
	}
	if p := got[0].Partitions[0]; !slices.Equal(p.Replicas, []int32{to, from}) || !slices.Equal(p.AddingReplicas, []int32{to}) ||
		!slices.Equal(p.RemovingReplicas, []int32{from}) {
		t.Fatalf("listed %+v", p)
	}
	if code := alter(0, nil); code != 0 {
		t.Fatalf("cancel: code %d", code)
	}
	tp, _ = h.b.Image().Topic("moved")
	if p := tp.Partitions[0]; !slices.Equal(p.Replicas, []int32{from}) || p.Reassigning() {
		t.Fatalf("after cancel: %+v", p)
	}
	if _, ok := h.logs.Get("moved", 0); ok != (from == h.b.cfg.NodeID) {
		t.Fatalf("log held here: %v, replica here: %v", ok, from == h.b.cfg.NodeID)
	}
}
