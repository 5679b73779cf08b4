package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// The pure controller logic of CreatePartitions (37), ElectLeaders (43)
// and automatic preferred-leader rebalancing, as Kafka's
// ReplicationControlManager (createPartitions, electLeaders,
// maybeBalancePartitionLeaders) and its ZooKeeper controller
// (checkAndTriggerAutoLeaderRebalance) decide them. Both backends call
// these functions: the quorum appends the records, the ZooKeeper backend
// turns them into znode writes.

// CreatePartitionsSpec is one topic of a CreatePartitions request: the new
// total partition count and, optionally, the replicas of each new
// partition (len(Assignments) = Count - current count).
type CreatePartitionsSpec struct {
	Topic       string
	Count       int32
	Assignments [][]int32
}

// CreatePartitions validates spec against img as Kafka does and returns
// one PartitionRecord per new partition (leader = first usable replica,
// ISR = the usable replicas). Errors: ErrUnknownTopic,
// ErrInvalidPartitions (the count is not larger, or past
// MaxCreatePartitions), ErrInvalidReplicaAssignment (wrong number of
// assignments, an empty, duplicated, unregistered or unusable replica
// list, a replica count unlike the existing partitions'),
// ErrInvalidReplicationFactor (fewer usable brokers than replicas).
// Automatic placement continues the topic's own AssignReplicas sequence
// (the start index and shift derived from the topic id, as CreateTopic).
func CreatePartitions(img *Image, spec CreatePartitionsSpec) ([]Record, error) {
	t, ok := img.Topic(spec.Topic)
	if !ok {
		return nil, fmt.Errorf("create partitions of %q: %w", spec.Topic, ErrUnknownTopic)
	}
	cur := t.NumPartitions()
	switch {
	case spec.Count < cur:
		return nil, fmt.Errorf("create partitions of %q: the topic currently has %d partition(s); %d would not be an increase: %w",
			spec.Topic, cur, spec.Count, ErrInvalidPartitions)
	case spec.Count == cur:
		return nil, fmt.Errorf("create partitions of %q: topic already has %d partition(s): %w", spec.Topic, cur, ErrInvalidPartitions)
	case spec.Count > MaxCreatePartitions:
		return nil, fmt.Errorf("create partitions of %q: %d partitions exceeds %d: %w", spec.Topic, spec.Count, MaxCreatePartitions, ErrInvalidPartitions)
	}
	rf := 0
	if p, ok := t.Partitions[0]; ok {
		rf = len(p.Replicas)
	}
	add := int(spec.Count - cur)
	var assignments [][]int32
	if spec.Assignments != nil {
		if len(spec.Assignments) != add {
			return nil, fmt.Errorf("create partitions of %q: attempted to add %d additional partition(s), but only %d assignment(s) were specified: %w",
				spec.Topic, add, len(spec.Assignments), ErrInvalidReplicaAssignment)
		}
		for i, replicas := range spec.Assignments {
			p := cur + int32(i)
			if len(replicas) == 0 {
				return nil, fmt.Errorf("create partitions of %q: partition %d has an empty replica list: %w", spec.Topic, p, ErrInvalidReplicaAssignment)
			}
			if len(replicas) != rf {
				return nil, fmt.Errorf("create partitions of %q: the manual partition assignment includes a partition with %d replica(s), but this is not consistent with previous partitions, which have %d replica(s): %w",
					spec.Topic, len(replicas), rf, ErrInvalidReplicaAssignment)
			}
			for j, b := range replicas {
				if slices.Contains(replicas[:j], b) {
					return nil, fmt.Errorf("create partitions of %q: partition %d lists broker %d twice: %w", spec.Topic, p, b, ErrInvalidReplicaAssignment)
				}
				if _, ok := img.Broker(b); !ok {
					return nil, fmt.Errorf("create partitions of %q: partition %d: broker %d is not registered: %w", spec.Topic, p, b, ErrInvalidReplicaAssignment)
				}
			}
		}
		assignments = spec.Assignments
	} else {
		brokers := usableBrokerIDs(img)
		if rf < 1 || rf > len(brokers) {
			return nil, fmt.Errorf("create partitions of %q: replication factor %d larger than the %d available brokers: %w",
				spec.Topic, rf, len(brokers), ErrInvalidReplicationFactor)
		}
		nb := uint32(len(brokers))
		start := int(binary.BigEndian.Uint32(t.ID[0:4]) % nb)
		shift := int(binary.BigEndian.Uint32(t.ID[4:8]) % nb)
		assignments = AssignReplicas(brokers, int(spec.Count), rf, start, shift)[cur:]
	}
	usable := usableSet(img)
	recs := make([]Record, 0, add)
	for i, replicas := range assignments {
		p := cur + int32(i)
		var isr []int32
		for _, r := range replicas {
			if usable[r] {
				isr = append(isr, r)
			}
		}
		if len(isr) == 0 {
			return nil, fmt.Errorf("create partitions of %q: partition %d: every assigned broker is fenced or shutting down: %w",
				spec.Topic, p, ErrInvalidReplicaAssignment)
		}
		recs = append(recs, PartitionToRecord(t.ID, p, &PartitionRegistration{Replicas: slices.Clone(replicas), ISR: isr, Leader: isr[0]}))
	}
	return recs, nil
}

// ElectionType is ElectLeaders' election_type (KIP-460).
type ElectionType int8

const (
	// ElectPreferred moves leadership to the first replica when it is in
	// the ISR and usable.
	ElectPreferred ElectionType = 0
	// ElectUnclean elects a leader for a leaderless partition: from the
	// ISR if a member is usable, else the first usable replica (records
	// may be lost).
	ElectUnclean ElectionType = 1
)

// String is Kafka's name of the election type.
func (e ElectionType) String() string {
	switch e {
	case ElectPreferred:
		return "PREFERRED"
	case ElectUnclean:
		return "UNCLEAN"
	}
	return fmt.Sprintf("ElectionType(%d)", int8(e))
}

// ElectionResult is the outcome of one partition's election (Err nil: a
// new leader was elected).
type ElectionResult struct {
	TopicPartition
	Err error
}

// ElectLeaders returns the PartitionChangeRecords of the elections asked
// for and one result per partition: ErrUnknownPartition, ErrInvalidRequest
// (an unknown election type), ErrElectionNotNeeded (PREFERRED: the first
// replica leads already; UNCLEAN: the partition has a leader),
// ErrPreferredLeaderNotAvailable (the first replica is out of the ISR or
// not usable), ErrEligibleLeadersNotAvailable (UNCLEAN: no usable
// replica). parts nil means every partition, and then, as in Kafka, the
// partitions that need no election are left out of the results.
func ElectLeaders(img *Image, typ ElectionType, parts []TopicPartition) ([]Record, []ElectionResult) {
	all := parts == nil
	if all {
		for _, t := range img.Topics() {
			for _, pid := range t.PartitionIDs() {
				parts = append(parts, TopicPartition{Topic: t.Name, Partition: pid})
			}
		}
	}
	usable := usableSet(img)
	var recs []Record
	out := make([]ElectionResult, 0, len(parts))
	for _, tp := range parts {
		rec, err := electOne(img, typ, tp, usable)
		if all && err != nil && errors.Is(err, ErrElectionNotNeeded) {
			continue
		}
		if rec != nil {
			recs = append(recs, rec)
		}
		out = append(out, ElectionResult{TopicPartition: tp, Err: err})
	}
	return recs, out
}

func electOne(img *Image, typ ElectionType, tp TopicPartition, usable map[int32]bool) (*PartitionChangeRecord, error) {
	t, ok := img.Topic(tp.Topic)
	if !ok {
		return nil, fmt.Errorf("elect leader of %s-%d: no such topic: %w", tp.Topic, tp.Partition, ErrUnknownPartition)
	}
	p, ok := t.Partitions[tp.Partition]
	if !ok {
		return nil, fmt.Errorf("elect leader of %s-%d: no such partition: %w", tp.Topic, tp.Partition, ErrUnknownPartition)
	}
	switch typ {
	case ElectPreferred:
		if len(p.Replicas) == 0 || p.Leader == p.Replicas[0] {
			return nil, fmt.Errorf("elect leader of %s-%d: the preferred replica %d leads already: %w", tp.Topic, tp.Partition, p.Leader, ErrElectionNotNeeded)
		}
		pref := p.Replicas[0]
		if !usable[pref] || !p.InISR(pref) {
			return nil, fmt.Errorf("elect leader of %s-%d: preferred replica %d is not in the ISR %v or not usable: %w",
				tp.Topic, tp.Partition, pref, p.ISR, ErrPreferredLeaderNotAvailable)
		}
		rec := NewPartitionChangeRecord(t.ID, tp.Partition)
		rec.Leader = pref
		return rec, nil
	case ElectUnclean:
		if p.Leader != NoLeader {
			return nil, fmt.Errorf("elect leader of %s-%d: broker %d leads: %w", tp.Topic, tp.Partition, p.Leader, ErrElectionNotNeeded)
		}
		if l := electLeader(p.Replicas, p.ISR, usable); l != NoLeader {
			rec := NewPartitionChangeRecord(t.ID, tp.Partition)
			rec.Leader = l
			return rec, nil
		}
		for _, r := range p.Replicas {
			if usable[r] {
				rec := NewPartitionChangeRecord(t.ID, tp.Partition)
				rec.Leader, rec.ISR, rec.LeaderRecoveryState = r, []int32{r}, LeaderRecovering
				return rec, nil
			}
		}
		return nil, fmt.Errorf("elect leader of %s-%d: no replica of %v is usable: %w", tp.Topic, tp.Partition, p.Replicas, ErrEligibleLeadersNotAvailable)
	}
	return nil, fmt.Errorf("elect leader of %s-%d: election type %d: %w", tp.Topic, tp.Partition, typ, ErrInvalidRequest)
}

// ImbalancedPartitions is the automatic rebalance's choice
// (auto.leader.rebalance.enable, Kafka's
// checkAndTriggerAutoLeaderRebalance): for each broker whose share of
// partitions it is the preferred leader of, but does not lead, exceeds
// percentage (leader.imbalance.per.broker.percentage), those of them a
// PREFERRED election can move (the broker usable and in the ISR), in
// topic then partition order. Partitions being reassigned are left out.
func ImbalancedPartitions(img *Image, percentage int) []TopicPartition {
	type count struct{ preferred, notLed int }
	per := map[int32]*count{}
	usable := usableSet(img)
	var movable []struct {
		tp   TopicPartition
		pref int32
	}
	forEachPartition(img, func(t *TopicImage, pid int32, p *PartitionRegistration) {
		if len(p.Replicas) == 0 || len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0 {
			return // being reassigned: the reassignment picks its leader (Kafka skips these too)
		}
		pref := p.Replicas[0]
		c := per[pref]
		if c == nil {
			c = &count{}
			per[pref] = c
		}
		c.preferred++
		if p.Leader != pref {
			c.notLed++
			if usable[pref] && p.InISR(pref) {
				movable = append(movable, struct {
					tp   TopicPartition
					pref int32
				}{TopicPartition{Topic: t.Name, Partition: pid}, pref})
			}
		}
	})
	var out []TopicPartition
	for _, m := range movable {
		c := per[m.pref]
		if c.notLed*100 > percentage*c.preferred {
			out = append(out, m.tp)
		}
	}
	return out
}

// ElectionsShown reports whether img shows every successful election of
// res: the first replica leading (PREFERRED) or some leader (UNCLEAN). A
// partition that left the image counts as shown.
func ElectionsShown(img *Image, typ ElectionType, res []ElectionResult) bool {
	for _, r := range res {
		if r.Err != nil {
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
		if typ == ElectPreferred && len(p.Replicas) > 0 && p.Leader != p.Replicas[0] || typ == ElectUnclean && p.Leader == NoLeader {
			return false
		}
	}
	return true
}
