package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata/wait"
)

// produceTxn runs one transaction of cl: values to topic, then commit or
// abort.
func produceTxn(t *testing.T, cl *kgo.Client, topic string, commit bool, values ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", v, err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit %v): %v", commit, err)
	}
}

// TestTxnKgoCommitAbort is KIP-98 end to end on one broker with franz-go's
// transactional producer: committed transactions are read by a
// read_committed consumer, aborted ones are not (a read_uncommitted one
// sees both), the coordinator's markers complete each transaction, and a
// second producer with the same transactional id fences the first.
func TestTxnKgoCommitAbort(t *testing.T) {
	h := newTxnHarness(t, nil)
	admin := h.client()
	h.createTopic(admin, "out", 2, nil)

	p := h.client(kgo.TransactionalID("tx-kgo"), kgo.DefaultProduceTopic("out"), kgo.TransactionTimeout(30*time.Second))
	produceTxn(t, p, "out", true, "c1", "c2", "c3")
	produceTxn(t, p, "out", false, "a1", "a2")
	produceTxn(t, p, "out", true, "c4")

	got := consumeAll(t, h, "out", kgo.ReadCommitted(), 4)
	slices.Sort(got)
	if !slices.Equal(got, []string{"c1", "c2", "c3", "c4"}) {
		t.Fatalf("read_committed: %v", got)
	}
	all := consumeAll(t, h, "out", kgo.ReadUncommitted(), 6)
	if len(all) != 6 {
		t.Fatalf("read_uncommitted: %v", all)
	}
	wait.Until(t, 10*time.Second, "last transaction complete", func() bool {
		d, err := h.b.txns.Describe("tx-kgo")
		return err == nil && d.State == txn.CompleteCommit
	})
	// transaction.version 2 (the default): franz-go ran KIP-890 part 2,
	// EndTxn v5 bumped the epoch once per transaction.
	if d, _ := h.b.txns.Describe("tx-kgo"); d.Epoch != 3 {
		t.Fatalf("epoch %d after three transactions, want 3 (EndTxn v5)", d.Epoch)
	}

	// kadm's DescribeTransactions and ListTransactions (keys 65, 66).
	adm := kadm.NewClient(admin)
	described, err := adm.DescribeTransactions(ctxT(t), "tx-kgo")
	if d := described["tx-kgo"]; err != nil || d.Err != nil || d.State != "CompleteCommit" || d.ProducerID < 0 {
		t.Fatalf("kadm describe: %+v %v", d, err)
	}
	listed, err := adm.ListTransactions(ctxT(t), nil, []string{"CompleteCommit"})
	if err != nil || len(listed) != 1 || listed["tx-kgo"].State != "CompleteCommit" {
		t.Fatalf("kadm list: %+v %v", listed, err)
	}

	// A new instance with the same transactional id fences the first:
	// its epoch is bumped, the old producer's next transaction fails.
	p2 := h.client(kgo.TransactionalID("tx-kgo"), kgo.DefaultProduceTopic("out"))
	produceTxn(t, p2, "out", true, "n1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	err = p.ProduceSync(ctx, &kgo.Record{Topic: "out", Value: []byte("zombie")}).FirstErr()
	if err == nil {
		err = p.EndTransaction(ctx, kgo.TryCommit)
	}
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("zombie producer: %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", err)
	}
	got = consumeAll(t, h, "out", kgo.ReadCommitted(), 5)
	if len(got) != 5 || slices.Contains(got, "zombie") {
		t.Fatalf("after the zombie: %v", got)
	}
}

// TestTxnKIP890Verification: a transactional batch (Produce v11, before
// KIP-890 part 2's implicit add) for a partition the coordinator never
// added is refused by the partition leader (INVALID_TXN_STATE, KIP-890
// part 1), so no hanging transaction opens.
func TestTxnKIP890Verification(t *testing.T) {
	h := newTxnHarness(t, nil)
	v11 := kversion.Stable()
	v11.SetMaxKeyVersion(0, 11)
	cl := h.client(kgo.MaxVersions(v11))
	h.createTopic(cl, "v", 1, nil)
	h.findTxnCoordinator("tx-v")
	init := h.initTxn(4, "tx-v", 60000, -1, -1)
	if init.ErrorCode != 0 {
		t.Fatalf("init %+v", init)
	}
	code := h.produceTxnBatch(cl, "tx-v", "v", 0, init.ProducerID, init.ProducerEpoch)
	if code != kerr.InvalidTxnState.Code {
		t.Fatalf("unverified transactional batch: %s", kerr.ErrorForCode(code))
	}
	if l, _ := h.logs.Get("v", 0); l.LogEndOffset() != 0 {
		t.Fatalf("refused batch appended: LEO %d", l.LogEndOffset())
	}
	if err := h.b.txns.AddPartitions(context.Background(), "tx-v", init.ProducerID, init.ProducerEpoch,
		[]txn.TopicPartition{{Topic: "v", Partition: 0}}); err != nil {
		t.Fatal(err)
	}
	if code := h.produceTxnBatch(cl, "tx-v", "v", 0, init.ProducerID, init.ProducerEpoch); code != 0 {
		t.Fatalf("verified transactional batch: %s", kerr.ErrorForCode(code))
	}
	if code := h.produceTxnBatch(cl, "tx-v", "v", 0, init.ProducerID, init.ProducerEpoch-1); code == 0 {
		t.Fatal("batch with an older epoch accepted")
	}
}

// produceTxnBatch produces one transactional batch (sequence 0 or the
// next) for pid/epoch with the transactional id and returns its code.
func (h *harness) produceTxnBatch(cl *kgo.Client, id, topic string, partition int32, pid int64, epoch int16) int16 {
	h.t.Helper()
	seq := int32(0)
	if l, ok := h.logs.Get(topic, partition); ok {
		for _, p := range l.Producers() {
			if p.ProducerID == pid && p.ProducerEpoch == epoch {
				seq = p.LastSequence + 1
			}
		}
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis, req.TransactionID = -1, 5000, &id
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = buildBatch(batchSpec{producerID: pid, producerEpoch: epoch, baseSequence: seq, attrs: attrTransactional,
		values: []string{fmt.Sprintf("x%d", seq)}})
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(h.t), cl.Broker(int(h.b.cfg.NodeID)))
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}
