package zk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// recorder is a Publisher that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	deltas []*metadata.Delta
	imgs   []*metadata.Image
}

func (r *recorder) Publish(d *metadata.Delta, img *metadata.Image) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deltas, r.imgs = append(r.deltas, d), append(r.imgs, img)
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.imgs)
}

func (r *recorder) last() *metadata.Image {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.imgs[len(r.imgs)-1]
}

func testSourceConfig(addr string, id int32) SourceConfig {
	cfg := DefaultConfig()
	cfg.Servers, cfg.BrokerID = []string{addr}, id
	cfg.SessionTimeout, cfg.ConnectionTimeout = 2*time.Second, 20*time.Second
	scfg := SourceConfig{Backend: cfg, Shutdown: DefaultShutdownConfig(),
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}}
	scfg.Shutdown.RetryBackoff = 100 * time.Millisecond
	return scfg
}

func newSource(t *testing.T, cfg SourceConfig) *Source {
	t.Helper()
	src, err := NewSource(cfg, zaptest.NewLogger(t).Named(fmt.Sprint("source", cfg.Backend.BrokerID)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// TestSourceRegisterWaitsForPredecessor: a broker restarted while its
// previous process's session still holds /brokers/ids/<id> (kill -9) waits
// for it to go, up to RegisterWait, then fails with ErrBrokerIDInUse; the
// publisher sees nothing before registration (the tree may still name this
// broker.id leader on the old incarnation's behalf), then the whole image as
// one delta from the empty image, then every later image.
func TestSourceRegisterWaitsForPredecessor(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) })
	s := zktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	old := testBackend(t, s.Addr, 1) // the predecessor, still alive
	other := testBackend(t, s.Addr, 2)

	short := testSourceConfig(s.Addr, 1)
	short.RegisterWait = 300 * time.Millisecond
	impatient := newSource(t, short)
	if err := impatient.Start(ctx, &recorder{}); !errors.Is(err, ErrBrokerIDInUse) {
		t.Fatalf("register while another session holds broker 1: %v, want ErrBrokerIDInUse", err)
	}
	_ = impatient.Close()

	src := newSource(t, testSourceConfig(s.Addr, 1))
	rec := &recorder{}
	done := make(chan error, 1)
	go func() { done <- src.Start(ctx, rec) }()
	if errs := other.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "before", NumPartitions: 1, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.For(t, 20*time.Second, "topic before in the source's image", func() error {
		if _, ok := src.Image().Topic("before"); !ok {
			return errors.New("not yet")
		}
		return nil
	})
	if n := rec.calls(); n != 0 {
		t.Fatalf("publisher called %d times before registration", n)
	}
	before := src.Image().Brokers()
	_ = old.Close() // its session ends: the znode goes
	if err := <-done; err != nil {
		t.Fatalf("register after the predecessor went: %v", err)
	}
	epoch := src.BrokerEpoch()
	for _, b := range before {
		if b.ID == 1 && b.Epoch == epoch {
			t.Fatalf("new registration kept the predecessor's epoch %d", b.Epoch)
		}
	}
	rec.mu.Lock()
	first, firstImg := rec.deltas[0], rec.imgs[0]
	rec.mu.Unlock()
	if first.Base().TopicCount() != 0 || first.Base().BrokerCount() != 0 {
		t.Fatal("first delta is not from the empty image")
	}
	if !first.Apply().Equal(firstImg) {
		t.Fatal("first delta does not apply to the image published with it")
	}
	if _, ok := firstImg.Topic("before"); !ok {
		t.Fatal("first image lacks the topic created before registration")
	}
	if b, ok := firstImg.Broker(1); !ok || b.Epoch != epoch {
		t.Fatalf("first image: broker 1 %+v, want epoch %d", b, epoch)
	}

	// Later images arrive as deltas on the previous one.
	wait.For(t, 20*time.Second, "broker 2 sees the new registration", func() error {
		if b, ok := other.Image().Broker(1); !ok || b.Epoch != epoch {
			return fmt.Errorf("broker 1 in broker 2's image: %+v", b)
		}
		return nil
	})
	if errs := other.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "after", NumPartitions: 1, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.For(t, 20*time.Second, "topic after published", func() error {
		if _, ok := rec.last().Topic("after"); !ok {
			return errors.New("not yet")
		}
		return nil
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := 1; i < len(rec.deltas); i++ {
		if rec.deltas[i].Base() != rec.imgs[i-1] {
			t.Fatalf("publish %d: delta not based on the image published before it", i)
		}
	}
}

// TestSourceShutdownMovesLeadership: the broker's side of controlled
// shutdown when it is itself the controller: its fetchers are stopped
// first, its replicated leaderships move to the other ISR member, and
// Shutdown returns once its own image names it leader of nothing. With
// controlled.shutdown.enable=false nothing is asked.
func TestSourceShutdownMovesLeadership(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) })
	s := zktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := newSource(t, testSourceConfig(s.Addr, 1))
	if err := src.Start(ctx, &recorder{}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, "broker 1 is controller", func() error {
		if !src.Backend().IsController() {
			return errors.New("not yet")
		}
		return nil
	})
	other := testBackend(t, s.Addr, 2)
	if errs := other.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "cs", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2}, 1: {2, 1}}}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.For(t, 20*time.Second, "broker 1 leads cs-0", func() error {
		if got := metadata.LeadsReplicated(src.Image(), 1); !slices.Equal(got, []metadata.TopicPartition{{Topic: "cs", Partition: 0}}) {
			return fmt.Errorf("broker 1 leads %v", got)
		}
		return nil
	})

	disabled := src.cfg
	disabled.Shutdown.Enable = false
	off := &Source{cfg: disabled, backend: src.backend, log: src.log}
	if moved, err := off.Shutdown(ctx, func() { t.Error("fetchers stopped with controlled.shutdown.enable=false") }); err != nil || moved != 0 {
		t.Fatalf("controlled.shutdown.enable=false: moved %d, %v", moved, err)
	}
	if got := metadata.LeadsReplicated(src.Image(), 1); len(got) != 1 {
		t.Fatalf("controlled.shutdown.enable=false moved leaderships: broker 1 leads %v", got)
	}

	stopped := 0
	moved, err := src.Shutdown(ctx, func() { stopped++ })
	if err != nil || moved != 1 {
		t.Fatalf("controlled shutdown: moved %d (want 1: cs-0), %v", moved, err)
	}
	if stopped != 1 {
		t.Fatalf("fetchers stopped %d times, want once", stopped)
	}
	if got := metadata.LeadsReplicated(src.Image(), 1); len(got) != 0 {
		t.Fatalf("after controlled shutdown broker 1 still leads %v", got)
	}
	topic, _ := src.Image().Topic("cs")
	if p := topic.Partitions[0]; p.Leader != 2 || slices.Contains(p.ISR, 1) {
		t.Fatalf("cs-0 after controlled shutdown: %+v", p)
	}
}
