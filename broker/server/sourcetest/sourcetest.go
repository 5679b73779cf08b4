package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/metadata/wait"
)

// BrokerID is the broker every Factory's source serves.
const BrokerID int32 = 1

// Endpoints are what a Factory's source registers for BrokerID.
var Endpoints = []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}

// Factory returns an unstarted Source for broker BrokerID registering
// Endpoints, whose controller side (a quorum voter, ZooKeeper) is running
// and accepts writes once the source is started. Each call is a fresh
// cluster with no topics. It stops what it started on t.Cleanup; the suite
// closes the Source itself.
type Factory func(t *testing.T) server.Source

// Run runs every conformance test against sources from newSource.
func Run(t *testing.T, newSource Factory) {
	t.Run("StartPublishesCaughtUpImage", func(t *testing.T) { testStart(t, newSource) })
	t.Run("CreateDeleteTopics", func(t *testing.T) { testCreateDelete(t, newSource) })
	t.Run("ProducerIDs", func(t *testing.T) { testProducerIDs(t, newSource) })
	t.Run("AlterPartition", func(t *testing.T) { testAlterPartition(t, newSource) })
	t.Run("ShutdownThenClose", func(t *testing.T) { testShutdown(t, newSource) })
	t.Run("CloseUnstarted", func(t *testing.T) { testCloseUnstarted(t, newSource) })
}

// Recorder is a metadata.Publisher that keeps what it was given and
// detects concurrent calls (the contract says never).
type Recorder struct {
	mu     sync.Mutex
	images []*metadata.Image
	bases  []*metadata.Image
	inside bool
	races  int
}

// Publish implements metadata.Publisher.
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

// Latest is the last image published (nil before the first).
func (r *Recorder) Latest() *metadata.Image {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.images) == 0 {
		return nil
	}
	return r.images[len(r.images)-1]
}

func (r *Recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.images)
}

// Check returns an error unless the images so far form one chain: the
// first delta from the empty image, each later one based on the image
// before, no call concurrent with another.
func (r *Recorder) Check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.races > 0 {
		return fmt.Errorf("%d concurrent Publish calls", r.races)
	}
	if len(r.images) == 0 {
		return errors.New("nothing published")
	}
	if b := r.bases[0]; b.TopicCount() != 0 || b.BrokerCount() != 0 {
		return fmt.Errorf("first delta is based on an image with %d topics and %d brokers, not the empty image", b.TopicCount(), b.BrokerCount())
	}
	for i := 1; i < len(r.images); i++ {
		if r.bases[i] != r.images[i-1] {
			return fmt.Errorf("delta %d is not based on image %d", i, i-1)
		}
	}
	return nil
}

// isErr: got is want, or the Kafka error the network edge answers for
// want (broker.Controller lets a source pass a controller's *kerr.Error on).
func isErr(got, want error) bool {
	if want == nil || got == nil {
		return got == want
	}
	if errors.Is(got, want) {
		return true
	}
	gc, gok := network.Lookup(got)
	wc, wok := network.Lookup(want)
	return gok && wok && gc == wc
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// started returns a started source and its recorder; the source is
// closed on t.Cleanup.
func started(t *testing.T, newSource Factory) (server.Source, *Recorder) {
	t.Helper()
	src := newSource(t)
	var once sync.Once
	closeSrc := func() error {
		var err error
		once.Do(func() { err = src.Close() })
		return err
	}
	t.Cleanup(func() { _ = closeSrc() })
	rec := &Recorder{}
	if err := src.Start(ctxFor(t), rec); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return src, rec
}

// testStart: Start returns with the broker registered in the image it
// published; the image shows it unfenced soon after.
func testStart(t *testing.T, newSource Factory) {
	_, rec := started(t, newSource)
	img := rec.Latest()
	if img == nil {
		t.Fatal("Start returned before publishing an image")
	}
	if err := rec.Check(); err != nil {
		t.Fatal(err)
	}
	br, ok := img.Broker(BrokerID)
	if !ok {
		t.Fatalf("broker %d not registered in the image Start published", BrokerID)
	}
	// The controller unfenced the broker before Start returned; the record
	// saying so may reach the broker's image a moment later.
	wait.For(t, 30*time.Second, "broker unfenced in the published image", func() error {
		if b, _ := rec.Latest().Broker(BrokerID); b.Fenced {
			return fmt.Errorf("fenced: %+v", b)
		}
		return nil
	})
	if _, ok := br.Endpoint(Endpoints[0].Name); !ok {
		t.Fatalf("broker %d registered without its %s endpoint: %+v", BrokerID, Endpoints[0].Name, br)
	}
	if img.ClusterID() == "" {
		t.Fatal("published image has no cluster id")
	}
}

// hasTopic waits until the published image holds (or lacks) topic.
func waitTopic(t *testing.T, rec *Recorder, topic string, present bool) *metadata.TopicImage {
	t.Helper()
	var tp *metadata.TopicImage
	wait.For(t, 30*time.Second, fmt.Sprintf("topic %s present=%v in the published image", topic, present), func() error {
		img := rec.Latest()
		var ok bool
		tp, ok = img.Topic(topic)
		if ok != present {
			return fmt.Errorf("present=%v", ok)
		}
		return nil
	})
	return tp
}

func testCreateDelete(t *testing.T, newSource Factory) {
	src, rec := started(t, newSource)
	ctx := ctxFor(t)
	errs := src.CreateTopics(ctx, []metadata.CreateTopicSpec{
		{Name: "ok", NumPartitions: 3, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "1000"}},
		{Name: "bad/name", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "rf", NumPartitions: 1, ReplicationFactor: 3},
	}, false)
	want := []error{nil, metadata.ErrInvalidTopic, metadata.ErrInvalidRequest, metadata.ErrInvalidRequest, metadata.ErrInvalidReplicationFactor}
	if len(errs) != len(want) {
		t.Fatalf("CreateTopics returned %d errors for %d topics", len(errs), len(want))
	}
	for i, w := range want {
		if !isErr(errs[i], w) {
			t.Fatalf("create #%d: %v, want %v", i, errs[i], w)
		}
	}
	tp := waitTopic(t, rec, "ok", true)
	if tp.NumPartitions() != 3 {
		t.Fatalf("topic ok has %d partitions, want 3", tp.NumPartitions())
	}
	for p, reg := range tp.Partitions {
		if reg.Leader != BrokerID || len(reg.ISR) != 1 || reg.LeaderEpoch != 0 || reg.PartitionEpoch != 0 {
			t.Fatalf("partition %d: %+v, want leader %d, ISR [%d], epochs 0", p, reg, BrokerID, BrokerID)
		}
	}
	if got := rec.Latest().Configs(metadata.TopicResource, "ok")["retention.ms"]; got != "1000" {
		t.Fatalf("topic config retention.ms = %q, want 1000", got)
	}
	if errs := src.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "ok", NumPartitions: 1, ReplicationFactor: 1}}, false); !isErr(errs[0], metadata.ErrTopicExists) {
		t.Fatalf("create again: %v, want ErrTopicExists", errs[0])
	}
	if errs := src.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "only-validated", NumPartitions: 1, ReplicationFactor: 1}}, true); errs[0] != nil {
		t.Fatalf("validateOnly: %v", errs[0])
	}
	errs = src.DeleteTopics(ctx, []string{"ok", "never-existed"})
	if len(errs) != 2 || errs[0] != nil || !isErr(errs[1], metadata.ErrUnknownTopic) {
		t.Fatalf("delete: %v, want [nil, ErrUnknownTopic]", errs)
	}
	waitTopic(t, rec, "ok", false)
	if _, ok := rec.Latest().Topic("only-validated"); ok {
		t.Fatal("validateOnly created the topic")
	}
	if err := rec.Check(); err != nil {
		t.Fatal(err)
	}
}

func testProducerIDs(t *testing.T, newSource Factory) {
	src, rec := started(t, newSource)
	ctx := ctxFor(t)
	first, count, err := src.AllocateProducerIDs(ctx, BrokerID)
	if err != nil || count != metadata.ProducerIDBlockSize {
		t.Fatalf("first block: %d+%d %v", first, count, err)
	}
	second, count2, err := src.AllocateProducerIDs(ctx, BrokerID)
	if err != nil || count2 != count || second != first+count {
		t.Fatalf("second block %d+%d after %d+%d: %v", second, count2, first, count, err)
	}
	wait.For(t, 30*time.Second, "published image past both blocks", func() error {
		if n := rec.Latest().NextProducerID(); n < second+count2 {
			return fmt.Errorf("next producer id %d, want >= %d", n, second+count2)
		}
		return nil
	})
}

func testAlterPartition(t *testing.T, newSource Factory) {
	src, rec := started(t, newSource)
	ctx := ctxFor(t)
	if errs := src.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "isr", NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	tp := waitTopic(t, rec, "isr", true)
	br, _ := rec.Latest().Broker(BrokerID)
	req := metadata.AlterPartitionRequest{BrokerID: BrokerID, BrokerEpoch: br.Epoch, TopicID: tp.ID, Partition: 0, NewISR: []int32{BrokerID}}
	got, err := src.AlterPartition(ctx, req)
	if err != nil || got.PartitionEpoch != 0 {
		t.Fatalf("unchanged ISR: %+v %v, want partition epoch 0", got, err)
	}
	stale := req
	stale.PartitionEpoch, stale.NewISR = 5, []int32{BrokerID, 2}
	if _, err := src.AlterPartition(ctx, stale); !isErr(err, metadata.ErrInvalidUpdateEpoch) {
		t.Fatalf("stale partition epoch: %v, want ErrInvalidUpdateEpoch", err)
	}
	fenced := req
	fenced.LeaderEpoch, fenced.NewISR = 3, []int32{BrokerID, 2}
	if _, err := src.AlterPartition(ctx, fenced); !isErr(err, metadata.ErrFencedLeaderEpoch) {
		t.Fatalf("stale leader epoch: %v, want ErrFencedLeaderEpoch", err)
	}
}

// testShutdown: a lone broker's controlled shutdown moves nothing (no
// other replica to move to) and completes; Close then ends publishing.
func testShutdown(t *testing.T, newSource Factory) {
	src, rec := started(t, newSource)
	ctx := ctxFor(t)
	if errs := src.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "alone", NumPartitions: 2, ReplicationFactor: 1}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	waitTopic(t, rec, "alone", true)
	var stops int
	moved, err := src.Shutdown(ctx, func() { stops++ })
	if err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if moved != 0 {
		t.Fatalf("Shutdown moved %d leaderships of unreplicated partitions, want 0", moved)
	}
	if stops > 1 {
		t.Fatalf("stopFetching called %d times, want at most once", stops)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	n := rec.count()
	if err := rec.Check(); err != nil {
		t.Fatal(err)
	}
	// Nothing is published after Close returned, even by a write.
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = src.CreateTopics(cctx, []metadata.CreateTopicSpec{{Name: "after-close", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if after := rec.count(); after != n {
		t.Fatalf("%d images published after Close", after-n)
	}
}

func testCloseUnstarted(t *testing.T, newSource Factory) {
	src := newSource(t)
	if err := src.Close(); err != nil {
		t.Fatalf("Close of an unstarted source: %v", err)
	}
}
