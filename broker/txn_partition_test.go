package broker

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

const attrTransactional = 0x10

// writeMarker sends WriteTxnMarkers for one partition, as a transaction
// coordinator does, and returns the partition's error code.
func (h *harness) writeMarker(cl *kgo.Client, topic string, partition int32, pid int64, epoch int16, commit bool) int16 {
	h.t.Helper()
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = pid, epoch, commit, 1
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = topic, []int32{partition}
	m.Topics = append(m.Topics, mt)
	req.Markers = append(req.Markers, m)
	resp, err := req.RequestWith(ctxT(h.t), cl.Broker(int(h.b.cfg.NodeID)))
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Markers[0].Topics[0].Partitions[0].ErrorCode
}

// consumeAll reads topic from the start with the isolation level until
// want records arrived (or the context ends) and returns their values.
func consumeAll(t *testing.T, h *harness, topic string, level kgo.IsolationLevel, want int) []string {
	t.Helper()
	cl := h.client(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level), kgo.FetchMaxWait(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for len(got) < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) {
			if ctx.Err() == nil {
				t.Errorf("fetch: %v", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// TestTransactionsPartitionSide drives the partition side of KIP-98 with
// hand-built transactional batches and WriteTxnMarkers: read_committed
// consumers see committed data only, at the last stable offset.
func TestTransactionsPartitionSide(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "tx", 1, nil)
	txn := func(pid int64, epoch int16, seq int32, values ...string) kmsg.ProduceResponseTopicPartition {
		return h.produceRaw(cl, "tx", 0, -1, buildBatch(batchSpec{producerID: pid, producerEpoch: epoch, baseSequence: seq,
			timestamp: 1, values: values, attrs: attrTransactional}))
	}
	plain := func(values ...string) {
		if p := h.produceRaw(cl, "tx", 0, -1, buildBatch(batchSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, timestamp: 1, values: values})); p.ErrorCode != 0 {
			t.Fatalf("plain produce: %v", kerr.ErrorForCode(p.ErrorCode))
		}
	}
	listLatest := func(level int8) int64 {
		req := kmsg.NewPtrListOffsetsRequest()
		req.IsolationLevel = level
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "tx"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctxT(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].Offset
	}

	plain("p0")                                            // 0
	if p := txn(100, 0, 0, "c1", "c2"); p.ErrorCode != 0 { // 1-2, committed below
		t.Fatalf("transactional produce: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if p := txn(200, 0, 0, "a1"); p.ErrorCode != 0 { // 3, aborted below
		t.Fatalf("transactional produce: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	plain("p1") // 4
	if lso, hw := listLatest(1), listLatest(0); lso != 1 || hw != 5 {
		t.Fatalf("latest offsets: read_committed %d, read_uncommitted %d; want 1 and 5", lso, hw)
	}
	if got := consumeAll(t, h, "tx", kgo.ReadCommitted(), 1); strings.Join(got, ",") != "p0" {
		t.Fatalf("read_committed before the markers: %v", got)
	}

	t.Run("zombie epoch", func(t *testing.T) {
		if p := txn(100, 0, 2, "c3"); p.ErrorCode != 0 {
			t.Fatalf("next batch of the same epoch: %v", kerr.ErrorForCode(p.ErrorCode)) // 5
		}
		if code := h.writeMarker(cl, "tx", 0, 100, 1, true); code != 0 { // 6: the coordinator bumped the epoch
			t.Fatalf("commit marker: %v", kerr.ErrorForCode(code))
		}
		if p := txn(100, 0, 3, "zombie"); p.ErrorCode != kerr.InvalidProducerEpoch.Code {
			t.Fatalf("zombie produce: code %d, want INVALID_PRODUCER_EPOCH", p.ErrorCode)
		}
		if code := h.writeMarker(cl, "tx", 0, 100, 0, false); code != kerr.InvalidProducerEpoch.Code {
			t.Fatalf("zombie marker: code %d, want INVALID_PRODUCER_EPOCH", code)
		}
	})
	if lso := listLatest(1); lso != 3 {
		t.Fatalf("LSO after the commit = %d, want 3 (producer 200's transaction)", lso)
	}
	if code := h.writeMarker(cl, "tx", 0, 200, 0, false); code != 0 { // 7
		t.Fatalf("abort marker: %v", kerr.ErrorForCode(code))
	}
	plain("p2") // 8
	if lso, hw := listLatest(1), listLatest(0); lso != 9 || hw != 9 {
		t.Fatalf("latest offsets after the markers: %d, %d; want 9", lso, hw)
	}
	want := "p0,c1,c2,p1,c3,p2"
	if got := consumeAll(t, h, "tx", kgo.ReadCommitted(), 6); strings.Join(got, ",") != want {
		t.Fatalf("read_committed: %v, want %s", got, want)
	}
	if got := consumeAll(t, h, "tx", kgo.ReadUncommitted(), 7); strings.Join(got, ",") != "p0,c1,c2,a1,p1,c3,p2" {
		t.Fatalf("read_uncommitted: %v", got)
	}

	t.Run("fetch response", func(t *testing.T) {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxBytes, req.IsolationLevel = 11, -1, 1<<20, 1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "tx"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := h.handle(req).(*kmsg.FetchResponse)
		p := resp.Topics[0].Partitions[0]
		if p.LastStableOffset != 9 || len(p.AbortedTransactions) != 1 || p.AbortedTransactions[0].ProducerID != 200 || p.AbortedTransactions[0].FirstOffset != 3 {
			t.Fatalf("LSO %d, aborted %+v", p.LastStableOffset, p.AbortedTransactions)
		}
	})

	t.Run("describe producers", func(t *testing.T) {
		req := kmsg.NewPtrDescribeProducersRequest()
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = "tx", []int32{0, 9}
		req.Topics = append(req.Topics, rt)
		resp := h.handle(req).(*kmsg.DescribeProducersResponse)
		ps := resp.Topics[0].Partitions
		if len(ps) != 2 || ps[0].ErrorCode != 0 || len(ps[0].ActiveProducers) != 2 || ps[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("describe producers: %+v", ps)
		}
		a := ps[0].ActiveProducers[0]
		if a.ProducerID != 100 || a.ProducerEpoch != 1 || a.CoordinatorEpoch != 1 || a.CurrentTxnStartOffset != -1 {
			t.Fatalf("producer 100: %+v", a)
		}
	})

	t.Run("not leader", func(t *testing.T) {
		if code := h.writeMarker(cl, "nope", 0, 100, 1, true); code != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("marker to an unknown partition: %d", code)
		}
	})

	t.Run("kcat read_committed", func(t *testing.T) {
		kcat, err := exec.LookPath("kcat")
		if err != nil {
			t.Skip("kcat not installed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, kcat, "-b", h.addr.String(), "-C", "-t", "tx", "-o", "beginning", "-e",
			"-X", "isolation.level=read_committed", "-f", "%s\n").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !strings.HasPrefix(l, "%") {
				lines = append(lines, l)
			}
		}
		if got := strings.Join(lines, ","); got != want {
			t.Fatalf("kcat read_committed: %s, want %s", out, want)
		}
	})
}

// TestTransactionsAuthorization follows KafkaApis: a produce with a
// transactional id needs WRITE on it, WriteTxnMarkers CLUSTER_ACTION on
// the cluster, DescribeProducers READ on the topic.
func TestTransactionsAuthorization(t *testing.T) {
	h := newAuthzHarness(t, false)
	req := authzProduceReq("orders")
	req.TransactionID = strPtr("tx")
	resp := h.handleAs("User:alice", req).(*kmsg.ProduceResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.TransactionalIDAuthorizationFailed.Code {
		t.Fatalf("produce without WRITE on the transactional id: code %d", code)
	}
	if l, _ := h.logs.Get("orders", 0); l.LogEndOffset() != 0 {
		t.Fatalf("refused produce appended: LEO %d", l.LogEndOffset())
	}
	h.ctrl.apply(t, metadata.AclRecord(metadata.RandomUuid(), metadata.AclBinding{ResourceType: resTransactionalID, ResourceName: "tx",
		PatternType: metadata.AclPatternLiteral, Principal: "User:alice", Host: "*", Operation: opWrite, Permission: metadata.AclPermissionAllow}))
	req = authzProduceReq("orders")
	req.TransactionID = strPtr("tx")
	resp = h.handleAs("User:alice", req).(*kmsg.ProduceResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("produce with WRITE on the transactional id: code %d", code)
	}

	markers := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed = 5, 0, true
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = "orders", []int32{0}
	m.Topics = append(m.Topics, mt)
	markers.Markers = append(markers.Markers, m)
	for who, want := range map[string]int16{"User:alice": kerr.ClusterAuthorizationFailed.Code, "User:admin": 0} {
		mresp := h.handleAs(who, markers).(*kmsg.WriteTxnMarkersResponse)
		if code := mresp.Markers[0].Topics[0].Partitions[0].ErrorCode; code != want {
			t.Fatalf("WriteTxnMarkers as %s: code %d, want %d", who, code, want)
		}
	}

	toc := func(who, txnID, group, topic string) int16 {
		r := kmsg.NewPtrTxnOffsetCommitRequest()
		r.Version, r.TransactionalID, r.Group, r.Generation = 3, txnID, group, -1
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic, rt.Partitions = topic, []kmsg.TxnOffsetCommitRequestTopicPartition{kmsg.NewTxnOffsetCommitRequestTopicPartition()}
		r.Topics = append(r.Topics, rt)
		return h.handleAs(who, r).(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
	}
	for _, tc := range []struct {
		who, txn, group, topic string
		want                   int16
	}{
		{"User:bob", "tx", "app", "orders", kerr.TransactionalIDAuthorizationFailed.Code},
		{"User:alice", "tx", "other", "orders", kerr.GroupAuthorizationFailed.Code},
		{"User:alice", "tx", "app", "secret", kerr.TopicAuthorizationFailed.Code},
	} {
		if got := toc(tc.who, tc.txn, tc.group, tc.topic); got != tc.want {
			t.Fatalf("TxnOffsetCommit %+v: code %d, want %d", tc, got, tc.want)
		}
	}

	dp := kmsg.NewPtrDescribeProducersRequest()
	dt := kmsg.NewDescribeProducersRequestTopic()
	dt.Topic, dt.Partitions = "orders", []int32{0}
	dp.Topics = append(dp.Topics, dt)
	for who, want := range map[string]int16{"User:bob": kerr.TopicAuthorizationFailed.Code, "User:alice": 0} {
		dresp := h.handleAs(who, dp).(*kmsg.DescribeProducersResponse)
		if code := dresp.Topics[0].Partitions[0].ErrorCode; code != want {
			t.Fatalf("DescribeProducers as %s: code %d, want %d", who, code, want)
		}
	}
}

// TestTxnOffsetCommitThroughMarkers: TxnOffsetCommit's offsets become
// visible to OffsetFetch only when WriteTxnMarkers commits the producer's
// transaction on the group's __consumer_offsets partition (Kafka's
// handleTxnCompletion); before, require_stable answers
// UNSTABLE_OFFSET_COMMIT.
func TestTxnOffsetCommitThroughMarkers(t *testing.T) {
	h := newGroupHarness(t)
	cl := h.client()
	h.createTopic(cl, "in", 1, nil)
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "g"
	if _, err := fc.RequestWith(ctxT(t), cl); err != nil {
		t.Fatal(err)
	}
	commit := func(pid int64, offset int64) int16 {
		r := kmsg.NewPtrTxnOffsetCommitRequest()
		r.Version, r.TransactionalID, r.Group, r.ProducerID, r.Generation = 3, "tx", "g", pid, -1
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = "in"
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Offset = offset
		rt.Partitions = append(rt.Partitions, rp)
		r.Topics = append(r.Topics, rt)
		return h.handle(r).(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
	}
	fetch := func() (int64, int16) {
		r := kmsg.NewPtrOffsetFetchRequest()
		r.Version, r.Group, r.RequireStable = 7, "g", true
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic, rt.Partitions = "in", []int32{0}
		r.Topics = append(r.Topics, rt)
		p := h.handle(r).(*kmsg.OffsetFetchResponse).Topics[0].Partitions[0]
		return p.Offset, p.ErrorCode
	}
	wait.For(t, 20*time.Second, "txn offset commit accepted", func() error {
		if code := commit(50, 17); code != 0 {
			return kerr.ErrorForCode(code)
		}
		return nil
	})
	if off, code := fetch(); off != -1 || code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("before the marker: %d %d", off, code)
	}
	p := h.b.groups.PartitionFor("g")
	if code := h.writeMarker(cl, "__consumer_offsets", p, 50, 0, true); code != 0 {
		t.Fatalf("commit marker: %v", kerr.ErrorForCode(code))
	}
	if off, code := fetch(); off != 17 || code != 0 {
		t.Fatalf("after the marker: %d %d", off, code)
	}
	if code := commit(51, 99); code != 0 {
		t.Fatalf("second txn offset commit: %v", kerr.ErrorForCode(code))
	}
	if code := h.writeMarker(cl, "__consumer_offsets", p, 51, 0, false); code != 0 {
		t.Fatalf("abort marker: %v", kerr.ErrorForCode(code))
	}
	if off, code := fetch(); off != 17 || code != 0 {
		t.Fatalf("after the abort: %d %d", off, code)
	}
}
