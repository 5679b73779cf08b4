package txn

import (
	"errors"
	"math"
	"testing"
	"time"
)

// KIP-890 part 2 (transaction.version 2) on the coordinator: the implicit
// add, EndTxn v5's epoch bump per transaction, retries recognized by the
// epoch, the empty abort, the double bump of a fence, the producer id
// rotation at an exhausted epoch, and all of it surviving a reload
// (value v1 records).

func TestKIP890Part2EpochBumpPerTransaction(t *testing.T) {
	f := newFixture(t, nil)
	p, err := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
	if err != nil {
		t.Fatal(err)
	}
	tps := []TopicPartition{{"a", 0}, {"b", 1}}
	if err := f.c.ImplicitAdd(ctx, "tx", p.ProducerID, p.Epoch, tps); err != nil {
		t.Fatal(err)
	}
	f.cluster.hold.Store(true)
	got, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, true, true)
	if err != nil || got.ProducerID != p.ProducerID || got.Epoch != p.Epoch+1 {
		t.Fatalf("EndTxn v5 commit: %+v %v, want epoch %d", got, err, p.Epoch+1)
	}
	bumped := got
	// Markers in flight: the next transaction's add waits; a retry of the
	// same commit (the previous epoch) is CONCURRENT_TRANSACTIONS, an abort
	// at that epoch INVALID_TXN_STATE.
	if err := f.c.ImplicitAdd(ctx, "tx", bumped.ProducerID, bumped.Epoch, tps[:1]); !errors.Is(err, ErrConcurrent) {
		t.Fatalf("add during markers: %v", err)
	}
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, true, true); !errors.Is(err, ErrConcurrent) {
		t.Fatalf("retried commit during markers: %v", err)
	}
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, false, true); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("abort after commit: %v", err)
	}
	f.cluster.hold.Store(false)
	eventually(t, "CompleteCommit", func() bool { return f.state(f.c, "tx") == CompleteCommit })
	for _, m := range f.cluster.sent() {
		if !m.Committed || m.ProducerEpoch != bumped.Epoch {
			t.Fatalf("marker %+v, want a commit at the bumped epoch %d", m, bumped.Epoch)
		}
	}
	// A retry after completion is success and answers the bumped epoch.
	if again, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, true, true); err != nil || again != bumped {
		t.Fatalf("retried commit: %+v %v, want %+v", again, err, bumped)
	}
	// The old epoch is fenced for the next transaction (zombie fencing
	// across transactions); a commit with nothing in it is invalid.
	if err := f.c.ImplicitAdd(ctx, "tx", p.ProducerID, p.Epoch, tps[:1]); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("add with the previous epoch: %v", err)
	}
	if _, err := f.c.EndTxn(ctx, "tx", bumped.ProducerID, bumped.Epoch, true, true); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("empty commit: %v", err)
	}
	// An empty abort bumps too and writes no marker.
	nMarkers := len(f.cluster.sent())
	empty, err := f.c.EndTxn(ctx, "tx", bumped.ProducerID, bumped.Epoch, false, true)
	if err != nil || empty.Epoch != bumped.Epoch+1 {
		t.Fatalf("empty abort: %+v %v", empty, err)
	}
	eventually(t, "CompleteAbort", func() bool { return f.state(f.c, "tx") == CompleteAbort })
	if n := len(f.cluster.sent()); n != nMarkers {
		t.Fatalf("empty abort sent %d markers", n-nMarkers)
	}

	// Failover: the new coordinator reads the v1 records and still takes
	// the previous epoch's abort for a retry.
	for part := int32(0); part < 3; part++ {
		f.c.Resign(part)
	}
	if err := f.c.Close(); err != nil {
		t.Fatal(err)
	}
	next := f.newCoordinator(nil)
	if d, err := next.Describe("tx"); err != nil || d.Epoch != empty.Epoch || d.State != CompleteAbort {
		t.Fatalf("reloaded: %+v %v", d, err)
	}
	if again, err := next.EndTxn(ctx, "tx", bumped.ProducerID, bumped.Epoch, false, true); err != nil || again != empty {
		t.Fatalf("retried abort after failover: %+v %v, want %+v", again, err, empty)
	}

	// A fence of a KIP-890 part 2 transaction bumps twice (as Kafka's
	// PrepareEpochFence + abort): the fenced producer's EndTxn is no retry.
	if err := next.ImplicitAdd(ctx, "tx", empty.ProducerID, empty.Epoch, tps[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := next.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1}); !errors.Is(err, ErrConcurrent) {
		t.Fatalf("init over an ongoing transaction: %v", err)
	}
	eventually(t, "fenced transaction aborted", func() bool { return f.state(next, "tx") == CompleteAbort })
	if d, _ := next.Describe("tx"); d.Epoch != empty.Epoch+2 {
		t.Fatalf("fenced epoch %d, want %d", d.Epoch, empty.Epoch+2)
	}
	if _, err := next.EndTxn(ctx, "tx", empty.ProducerID, empty.Epoch, false, true); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("fenced producer's abort: %v", err)
	}
}

func TestKIP890Part2ProducerIDRotation(t *testing.T) {
	f := newFixture(t, nil)
	p, err := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
	if err != nil {
		t.Fatal(err)
	}
	// Reaching epoch 32766 through the API takes 32766 transactions; set it.
	tx := f.c.txns["tx"]
	tx.mu.Lock()
	tx.m.epoch = math.MaxInt16 - 1
	tx.mu.Unlock()
	old := ProducerIDAndEpoch{ProducerID: p.ProducerID, Epoch: math.MaxInt16 - 1}
	if err := f.c.ImplicitAdd(ctx, "tx", old.ProducerID, old.Epoch, []TopicPartition{{"a", 0}}); err != nil {
		t.Fatal(err)
	}
	f.cluster.hold.Store(true)
	got, err := f.c.EndTxn(ctx, "tx", old.ProducerID, old.Epoch, true, true)
	if err != nil || got.ProducerID == old.ProducerID || got.ProducerID < 0 || got.Epoch != 0 {
		t.Fatalf("EndTxn v5 at an exhausted epoch: %+v %v, want a new producer id at epoch 0", got, err)
	}
	// The new id is early while the markers are written, not fenced.
	if err := f.c.ImplicitAdd(ctx, "tx", got.ProducerID, 0, []TopicPartition{{"a", 0}}); !errors.Is(err, ErrConcurrent) {
		t.Fatalf("add with the next id during markers: %v", err)
	}
	if _, err := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{ProducerID: got.ProducerID, Epoch: 0}); !errors.Is(err, ErrConcurrent) {
		t.Fatalf("KIP-360 init with the next id during markers: %v", err)
	}
	f.cluster.hold.Store(false)
	eventually(t, "CompleteCommit", func() bool { return f.state(f.c, "tx") == CompleteCommit })
	for _, m := range f.cluster.sent() {
		if m.ProducerID != old.ProducerID || m.ProducerEpoch != math.MaxInt16 {
			t.Fatalf("marker %+v, want the old producer id at epoch %d", m, math.MaxInt16)
		}
	}
	if d, _ := f.c.Describe("tx"); d.ProducerID != got.ProducerID || d.Epoch != 0 {
		t.Fatalf("after rotation: %+v", d)
	}
	// Reloaded from the v1 record, a retry with the old id is recognized.
	for part := int32(0); part < 3; part++ {
		f.c.Resign(part)
	}
	next := f.newCoordinator(nil)
	if again, err := next.EndTxn(ctx, "tx", old.ProducerID, old.Epoch, true, true); err != nil || again != got {
		t.Fatalf("retry after rotation and failover: %+v %v, want %+v", again, err, got)
	}
	if err := next.ImplicitAdd(ctx, "tx", got.ProducerID, 0, []TopicPartition{{"a", 0}}); err != nil {
		t.Fatalf("next transaction on the new id: %v", err)
	}
	if err := next.ImplicitAdd(ctx, "tx", old.ProducerID, old.Epoch, []TopicPartition{{"a", 1}}); !errors.Is(err, ErrInvalidMapping) {
		t.Fatalf("old id after rotation: %v", err)
	}
}

// TestClassicEndTxnKeepsEpoch: EndTxn v0-4 (transaction.version 0/1
// clients: kcat, librdkafka, older Java) neither bumps nor allows an
// empty abort.
func TestClassicEndTxnKeepsEpoch(t *testing.T) {
	f := newFixture(t, nil)
	p, _ := f.c.InitProducerID(ctx, "tx", time.Minute, ProducerIDAndEpoch{-1, -1})
	if err := f.c.AddPartitions(ctx, "tx", p.ProducerID, p.Epoch, []TopicPartition{{"a", 0}}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, true, false); err != nil || got.ProducerID != -1 || got.Epoch != -1 {
		t.Fatalf("EndTxn v4: %+v %v", got, err)
	}
	eventually(t, "CompleteCommit", func() bool { return f.state(f.c, "tx") == CompleteCommit })
	if d, _ := f.c.Describe("tx"); d.Epoch != p.Epoch {
		t.Fatalf("epoch %d after a v4 commit, want %d", d.Epoch, p.Epoch)
	}
	if _, err := f.c.EndTxn(ctx, "tx", p.ProducerID, p.Epoch, false, false); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("v4 empty abort: %v", err)
	}
	if err := f.c.AddPartitions(ctx, "tx", p.ProducerID, p.Epoch, []TopicPartition{{"a", 0}}); err != nil {
		t.Fatalf("next transaction at the same epoch: %v", err)
	}
}
