package backendtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata"
)

// Factory returns a started, single-broker backend for broker id 1 that
// publishes to pub, ready for writes (its controller elected), and closes it
// on t.Cleanup.
type Factory func(t *testing.T, pub *Recorder) metadata.Backend

// Recorder is a publisher that keeps what it was given.
type Recorder struct {
	mu     sync.Mutex
	images []*metadata.Image
	bases  []*metadata.Image
	inside bool
	races  int
}

// Publish records the image and its delta's base; it also detects
// concurrent calls (the contract says never).
func (r *Recorder) Publish(d *metadata.Delta, img *metadata.Image) {
	r.mu.Lock()
	if r.inside {
		r.races++
	}
	r.inside = true
	r.images = append(r.images, img)
	r.bases = append(r.bases, d.Base())
	r.inside = false
	r.mu.Unlock()
}

func (r *Recorder) snapshot() (imgs, bases []*metadata.Image, races int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*metadata.Image(nil), r.images...), append([]*metadata.Image(nil), r.bases...), r.races
}

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not true after 30s: %v", what, err)
}

// Run runs every conformance test against backends from newBackend.
func Run(t *testing.T, newBackend Factory) {
	t.Run("RegisterCreateDelete", func(t *testing.T) { testRegisterCreateDelete(t, newBackend) })
	t.Run("ProducerIDs", func(t *testing.T) { testProducerIDs(t, newBackend) })
	t.Run("AlterPartition", func(t *testing.T) { testAlterPartition(t, newBackend) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// register registers broker 1 and unfences it.
func register(t *testing.T, b metadata.Backend) int64 {
	t.Helper()
	ctx := ctxFor(t)
	if err := b.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	epoch, err := b.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 1, IncarnationID: metadata.RandomUuid(),
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.UnfenceBroker(ctx, 1, epoch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "broker 1 registered and unfenced", func() error {
		br, ok := b.Image().Broker(1)
		if !ok || br.Fenced || br.Epoch != epoch {
			return fmt.Errorf("broker %+v", br)
		}
		return nil
	})
	if err := b.UnfenceBroker(ctx, 1, epoch+1000); !errors.Is(err, metadata.ErrStaleBrokerEpoch) {
		t.Fatalf("unfence with a wrong epoch: %v, want ErrStaleBrokerEpoch", err)
	}
	return epoch
}

func testRegisterCreateDelete(t *testing.T, newBackend Factory) {
	rec := &Recorder{}
	b := newBackend(t, rec)
	ctx := ctxFor(t)
	register(t, b)
	if b.ClusterID() == "" {
		t.Fatal("no cluster id after start")
	}
	// CreateTopics returns once the topic is in the image.
	errs := b.CreateTopics(ctx, []metadata.CreateTopicSpec{
		{Name: "ok", NumPartitions: 3, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "1000"}},
		{Name: "bad/name", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "rf", NumPartitions: 1, ReplicationFactor: 3},
	}, false)
	want := []error{nil, metadata.ErrInvalidTopic, metadata.ErrInvalidRequest, metadata.ErrInvalidRequest, metadata.ErrInvalidReplicationFactor}
	for i, w := range want {
		if (w == nil) != (errs[i] == nil) || (w != nil && !errors.Is(errs[i], w)) {
			t.Fatalf("create #%d: %v, want %v", i, errs[i], w)
		}
	}
	tp, ok := b.Image().Topic("ok")
	if !ok || tp.NumPartitions() != 3 {
		t.Fatalf("topic ok not in the image right after CreateTopics: %v", tp)
	}
	for p, reg := range tp.Partitions {
		if reg.Leader != 1 || len(reg.ISR) != 1 || reg.LeaderEpoch != 0 || reg.PartitionEpoch != 0 {
			t.Fatalf("partition %d: %+v, want leader 1, ISR [1], epochs 0", p, reg)
		}
	}
	if b.Image().Configs(metadata.TopicResource, "ok")["retention.ms"] != "1000" {
		t.Fatal("topic config not in the image")
	}
	if errs := b.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "ok", NumPartitions: 1, ReplicationFactor: 1}}, false); !errors.Is(errs[0], metadata.ErrTopicExists) {
		t.Fatalf("create again: %v, want ErrTopicExists", errs[0])
	}
	if errs := b.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "only-validated", NumPartitions: 1, ReplicationFactor: 1}}, true); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if _, ok := b.Image().Topic("only-validated"); ok {
		t.Fatal("validateOnly created the topic")
	}
	// DeleteTopics returns once the topic is gone from the image.
	errs = b.DeleteTopics(ctx, []string{"ok", "never-existed"})
	if errs[0] != nil || !errors.Is(errs[1], metadata.ErrUnknownTopic) {
		t.Fatalf("delete: %v", errs)
	}
	if _, ok := b.Image().Topic("ok"); ok {
		t.Fatal("deleted topic still in the image")
	}
	// Publishers saw every image in order, each delta based on the one before.
	eventually(t, "publisher caught up", func() error {
		imgs, bases, races := rec.snapshot()
		if races > 0 {
			return fmt.Errorf("%d concurrent Publish calls", races)
		}
		if len(imgs) == 0 || !imgs[len(imgs)-1].Equal(b.Image()) {
			return errors.New("last published image is not the backend's image")
		}
		if bases[0].TopicCount() != 0 || bases[0].BrokerCount() != 0 {
			return errors.New("first delta is not from the empty image")
		}
		for i := 1; i < len(imgs); i++ {
			if bases[i] != imgs[i-1] {
				return fmt.Errorf("delta %d is not based on image %d", i, i-1)
			}
		}
		return nil
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func testProducerIDs(t *testing.T, newBackend Factory) {
	b := newBackend(t, &Recorder{})
	register(t, b)
	ctx := ctxFor(t)
	first, count, err := b.AllocateProducerIDs(ctx, 1)
	if err != nil || count != metadata.ProducerIDBlockSize {
		t.Fatalf("first block: %d+%d %v", first, count, err)
	}
	second, count2, err := b.AllocateProducerIDs(ctx, 1)
	if err != nil || count2 != count || second != first+count {
		t.Fatalf("second block %d+%d after %d+%d: %v", second, count2, first, count, err)
	}
	if b.Image().NextProducerID() < second+count2 {
		t.Fatalf("image next producer id %d, want >= %d", b.Image().NextProducerID(), second+count2)
	}
}

// testAlterPartition runs when the backend implements metadata.AlterPartitioner.
func testAlterPartition(t *testing.T, newBackend Factory) {
	b := newBackend(t, &Recorder{})
	ap, ok := b.(metadata.AlterPartitioner)
	if !ok {
		t.Skip("backend does not implement metadata.AlterPartitioner")
	}
	epoch := register(t, b)
	ctx := ctxFor(t)
	if errs := b.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "isr", NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	tp, _ := b.Image().Topic("isr")
	req := metadata.AlterPartitionRequest{BrokerID: 1, BrokerEpoch: epoch, TopicID: tp.ID, Partition: 0, NewISR: []int32{1}}
	got, err := ap.AlterPartition(ctx, req)
	if err != nil || got.PartitionEpoch != 0 {
		t.Fatalf("unchanged ISR: %+v %v", got, err)
	}
	stale := req
	stale.PartitionEpoch, stale.NewISR = 5, []int32{1, 2}
	if _, err := ap.AlterPartition(ctx, stale); !errors.Is(err, metadata.ErrInvalidUpdateEpoch) {
		t.Fatalf("stale partition epoch: %v, want ErrInvalidUpdateEpoch", err)
	}
	notLeader := req
	notLeader.LeaderEpoch = 3
	notLeader.NewISR = []int32{1, 2}
	if _, err := ap.AlterPartition(ctx, notLeader); !errors.Is(err, metadata.ErrFencedLeaderEpoch) {
		t.Fatalf("stale leader epoch: %v, want ErrFencedLeaderEpoch", err)
	}
}
