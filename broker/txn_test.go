package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata/wait"
)

// newTxnHarness is a harness with a small __transaction_state whose
// coordinators are closed at cleanup.
func newTxnHarness(t *testing.T, mut func(*Config)) *harness {
	t.Helper()
	h := newHarness(t, func(c *Config) {
		c.GroupInitialRebalanceDelay = 0
		c.OffsetsTopicNumPartitions = 3
		c.TransactionStateNumPartitions = 3
		if mut != nil {
			mut(c)
		}
	})
	t.Cleanup(func() {
		if err := h.b.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// findTxnCoordinator polls FindCoordinator (key type 1) until it answers.
func (h *harness) findTxnCoordinator(id string) *kmsg.FindCoordinatorResponse {
	h.t.Helper()
	var resp *kmsg.FindCoordinatorResponse
	wait.Until(h.t, 10*time.Second, "transaction coordinator", func() bool {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorType, req.CoordinatorKey = 3, 1, id
		resp = h.handle(req).(*kmsg.FindCoordinatorResponse)
		return resp.ErrorCode == 0
	})
	return resp
}

// initTxn polls InitProducerId until the coordinator has loaded.
func (h *harness) initTxn(version int16, id string, timeoutMs int32, pid int64, epoch int16) *kmsg.InitProducerIDResponse {
	h.t.Helper()
	var resp *kmsg.InitProducerIDResponse
	wait.Until(h.t, 10*time.Second, "init producer id", func() bool {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version, req.TransactionalID, req.TransactionTimeoutMillis = version, &id, timeoutMs
		req.ProducerID, req.ProducerEpoch = pid, epoch
		resp = h.handle(req).(*kmsg.InitProducerIDResponse)
		return resp.ErrorCode != kerr.CoordinatorLoadInProgress.Code && resp.ErrorCode != kerr.ConcurrentTransactions.Code
	})
	return resp
}

// TestTxnCoordinatorRequests drives the coordinator's APIs directly
// (KIP-98): FindCoordinator type 1, InitProducerId epochs and fencing
// (KIP-360, KIP-588's code per version), AddPartitionsToTxn, EndTxn,
// DescribeTransactions and ListTransactions.
func TestTxnCoordinatorRequests(t *testing.T) {
	h := newTxnHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "t", 2, nil)

	fc := h.findTxnCoordinator("tx")
	if fc.NodeID != h.b.cfg.NodeID {
		t.Fatalf("coordinator %d", fc.NodeID)
	}
	empty := kmsg.NewPtrFindCoordinatorRequest()
	empty.Version, empty.CoordinatorType = 4, 1
	empty.CoordinatorKeys = []string{""}
	if c := h.handle(empty).(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode; c != kerr.InvalidRequest.Code {
		t.Fatalf("empty transactional id: %d", c)
	}

	first := h.initTxn(4, "tx", 60000, -1, -1)
	if first.ErrorCode != 0 || first.ProducerEpoch != 0 || first.ProducerID < 0 {
		t.Fatalf("first init %+v", first)
	}
	second := h.initTxn(4, "tx", 60000, -1, -1)
	if second.ErrorCode != 0 || second.ProducerID != first.ProducerID || second.ProducerEpoch != 1 {
		t.Fatalf("second init %+v", second)
	}
	if r := h.initTxn(4, "tx", 60000, first.ProducerID+100, 0); r.ErrorCode != kerr.ProducerFenced.Code {
		t.Fatalf("KIP-360 init with a foreign producer id: %d", r.ErrorCode)
	}
	if r := h.initTxn(3, "tx", 60000, first.ProducerID+100, 0); r.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("v3 fenced: %d, want INVALID_PRODUCER_EPOCH", r.ErrorCode)
	}
	if r := h.initTxn(4, "tx", int32(time.Hour.Milliseconds()), -1, -1); r.ErrorCode != kerr.InvalidTransactionTimeout.Code {
		t.Fatalf("timeout above transaction.max.timeout.ms: %d", r.ErrorCode)
	}

	pid, epoch := second.ProducerID, second.ProducerEpoch
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.Version, add.TransactionalID, add.ProducerID, add.ProducerEpoch = 3, "tx", pid, epoch
	add.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}, {Topic: "nope", Partitions: []int32{0}}}
	ar := h.handle(add).(*kmsg.AddPartitionsToTxnResponse)
	if ar.Topics[0].Partitions[0].ErrorCode != kerr.OperationNotAttempted.Code || ar.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("add with an unknown topic: %+v", ar.Topics)
	}
	add.Topics = add.Topics[:1]
	if ar = h.handle(add).(*kmsg.AddPartitionsToTxnResponse); ar.Topics[0].Partitions[1].ErrorCode != 0 {
		t.Fatalf("add: %+v", ar.Topics)
	}
	add.ProducerEpoch = epoch - 1
	if ar = h.handle(add).(*kmsg.AddPartitionsToTxnResponse); ar.Topics[0].Partitions[0].ErrorCode != kerr.ProducerFenced.Code {
		t.Fatalf("add with an old epoch: %+v", ar.Topics)
	}

	// KIP-890 part 1: a partition leader's verification (v4, verify_only).
	verify := kmsg.NewPtrAddPartitionsToTxnRequest()
	verify.Version = 4
	vt := kmsg.NewAddPartitionsToTxnRequestTransaction()
	vt.TransactionalID, vt.ProducerID, vt.ProducerEpoch, vt.VerifyOnly = "tx", pid, epoch, true
	vt.Topics = []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: "t", Partitions: []int32{1}}}
	verify.Transactions = append(verify.Transactions, vt)
	if vr := h.handle(verify).(*kmsg.AddPartitionsToTxnResponse); vr.Transactions[0].Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("verify an added partition: %+v", vr.Transactions)
	}

	desc := kmsg.NewPtrDescribeTransactionsRequest()
	desc.TransactionalIDs = []string{"tx", "unknown"}
	dr := h.handle(desc).(*kmsg.DescribeTransactionsResponse)
	if s := dr.TransactionStates[0]; s.ErrorCode != 0 || s.State != "Ongoing" || s.ProducerID != pid || len(s.Topics) != 1 || len(s.Topics[0].Partitions) != 2 {
		t.Fatalf("describe: %+v", s)
	}
	if s := dr.TransactionStates[1]; s.ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("describe unknown: %+v", s)
	}
	list := kmsg.NewPtrListTransactionsRequest()
	list.StateFilters = []string{"Ongoing", "Bogus"}
	lr := h.handle(list).(*kmsg.ListTransactionsResponse)
	if len(lr.TransactionStates) != 1 || lr.TransactionStates[0].TransactionalID != "tx" || len(lr.UnknownStateFilters) != 1 {
		t.Fatalf("list: %+v", lr)
	}

	end := kmsg.NewPtrEndTxnRequest()
	end.Version, end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = 3, "tx", pid, epoch, true
	if c := h.handle(end).(*kmsg.EndTxnResponse).ErrorCode; c != 0 {
		t.Fatalf("end txn: %d", c)
	}
	end.ProducerEpoch = epoch - 1
	if c := h.handle(end).(*kmsg.EndTxnResponse).ErrorCode; c != kerr.ProducerFenced.Code {
		t.Fatalf("end txn with an old epoch: %d", c)
	}
	end.Version = 1
	if c := h.handle(end).(*kmsg.EndTxnResponse).ErrorCode; c != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("v1 end txn with an old epoch: %d, want INVALID_PRODUCER_EPOCH", c)
	}
	if d, err := h.b.txns.Describe("tx"); err != nil || (d.State != txn.PrepareCommit && d.State != txn.CompleteCommit) {
		t.Fatalf("after commit: %+v %v", d, err)
	}
}
