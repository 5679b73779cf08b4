package metadata

import (
	"errors"
	"slices"
	"testing"
)

// TestCreatePartitions follows Kafka's ReplicationControlManager
// .createPartitions: the count must grow, a manual assignment names each
// new partition with as many registered, distinct brokers as the existing
// partitions have, automatic placement continues the topic's
// AssignReplicas sequence (KIP-195).
func TestCreatePartitions(t *testing.T) {
	cfg := ControllerConfig{DefaultNumPartitions: 1, DefaultReplicationFactor: 1, NewUuid: fixedIDs()}
	img := cluster(t, 4, 3) // brokers 0,1,2 usable, 3 fenced
	recs, err := CreateTopic(img, CreateTopicSpec{Name: "t", NumPartitions: 2, ReplicationFactor: 2}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	img = replayAll(t, img, recs...)

	for _, tc := range []struct {
		name string
		spec CreatePartitionsSpec
		want error
	}{
		{"unknown topic", CreatePartitionsSpec{Topic: "nope", Count: 3}, ErrUnknownTopic},
		{"same count", CreatePartitionsSpec{Topic: "t", Count: 2}, ErrInvalidPartitions},
		{"fewer", CreatePartitionsSpec{Topic: "t", Count: 1}, ErrInvalidPartitions},
		{"too many", CreatePartitionsSpec{Topic: "t", Count: MaxCreatePartitions + 1}, ErrInvalidPartitions},
		{"assignment count", CreatePartitionsSpec{Topic: "t", Count: 4, Assignments: [][]int32{{0, 1}}}, ErrInvalidReplicaAssignment},
		{"empty replicas", CreatePartitionsSpec{Topic: "t", Count: 3, Assignments: [][]int32{{}}}, ErrInvalidReplicaAssignment},
		{"replica count", CreatePartitionsSpec{Topic: "t", Count: 3, Assignments: [][]int32{{0}}}, ErrInvalidReplicaAssignment},
		{"duplicate broker", CreatePartitionsSpec{Topic: "t", Count: 3, Assignments: [][]int32{{1, 1}}}, ErrInvalidReplicaAssignment},
		{"unknown broker", CreatePartitionsSpec{Topic: "t", Count: 3, Assignments: [][]int32{{1, 9}}}, ErrInvalidReplicaAssignment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CreatePartitions(img, tc.spec); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("automatic", func(t *testing.T) {
		recs, err := CreatePartitions(img, CreatePartitionsSpec{Topic: "t", Count: 5})
		if err != nil {
			t.Fatal(err)
		}
		next := replayAll(t, img, recs...)
		ti, _ := next.Topic("t")
		if ti.NumPartitions() != 5 || len(recs) != 3 {
			t.Fatalf("%d partitions from %d records", ti.NumPartitions(), len(recs))
		}
		want := AssignReplicas([]int32{0, 1, 2}, 5, 2, 0, 0)
		for p := int32(0); p < 5; p++ {
			reg := ti.Partitions[p]
			if !slices.Equal(reg.Replicas, want[p]) || reg.Leader != want[p][0] || !slices.Equal(reg.ISR, want[p]) {
				t.Fatalf("partition %d: %+v, want replicas %v", p, reg, want[p])
			}
		}
	})
	t.Run("manual, fenced replica left out of the ISR", func(t *testing.T) {
		recs, err := CreatePartitions(img, CreatePartitionsSpec{Topic: "t", Count: 3, Assignments: [][]int32{{3, 2}}})
		if err != nil {
			t.Fatal(err)
		}
		p := replayAll(t, img, recs...).mustPartition(t, "t", 2)
		if !slices.Equal(p.Replicas, []int32{3, 2}) || p.Leader != 2 || !slices.Equal(p.ISR, []int32{2}) {
			t.Fatalf("partition 2: %+v", p)
		}
	})
	t.Run("manual, only fenced replicas", func(t *testing.T) {
		img := replayAll(t, img, &BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 102, Fenced: FenceFence})
		if _, err := CreatePartitions(img, CreatePartitionsSpec{Topic: "t", Count: 3, Assignments: [][]int32{{3, 2}}}); !errors.Is(err, ErrInvalidReplicaAssignment) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("not enough brokers", func(t *testing.T) {
		img := replayAll(t, img, &BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 102, Fenced: FenceFence},
			&BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 101, Fenced: FenceFence})
		if _, err := CreatePartitions(img, CreatePartitionsSpec{Topic: "t", Count: 3}); !errors.Is(err, ErrInvalidReplicationFactor) {
			t.Fatalf("err %v", err)
		}
	})
}

// TestElectLeaders covers KIP-460's two election types and Kafka's answer
// codes, and the all-partitions form leaving out ELECTION_NOT_NEEDED.
func TestElectLeaders(t *testing.T) {
	id := testID(0x40)
	isr := func(p int32, leader int32, isr ...int32) *PartitionChangeRecord {
		return &PartitionChangeRecord{TopicID: id, PartitionID: p, ISR: isr, Leader: leader, LeaderRecoveryState: NoLeaderRecoveryStateChange}
	}
	img := replayAll(t, cluster(t, 4), &TopicRecord{Name: "t", TopicID: id},
		part(id, 0, 1, 1, 2, 3), // preferred leads
		part(id, 1, 1, 2, 1, 3), // 2 preferred, in the ISR
		part(id, 2, 1, 3, 1, 2), // 3 preferred, out of the ISR
		part(id, 3, 1, 2, 1),    // leaderless below, ISR {2}
		part(id, 4, 1, 3, 1),    // leaderless below, ISR {1} fenced: unclean
		part(id, 5, 0, 0),       // only replica fenced below
	)
	img = replayAll(t, img, isr(2, NoLeaderChange, 1, 2), isr(3, NoLeader, 2), isr(4, NoLeader, 1), isr(5, NoLeader, 0),
		&BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 101, Fenced: FenceFence},
		&BrokerRegistrationChangeRecord{BrokerID: 0, BrokerEpoch: 100, Fenced: FenceFence})
	tp := func(p int32) TopicPartition { return TopicPartition{Topic: "t", Partition: p} }
	all := []TopicPartition{tp(0), tp(1), tp(2), tp(3), tp(4), tp(5), tp(9), {Topic: "x", Partition: 0}}

	for _, tc := range []struct {
		typ     ElectionType
		want    []error
		leaders map[int32]int32
	}{
		{ElectPreferred, []error{ErrElectionNotNeeded, nil, ErrPreferredLeaderNotAvailable, nil, ErrPreferredLeaderNotAvailable,
			ErrPreferredLeaderNotAvailable, ErrUnknownPartition, ErrUnknownPartition}, map[int32]int32{1: 2, 3: 2}},
		{ElectUnclean, []error{ErrElectionNotNeeded, ErrElectionNotNeeded, ErrElectionNotNeeded, nil, nil,
			ErrEligibleLeadersNotAvailable, ErrUnknownPartition, ErrUnknownPartition}, map[int32]int32{3: 2, 4: 3}},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			recs, res := ElectLeaders(img, tc.typ, all)
			if len(res) != len(all) {
				t.Fatalf("%d results for %d partitions", len(res), len(all))
			}
			for i, r := range res {
				if r.TopicPartition != all[i] || !errors.Is(r.Err, tc.want[i]) || (tc.want[i] == nil) != (r.Err == nil) {
					t.Errorf("%v: %v, want %v", r.TopicPartition, r.Err, tc.want[i])
				}
			}
			next := replayAll(t, img, recs...)
			for p, l := range tc.leaders {
				if got := next.mustPartition(t, "t", p).Leader; got != l {
					t.Errorf("partition %d leader %d, want %d", p, got, l)
				}
			}
			if !ElectionsShown(next, tc.typ, res) || ElectionsShown(img, tc.typ, res) {
				t.Error("ElectionsShown wrong before or after")
			}
			_, some := ElectLeaders(img, tc.typ, nil)
			var got []TopicPartition
			for _, r := range some {
				got = append(got, r.TopicPartition)
			}
			var wantAll []TopicPartition
			for i, e := range tc.want[:6] {
				if !errors.Is(e, ErrElectionNotNeeded) {
					wantAll = append(wantAll, all[i])
				}
			}
			if !slices.Equal(got, wantAll) {
				t.Errorf("all partitions: %v, want %v", got, wantAll)
			}
		})
	}
	t.Run("unclean marks the leader recovering", func(t *testing.T) {
		recs, _ := ElectLeaders(img, ElectUnclean, []TopicPartition{tp(4)})
		p := replayAll(t, img, recs...).mustPartition(t, "t", 4)
		if p.Leader != 3 || !slices.Equal(p.ISR, []int32{3}) || p.LeaderRecoveryState != LeaderRecovering || len(UncleanElections(recs)) != 1 {
			t.Fatalf("%+v", p)
		}
	})
	if _, res := ElectLeaders(img, ElectionType(7), []TopicPartition{tp(0)}); !errors.Is(res[0].Err, ErrInvalidRequest) {
		t.Fatalf("unknown type: %v", res[0].Err)
	}
}

// TestImbalancedPartitions is Kafka's checkAndTriggerAutoLeaderRebalance:
// a broker is rebalanced once more than leader.imbalance.per.broker.
// percentage of the partitions it prefers are led elsewhere, and only
// the partitions where it is usable and in the ISR move.
func TestImbalancedPartitions(t *testing.T) {
	id := testID(0x50)
	img := replayAll(t, cluster(t, 3), &TopicRecord{Name: "t", TopicID: id},
		part(id, 0, 1, 1, 2), part(id, 1, 2, 1, 2), part(id, 2, 1, 1, 2), part(id, 3, 1, 1, 2), // broker 1: 1 of 4 elsewhere
		part(id, 4, 2, 2, 1), part(id, 5, 1, 2, 1), // broker 2: 1 of 2 elsewhere
	)
	tp := func(p int32) TopicPartition { return TopicPartition{Topic: "t", Partition: p} }
	for _, tc := range []struct {
		pct  int
		want []TopicPartition
	}{
		{0, []TopicPartition{tp(1), tp(5)}},
		{10, []TopicPartition{tp(1), tp(5)}},
		{25, []TopicPartition{tp(5)}},
		{50, nil},
	} {
		if got := ImbalancedPartitions(img, tc.pct); !slices.Equal(got, tc.want) {
			t.Errorf("percentage %d: %v, want %v", tc.pct, got, tc.want)
		}
	}
	out := replayAll(t, img, &PartitionChangeRecord{TopicID: id, PartitionID: 5, ISR: []int32{1}, Leader: NoLeaderChange, LeaderRecoveryState: NoLeaderRecoveryStateChange})
	if got := ImbalancedPartitions(out, 10); !slices.Equal(got, []TopicPartition{tp(1)}) {
		t.Errorf("preferred out of the ISR: %v", got)
	}
}
