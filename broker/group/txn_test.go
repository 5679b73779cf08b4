package group

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
)

func txnCommitReq(pid int64, topic string, offsets map[int32]int64) *kmsg.TxnOffsetCommitRequest {
	r := kmsg.NewPtrTxnOffsetCommitRequest()
	r.Version, r.TransactionalID, r.Group, r.ProducerID, r.ProducerEpoch = 3, "tx", gid, pid, 0
	r.Generation = -1
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = topic
	for p, o := range offsets {
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = p, o, 1
		rt.Partitions = append(rt.Partitions, rp)
	}
	r.Topics = append(r.Topics, rt)
	return r
}

// stableFetch is a v7 OffsetFetch of topic-0 with require_stable.
func stableFetch(t *testing.T, c *Coordinator, topic string) (int64, int16) {
	t.Helper()
	r := kmsg.NewPtrOffsetFetchRequest()
	r.Version, r.Group, r.RequireStable = 7, gid, true
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0}
	r.Topics = append(r.Topics, rt)
	p := c.OffsetFetch(context.Background(), r).Topics[0].Partitions[0]
	return p.Offset, p.ErrorCode
}

// markerBatch is the control batch a WriteTxnMarkers writes (key: version
// 0, type 1 commit / 0 abort).
func markerBatch(pid int64, commit bool) []byte {
	typ := kmsg.ControlRecordKeyType(0)
	if commit {
		typ = 1
	}
	rec := kmsg.Record{Key: (&kmsg.ControlRecordKey{Type: typ}).AppendTo(nil), Value: (&kmsg.EndTxnMarker{CoordinatorEpoch: 1}).AppendTo(nil)}
	rec.Length = int32(len(rec.AppendTo(nil)) - 1)
	b := (&kmsg.RecordBatch{Magic: 2, Attributes: 0x30, ProducerID: pid, FirstSequence: -1, NumRecords: 1, Records: rec.AppendTo(nil)}).AppendTo(nil)
	storage.SealBatch(b)
	return b
}

// TestTxnOffsetCommit follows KIP-98/447: transactional offsets stay
// pending (UNSTABLE_OFFSET_COMMIT with require_stable) until the marker,
// then are committed or dropped; a reload replays the same decisions.
func TestTxnOffsetCommit(t *testing.T) {
	log := newMemLog()
	c, _ := newTestCoordinator(t, log, nil)
	for _, code := range commitCodes2(c.TxnOffsetCommit(context.Background(), txnCommitReq(7, "in", map[int32]int64{0: 42}))) {
		if code != 0 {
			t.Fatalf("txn offset commit: %v", kerr.ErrorForCode(code))
		}
	}
	if off, code := stableFetch(t, c, "in"); off != -1 || code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("pending: offset %d code %d, want -1 UNSTABLE_OFFSET_COMMIT", off, code)
	}
	if got := fetchAll(t, c); len(got) != 0 {
		t.Fatalf("pending offsets visible: %v", got)
	}
	b, _ := log.Read(0, 0, 0)
	if h, err := storage.ParseBatchHeader(b); err != nil || !h.IsTransactional() || h.ProducerID != 7 || h.BaseSequence != -1 {
		t.Fatalf("batch written: %+v %v", h, err)
	}
	c.CompleteTxn(0, 7, true)
	if off, code := stableFetch(t, c, "in"); off != 42 || code != 0 {
		t.Fatalf("committed: offset %d code %d", off, code)
	}
	if _, err := log.Append(context.Background(), 0, markerBatch(7, true)); err != nil {
		t.Fatal(err)
	}

	// An aborted transaction leaves the committed offset as it was; an
	// open one at reload stays pending.
	c.TxnOffsetCommit(context.Background(), txnCommitReq(8, "in", map[int32]int64{0: 99}))
	c.CompleteTxn(0, 8, false)
	if _, err := log.Append(context.Background(), 0, markerBatch(8, false)); err != nil {
		t.Fatal(err)
	}
	c.TxnOffsetCommit(context.Background(), txnCommitReq(9, "other", map[int32]int64{0: 5}))
	if off, _ := stableFetch(t, c, "in"); off != 42 {
		t.Fatalf("after the abort: offset %d, want 42", off)
	}
	c.Close()

	c2, _ := newTestCoordinator(t, log, nil)
	if off, code := stableFetch(t, c2, "in"); off != 42 || code != 0 {
		t.Fatalf("reloaded: offset %d code %d, want 42", off, code)
	}
	if _, code := stableFetch(t, c2, "other"); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("reloaded open transaction: code %d, want UNSTABLE_OFFSET_COMMIT", code)
	}
	c2.CompleteTxn(0, 9, true)
	if off, code := stableFetch(t, c2, "other"); off != 5 || code != 0 {
		t.Fatalf("reloaded then committed: offset %d code %d", off, code)
	}

	t.Run("member checks", func(t *testing.T) {
		r := txnCommitReq(10, "in", map[int32]int64{0: 1})
		r.MemberID = "ghost"
		if codes := commitCodes2(c2.TxnOffsetCommit(context.Background(), r)); codes[0] != kerr.UnknownMemberID.Code {
			t.Fatalf("unknown member: %d", codes[0])
		}
	})
}

func commitCodes2(resp *kmsg.TxnOffsetCommitResponse) []int16 {
	var out []int16
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

// TestTxnOffsetCommitLaterRecordWins follows Kafka's rule for a mix of
// transactional and plain commits of one partition
// (GroupMetadata.completePendingTxnOffsetCommit,
// OffsetMetadataManager.replayEndTransactionMarker): when the transaction
// commits, its offset replaces the current one only if that one's record
// is earlier in __consumer_offsets. A reload from the log ends the same.
func TestTxnOffsetCommitLaterRecordWins(t *testing.T) {
	log := newMemLog()
	c, _ := newTestCoordinator(t, log, nil)
	txn := func(c *Coordinator, pid int64, topic string, off int64) {
		t.Helper()
		for _, code := range commitCodes2(c.TxnOffsetCommit(context.Background(), txnCommitReq(pid, topic, map[int32]int64{0: off}))) {
			if code != 0 {
				t.Fatalf("txn offset commit %s: %v", topic, kerr.ErrorForCode(code))
			}
		}
	}
	plain := func(c *Coordinator, topic string, off int64) {
		t.Helper()
		for _, code := range commitCodes(c.OffsetCommit(context.Background(), commitReq("", -1, topic, map[int32]int64{0: off}))) {
			if code != 0 {
				t.Fatalf("offset commit %s: %v", topic, kerr.ErrorForCode(code))
			}
		}
	}
	// marker writes the marker to the log and tells the coordinator, as
	// the broker's WriteTxnMarkers does.
	marker := func(c *Coordinator, pid int64, commit bool) {
		t.Helper()
		if _, err := log.Append(context.Background(), 0, markerBatch(pid, commit)); err != nil {
			t.Fatal(err)
		}
		c.CompleteTxn(0, pid, commit)
	}
	want := map[string]int64{
		"txn-then-plain": 20, // the plain commit's record is later: it stays
		"plain-then-txn": 30, // the transaction's record is later: it wins
		"aborted":        5,  // an abort leaves the plain commit
		"reload-pending": 20, // as the first, with the marker after a reload
	}
	check := func(c *Coordinator, when string, topics ...string) {
		t.Helper()
		for _, topic := range topics {
			w := want[topic]
			if off, code := stableFetch(t, c, topic); off != w || code != 0 {
				t.Errorf("%s, %s: offset %d code %d, want %d", when, topic, off, code, w)
			}
		}
	}

	txn(c, 20, "txn-then-plain", 10)
	plain(c, "txn-then-plain", 20)
	marker(c, 20, true)

	plain(c, "plain-then-txn", 5)
	txn(c, 21, "plain-then-txn", 30)
	marker(c, 21, true)

	plain(c, "aborted", 5)
	txn(c, 22, "aborted", 40)
	marker(c, 22, false)

	txn(c, 23, "reload-pending", 10)
	plain(c, "reload-pending", 20)
	if _, code := stableFetch(t, c, "reload-pending"); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("pending: code %d, want UNSTABLE_OFFSET_COMMIT", code)
	}
	check(c, "live", "txn-then-plain", "plain-then-txn", "aborted")
	c.Close()

	// The reloaded coordinator replays the first three from the log and
	// holds the fourth's transaction pending with its record's offset.
	c2, _ := newTestCoordinator(t, log, nil)
	if _, code := stableFetch(t, c2, "reload-pending"); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("reloaded pending: code %d, want UNSTABLE_OFFSET_COMMIT", code)
	}
	marker(c2, 23, true)
	all := []string{"txn-then-plain", "plain-then-txn", "aborted", "reload-pending"}
	check(c2, "reloaded", all...)

	// The live coordinator, had it stayed, ends alike: a third load sees
	// the fourth's marker in the log too.
	c2.Close()
	c3, _ := newTestCoordinator(t, log, nil)
	check(c3, "reloaded with every marker", all...)
}
