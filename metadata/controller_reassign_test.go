package metadata

import (
	"errors"
	"slices"
	"testing"
)

// reassignImage: brokers 0..6 (all unfenced), topic "t" partition 0 on
// [1,2,3] led by 1 with the full ISR.
func reassignImage(t *testing.T) (*Image, Uuid) {
	t.Helper()
	id := testID(0x45)
	img := replayAll(t, cluster(t, 7), &TopicRecord{Name: "t", TopicID: id}, part(id, 0, 1, 1, 2, 3))
	return img, id
}

// expand commits the leader's AlterPartition adding r to the ISR, with the
// completion record the quorum appends in the same entry.
func expand(t *testing.T, img *Image, id Uuid, r int32) *Image {
	t.Helper()
	p := img.mustPartition(t, "t", 0)
	b, _ := img.Broker(p.Leader)
	isr := append(slices.Clone(p.ISR), r)
	next, recs, err := AlterPartition(img, AlterPartitionRequest{BrokerID: p.Leader, BrokerEpoch: b.Epoch, TopicID: id,
		LeaderEpoch: p.LeaderEpoch, NewISR: isr, PartitionEpoch: p.PartitionEpoch})
	if err != nil {
		t.Fatalf("expand ISR with %d: %v", r, err)
	}
	if done := CompleteReassignment(img, id, 0, next); done != nil {
		recs = append(recs, done)
	}
	return replayAll(t, img, recs...)
}

// TestReassignmentMovesEveryReplica follows KIP-455's states for a move of
// [1,2,3] to [4,5,6]: the union with adding/removing, the ISR growing one
// replica at a time, and completion (new replicas, new leader from the
// target, leader epoch bumped) once the last target replica is in sync.
func TestReassignmentMovesEveryReplica(t *testing.T) {
	img, id := reassignImage(t)
	recs, err := AlterPartitionReassignment(img, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{4, 5, 6}})
	if err != nil || len(recs) != 1 {
		t.Fatalf("start: %v %v", recs, err)
	}
	img = replayAll(t, img, recs...)
	p := img.mustPartition(t, "t", 0)
	if !slices.Equal(p.Replicas, []int32{4, 5, 6, 1, 2, 3}) || !slices.Equal(p.AddingReplicas, []int32{4, 5, 6}) ||
		!slices.Equal(p.RemovingReplicas, []int32{1, 2, 3}) || p.Leader != 1 || p.LeaderEpoch != 0 || !p.Reassigning() {
		t.Fatalf("started: %+v", p)
	}
	if got := OngoingReassignments(img, nil); len(got) != 1 || got[0].Topic != "t" || !slices.Equal(got[0].AddingReplicas, []int32{4, 5, 6}) {
		t.Fatalf("list: %+v", got)
	}
	if got := OngoingReassignments(img, []TopicPartition{{Topic: "t", Partition: 9}, {Topic: "x"}}); len(got) != 0 {
		t.Fatalf("list of unknown partitions: %+v", got)
	}
	for _, r := range []int32{4, 5} {
		img = expand(t, img, id, r)
		if p := img.mustPartition(t, "t", 0); !p.Reassigning() || p.Leader != 1 {
			t.Fatalf("after %d joined: %+v", r, p)
		}
	}
	img = expand(t, img, id, 6)
	p = img.mustPartition(t, "t", 0)
	if !slices.Equal(p.Replicas, []int32{4, 5, 6}) || !slices.Equal(p.ISR, []int32{4, 5, 6}) || p.Reassigning() ||
		p.Leader != 4 || p.LeaderEpoch != 1 {
		t.Fatalf("completed: %+v", p)
	}
	if got := OngoingReassignments(img, nil); len(got) != 0 {
		t.Fatalf("list after completion: %+v", got)
	}
}

// TestReassignmentCompletesAtOnce: a target already in sync (a reorder or
// a shrink) completes in the record that starts it.
func TestReassignmentCompletesAtOnce(t *testing.T) {
	img, _ := reassignImage(t)
	recs, err := AlterPartitionReassignment(img, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{3, 2}})
	if err != nil || len(recs) != 1 {
		t.Fatalf("%v %v", recs, err)
	}
	img = replayAll(t, img, recs...)
	p := img.mustPartition(t, "t", 0)
	if !slices.Equal(p.Replicas, []int32{3, 2}) || !slices.Equal(p.ISR, []int32{2, 3}) || p.Reassigning() || p.Leader != 3 || p.LeaderEpoch != 1 {
		t.Fatalf("%+v", p)
	}
	// The same replicas again: nothing to do.
	if recs, err := AlterPartitionReassignment(img, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{3, 2}}); err != nil || len(recs) != 0 {
		t.Fatalf("no-op: %v %v", recs, err)
	}
}

// TestReassignmentCancel: a nil target reverts to the original replicas,
// dropping the adding ones from replicas and ISR; a new target replaces
// one in progress from that revert.
func TestReassignmentCancel(t *testing.T) {
	img, id := reassignImage(t)
	recs, _ := AlterPartitionReassignment(img, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{1, 4, 5}})
	img = replayAll(t, img, recs...)
	img = expand(t, img, id, 4)
	recs, err := AlterPartitionReassignment(img, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{1, 6, 5}})
	if err != nil {
		t.Fatal(err)
	}
	img = replayAll(t, img, recs...)
	p := img.mustPartition(t, "t", 0)
	if !slices.Equal(p.Replicas, []int32{1, 6, 5, 2, 3}) || !slices.Equal(p.AddingReplicas, []int32{6, 5}) ||
		!slices.Equal(p.RemovingReplicas, []int32{2, 3}) || slices.Contains(p.ISR, 4) {
		t.Fatalf("replaced: %+v", p)
	}
	recs, err = AlterPartitionReassignment(img, Reassignment{Topic: "t", Partition: 0})
	if err != nil {
		t.Fatal(err)
	}
	img = replayAll(t, img, recs...)
	p = img.mustPartition(t, "t", 0)
	if !slices.Equal(p.Replicas, []int32{1, 2, 3}) || !slices.Equal(p.ISR, []int32{1, 2, 3}) || p.Reassigning() || p.Leader != 1 {
		t.Fatalf("cancelled: %+v", p)
	}
	if _, err := AlterPartitionReassignment(img, Reassignment{Topic: "t", Partition: 0}); !errors.Is(err, ErrNoReassignmentInProgress) {
		t.Fatalf("cancel of nothing: %v", err)
	}
}

func TestReassignmentErrors(t *testing.T) {
	img, _ := reassignImage(t)
	for _, tt := range []struct {
		name string
		r    Reassignment
		want error
	}{
		{"unknown topic", Reassignment{Topic: "x", Replicas: []int32{1}}, ErrUnknownPartition},
		{"unknown partition", Reassignment{Topic: "t", Partition: 3, Replicas: []int32{1}}, ErrUnknownPartition},
		{"empty", Reassignment{Topic: "t", Replicas: []int32{}}, ErrInvalidReplicaAssignment},
		{"twice", Reassignment{Topic: "t", Replicas: []int32{4, 4}}, ErrInvalidReplicaAssignment},
		{"unknown broker", Reassignment{Topic: "t", Replicas: []int32{4, 9}}, ErrInvalidReplicaAssignment},
		{"negative", Reassignment{Topic: "t", Replicas: []int32{-1}}, ErrInvalidReplicaAssignment},
	} {
		if _, err := AlterPartitionReassignment(img, tt.r); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestReassignmentsShown: what a forwarding client waits for.
func TestReassignmentsShown(t *testing.T) {
	img, _ := reassignImage(t)
	rs := []Reassignment{{Topic: "t", Partition: 0, Replicas: []int32{4, 5, 6}}}
	if ReassignmentsShown(img, rs, []error{nil}) {
		t.Fatal("shown before the change")
	}
	if !ReassignmentsShown(img, rs, []error{ErrInvalidRequest}) {
		t.Fatal("a failed entry is not waited for")
	}
	recs, _ := AlterPartitionReassignment(img, rs[0])
	if !ReassignmentsShown(replayAll(t, img, recs...), rs, []error{nil}) {
		t.Fatal("not shown after the change")
	}
}
