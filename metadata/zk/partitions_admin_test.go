package zk

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestPartitionsAdmin on a real ZooKeeper with two brokers: a broker that
// is not the controller adds partitions (/brokers/topics/<t> rewritten,
// the controller creating the new states, both images showing them), a
// count that does not grow is INVALID_PARTITIONS, validateOnly writes
// nothing. A leadership moved off the preferred replica comes back by
// /admin/preferred_replica_election from the other broker (the controller
// deletes the znode) and by the controller's own loop; UNCLEAN on a led
// partition needs no election.
func TestPartitionsAdmin(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	bs := map[int32]*Backend{1: testBackend(t, s.Addr, 1), 2: testBackend(t, s.Addr, 2)}
	ctrl := waitController(t, raw, bs)
	x := 3 - ctrl
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if errs := bs[x].CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "pz", NumPartitions: 2, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if errs := bs[x].CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "pz", Count: 4}}, true); errs[0] != nil {
		t.Fatalf("validate only: %v", errs[0])
	}
	if errs := bs[x].CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "pz", Count: 2}, {Topic: "nope", Count: 3}}, false); !errors.Is(errs[0], metadata.ErrInvalidPartitions) || !errors.Is(errs[1], metadata.ErrUnknownTopic) {
		t.Fatalf("errors: %v", errs)
	}
	if errs := bs[x].CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "pz", Count: 4}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	data, _, err := raw.Get(TopicPath("pz"))
	if err != nil {
		t.Fatal(err)
	}
	zn, err := DecodeTopic(data)
	if err != nil || len(zn.Partitions) != 4 {
		t.Fatalf("topic znode %s: %v", data, err)
	}
	for _, b := range bs {
		wait.For(t, 20*time.Second, "4 partitions in every image", func() error {
			if tp, ok := b.Image().Topic("pz"); !ok || tp.NumPartitions() != 4 {
				return fmt.Errorf("broker %d: %v", b.cfg.BrokerID, tp)
			}
			return nil
		})
	}
	for p := int32(2); p < 4; p++ {
		if _, _, err := raw.Get(PartitionStatePath("pz", p)); err != nil {
			t.Fatalf("state of pz-%d: %v", p, err)
		}
	}

	// moveLeader makes the second replica lead pz-p, as a failover would.
	moveLeader := func(p int32) (preferred int32) {
		t.Helper()
		data, stat, err := raw.Get(PartitionStatePath("pz", p))
		if err != nil {
			t.Fatal(err)
		}
		st, err := DecodePartitionState(data)
		if err != nil {
			t.Fatal(err)
		}
		reps := zn.Partitions[p]
		st.Leader, st.LeaderEpoch = reps[1], st.LeaderEpoch+1
		if _, err := raw.Set(PartitionStatePath("pz", p), EncodePartitionState(st), stat.Version); err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			wait.For(t, 20*time.Second, "the moved leader in every image", func() error {
				if got := b.Image().Topics(); len(got) == 0 || b.leaderOf("pz", p) != reps[1] {
					return fmt.Errorf("broker %d: leader %d", b.cfg.BrokerID, b.leaderOf("pz", p))
				}
				return nil
			})
		}
		return reps[0]
	}
	tp := []metadata.TopicPartition{{Topic: "pz", Partition: 3}}
	pref := moveLeader(3)
	if res := bs[x].ElectLeaders(ctx, DefaultShutdownConfig(), metadata.ElectPreferred, tp); res[0].Err != nil {
		t.Fatalf("preferred election through the znode: %v", res[0].Err)
	}
	if l := bs[x].leaderOf("pz", 3); l != pref {
		t.Fatalf("pz-3 led by %d, want %d", l, pref)
	}
	wait.For(t, 20*time.Second, PreferredReplicaElection+" deleted", func() error {
		if ok, _, err := raw.Exists(PreferredReplicaElection); err != nil || ok {
			return fmt.Errorf("exists %v: %v", ok, err)
		}
		return nil
	})
	if res := bs[x].ElectLeaders(ctx, DefaultShutdownConfig(), metadata.ElectPreferred, tp); !errors.Is(res[0].Err, metadata.ErrElectionNotNeeded) {
		t.Fatalf("again: %v", res[0].Err)
	}
	pref = moveLeader(2)
	res := bs[ctrl].ElectLeaders(ctx, DefaultShutdownConfig(), metadata.ElectPreferred, nil)
	if len(res) != 1 || res[0].Partition != 2 || res[0].Err != nil || bs[ctrl].leaderOf("pz", 2) != pref {
		t.Fatalf("all partitions on the controller: %+v, leader %d", res, bs[ctrl].leaderOf("pz", 2))
	}
	if res := bs[ctrl].ElectLeaders(ctx, DefaultShutdownConfig(), metadata.ElectUnclean, tp); !errors.Is(res[0].Err, metadata.ErrElectionNotNeeded) {
		t.Fatalf("unclean of a led partition: %v", res[0].Err)
	}
}

// leaderOf is the leader of topic-p in b's image (-2: no such partition).
func (b *Backend) leaderOf(topic string, p int32) int32 {
	t, ok := b.Image().Topic(topic)
	if !ok {
		return -2
	}
	reg, ok := t.Partitions[p]
	if !ok {
		return -2
	}
	return reg.Leader
}
