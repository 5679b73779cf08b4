package main_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
)

// reassignDualWrite (KIP-455 during KIP-866's dual-write): a partition
// reassignment sent to a migrating ZooKeeper-mode broker (which forwards
// it to the quorum) moves an RF 1 partition from its broker to the two
// others while an acks=all producer writes to it: the new replicas are
// added and caught up, the old one removed, the completion is mirrored
// to the topic znode (no adding/removing replicas left), the old replica's
// log is deleted, and every
// acknowledged record is read back at its offset.
func (mc *migCluster) reassignDualWrite() {
	t := mc.t
	t.Helper()
	const topic = "mig-move"
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*migWait)
	defer cancel()
	cl := mc.brokers[2].client(t, kgo.SeedBrokers(mc.seeds()...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }))
	adm := kadm.NewClient(cl)
	zkCreateTopic(ctx, t, cl, topic, 1, 1, nil)
	var from []int32
	wait.For(t, migWait, topic+" has a leader", func() error {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return err
		}
		p := md.Topics[topic].Partitions[0]
		if md.Topics[topic].Err != nil || p.Leader < 0 || len(p.Replicas) != 1 {
			return fmt.Errorf("%v leader %d replicas %v", md.Topics[topic].Err, p.Leader, p.Replicas)
		}
		from = p.Replicas
		return nil
	})
	var to []int32
	for id := int32(1); id <= 3; id++ {
		if id != from[0] {
			to = append(to, id)
		}
	}

	var mu sync.Mutex
	acked := map[int64]string{}
	produce := func(i int) {
		v := fmt.Sprintf("move-%d", i)
		r, err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).First()
		if err != nil {
			t.Errorf("produce %s: %v", v, err)
			return
		}
		mu.Lock()
		acked[r.Offset] = v
		mu.Unlock()
	}
	for i := 0; i < 200; i++ {
		produce(i)
	}
	// The producer keeps writing while the partition moves.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 200; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			produce(i)
			time.Sleep(5 * time.Millisecond)
		}
	}()

	var req kadm.AlterPartitionAssignmentsReq
	req.Assign(topic, 0, to)
	if res, err := adm.AlterPartitionAssignments(ctx, req); err != nil || res.Error() != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("reassign %s-0 %v -> %v during dual-write: %v %v", topic, from, to, err, res.Error())
	}
	wait.For(t, 2*migWait, fmt.Sprintf("%s-0 moved %v -> %v and mirrored to ZooKeeper", topic, from, to), func() error {
		listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{topic: {0: {}}})
		if err != nil {
			return err
		}
		if len(listed) != 0 {
			return fmt.Errorf("still reassigning: %+v", listed)
		}
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return err
		}
		p := md.Topics[topic].Partitions[0]
		if !slices.Equal(sorted(p.Replicas), to) || !slices.Equal(sorted(p.ISR), to) {
			return fmt.Errorf("replicas %v ISR %v leader %d", p.Replicas, p.ISR, p.Leader)
		}
		data, _, err := mc.raw.Get(zk.TopicPath(topic))
		if err != nil {
			return err
		}
		z, err := zk.DecodeTopic(data)
		if err != nil || !slices.Equal(sorted(z.Partitions[0]), to) || len(z.AddingReplicas[0]) != 0 || len(z.RemovingReplicas[0]) != 0 {
			return fmt.Errorf("topic znode %s (%v)", data, err)
		}
		st, _, err := zkState(mc.raw, topic, 0)
		if err != nil || !slices.Contains(to, st.Leader) {
			return fmt.Errorf("state znode %+v (%v)", st, err)
		}
		return nil
	})
	// The removed replica's log is deleted (a migrating ZooKeeper-mode
	// broker following the quorum's metadata).
	wait.For(t, migWait, fmt.Sprintf("no log of %s on broker %d", topic, from[0]), func() error {
		if dirs, _ := filepath.Glob(filepath.Join(mc.brokers[from[0]].dir, "kafka-logs", topic+"-*")); len(dirs) > 0 {
			return fmt.Errorf("broker %d holds %v", from[0], dirs)
		}
		return nil
	})
	for i := 0; i < 50; i++ { // after the move, on the new replicas
		produce(100000 + i)
	}
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var end int64
	for o := range acked {
		end = max(end, o)
	}
	rd, err := kgo.NewClient(kgo.SeedBrokers(mc.seeds()...), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	got := map[int64]string{}
	for _, ok := got[end]; !ok && ctx.Err() == nil; _, ok = got[end] {
		rd.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[r.Offset] = string(r.Value) })
	}
	for o, v := range acked {
		if got[o] != v {
			t.Fatalf("%s-0 offset %d: acked %q, read %q (%d acked, %d read)", topic, o, v, got[o], len(acked), len(got))
		}
	}
	t.Logf("%s-0 moved %v -> %v during dual-write under acks=all: %d acknowledged records read back (check took %s)",
		topic, from, to, len(acked), time.Since(start).Round(time.Millisecond))
}
