package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata"
)

// KIP-890 part 1 (Kafka's AddPartitionsToTxnManager): before a partition
// leader appends a producer's transactional batch it asks the transaction
// coordinator (AddPartitionsToTxn v4, verify_only) whether the partition is
// in the producer's ongoing transaction, so a late or duplicated write
// cannot open a "hanging" transaction the coordinator knows nothing of
// (the Jepsen finding that motivated KIP-890). The coordinator is this
// broker (a direct call) or another one (through the peers). Answers:
// INVALID_TXN_STATE when the partition is not in the transaction,
// INVALID_PRODUCER_EPOCH when the epoch is fenced, and
// NOT_ENOUGH_REPLICAS (retriable, as Kafka maps coordinator errors) when
// the coordinator cannot answer.

// batchTxnHeader is the producer of a transactional batch at the start of
// records; ok false for a non-transactional or unparseable one (the log's
// own checks answer those).
func batchTxnHeader(records []byte) (pid int64, epoch int16, ok bool) {
	h, err := storage.ParseBatchHeader(records)
	if err != nil || h.Attributes&0x10 == 0 || h.ProducerID < 0 {
		return 0, 0, false
	}
	return h.ProducerID, h.ProducerEpoch, true
}

// txnOpen reports whether producer pid already has an open transaction
// on l at epoch: its first batch there was verified.
func txnOpen(l *storage.Log, pid int64, epoch int16) bool {
	e, _, ok := l.OpenTxn(pid)
	return ok && e == epoch
}

// verifyTxnProduce returns the refusal of each transactional partition of
// req that fails verification (nil map: nothing to refuse).
func (b *Broker) verifyTxnProduce(ctx context.Context, img *metadata.Image, req *kmsg.ProduceRequest) map[txn.TopicPartition]error {
	if req.TransactionID == nil || *req.TransactionID == "" {
		return nil
	}
	id := *req.TransactionID
	var tps []txn.TopicPartition
	var pid int64
	var epoch int16
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			p, e, ok := batchTxnHeader(rp.Records)
			if !ok {
				continue
			}
			_, l, err := b.partitionFor(img, rt.Topic, rp.Partition)
			if err != nil {
				continue // the append answers NOT_LEADER / UNKNOWN itself
			}
			if txnOpen(l, p, e) {
				continue // verified with its first batch (Kafka verifies only that one)
			}
			pid, epoch = p, e
			tps = append(tps, txn.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
		}
	}
	if len(tps) == 0 {
		return nil
	}
	errs, err := b.verifyWithCoordinator(ctx, id, pid, epoch, tps)
	out := make(map[txn.TopicPartition]error, len(tps))
	for i, tp := range tps {
		e := err
		if e == nil {
			e = errs[i]
		}
		if e != nil {
			out[tp] = e
		}
	}
	return out
}

// verifyWithCoordinator asks the coordinator of id about tps: a
// whole-request error or one per partition, already mapped to the codes a
// producer understands.
func (b *Broker) verifyWithCoordinator(ctx context.Context, id string, pid int64, epoch int16, tps []txn.TopicPartition) ([]error, error) {
	p := b.txns.PartitionFor(id)
	if leader, loaded := b.txns.Leads(p); leader && loaded {
		errs, err := b.txns.Verify(ctx, id, pid, epoch, tps)
		if err != nil {
			return nil, produceVerifyError(txnCode(err), id, err)
		}
		out := make([]error, len(errs))
		for i, e := range errs {
			if e != nil {
				out[i] = produceVerifyError(txnCode(e), id, e)
			}
		}
		return out, nil
	}
	br, _, err := b.leaderEndpoint(txn.StateTopic, p, b.peers.listener, ErrTxnVerifyUnavailable)
	if err != nil {
		return nil, fmt.Errorf("verify transaction %q: %w", id, err)
	}
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 4
	tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
	tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, tx.VerifyOnly = id, pid, epoch, true
	idx := map[string]int{}
	for _, tp := range tps {
		i, ok := idx[tp.Topic]
		if !ok {
			i = len(tx.Topics)
			idx[tp.Topic] = i
			tx.Topics = append(tx.Topics, kmsg.AddPartitionsToTxnRequestTransactionTopic{Topic: tp.Topic})
		}
		tx.Topics[i].Partitions = append(tx.Topics[i].Partitions, tp.Partition)
	}
	req.Transactions = append(req.Transactions, tx)
	kresp, err := b.peers.request(ctx, br.ID, req)
	if err != nil {
		return nil, fmt.Errorf("%w: verify transaction %q with broker %d: %w", ErrTxnVerifyUnavailable, id, br.ID, err)
	}
	resp, ok := kresp.(*kmsg.AddPartitionsToTxnResponse)
	if !ok {
		return nil, fmt.Errorf("%w: broker %d answered %T", ErrTxnVerifyUnavailable, br.ID, kresp)
	}
	if resp.ErrorCode != 0 {
		return nil, produceVerifyError(resp.ErrorCode, id, kerr.ErrorForCode(resp.ErrorCode))
	}
	codes := map[txn.TopicPartition]int16{}
	for _, rtx := range resp.Transactions {
		for _, rt := range rtx.Topics {
			for _, rp := range rt.Partitions {
				codes[txn.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}] = rp.ErrorCode
			}
		}
	}
	out := make([]error, len(tps))
	for i, tp := range tps {
		code, ok := codes[tp]
		if !ok {
			code = kerr.UnknownServerError.Code
		}
		if code != 0 {
			out[i] = produceVerifyError(code, id, kerr.ErrorForCode(code))
		}
	}
	return out, nil
}

// produceVerifyError maps the coordinator's verification code to the one
// a produce answers.
func produceVerifyError(code int16, id string, cause error) error {
	switch code {
	case 0:
		return nil
	case kerr.InvalidTxnState.Code, kerr.InvalidProducerIDMapping.Code, kerr.TransactionAbortable.Code:
		return fmt.Errorf("%w: transaction %q: %w", ErrTxnNotVerified, id, cause)
	case kerr.ProducerFenced.Code, kerr.InvalidProducerEpoch.Code:
		return fmt.Errorf("%w: transaction %q: %w", ErrTxnFencedEpoch, id, cause)
	default:
		return fmt.Errorf("%w: transaction %q: %w", ErrTxnVerifyUnavailable, id, cause)
	}
}
