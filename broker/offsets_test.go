package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
)

// produceBatches appends one batch per timestamp group straight through
// the handler (acks=1) and fails on error.
func (h *harness) produceBatches(topic string, batches ...batchSpec) {
	h.t.Helper()
	h.produceBatchesTB(h.t, topic, batches...)
}

func (h *harness) produceBatchesTB(t testing.TB, topic string, batches ...batchSpec) {
	t.Helper()
	for _, s := range batches {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks = 9, 1
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = buildBatch(s)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		if p := h.handle(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
			t.Fatalf("produce: %d %s", p.ErrorCode, deref(p.ErrorMessage))
		}
	}
}

func plain(ts int64, values ...string) batchSpec {
	return batchSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, timestamp: ts, values: values}
}

func TestListOffsets(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "lo", 1, nil)
	// offsets 0-1 at ts 1000-1001, 2-4 at ts 2000-2002
	h.produceBatches("lo", plain(1000, "a", "b"), plain(2000, "c", "d", "e"))

	cases := []struct {
		name   string
		ts     int64
		epoch  int32
		offset int64
		tsOut  int64
		code   int16
	}{
		{"earliest", -2, -1, 0, -1, 0},
		{"latest", -1, -1, 5, -1, 0},
		{"max timestamp", -3, -1, 4, 2002, 0},
		{"by timestamp inside first batch", 1001, -1, 1, 1001, 0},
		{"by timestamp between batches", 1500, -1, 2, 2000, 0},
		{"by timestamp past the end", 9999, -1, -1, -1, 0},
		{"newer leader epoch than ours", -1, 9, -1, -1, kerr.UnknownLeaderEpoch.Code},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := kmsg.NewPtrListOffsetsRequest()
			req.Version = 7
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = "lo"
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Timestamp, rp.CurrentLeaderEpoch = c.ts, c.epoch
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			p := h.handle(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
			if p.ErrorCode != c.code || p.Offset != c.offset || p.Timestamp != c.tsOut {
				t.Fatalf("got code %d offset %d ts %d, want %d %d %d", p.ErrorCode, p.Offset, p.Timestamp, c.code, c.offset, c.tsOut)
			}
		})
	}

	// Through franz-go (which shards ListOffsets to the leader).
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "lo"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil || resp.Topics[0].Partitions[0].Offset != 5 {
		t.Fatalf("kgo list offsets: %v %+v", err, resp)
	}
}

// TestFetchBounds: offsets outside the log, the high watermark seam, size
// limits, sessions and topic ids.
func TestFetchBounds(t *testing.T) {
	repl := &watchedReplication{Replication: localReplication{nodeID: 1}}
	h := newHarness(t, nil, WithReplication(repl))
	cl := h.client()
	h.createTopic(cl, "f", 1, nil)
	h.createTopic(cl, "g", 1, nil)
	h.produceBatches("f", plain(1, "a", "b"), plain(2, "c"), plain(3, "d"))
	h.produceBatches("g", plain(1, "x"))
	ti, _ := h.b.Image().Topic("f")

	fetch := func(req *kmsg.FetchRequest) *kmsg.FetchResponse { return h.handle(req).(*kmsg.FetchResponse) }
	part := func(r *kmsg.FetchResponse) kmsg.FetchResponseTopicPartition { return r.Topics[0].Partitions[0] }

	if p := part(fetch(fetchReq(12, "f", [16]byte{}, 5, 0, 0))); p.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("past end: %+v", p)
	}
	if p := part(fetch(fetchReq(12, "nope", [16]byte{}, 0, 0, 0))); p.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %d", p.ErrorCode)
	}
	if p := part(fetch(fetchReq(13, "", [16]byte{9}, 0, 0, 0))); p.ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown topic id: %d", p.ErrorCode)
	}
	if p := part(fetch(fetchReq(13, "", ti.ID, 0, 0, 0))); p.ErrorCode != 0 || countRecords(t, p.RecordBatches) != 4 {
		t.Fatalf("by id: %+v", p)
	}
	// At the log end with a short wait: empty, no error.
	if p := part(fetch(fetchReq(12, "f", [16]byte{}, 4, 1, 1))); p.ErrorCode != 0 || len(p.RecordBatches) != 0 || p.HighWatermark != 4 {
		t.Fatalf("at end: %+v", p)
	}
	// A session id we never handed out.
	sreq := fetchReq(12, "f", [16]byte{}, 0, 0, 0)
	sreq.SessionID, sreq.SessionEpoch = 42, 1 // incremental (epoch -1 would close it, KIP-227)
	if r := fetch(sreq); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("session: %d", r.ErrorCode)
	}
	if r := fetch(fetchReq(12, "f", [16]byte{}, 0, 0, 0)); r.SessionID != 0 {
		t.Fatalf("sessionless answer has session %d", r.SessionID)
	}

	// The seam pins HW at 3: consumers see offsets 0-2 only, followers all.
	repl.hw.Store(3)
	p := part(fetch(fetchReq(12, "f", [16]byte{}, 0, 0, 0)))
	if p.HighWatermark != 3 || countRecords(t, p.RecordBatches) != 3 {
		t.Fatalf("below pinned hw: hw %d, %d records", p.HighWatermark, countRecords(t, p.RecordBatches))
	}
	freq := fetchReq(12, "f", [16]byte{}, 0, 0, 0)
	freq.ReplicaID = 2
	if n := countRecords(t, part(fetch(freq)).RecordBatches); n != 4 {
		t.Fatalf("follower read %d records, want 4", n)
	}
	lreq := kmsg.NewPtrListOffsetsRequest()
	lreq.Version = 7
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "f"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp = -1
	lt.Partitions = append(lt.Partitions, lp)
	lreq.Topics = append(lreq.Topics, lt)
	if off := h.handle(lreq).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].Offset; off != 3 {
		t.Fatalf("latest offset %d with hw 3", off)
	}
	repl.hw.Store(0)

	// Sizes (KIP-74): max_bytes 1 still returns the first batch of the
	// first partition and nothing of the second.
	two := fetchReq(12, "f", [16]byte{}, 0, 0, 0)
	two.MaxBytes = 1
	gt := kmsg.NewFetchRequestTopic()
	gt.Topic = "g"
	gp := kmsg.NewFetchRequestTopicPartition()
	gp.PartitionMaxBytes = 1 << 20
	gt.Partitions = append(gt.Partitions, gp)
	two.Topics = append(two.Topics, gt)
	r := fetch(two)
	if n := countRecords(t, r.Topics[0].Partitions[0].RecordBatches); n != 2 {
		t.Fatalf("first partition: %d records, want the first batch (2)", n)
	}
	if n := len(r.Topics[1].Partitions[0].RecordBatches); n != 0 || r.Topics[1].Partitions[0].HighWatermark != 1 {
		t.Fatalf("second partition: %d bytes over max_bytes", n)
	}
}

// countRecords counts the records in raw v2 batches.
func countRecords(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	for len(b) > 0 {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatal(err)
		}
		n += int(rb.NumRecords)
		b = b[12+rb.Length:]
	}
	return n
}

// TestFetchReleasedOnClose: a parked fetch ends when the server closes
// (goleak in TestMain checks nothing is left behind).
func TestFetchReleasedOnClose(t *testing.T) {
	repl := &watchedReplication{Replication: localReplication{nodeID: 1}}
	h := newHarness(t, nil, WithReplication(repl))
	cl := h.client()
	h.createTopic(cl, "c", 1, nil)
	ti, _ := h.b.Image().Topic("c")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := fetchReq(13, "", ti.ID, 0, 1, 600_000).RequestWith(ctx, cl.Broker(1))
		done <- err
	}()
	wait.Until(t, 20*time.Second, "fetch parked", func() bool { return repl.waits.Load() > 0 })
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("fetch on a closed server succeeded")
	}
}

// TestOffsetForLeaderEpochNotClamped: a new leader whose high watermark
// lags its log end answers a consumer's OffsetForLeaderEpoch with the true
// end of the epoch (KIP-320, as Kafka's Partition.lastOffsetForLeaderEpoch
// does), not the high watermark: a consumer that read up to the old leader's
// high watermark must not be told that what it read was truncated.
func TestOffsetForLeaderEpochNotClamped(t *testing.T) {
	repl := &watchedReplication{Replication: localReplication{nodeID: 1}}
	h := newHarness(t, nil, WithReplication(repl))
	cl := h.client()
	h.createTopic(cl, "ofle", 1, nil)
	h.produceBatches("ofle", plain(1, "a", "b"), plain(2, "c", "d")) // epoch 0: offsets 0-3
	h.ctrl.bumpLeaderEpoch(t, "ofle", 0)                             // this broker leads again, epoch 1
	repl.hw.Store(2)                                                 // its high watermark lags: 2 < LEO 4

	ask := func(version int16, replica, current, epoch int32) kmsg.OffsetForLeaderEpochResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.Version, req.ReplicaID = version, replica
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = "ofle"
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.CurrentLeaderEpoch, rp.LeaderEpoch = current, epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return h.handle(req).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
	}
	check := func(what string, p kmsg.OffsetForLeaderEpochResponseTopicPartition, epoch int32, end int64) {
		t.Helper()
		if p.ErrorCode != 0 || p.LeaderEpoch != epoch || p.EndOffset != end {
			t.Fatalf("%s: code %d, epoch %d, end offset %d; want epoch %d, end offset %d",
				what, p.ErrorCode, p.LeaderEpoch, p.EndOffset, epoch, end)
		}
	}
	// Nothing written at epoch 1 yet: epoch 0 ends at the log end.
	for _, v := range []int16{2, 3, 4} {
		check("consumer, old epoch", ask(v, -1, 1, 0), 0, 4)
	}
	check("follower, old epoch", ask(4, 2, 1, 0), 0, 4)
	check("consumer, current epoch", ask(4, -1, 1, 1), 0, 4)

	h.produceBatches("ofle", plain(3, "e", "f")) // epoch 1: offsets 4-5
	check("consumer, old epoch after the new leader wrote", ask(4, -1, 1, 0), 0, 4)
	check("consumer, current epoch: the log end", ask(4, -1, 1, 1), 1, 6)
	check("follower, current epoch", ask(4, 2, 1, 1), 1, 6)
	check("consumer, unchecked current epoch", ask(4, -1, -1, 0), 0, 4)
	if p := ask(4, -1, 0, 0); p.ErrorCode != kerr.FencedLeaderEpoch.Code {
		t.Fatalf("stale current leader epoch: code %d, want FENCED_LEADER_EPOCH", p.ErrorCode)
	}
	if p := ask(4, -1, 2, 0); p.ErrorCode != kerr.UnknownLeaderEpoch.Code {
		t.Fatalf("future current leader epoch: code %d, want UNKNOWN_LEADER_EPOCH", p.ErrorCode)
	}

	// The fetch that follows, at the end offset it was given but above the
	// high watermark, waits instead of failing.
	p := h.handle(fetchReq(12, "ofle", [16]byte{}, 4, 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	if p.ErrorCode != 0 || len(p.RecordBatches) != 0 || p.HighWatermark != 2 {
		t.Fatalf("fetch above the high watermark: code %d, %d bytes, hw %d", p.ErrorCode, len(p.RecordBatches), p.HighWatermark)
	}
}
