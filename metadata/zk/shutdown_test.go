package zk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestControlledShutdown: the controller's side of Kafka's
// ControlledShutdown on a real ZooKeeper. A broker that is not the
// controller answers ErrNotController; a stale epoch is refused; the
// controller moves every replicated leadership of the stopping broker to
// another ISR member (a new leader epoch), takes it out of the ISRs it
// follows in while their leader keeps its leader epoch, leaves an RF 1
// partition alone, and reports nothing remaining. The stopping broker is not
// elected again while it is shutting down.
func TestControlledShutdown(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) })
	s := zktest.Start(t)
	raw := rawConn(t, s)
	bs := map[int32]*Backend{1: testBackend(t, s.Addr, 1), 2: testBackend(t, s.Addr, 2)}
	ctrl := waitController(t, raw, bs)
	x := 3 - ctrl // the stopping broker
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	specs := []metadata.CreateTopicSpec{{Name: "cs", NumPartitions: 4, ReplicationFactor: 2}, {Name: "one",
		NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {x}}}}
	for i, err := range bs[x].CreateTopics(ctx, specs, false) {
		if err != nil {
			t.Fatalf("create %s: %v", specs[i].Name, err)
		}
	}
	state := func(topic string, p int32) PartitionState {
		t.Helper()
		data, _, err := raw.Get(PartitionStatePath(topic, p))
		if err != nil {
			t.Fatal(err)
		}
		st, err := DecodePartitionState(data)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	wait.For(t, 20*time.Second, "full ISRs", func() error {
		for p := int32(0); p < 4; p++ {
			if st := state("cs", p); len(st.ISR) != 2 {
				return fmt.Errorf("cs-%d: %+v", p, st)
			}
		}
		return nil
	})
	before := map[int32]PartitionState{}
	for p := int32(0); p < 4; p++ {
		before[p] = state("cs", p)
	}
	epoch, _ := bs[x].Image().Broker(x)

	if _, err := bs[x].ControlledShutdown(ctx, x, epoch.Epoch); !errors.Is(err, metadata.ErrNotController) {
		t.Fatalf("sent to broker %d, not the controller: %v", x, err)
	}
	if _, err := bs[ctrl].ControlledShutdown(ctx, x, epoch.Epoch+1); !errors.Is(err, metadata.ErrStaleBrokerEpoch) {
		t.Fatalf("stale epoch: %v", err)
	}
	remaining, err := bs[ctrl].ControlledShutdown(ctx, x, epoch.Epoch)
	if err != nil || len(remaining) != 0 {
		t.Fatalf("controlled shutdown of broker %d: remaining %v, %v", x, remaining, err)
	}
	led := 0
	for p, old := range before {
		st := state("cs", p)
		if st.Leader != ctrl || slices.Contains(st.ISR, x) {
			t.Fatalf("cs-%d after the controlled shutdown: %+v (was %+v)", p, st, old)
		}
		switch old.Leader {
		case x:
			led++
			if st.LeaderEpoch != old.LeaderEpoch+1 {
				t.Fatalf("cs-%d: moved leadership at epoch %d, was %d", p, st.LeaderEpoch, old.LeaderEpoch)
			}
		default:
			if st.LeaderEpoch != old.LeaderEpoch {
				t.Fatalf("cs-%d: unchanged leader's epoch %d, was %d (KAFKA-15021)", p, st.LeaderEpoch, old.LeaderEpoch)
			}
		}
	}
	if led == 0 {
		t.Fatalf("broker %d led no partition of cs before: %v", x, before)
	}
	if st := state("one", 0); st.Leader != x {
		t.Fatalf("RF 1 partition moved: %+v", st)
	}
	// The controller's own image shows it at once; broker x's follows by watch.
	if err := bs[x].WaitLeadsNothing(ctx); err != nil {
		t.Fatal(err)
	}
	if got := metadata.LeadsReplicated(bs[ctrl].Image(), x); len(got) != 0 {
		t.Fatalf("controller's image still names %d leader of %v", x, got)
	}
}
