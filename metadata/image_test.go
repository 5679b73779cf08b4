package metadata

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// replayAll replays recs on img (via the wire codec) and applies.
func replayAll(t testing.TB, img *Image, recs ...Record) *Image {
	t.Helper()
	decoded, err := DecodeBatch(AppendBatch(nil, recs))
	if err != nil {
		t.Fatalf("codec: %v", err)
	}
	d := NewDelta(img)
	for i, r := range decoded {
		if err := d.Replay(r); err != nil {
			t.Fatalf("replay record %d (%s): %v", i, r.Type(), err)
		}
	}
	return d.Apply()
}

func broker(id int32, fenced bool) *RegisterBrokerRecord {
	return &RegisterBrokerRecord{BrokerID: id, BrokerEpoch: int64(100 + id), IncarnationID: testID(byte(id)),
		EndPoints: []Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9092 + id)}}, Fenced: fenced}
}

func part(topic Uuid, p int32, leader int32, replicas ...int32) *PartitionRecord {
	return &PartitionRecord{PartitionID: p, TopicID: topic, Replicas: replicas, ISR: slices.Clone(replicas), Leader: leader}
}

// image1 is the golden starting image: 3 brokers, topics "a" (2 partitions)
// and "b" (1 partition), a topic config, metadata.version.
func image1(t testing.TB) *Image {
	return replayAll(t, EmptyImage(),
		&FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: 21},
		broker(1, false), broker(2, false), broker(3, false),
		&TopicRecord{Name: "a", TopicID: testID(0xa0)},
		part(testID(0xa0), 0, 1, 1, 2),
		part(testID(0xa0), 1, 2, 2, 3),
		&TopicRecord{Name: "b", TopicID: testID(0xb0)},
		part(testID(0xb0), 0, 3, 3, 1),
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "a", Name: "retention.ms", Value: strp("1000")},
	)
}

func TestImageGolden(t *testing.T) {
	img1 := image1(t)
	if img1.TopicCount() != 2 || img1.PartitionCount() != 3 || img1.BrokerCount() != 3 {
		t.Fatalf("image1: %d topics %d partitions %d brokers", img1.TopicCount(), img1.PartitionCount(), img1.BrokerCount())
	}
	img2 := replayAll(t, img1,
		&PartitionChangeRecord{PartitionID: 0, TopicID: testID(0xa0), ISR: []int32{2}, Leader: 2, LeaderRecoveryState: -1},
		&RemoveTopicRecord{TopicID: testID(0xb0)},
		&TopicRecord{Name: "c", TopicID: testID(0xc0)},
		part(testID(0xc0), 0, 1, 1),
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "a", Name: "retention.ms", Value: nil},
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "a", Name: "cleanup.policy", Value: strp("compact")},
		&BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 103, Fenced: FenceFence},
		&ProducerIdsRecord{BrokerID: 1, BrokerEpoch: 101, NextProducerID: 1000},
		&ZkMigrationStateRecord{ZkMigrationState: ZkMigrationMigration},
		&NoOpRecord{}, &BeginTransactionRecord{}, &EndTransactionRecord{},
	)
	want := replayAll(t, EmptyImage(),
		&FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: 21},
		&ZkMigrationStateRecord{ZkMigrationState: ZkMigrationMigration},
		broker(1, false), broker(2, false), broker(3, true),
		&TopicRecord{Name: "a", TopicID: testID(0xa0)},
		&PartitionRecord{PartitionID: 0, TopicID: testID(0xa0), Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2,
			LeaderEpoch: 1, PartitionEpoch: 1},
		part(testID(0xa0), 1, 2, 2, 3),
		&TopicRecord{Name: "c", TopicID: testID(0xc0)},
		part(testID(0xc0), 0, 1, 1),
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "a", Name: "cleanup.policy", Value: strp("compact")},
		&ProducerIdsRecord{BrokerID: -1, BrokerEpoch: -1, NextProducerID: 1000},
	)
	if !img2.Equal(want) {
		t.Fatalf("image2 differs:\n got %v\nwant %v", WriteImage(img2), WriteImage(want))
	}
	// Golden records of image2, in ImageWriter order.
	if got, wantRecs := WriteImage(img2), WriteImage(want); !reflect.DeepEqual(got, wantRecs) {
		t.Fatalf("WriteImage differs")
	}
	if _, ok := img2.Topic("b"); ok {
		t.Fatal("b still present")
	}
	if _, ok := img2.TopicByID(testID(0xb0)); ok {
		t.Fatal("b still present by id")
	}
	if img2.Configs(TopicResource, "b")["x"] != "" || len(img2.Configs(TopicResource, "a")) != 1 {
		t.Fatalf("configs %v", img2.Configs(TopicResource, "a"))
	}
	// image1 is unchanged.
	if p := img1.mustPartition(t, "a", 0); p.Leader != 1 || p.LeaderEpoch != 0 || len(p.ISR) != 2 {
		t.Fatalf("image1 mutated: %+v", p)
	}
	if _, ok := img1.Topic("b"); !ok || img1.PartitionCount() != 3 || img1.Configs(TopicResource, "a")["retention.ms"] != "1000" {
		t.Fatal("image1 mutated")
	}
	if img2.ZkMigrationState() != ZkMigrationMigration || img2.NextProducerID() != 1000 {
		t.Fatal("features")
	}
	if lvl, ok := img2.FeatureLevel(MetadataVersionFeature); !ok || lvl != 21 {
		t.Fatal("metadata.version")
	}
}

func (i *Image) mustPartition(t testing.TB, topic string, p int32) *PartitionRegistration {
	t.Helper()
	ti, ok := i.Topic(topic)
	if !ok {
		t.Fatalf("no topic %s", topic)
	}
	reg, ok := ti.Partitions[p]
	if !ok {
		t.Fatalf("no partition %s-%d", topic, p)
	}
	return reg
}

func TestApplySharesUntouchedTopics(t *testing.T) {
	img1 := image1(t)
	img2 := replayAll(t, img1, &PartitionChangeRecord{PartitionID: 1, TopicID: testID(0xa0), Leader: 3, LeaderRecoveryState: -1})
	a1, _ := img1.Topic("a")
	a2, _ := img2.Topic("a")
	b1, _ := img1.Topic("b")
	b2, _ := img2.Topic("b")
	if b1 != b2 {
		t.Fatal("untouched topic b was copied")
	}
	if a1 == a2 || a1.Partitions[0] != a2.Partitions[0] {
		t.Fatal("topic a: want new TopicImage sharing unchanged partition 0")
	}
	if a2.Partitions[1].LeaderEpoch != 1 || a2.Partitions[1].PartitionEpoch != 1 || a1.Partitions[1].LeaderEpoch != 0 {
		t.Fatal("epochs")
	}
	br1, _ := img1.Broker(1)
	br2, _ := img2.Broker(1)
	if br1 != br2 {
		t.Fatal("untouched broker copied")
	}
}

func TestPartitionChangeMerge(t *testing.T) {
	img := image1(t)
	id := testID(0xa0)
	tests := []struct {
		name string
		rec  *PartitionChangeRecord
		want PartitionRegistration
	}{
		{"nothing", NewPartitionChangeRecord(id, 0),
			PartitionRegistration{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, PartitionEpoch: 1}},
		{"isr only", &PartitionChangeRecord{TopicID: id, ISR: []int32{1}, Leader: -2, LeaderRecoveryState: -1},
			PartitionRegistration{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1, PartitionEpoch: 1}},
		{"same leader bumps leader epoch", &PartitionChangeRecord{TopicID: id, Leader: 1, LeaderRecoveryState: -1},
			PartitionRegistration{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1}},
		{"no leader", &PartitionChangeRecord{TopicID: id, Leader: -1, LeaderRecoveryState: -1},
			PartitionRegistration{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: -1, LeaderEpoch: 1, PartitionEpoch: 1}},
		{"reassign", &PartitionChangeRecord{TopicID: id, Replicas: []int32{1, 2, 3}, AddingReplicas: []int32{3},
			RemovingReplicas: []int32{}, Leader: -2, LeaderRecoveryState: LeaderRecovering},
			PartitionRegistration{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}, AddingReplicas: []int32{3}, Leader: 1,
				LeaderRecoveryState: LeaderRecovering, PartitionEpoch: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replayAll(t, img, tt.rec).mustPartition(t, "a", 0)
			if !got.Equal(&tt.want) {
				t.Fatalf("got %+v want %+v", got, tt.want)
			}
		})
	}
}

func TestReplayErrors(t *testing.T) {
	img := image1(t)
	s := "v"
	tests := []struct {
		name string
		rec  Record
	}{
		{"partition of unknown topic", part(testID(0xee), 0, 1, 1)},
		{"negative partition id", part(testID(0xa0), -1, 1, 1)},
		{"change of unknown topic", NewPartitionChangeRecord(testID(0xee), 0)},
		{"change of unknown partition", NewPartitionChangeRecord(testID(0xa0), 9)},
		{"change with leader -3", &PartitionChangeRecord{TopicID: testID(0xa0), Leader: -3, LeaderRecoveryState: -1}},
		{"change with recovery state 7", &PartitionChangeRecord{TopicID: testID(0xa0), Leader: -2, LeaderRecoveryState: 7}},
		{"duplicate topic name", &TopicRecord{Name: "a", TopicID: testID(0xdd)}},
		{"duplicate topic id", &TopicRecord{Name: "z", TopicID: testID(0xa0)}},
		{"zero topic id", &TopicRecord{Name: "z"}},
		{"remove unknown topic", &RemoveTopicRecord{TopicID: testID(0xee)}},
		{"config resource type 3", &ConfigRecord{ResourceType: 3, Name: "x", Value: &s}},
		{"unregister unknown broker", &UnregisterBrokerRecord{BrokerID: 9}},
		{"unregister stale epoch", &UnregisterBrokerRecord{BrokerID: 1, BrokerEpoch: 5}},
		{"change unknown broker", &BrokerRegistrationChangeRecord{BrokerID: 9}},
		{"change stale epoch", &BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 1, Fenced: 1}},
		{"change fenced 2", &BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 101, Fenced: 2}},
		{"producer ids backwards", &ProducerIdsRecord{NextProducerID: -5}},
		{"zk state 9", &ZkMigrationStateRecord{ZkMigrationState: 9}},
		{"register negative broker", &RegisterBrokerRecord{BrokerID: -1}},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDelta(img)
			if err := d.Replay(tt.rec); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("Replay = %v, want ErrInvalidRecord", err)
			}
			if !d.Apply().Equal(img) {
				t.Fatal("failed replay changed the delta")
			}
		})
	}
}

func TestDeltaSeesItsOwnChanges(t *testing.T) {
	// Delete "a" and recreate it with a new id in the same delta; then change it.
	img := image1(t)
	d := NewDelta(img)
	for _, r := range []Record{
		&RemoveTopicRecord{TopicID: testID(0xa0)},
		&TopicRecord{Name: "a", TopicID: testID(0x10)},
		part(testID(0x10), 0, 3, 3),
		&PartitionChangeRecord{TopicID: testID(0x10), ISR: []int32{3}, Leader: -2, LeaderRecoveryState: -1},
		&TopicRecord{Name: "tmp", TopicID: testID(0x20)},
		&RemoveTopicRecord{TopicID: testID(0x20)},
	} {
		if err := d.Replay(r); err != nil {
			t.Fatalf("%s: %v", r.Type(), err)
		}
	}
	next := d.Apply()
	a, ok := next.Topic("a")
	if !ok || a.ID != testID(0x10) || a.NumPartitions() != 1 || a.Partitions[0].PartitionEpoch != 1 {
		t.Fatalf("a = %+v", a)
	}
	if _, ok := next.TopicByID(testID(0xa0)); ok {
		t.Fatal("old id still present")
	}
	if _, ok := next.Topic("tmp"); ok || next.PartitionCount() != 2 {
		t.Fatalf("tmp present or count %d", next.PartitionCount())
	}
	if len(next.Configs(TopicResource, "a")) != 0 {
		t.Fatal("configs of deleted topic a survived")
	}
	// Broker 3: leader of new a-0, follower nothing new, deletes old a-1 (replica 3).
	lc := d.LocalChanges(3)
	if len(lc.Leaders) != 1 || lc.Leaders[0].TopicID != testID(0x10) || len(lc.Deletes) != 1 ||
		lc.Deletes[0].TopicID != testID(0xa0) || lc.Deletes[0].Partition != 1 {
		t.Fatalf("local changes %+v", lc)
	}
}

func TestLocalChanges(t *testing.T) {
	img := image1(t) // a-0 [1,2] leader 1; a-1 [2,3] leader 2; b-0 [3,1] leader 3
	a, b, c := testID(0xa0), testID(0xb0), testID(0xc0)
	type tp struct {
		topic string
		p     int32
	}
	recs := []Record{
		&PartitionChangeRecord{TopicID: a, PartitionID: 0, Leader: 2, ISR: []int32{2}, LeaderRecoveryState: -1}, // 1 loses leadership
		&PartitionChangeRecord{TopicID: a, PartitionID: 1, Replicas: []int32{2}, ISR: []int32{2}, Leader: -2,
			LeaderRecoveryState: -1}, // 3 removed
		&RemoveTopicRecord{TopicID: b},
		&TopicRecord{Name: "c", TopicID: c},
		part(c, 0, 1, 1, 3),
		part(c, 1, 3, 3, 1),
	}
	tests := []struct {
		broker                     int32
		leaders, followers, delete []tp
	}{
		{1, []tp{{"c", 0}}, []tp{{"a", 0}, {"c", 1}}, []tp{{"b", 0}}},
		{2, []tp{{"a", 0}, {"a", 1}}, nil, nil},
		{3, []tp{{"c", 1}}, []tp{{"c", 0}}, []tp{{"a", 1}, {"b", 0}}},
		{4, nil, nil, nil},
	}
	d := NewDelta(img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	conv := func(l []LocalPartition) []tp {
		var out []tp
		for _, p := range l {
			out = append(out, tp{p.Topic, p.Partition})
		}
		return out
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("broker", tt.broker), func(t *testing.T) {
			lc := d.LocalChanges(tt.broker)
			if got := conv(lc.Leaders); !reflect.DeepEqual(got, tt.leaders) {
				t.Errorf("leaders %v want %v", got, tt.leaders)
			}
			if got := conv(lc.Followers); !reflect.DeepEqual(got, tt.followers) {
				t.Errorf("followers %v want %v", got, tt.followers)
			}
			if got := conv(lc.Deletes); !reflect.DeepEqual(got, tt.delete) {
				t.Errorf("deletes %v want %v", got, tt.delete)
			}
		})
	}
	// An unchanged re-statement of a partition is not a local change.
	d2 := NewDelta(img)
	if err := d2.Replay(PartitionToRecord(a, 0, img.mustPartition(t, "a", 0))); err != nil {
		t.Fatal(err)
	}
	if lc := d2.LocalChanges(1); len(lc.Leaders)+len(lc.Followers)+len(lc.Deletes) != 0 {
		t.Fatalf("no-op partition record gave %+v", lc)
	}
}

func TestProvenanceAndClusterID(t *testing.T) {
	img := EmptyImage()
	if img.Offset() != -1 || img.Epoch() != -1 || img.ClusterID() != "" {
		t.Fatal("empty provenance")
	}
	d := NewDelta(img)
	d.SetProvenance(10, 2)
	d.SetClusterID("fMCL8kv1SWm87L_Md-I2hg")
	next := d.Apply()
	if next.Offset() != 10 || next.Epoch() != 2 || next.ClusterID() != "fMCL8kv1SWm87L_Md-I2hg" {
		t.Fatal("provenance not applied")
	}
	if next2 := NewDelta(next).Apply(); next2.Offset() != 10 || next2.ClusterID() != "fMCL8kv1SWm87L_Md-I2hg" {
		t.Fatal("provenance not carried")
	}
}

func TestWriteImageRoundTripGolden(t *testing.T) {
	img := image1(t)
	recs := WriteImage(img)
	var got []string
	for _, r := range recs {
		got = append(got, r.Type().String())
	}
	want := []string{"FeatureLevelRecord", "RegisterBrokerRecord", "RegisterBrokerRecord", "RegisterBrokerRecord",
		"TopicRecord", "PartitionRecord", "PartitionRecord", "TopicRecord", "PartitionRecord", "ConfigRecord"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("WriteImage order %v", got)
	}
	if back := replayAll(t, EmptyImage(), recs...); !back.Equal(img) {
		t.Fatal("round trip differs")
	}
}

// TestWriteImageRoundTripProperty drives the controller logic with random
// requests, replays the resulting records in random-sized deltas, and checks
// after every step that image -> WriteImage -> replay into an empty delta
// gives an equal image, and that replaying everything at once agrees with
// the step-by-step images.
func TestWriteImageRoundTripProperty(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			cfg := randomControllerConfig(rng)
			img := EmptyImage()
			var all []Record
			counts := map[RecordType]int{}
			for step := 0; step < 60; step++ {
				recs := randomRequest(rng, img, cfg)
				// Controller output must always replay cleanly against img.
				img2 := replayAll(t, img, recs...)
				all = append(all, recs...)
				for _, r := range recs {
					counts[r.Type()]++
				}
				img = img2
				back := replayAll(t, EmptyImage(), WriteImage(img)...)
				if !back.Equal(img) {
					t.Fatalf("step %d: WriteImage round trip differs", step)
				}
			}
			if once := replayAll(t, EmptyImage(), all...); !once.Equal(img) {
				t.Fatal("replay at once differs from step-by-step")
			}
			// The generator must exercise the interesting records.
			for _, typ := range []RecordType{TopicRecordType, PartitionRecordType, RegisterBrokerRecordType,
				BrokerRegistrationChangeRecordType, ConfigRecordType} {
				if counts[typ] == 0 {
					t.Errorf("no %s generated: %v", typ, counts)
				}
			}
			t.Logf("records: %v; final image %d topics %d partitions", counts, img.TopicCount(), img.PartitionCount())
		})
	}
}

// randomControllerConfig is the controller config of the random-walk
// tests: 3 partitions, replication factor 2, topic ids drawn from rng.
func randomControllerConfig(rng *rand.Rand) ControllerConfig {
	return ControllerConfig{DefaultNumPartitions: 3, DefaultReplicationFactor: 2,
		NewUuid: func() Uuid {
			var u Uuid
			for i := range u {
				u[i] = byte(rng.UintN(256))
			}
			return u
		}}
}

func randomRequest(rng *rand.Rand, img *Image, cfg ControllerConfig) []Record {
	brokers := img.Brokers()
	topics := img.Topics()
	switch rng.IntN(9) {
	case 0, 1:
		id := int32(rng.IntN(6))
		old, known := img.Broker(id)
		live := known && !old.Fenced // an unfenced broker is taken to have a live session
		recs, err := RegisterBroker(img, BrokerRegistration{ID: id, Epoch: int64(rng.IntN(1000)),
			IncarnationID: RandomUuid(), Endpoints: []Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 1}}, Rack: "r"}, live)
		if err != nil {
			return nil
		}
		return recs
	case 2:
		if len(brokers) == 0 {
			return nil
		}
		b := brokers[rng.IntN(len(brokers))]
		recs, _ := UnfenceBroker(img, b.ID, b.Epoch)
		return recs
	case 3:
		if len(brokers) == 0 {
			return nil
		}
		return FenceBroker(img, brokers[rng.IntN(len(brokers))].ID)
	case 4, 5:
		spec := CreateTopicSpec{Name: fmt.Sprintf("t%d", rng.IntN(20)), NumPartitions: int32(rng.IntN(5)) - 1,
			ReplicationFactor: int16(rng.IntN(3)) - 1}
		if rng.IntN(2) == 0 {
			spec.Configs = map[string]string{"retention.ms": fmt.Sprint(rng.IntN(1000))}
		}
		recs, _ := CreateTopic(img, spec, cfg)
		return recs
	case 6:
		if len(topics) == 0 {
			return nil
		}
		recs, _ := DeleteTopic(img, topics[rng.IntN(len(topics))].Name)
		return recs
	case 7:
		_, _, recs := AllocateProducerIDs(img, 1, 1)
		return recs
	default:
		v := fmt.Sprint(rng.IntN(5))
		var val *string
		if rng.IntN(3) > 0 {
			val = &v
		}
		return []Record{
			&ConfigRecord{ResourceType: BrokerResource, ResourceName: fmt.Sprint(rng.IntN(3)), Name: "k" + v, Value: val},
			&FeatureLevelRecord{Name: "f" + v, FeatureLevel: int16(rng.IntN(3))},
		}
	}
}
