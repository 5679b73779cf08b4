package zk

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/goleak"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestElectionCreateFailover: three brokers elect one controller (epoch 1),
// a topic created through a non-controller gets states and shows up in
// every image, and when the controller's session dies a new controller is
// elected with a higher epoch (2 on a quiet machine) and moves the dead
// broker's leaderships (KafkaController.elect, onBrokerFailure).
func TestElectionCreateFailover(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) })
	s := zktest.Start(t)
	raw := rawConn(t, s)
	bs := map[int32]*Backend{}
	for id := int32(1); id <= 3; id++ {
		bs[id] = testBackend(t, s.Addr, id)
	}
	var ctrl int32
	wait.For(t, 20*time.Second, "one controller", func() error {
		id, err := controllerOf(t, raw)
		if err != nil {
			return err
		}
		if !bs[id].IsController() {
			return fmt.Errorf("/controller names %d, which does not know it yet", id)
		}
		ctrl = id
		return nil
	})
	// Epoch 1 on a quiet machine; a session that expires under load adds
	// elections, so what is checked is that failover bumps the epoch.
	first := epochOf(t, raw)
	if first < 1 {
		t.Fatalf("controller epoch %d, want >= 1", first)
	}
	other := ctrl%3 + 1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := bs[other].CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "orders", NumPartitions: 6, ReplicationFactor: 3}}, false)
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	for id, b := range bs {
		b := b
		wait.For(t, 20*time.Second, fmt.Sprintf("broker %d sees orders", id), func() error {
			tp, ok := b.Image().Topic("orders")
			if !ok || tp.NumPartitions() != 6 {
				return fmt.Errorf("topic %v", tp)
			}
			return nil
		})
	}
	// The controller's session ends: a new controller, a higher epoch, and no
	// partition is led by the dead broker any more.
	if err := bs[ctrl].Close(); err != nil {
		t.Fatal(err)
	}
	survivor := bs[other]
	wait.For(t, 20*time.Second, "new controller", func() error {
		id, err := controllerOf(t, raw)
		if err != nil {
			return err
		}
		if id == ctrl {
			return fmt.Errorf("still %d", id)
		}
		if e := epochOf(t, raw); e <= first {
			return fmt.Errorf("epoch %d, want > %d", e, first)
		}
		tp, _ := survivor.Image().Topic("orders")
		for p, reg := range tp.Partitions {
			if reg.Leader == ctrl || reg.Leader < 0 || reg.InISR(ctrl) {
				return fmt.Errorf("partition %d: leader %d isr %v", p, reg.Leader, reg.ISR)
			}
		}
		return nil
	})
	// Delete through the survivor.
	if errs := survivor.DeleteTopics(ctx, []string{"orders"}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if ok, _, _ := raw.Exists(TopicPath("orders")); ok {
		t.Fatal("topic znode still exists after delete")
	}
}

// TestBouncedBrokerLosesLeadership: a broker's registration replaced in one
// multi (its old znode deleted and a new one created, as when a restarted
// process registers the moment its predecessor's session expires) is never
// seen missing, yet the controller notices the new czxid (broker epoch) and
// handles the bounce as Kafka's processBrokerChange does: failure, then
// startup. The new incarnation does not inherit leadership at the old
// leader epoch.
func TestBouncedBrokerLosesLeadership(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) })
	s := zktest.Start(t)
	raw := rawConn(t, s)
	bs := map[int32]*Backend{1: testBackend(t, s.Addr, 1), 2: testBackend(t, s.Addr, 2)}
	ctrl := waitController(t, raw, bs)
	x := 3 - ctrl
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if errs := bs[x].CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "b", NumPartitions: 4, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	before := map[int32]PartitionState{}
	for p := int32(0); p < 4; p++ {
		data, _, err := raw.Get(PartitionStatePath("b", p))
		if err != nil {
			t.Fatal(err)
		}
		st, err := DecodePartitionState(data)
		if err != nil {
			t.Fatal(err)
		}
		if st.Leader == x {
			before[p] = st
		}
	}
	if len(before) == 0 {
		t.Fatalf("no partition of b led by broker %d", x)
	}
	path := BrokerPath(x)
	data, stat, err := raw.Get(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Multi(&gozk.DeleteRequest{Path: path, Version: stat.Version},
		&gozk.CreateRequest{Path: path, Data: data, Acl: gozk.WorldACL(gozk.PermAll), Flags: gozk.FlagEphemeral}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, fmt.Sprintf("broker %d's leaderships moved after its bounce", x), func() error {
		for p, old := range before {
			data, _, err := raw.Get(PartitionStatePath("b", p))
			if err != nil {
				return err
			}
			st, err := DecodePartitionState(data)
			if err != nil {
				return err
			}
			if st.Leader != ctrl || st.LeaderEpoch <= old.LeaderEpoch || slices.Contains(st.ISR, x) {
				return fmt.Errorf("partition %d: %+v (was %+v)", p, st, old)
			}
		}
		return nil
	})
}
