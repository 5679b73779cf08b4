package metadata

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// image1Migrating is image1 with a ZK migration state, a producer-id block,
// a broker config and a cluster id and provenance: every part FullDelta and
// DeltaBetween carry.
func image1Migrating(t testing.TB) *Image {
	d := NewDelta(replayAll(t, image1(t),
		&ZkMigrationStateRecord{ZkMigrationState: ZkMigrationMigration},
		&ProducerIdsRecord{BrokerID: 1, BrokerEpoch: 101, NextProducerID: 2000},
		&ConfigRecord{ResourceType: BrokerResource, ResourceName: "2", Name: "log.retention.ms", Value: strp("5")},
	))
	d.SetProvenance(41, 3)
	d.SetClusterID("golden-cluster")
	return d.Apply()
}

// FullDelta onto the empty image gives img, provenance and cluster id
// included, and says exactly what replaying WriteImage(img) would say.
func TestFullDeltaGolden(t *testing.T) {
	img := image1Migrating(t)
	d := FullDelta(img)
	if d.Base() != EmptyImage() {
		t.Fatal("full delta is not based on the empty image")
	}
	got := d.Apply()
	if !got.Equal(img) {
		t.Fatal("empty + FullDelta(img) != img")
	}
	if got.Offset() != 41 || got.Epoch() != 3 || got.ClusterID() != "golden-cluster" {
		t.Fatalf("provenance %d/%d cluster %q, want 41/3 golden-cluster", got.Offset(), got.Epoch(), got.ClusterID())
	}

	replayed := NewDelta(EmptyImage())
	for _, r := range WriteImage(img) {
		if err := replayed.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int32{1, 2, 3, 4} {
		if a, b := d.LocalChanges(id), replayed.LocalChanges(id); !reflect.DeepEqual(a, b) {
			t.Errorf("broker %d: FullDelta local changes %+v, WriteImage replay %+v", id, a, b)
		}
	}
	if lc := d.LocalChanges(1); len(lc.Leaders) != 1 || len(lc.Followers) != 1 || len(lc.Deletes) != 0 {
		t.Errorf("broker 1 leads %d and follows %d partitions (want 1 and 1), deletes %d", len(lc.Leaders), len(lc.Followers), len(lc.Deletes))
	}

	// The delta may be replayed further without touching img.
	if err := d.Replay(&RemoveTopicRecord{TopicID: testID(0xa0)}); err != nil {
		t.Fatal(err)
	}
	if d.Apply().TopicCount() != 1 || img.TopicCount() != 2 {
		t.Fatalf("after removing a: delta image has %d topics, img %d", d.Apply().TopicCount(), img.TopicCount())
	}
	if empty := FullDelta(EmptyImage()).Apply(); !empty.Equal(EmptyImage()) {
		t.Fatal("FullDelta(empty) does not apply to the empty image")
	}
}

// DeltaBetween's result applies to exactly the next image, and says what a
// broker lost (Deletes) and gained, not just "everything is new".
func TestDeltaBetweenGolden(t *testing.T) {
	gone, kept, fresh := testID(0x01), testID(0x02), testID(0x03)
	pt := func(id Uuid, p int32, leader int32) *PartitionRecord {
		return &PartitionRecord{TopicID: id, PartitionID: p, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: leader}
	}
	v := "1000"
	prev := replayAll(t, EmptyImage(),
		&FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: 21}, &FeatureLevelRecord{Name: "old", FeatureLevel: 1},
		&RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 5}, &RegisterBrokerRecord{BrokerID: 3, BrokerEpoch: 6},
		&TopicRecord{Name: "gone", TopicID: gone}, pt(gone, 0, 1),
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "gone", Name: "retention.ms", Value: &v},
		&TopicRecord{Name: "kept", TopicID: kept}, pt(kept, 0, 1), pt(kept, 1, 2),
		&ProducerIdsRecord{NextProducerID: 1000})
	nd := NewDelta(replayAll(t, EmptyImage(),
		&FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: 22},
		&ZkMigrationStateRecord{ZkMigrationState: ZkMigrationPostMigration},
		&RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 9},
		&TopicRecord{Name: "kept", TopicID: kept}, pt(kept, 0, 2), pt(kept, 1, 2),
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "kept", Name: "retention.ms", Value: &v},
		&TopicRecord{Name: "gone", TopicID: fresh}, pt(fresh, 0, 1),
		&ProducerIdsRecord{NextProducerID: 3000}))
	nd.SetProvenance(77, 4)
	nd.SetClusterID("c1")
	next := nd.Apply()

	d := DeltaBetween(prev, next)
	if d.Base() != prev {
		t.Fatalf("delta is not based on the previous image (fell back to the full delta)")
	}
	got := d.Apply()
	if !got.Equal(next) {
		t.Fatalf("prev + delta != next")
	}
	if got.Offset() != 77 || got.Epoch() != 4 || got.ClusterID() != "c1" {
		t.Fatalf("provenance %d/%d cluster %q, want 77/4 c1", got.Offset(), got.Epoch(), got.ClusterID())
	}
	lc := d.LocalChanges(1)
	var deleted, followed []string
	for _, p := range lc.Deletes {
		deleted = append(deleted, p.Topic+"/"+p.TopicID.String())
	}
	for _, p := range lc.Followers {
		followed = append(followed, p.Topic)
	}
	if len(lc.Deletes) != 1 || lc.Deletes[0].TopicID != gone {
		t.Errorf("deletes for broker 1 = %v, want the old 'gone' topic", deleted)
	}
	if len(lc.Followers) != 1 || lc.Followers[0].Topic != "kept" || lc.Followers[0].Partition != 0 {
		t.Errorf("broker 1 now follows %v, want kept-0", followed)
	}
	// The new "gone" topic (fresh id) is led by broker 1.
	if len(lc.Leaders) != 1 || lc.Leaders[0].TopicID != fresh {
		t.Errorf("broker 1 leads %+v, want the new 'gone' topic", lc.Leaders)
	}
}

// Where next cannot be reached from prev by records, or prev is empty,
// DeltaBetween is the full delta; prev == next gives a delta that changes
// nothing but the provenance.
func TestDeltaBetweenFallsBack(t *testing.T) {
	img := image1Migrating(t)
	// image1 has no producer-id block: a block below img's cannot be replayed onto img.
	lowerImg := image1(t)
	back := DeltaBetween(img, lowerImg)
	if back.Base() != EmptyImage() || !back.Apply().Equal(lowerImg) {
		t.Fatalf("delta to a lower producer id: based on empty %v, applies %v", back.Base() == EmptyImage(), back.Apply().Equal(lowerImg))
	}
	if d := DeltaBetween(EmptyImage(), img); d.Base() != EmptyImage() || !d.Apply().Equal(img) {
		t.Fatal("delta from the empty image is not the full delta")
	}
	same := DeltaBetween(img, img)
	if same.Base() != img || !same.Apply().Equal(img) {
		t.Fatal("delta from an image to itself")
	}
	for _, id := range []int32{1, 2, 3} {
		if lc := same.LocalChanges(id); len(lc.Leaders)+len(lc.Followers)+len(lc.Deletes) != 0 {
			t.Errorf("broker %d: delta to the same image changes %+v", id, lc)
		}
	}
}

// TestDeltaBetweenProperty walks random controller output and checks at
// every step that prev + DeltaBetween(prev, next) = next and empty +
// FullDelta(next) = next, and that DeltaBetween over a jump of several
// steps is based on the older image.
func TestDeltaBetweenProperty(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			cfg := randomControllerConfig(rng)
			img := EmptyImage()
			history := []*Image{img}
			for step := 0; step < 60; step++ {
				next := replayAll(t, img, randomRequest(rng, img, cfg)...)
				if !FullDelta(next).Apply().Equal(next) {
					t.Fatalf("step %d: empty + FullDelta(next) != next", step)
				}
				if !DeltaBetween(img, next).Apply().Equal(next) {
					t.Fatalf("step %d: prev + DeltaBetween(prev, next) != next", step)
				}
				old := history[rng.IntN(len(history))]
				d := DeltaBetween(old, next)
				if !d.Apply().Equal(next) {
					t.Fatalf("step %d: old + DeltaBetween(old, next) != next", step)
				}
				if old.TopicCount()+old.BrokerCount() > 0 && d.Base() != old {
					t.Fatalf("step %d: delta from an older image fell back to the full delta", step)
				}
				img = next
				history = append(history, img)
			}
		})
	}
}
