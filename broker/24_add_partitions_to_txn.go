package broker

// AddPartitionsToTxn (key 24), versions 0-5.
//
// v0-v3 (a producer): the partitions join the transaction of the
// transactional id (txn.Coordinator.AddPartitions). WRITE on the
// TRANSACTIONAL_ID is needed (else every partition is
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and WRITE on each topic (else
// TOPIC_AUTHORIZATION_FAILED); an unknown topic or partition is
// UNKNOWN_TOPIC_OR_PARTITION, and when any partition fails these checks the
// others are OPERATION_NOT_ATTEMPTED, as Kafka answers. The coordinator's
// one error goes to every partition; PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH before v2.
//
// v4+ (broker to broker, CLUSTER_ACTION on the cluster, else a top-level
// CLUSTER_AUTHORIZATION_FAILED): batched transactions; verify_only asks
// whether each partition is already in the transaction (KIP-890 part 1:
// the partition leader's check before the first transactional write),
// without it the partitions are added (KIP-890 part 2's implicit add).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleAddPartitionsToTxn(ctx context.Context, nreq *network.Request, req *kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	if req.Version < 4 {
		topics := make([]kmsg.AddPartitionsToTxnRequestTransactionTopic, 0, len(req.Topics))
		for _, rt := range req.Topics {
			topics = append(topics, kmsg.AddPartitionsToTxnRequestTransactionTopic{Topic: rt.Topic, Partitions: rt.Partitions})
		}
		for _, rt := range b.addPartitions(ctx, nreq, req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, false, topics) {
			t := kmsg.NewAddPartitionsToTxnResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				p := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				p.Partition, p.ErrorCode = rp.Partition, rp.ErrorCode
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil
	}
	if !b.authorizedCluster(nreq, opClusterAction) {
		resp.ErrorCode = errorCode(ErrClusterAuthorization)
		return resp, nil
	}
	for _, rtx := range req.Transactions {
		tx := kmsg.NewAddPartitionsToTxnResponseTransaction()
		tx.TransactionalID = rtx.TransactionalID
		tx.Topics = b.addPartitions(ctx, nreq, req.Version, rtx.TransactionalID, rtx.ProducerID, rtx.ProducerEpoch, rtx.VerifyOnly, rtx.Topics)
		resp.Transactions = append(resp.Transactions, tx)
	}
	return resp, nil
}

// addPartitions serves one transaction of the request.
func (b *Broker) addPartitions(ctx context.Context, nreq *network.Request, version int16, id string, pid int64, epoch int16,
	verifyOnly bool, topics []kmsg.AddPartitionsToTxnRequestTransactionTopic) []kmsg.AddPartitionsToTxnResponseTransactionTopic {
	out := make([]kmsg.AddPartitionsToTxnResponseTransactionTopic, 0, len(topics))
	codes := make([][]int16, len(topics))
	var tps []txn.TopicPartition
	failed := false
	img := b.img.Load()
	txnDenied := version < 4 && !b.authorized(nreq, resTransactionalID, id, opWrite)
	for i, rt := range topics {
		codes[i] = make([]int16, len(rt.Partitions))
		var topicErr error
		switch {
		case txnDenied:
			topicErr = ErrTransactionalIDAuthorization
		case version < 4 && !b.authorized(nreq, resTopic, rt.Topic, opWrite):
			topicErr = ErrTopicAuthorization
		}
		t, known := img.Topic(rt.Topic)
		for j, p := range rt.Partitions {
			err := topicErr
			if err == nil {
				if !known {
					err = ErrUnknownTopic
				} else if _, ok := t.Partition(p); !ok {
					err = ErrUnknownTopic
				}
			}
			if err != nil {
				codes[i][j], failed = errorCode(err), true
				continue
			}
			tps = append(tps, txn.TopicPartition{Topic: rt.Topic, Partition: p})
		}
	}
	fill := func(code func(i, j int) int16) {
		for i, rt := range topics {
			ot := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			ot.Topic = rt.Topic
			for j, p := range rt.Partitions {
				op := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				op.Partition, op.ErrorCode = p, code(i, j)
				ot.Partitions = append(ot.Partitions, op)
			}
			out = append(out, ot)
		}
	}
	if failed {
		fill(func(i, j int) int16 {
			if codes[i][j] != 0 {
				return codes[i][j]
			}
			return kerr.OperationNotAttempted.Code
		})
		return out
	}
	if verifyOnly {
		errs, err := b.txns.Verify(ctx, id, pid, epoch, tps)
		k := 0
		fill(func(int, int) int16 {
			defer func() { k++ }()
			if err != nil {
				return txnCode(err)
			}
			return txnCode(errs[k])
		})
		return out
	}
	add := b.txns.AddPartitions
	if version >= 4 {
		add = b.txns.ImplicitAdd // a partition leader's, for Produce v12 / TxnOffsetCommit v5
	}
	err := add(ctx, id, pid, epoch, tps)
	code := txn.FencedCode(txnCode(err), version, 2)
	if err != nil {
		b.logger.Debug("add partitions to transaction failed", zap.String("transactional_id", id), zap.Error(err))
	}
	fill(func(int, int) int16 { return code })
	return out
}
