package metadata

import (
	"fmt"
	"slices"
)

// This file is the pure logic of partition reassignment (KIP-455, Kafka's
// ReplicationControlManager.alterPartitionReassignment with
// PartitionReassignmentReplicas and PartitionReassignmentRevert).
//
// A reassignment of a partition from its current replicas C to a target T
// runs in two steps, each one PartitionChangeRecord:
//
//  1. start: Replicas = T ++ (C − T), AddingReplicas = T − C,
//     RemovingReplicas = C − T. The brokers of AddingReplicas create the
//     log and fetch from the leader, which adds them to the ISR
//     (AlterPartition) once they caught up.
//  2. completion, as soon as the ISR holds every member of T (checked at
//     the start and after every ISR change, CompleteReassignment):
//     Replicas = T, ISR = ISR ∩ T, both lists emptied, and a new leader
//     from T's ISR members if the leader is being removed. The leader epoch
//     is bumped whenever replicas leave, so they are fenced. Brokers that
//     no longer host the partition delete its log (Delta.LocalChanges).
//
// Cancellation (a nil target) reverts step 1: Replicas = C, ISR without
// the adding replicas, a new leader from C if the leader was an adding one.

// Reassignment is one partition of an AlterPartitionReassignments request.
type Reassignment struct {
	Topic     string
	Partition int32
	// Replicas is the target replica list, in preference order; nil
	// cancels the reassignment in progress.
	Replicas []int32
}

// OngoingReassignment is one partition being reassigned, as
// ListPartitionReassignments reports it.
type OngoingReassignment struct {
	Topic            string
	Partition        int32
	Replicas         []int32 // current: target plus the replicas being removed
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// Reassigning reports whether a reassignment of p is in progress.
func (p *PartitionRegistration) Reassigning() bool {
	return len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0
}

// TargetReplicas returns the replicas p has once its reassignment (if
// any) completes: Replicas without RemovingReplicas, in order.
func (p *PartitionRegistration) TargetReplicas() []int32 {
	if len(p.RemovingReplicas) == 0 {
		return slices.Clone(p.Replicas)
	}
	return without(p.Replicas, p.RemovingReplicas)
}

// OngoingReassignments lists the partitions of img being reassigned, by
// topic name then partition. With want non-nil only those partitions are
// considered; unknown ones are skipped (Kafka's ListPartitionReassignments
// leaves them out of the answer).
func OngoingReassignments(img *Image, want []TopicPartition) []OngoingReassignment {
	var out []OngoingReassignment
	add := func(t *TopicImage, pid int32, p *PartitionRegistration) {
		if p.Reassigning() {
			out = append(out, OngoingReassignment{Topic: t.Name, Partition: pid, Replicas: slices.Clone(p.Replicas),
				AddingReplicas: slices.Clone(p.AddingReplicas), RemovingReplicas: slices.Clone(p.RemovingReplicas)})
		}
	}
	if want == nil {
		forEachPartition(img, add)
		return out
	}
	seen := map[TopicPartition]bool{}
	for _, tp := range want {
		if seen[tp] {
			continue
		}
		seen[tp] = true
		t, ok := img.Topic(tp.Topic)
		if !ok {
			continue
		}
		if p, ok := t.Partitions[tp.Partition]; ok {
			add(t, tp.Partition, p)
		}
	}
	return out
}

// AlterPartitionReassignment validates one reassignment (or its
// cancellation) against img and returns its record. Errors:
// ErrUnknownPartition (no such topic or partition), ErrInvalidReplicaAssignment
// (empty target, a broker listed twice, not registered, or a revert that
// would leave no ISR), ErrNoReassignmentInProgress (cancelling nothing).
// A target equal to the current replicas with nothing in progress yields
// no record.
func AlterPartitionReassignment(img *Image, r Reassignment) ([]Record, error) {
	what := fmt.Sprintf("reassign %s-%d", r.Topic, r.Partition)
	t, ok := img.Topic(r.Topic)
	if !ok {
		return nil, fmt.Errorf("%s: %w", what, ErrUnknownPartition)
	}
	p, ok := t.Partitions[r.Partition]
	if !ok {
		return nil, fmt.Errorf("%s: %w", what, ErrUnknownPartition)
	}
	if r.Replicas == nil {
		if !p.Reassigning() {
			return nil, fmt.Errorf("%s: %w", what, ErrNoReassignmentInProgress)
		}
		rec, err := revertReassignment(img, t.ID, r.Partition, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return []Record{rec}, nil
	}
	if err := validateTarget(img, r.Replicas); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// A reassignment replacing one in progress starts from its revert
	// (Kafka does the same): the replicas of the partition before it.
	base := p
	if p.Reassigning() {
		rev, err := revertReassignment(img, t.ID, r.Partition, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		base = applyChange(p, rev)
	}
	if !base.Reassigning() && slices.Equal(base.Replicas, r.Replicas) && base == p {
		return nil, nil
	}
	adding := without(r.Replicas, base.Replicas)
	removing := without(base.Replicas, r.Replicas)
	merged := append(slices.Clone(r.Replicas), removing...)
	rec := NewPartitionChangeRecord(t.ID, r.Partition)
	rec.Replicas = merged
	rec.AddingReplicas = nonNilEmpty(adding)
	rec.RemovingReplicas = nonNilEmpty(removing)
	if base != p {
		rec.ISR = slices.Clone(base.ISR)
		if base.Leader != p.Leader {
			rec.Leader = base.Leader
		}
	}
	next := applyChange(p, rec)
	recs := []Record{rec}
	if done := CompleteReassignment(img, t.ID, r.Partition, next); done != nil {
		// Nothing to copy (the ISR already holds every target): one record.
		recs = []Record{mergeChanges(rec, done)}
	}
	return recs, nil
}

// CompleteReassignment returns the record finishing p's reassignment when
// its ISR holds every target replica and one of them can lead, else nil.
// p is the registration after the latest change (AlterPartition calls it
// on the registration it is about to commit). The leader epoch is bumped
// when the leader changes or replicas leave (fencing them).
func CompleteReassignment(img *Image, topicID Uuid, pid int32, p *PartitionRegistration) *PartitionChangeRecord {
	if !p.Reassigning() {
		return nil
	}
	target := p.TargetReplicas()
	for _, r := range target {
		if !p.InISR(r) {
			return nil
		}
	}
	isr := make([]int32, 0, len(p.ISR))
	for _, r := range p.ISR {
		if slices.Contains(target, r) {
			isr = append(isr, r)
		}
	}
	leader := p.Leader
	if !slices.Contains(target, leader) {
		leader = electLeader(target, isr, usableSet(img))
		if leader == NoLeader {
			return nil // wait until a target replica can lead
		}
	}
	rec := NewPartitionChangeRecord(topicID, pid)
	rec.Replicas = target
	rec.ISR = isr
	rec.AddingReplicas = []int32{}
	rec.RemovingReplicas = []int32{}
	if leader != p.Leader || len(p.RemovingReplicas) > 0 {
		rec.Leader = leader
	}
	return rec
}

// revertReassignment builds the record cancelling p's reassignment
// (Kafka's PartitionReassignmentRevert): the adding replicas leave the
// replicas and the ISR, the removing ones stay.
func revertReassignment(img *Image, topicID Uuid, pid int32, p *PartitionRegistration) (*PartitionChangeRecord, error) {
	replicas := without(p.Replicas, p.AddingReplicas)
	isr := without(p.ISR, p.AddingReplicas)
	if len(isr) == 0 {
		return nil, fmt.Errorf("cannot revert: no replica of %v would be in sync (ISR %v): %w",
			replicas, p.ISR, ErrInvalidReplicaAssignment)
	}
	rec := NewPartitionChangeRecord(topicID, pid)
	rec.Replicas = replicas
	rec.ISR = isr
	rec.AddingReplicas = []int32{}
	rec.RemovingReplicas = []int32{}
	if !slices.Contains(replicas, p.Leader) || len(p.AddingReplicas) > 0 {
		leader := p.Leader
		if !slices.Contains(replicas, leader) {
			leader = electLeader(replicas, isr, usableSet(img))
		}
		rec.Leader = leader
	}
	return rec, nil
}

// validateTarget checks a target replica list: non-empty, no broker twice,
// every broker registered.
func validateTarget(img *Image, target []int32) error {
	if len(target) == 0 {
		return fmt.Errorf("empty replica list: %w", ErrInvalidReplicaAssignment)
	}
	for i, b := range target {
		if b < 0 {
			return fmt.Errorf("broker id %d is negative: %w", b, ErrInvalidReplicaAssignment)
		}
		if slices.Contains(target[:i], b) {
			return fmt.Errorf("broker %d is listed twice in %v: %w", b, target, ErrInvalidReplicaAssignment)
		}
		if _, ok := img.Broker(b); !ok {
			return fmt.Errorf("broker %d is not registered: %w", b, ErrInvalidReplicaAssignment)
		}
	}
	return nil
}

// applyChange is Delta.replayPartitionChange's merge on one registration
// (no validation: rec was built here).
func applyChange(p *PartitionRegistration, rec *PartitionChangeRecord) *PartitionRegistration {
	next := p.Clone()
	if rec.ISR != nil {
		next.ISR = nonNilClone(rec.ISR)
	}
	if rec.Leader != NoLeaderChange {
		next.Leader = rec.Leader
		next.LeaderEpoch++
	}
	if rec.Replicas != nil {
		next.Replicas = nonNilClone(rec.Replicas)
	}
	if rec.RemovingReplicas != nil {
		next.RemovingReplicas = nonNilClone(rec.RemovingReplicas)
	}
	if rec.AddingReplicas != nil {
		next.AddingReplicas = nonNilClone(rec.AddingReplicas)
	}
	if rec.LeaderRecoveryState != NoLeaderRecoveryStateChange {
		next.LeaderRecoveryState = rec.LeaderRecoveryState
	}
	next.PartitionEpoch++
	return next
}

// mergeChanges folds b (applied after a) into one record.
func mergeChanges(a, b *PartitionChangeRecord) *PartitionChangeRecord {
	m := *a
	if b.ISR != nil {
		m.ISR = b.ISR
	}
	if b.Leader != NoLeaderChange {
		m.Leader = b.Leader
	}
	if b.Replicas != nil {
		m.Replicas = b.Replicas
	}
	if b.RemovingReplicas != nil {
		m.RemovingReplicas = b.RemovingReplicas
	}
	if b.AddingReplicas != nil {
		m.AddingReplicas = b.AddingReplicas
	}
	if b.LeaderRecoveryState != NoLeaderRecoveryStateChange {
		m.LeaderRecoveryState = b.LeaderRecoveryState
	}
	return &m
}

// without returns the members of a not in b, in a's order.
func without(a, b []int32) []int32 {
	out := make([]int32, 0, len(a))
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func nonNilEmpty(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// ReassignmentsShown reports whether img reflects every reassignment of rs
// whose error is nil: the target is the partition's target replica list,
// or a cancelled one has nothing in progress.
func ReassignmentsShown(img *Image, rs []Reassignment, errs []error) bool {
	for i, r := range rs {
		if errs[i] != nil {
			continue
		}
		t, ok := img.Topic(r.Topic)
		if !ok {
			continue
		}
		p, ok := t.Partitions[r.Partition]
		if !ok {
			continue
		}
		if r.Replicas == nil {
			if p.Reassigning() {
				return false
			}
		} else if !slices.Equal(p.TargetReplicas(), r.Replicas) {
			return false
		}
	}
	return true
}
