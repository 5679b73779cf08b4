package broker

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata/wait"
)

// apiVersionsV3 is this broker's ApiVersions v3 answer.
func (h *harness) apiVersionsV3() *kmsg.ApiVersionsResponse {
	h.t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	return h.handle(req).(*kmsg.ApiVersionsResponse)
}

func maxVersion(resp *kmsg.ApiVersionsResponse, key int16) int16 {
	for _, k := range resp.ApiKeys {
		if k.ApiKey == key {
			return k.MaxVersion
		}
	}
	return -1
}

// TestTxnTransactionVersionFeature: ApiVersions v3 reports
// transaction.version as supported 0-2 and finalized at
// zkraft.transaction.version (KIP-584), no finalized level at 0, and the
// KIP-890 part 2 versions at every level.
func TestTxnTransactionVersionFeature(t *testing.T) {
	for _, tv := range []int16{0, 1, 2} {
		h := newHarness(t, func(c *Config) { c.TransactionVersion = tv })
		resp := h.apiVersionsV3()
		if len(resp.SupportedFeatures) != 1 || resp.SupportedFeatures[0].Name != "transaction.version" ||
			resp.SupportedFeatures[0].MinVersion != 0 || resp.SupportedFeatures[0].MaxVersion != 2 {
			t.Fatalf("tv %d: supported features %+v", tv, resp.SupportedFeatures)
		}
		if resp.FinalizedFeaturesEpoch != 0 {
			t.Fatalf("tv %d: finalized features epoch %d", tv, resp.FinalizedFeaturesEpoch)
		}
		switch {
		case tv == 0 && len(resp.FinalizedFeatures) != 0:
			t.Fatalf("tv 0: finalized %+v", resp.FinalizedFeatures)
		case tv > 0 && (len(resp.FinalizedFeatures) != 1 || resp.FinalizedFeatures[0].Name != "transaction.version" ||
			resp.FinalizedFeatures[0].MaxVersionLevel != tv || resp.FinalizedFeatures[0].MinVersionLevel != tv):
			t.Fatalf("tv %d: finalized %+v", tv, resp.FinalizedFeatures)
		}
		for key, want := range map[int16]int16{0: 12, 26: 5, 28: 5} {
			if got := maxVersion(resp, key); got != want {
				t.Fatalf("tv %d: %s max version %d, want %d", tv, kmsg.NameForKey(key), got, want)
			}
		}
	}
	cfg := DefaultConfig()
	cfg.TransactionVersion = 3
	if err := cfg.Validate(); err == nil {
		t.Fatal("zkraft.transaction.version = 3 accepted")
	}
}

// TestTxnKIP890Part2Requests drives KIP-890 part 2 with raw requests:
// Produce v12 without AddPartitionsToTxn adds the partition (the leader
// asks the coordinator), EndTxn v5 answers the bumped epoch, the previous
// epoch is then fenced on produce, TxnOffsetCommit v5 adds the group's
// offsets partition without AddOffsetsToTxn, and a Produce v11 for an
// unadded partition is still refused (part 1).
func TestTxnKIP890Part2Requests(t *testing.T) {
	h := newTxnHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "p2", 2, nil)
	h.findTxnCoordinator("tx-p2")
	init := h.initTxn(4, "tx-p2", 60000, -1, -1)
	if init.ErrorCode != 0 {
		t.Fatalf("init %+v", init)
	}
	pid, epoch := init.ProducerID, init.ProducerEpoch
	produce := func(version int16, partition int32, epoch int16, seq int32) int16 {
		t.Helper()
		id := "tx-p2"
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis, req.TransactionID = version, -1, 5000, &id
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "p2"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = partition
		rp.Records = buildBatch(batchSpec{producerID: pid, producerEpoch: epoch, baseSequence: seq, attrs: attrTransactional, values: []string{"v"}})
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return h.handle(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
	}
	if code := produce(11, 1, epoch, 0); code != kerr.InvalidTxnState.Code {
		t.Fatalf("produce v11 to an unadded partition: %s", kerr.ErrorForCode(code))
	}
	if code := produce(12, 0, epoch, 0); code != 0 {
		t.Fatalf("produce v12: %s", kerr.ErrorForCode(code))
	}
	d, err := h.b.txns.Describe("tx-p2")
	if err != nil || d.State != txn.Ongoing || !slices.Equal(d.Partitions, []txn.TopicPartition{{Topic: "p2", Partition: 0}}) {
		t.Fatalf("after produce v12: %+v %v", d, err)
	}

	// TxnOffsetCommit v5: the group's __consumer_offsets partition joins.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "g-p2"
	if _, err := fc.RequestWith(ctxT(t), cl); err != nil {
		t.Fatal(err)
	}
	var toc int16
	wait.Until(t, 10*time.Second, "txn offset commit v5", func() bool {
		r := kmsg.NewPtrTxnOffsetCommitRequest()
		r.Version, r.TransactionalID, r.Group, r.ProducerID, r.ProducerEpoch, r.Generation = 5, "tx-p2", "g-p2", pid, epoch, -1
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = "p2"
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Offset = 1
		rt.Partitions = append(rt.Partitions, rp)
		r.Topics = append(r.Topics, rt)
		toc = h.handle(r).(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
		return toc != kerr.CoordinatorLoadInProgress.Code
	})
	if toc != 0 {
		t.Fatalf("txn offset commit v5: %s", kerr.ErrorForCode(toc))
	}
	offsets := txn.TopicPartition{Topic: group.OffsetsTopic, Partition: h.b.groups.PartitionFor("g-p2")}
	if d, _ := h.b.txns.Describe("tx-p2"); !slices.Contains(d.Partitions, offsets) {
		t.Fatalf("offsets partition %s not in the transaction: %+v", offsets, d.Partitions)
	}

	end := kmsg.NewPtrEndTxnRequest()
	end.Version, end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = 5, "tx-p2", pid, epoch, true
	er := h.handle(end).(*kmsg.EndTxnResponse)
	if er.ErrorCode != 0 || er.ProducerID != pid || er.ProducerEpoch != epoch+1 {
		t.Fatalf("EndTxn v5: %+v, want producer %d epoch %d", er, pid, epoch+1)
	}
	wait.Until(t, 10*time.Second, "commit complete", func() bool {
		d, err := h.b.txns.Describe("tx-p2")
		return err == nil && d.State == txn.CompleteCommit
	})
	// The previous transaction's epoch is fenced now; the bumped one opens
	// the next transaction at sequence 0.
	if code := produce(12, 0, epoch, 1); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("produce with the previous epoch: %s, want INVALID_PRODUCER_EPOCH", kerr.ErrorForCode(code))
	}
	if code := produce(12, 0, epoch+1, 0); code != 0 {
		t.Fatalf("produce with the bumped epoch: %s", kerr.ErrorForCode(code))
	}
	end.ProducerEpoch, end.Commit = epoch+1, false
	if er := h.handle(end).(*kmsg.EndTxnResponse); er.ErrorCode != 0 || er.ProducerEpoch != epoch+2 {
		t.Fatalf("EndTxn v5 abort: %+v", er)
	}
	records := consumeAll(t, h, "p2", kgo.ReadCommitted(), 1)
	if len(records) != 1 {
		t.Fatalf("read_committed: %v", records)
	}
}

// TestTxnKgoClassicProtocol: with zkraft.transaction.version = 0 (as for
// clients that predate KIP-890 part 2: kcat/librdkafka, Java before 4.0)
// franz-go keeps AddPartitionsToTxn and EndTxn v4: the epoch stays put
// across transactions, and commits and aborts read back as before.
func TestTxnKgoClassicProtocol(t *testing.T) {
	h := newTxnHarness(t, func(c *Config) { c.TransactionVersion = 0 })
	admin := h.client()
	h.createTopic(admin, "classic", 2, nil)
	p := h.client(kgo.TransactionalID("tx-classic"), kgo.DefaultProduceTopic("classic"), kgo.TransactionTimeout(30*time.Second))
	produceTxn(t, p, "classic", true, "c1", "c2")
	produceTxn(t, p, "classic", false, "a1")
	produceTxn(t, p, "classic", true, "c3")
	got := consumeAll(t, h, "classic", kgo.ReadCommitted(), 3)
	slices.Sort(got)
	if !slices.Equal(got, []string{"c1", "c2", "c3"}) {
		t.Fatalf("read_committed: %v", got)
	}
	wait.Until(t, 10*time.Second, "last transaction complete", func() bool {
		d, err := h.b.txns.Describe("tx-classic")
		return err == nil && d.State == txn.CompleteCommit
	})
	if d, _ := h.b.txns.Describe("tx-classic"); d.Epoch != 0 {
		t.Fatalf("epoch %d after three classic transactions, want 0 (no EndTxn v5)", d.Epoch)
	}
}
