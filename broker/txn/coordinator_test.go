package txn

import (
	"context"
	"errors"
	"testing"
	"time"
)

var ctx = context.Background()

func TestInitProducerIDBumpsEpoch(t *testing.T) {
	f := newFixture(t, nil)
	first, err := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
	if err != nil || first.Epoch != 0 || first.ProducerID < 0 {
		t.Fatalf("first init %+v %v", first, err)
	}
	second, err := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
	if err != nil || second.ProducerID != first.ProducerID || second.Epoch != 1 {
		t.Fatalf("second init %+v %v", second, err)
	}
	// KIP-360: the first instance's epoch is fenced.
	if _, err := f.c.InitProducerID(ctx, "tx", time.Minute, first); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("stale KIP-360 init: %v", err)
	}
	if _, err := f.c.InitProducerID(ctx, "tx", time.Hour, ProducerIDAndEpoch{-1, -1}); !errors.Is(err, ErrInvalidTimeout) {
		t.Fatalf("timeout above transaction.max.timeout.ms: %v", err)
	}
	if _, err := f.c.InitProducerID(ctx, "", time.Minute, ProducerIDAndEpoch{-1, -1}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("empty id: %v", err)
	}
}

func TestCommitSendsMarkersThenCompletes(t *testing.T) {
	f := newFixture(t, nil)
	p, _ := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
	tps := []TopicPartition{{"a", 0}, {"a", 1}, {"b", 0}}
	if err := f.c.AddPartitions(ctx, "tx", p.ProducerID, p.Epoch, tps); err != nil {
		t.Fatal(err)
	}
	if errs, err := f.c.Verify(ctx, "tx", p.ProducerID, p.Epoch, []TopicPartition{{"a", 0}, {"c", 0}}); err != nil ||
		errs[0] != nil || !errors.Is(errs[1], ErrInvalidTxnState) {
		t.Fatalf("verify: %v %v", errs, err)
	}
	f.cluster.hold.Store(true) // markers fail until released
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, true, false); err != nil {
		t.Fatal(err)
	}
	if st := f.state(f.c, "tx"); st != PrepareCommit {
		t.Fatalf("state %s", st)
	}
	// Markers in flight: the next transaction waits.
	if err := f.c.AddPartitions(ctx, "tx", p.ProducerID, p.Epoch, tps[:1]); !errors.Is(err, ErrConcurrent) {
		t.Fatalf("add during markers: %v", err)
	}
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, false, false); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("abort after commit: %v", err)
	}
	f.cluster.hold.Store(false)
	eventually(t, "CompleteCommit", func() bool { return f.state(f.c, "tx") == CompleteCommit })
	ms := f.cluster.sent()
	n := 0
	for _, m := range ms {
		if !m.Committed || m.ProducerID != p.ProducerID || m.ProducerEpoch != p.Epoch || m.CoordinatorEpoch != 1 {
			t.Fatalf("marker %+v", m)
		}
		for _, tp := range m.Topics {
			n += len(tp.Partitions)
		}
	}
	if n != len(tps) {
		t.Fatalf("%d partitions marked, want %d", n, len(tps))
	}
	// A retried commit is success; the next transaction starts clean.
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, true, false); err != nil {
		t.Fatalf("retried commit: %v", err)
	}
	if err := f.c.AddPartitions(ctx, "tx", p.ProducerID, p.Epoch, tps[:1]); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.c.Describe("tx"); len(d.Partitions) != 1 || d.State != Ongoing {
		t.Fatalf("second transaction %+v", d)
	}
}

func TestReinitFencesOngoingTransaction(t *testing.T) {
	f := newFixture(t, nil)
	zombie, _ := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
	if err := f.c.AddPartitions(ctx, "tx", zombie.ProducerID, zombie.Epoch, []TopicPartition{{"a", 0}}); err != nil {
		t.Fatal(err)
	}
	var fresh ProducerIDAndEpoch
	eventually(t, "re-init after the abort", func() bool {
		var err error
		fresh, err = f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
		if err != nil && !errors.Is(err, ErrConcurrent) {
			t.Fatal(err)
		}
		return err == nil
	})
	if fresh.Epoch != zombie.Epoch+2 {
		t.Fatalf("epoch %d after fence, want %d", fresh.Epoch, zombie.Epoch+2)
	}
	ms := f.cluster.sent()
	if len(ms) != 1 || ms[0].Committed || ms[0].ProducerEpoch != zombie.Epoch+1 {
		t.Fatalf("abort markers %+v", ms)
	}
	if err := f.c.AddPartitions(ctx, "tx", zombie.ProducerID, zombie.Epoch, []TopicPartition{{"a", 0}}); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("zombie add: %v", err)
	}
	if _, err := f.c.EndTxn(ctx, "tx", zombie.ProducerID, zombie.Epoch, true, false); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("zombie commit: %v", err)
	}
}

func TestFailoverResumesMarkers(t *testing.T) {
	f := newFixture(t, nil)
	p, _ := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
	if err := f.c.AddPartitions(ctx, "tx", p.ProducerID, p.Epoch, []TopicPartition{{"a", 0}}); err != nil {
		t.Fatal(err)
	}
	f.cluster.hold.Store(true)
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, false, false); err != nil {
		t.Fatal(err)
	}
	// The coordinator loses its partitions before the markers land.
	for part := int32(0); part < 3; part++ {
		f.c.Resign(part)
	}
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, false, false); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("after resign: %v", err)
	}
	if err := f.c.Close(); err != nil {
		t.Fatal(err)
	}
	f.cluster.hold.Store(false)
	next := f.newCoordinator(nil)
	eventually(t, "CompleteAbort on the new coordinator", func() bool { return f.state(next, "tx") == CompleteAbort })
	if ms := f.cluster.sent(); len(ms) != 1 || ms[0].Committed {
		t.Fatalf("markers %+v", ms)
	}
	got, err := next.InitProducerID(ctx, "tx", time.Minute, p)
	if err != nil || got.ProducerID != p.ProducerID || got.Epoch != p.Epoch+1 {
		t.Fatalf("init on the new coordinator: %+v %v", got, err)
	}
}

func TestTimedOutTransactionIsAborted(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AbortInterval = 5 * time.Millisecond })
	p, _ := f.c.InitProducerID(ctx, "tx", time.Second, ProducerIDAndEpoch{-1, -1})
	if err := f.c.AddPartitions(ctx, "tx", p.ProducerID, p.Epoch, []TopicPartition{{"a", 0}}); err != nil {
		t.Fatal(err)
	}
	f.clock.add(2 * time.Second)
	eventually(t, "timed-out transaction aborted", func() bool { return f.state(f.c, "tx") == CompleteAbort })
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, true, false); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("commit after timeout: %v", err)
	}
}

func TestExpiredIDIsForgotten(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ExpireInterval, c.IDExpiration = 5*time.Millisecond, time.Minute })
	if _, err := f.c.InitProducerID(ctx, "tx", time.Second, ProducerIDAndEpoch{-1, -1}); err != nil {
		t.Fatal(err)
	}
	f.clock.add(2 * time.Minute)
	eventually(t, "id expired", func() bool { _, err := f.c.Describe("tx"); return errors.Is(err, ErrNotFound) })
	next := f.newCoordinator(nil) // the tombstone survives a reload
	if _, err := next.Describe("tx"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after reload: %v", err)
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t, nil)
	a, _ := f.c.InitProducerID(ctx, "a", time.Minute, ProducerIDAndEpoch{-1, -1})
	if _, err := f.c.InitProducerID(ctx, "b", time.Minute, ProducerIDAndEpoch{-1, -1}); err != nil {
		t.Fatal(err)
	}
	if err := f.c.AddPartitions(ctx, "a", a.ProducerID, a.Epoch, []TopicPartition{{"t", 0}}); err != nil {
		t.Fatal(err)
	}
	if l := f.c.List(nil, nil, 0); len(l) != 2 {
		t.Fatalf("all: %+v", l)
	}
	if l := f.c.List([]State{Ongoing}, nil, 0); len(l) != 1 || l[0].ID != "a" {
		t.Fatalf("ongoing: %+v", l)
	}
	if l := f.c.List(nil, []int64{a.ProducerID}, 0); len(l) != 1 || l[0].ID != "a" {
		t.Fatalf("by pid: %+v", l)
	}
	if l := f.c.List(nil, nil, time.Second); len(l) != 0 {
		t.Fatalf("duration: %+v", l)
	}
	f.clock.add(2 * time.Second)
	if l := f.c.List(nil, nil, time.Second); len(l) != 1 {
		t.Fatalf("duration after 2s: %+v", l)
	}
}

func TestLoadInProgressAndNotCoordinator(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.NumPartitions = 1 })
	f.c.Resign(0)
	if _, err := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1}); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("resigned: %v", err)
	}
}
