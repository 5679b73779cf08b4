package broker

import (
	"context"
	"fmt"
	"time"

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
//
// KIP-890 part 2 (Produce v12, TxnOffsetCommit v5): the client sends no
// AddPartitionsToTxn; the partition leader adds the partition instead
// (AddPartitionsToTxn v5 without verify_only, or a direct call), with the
// same answers. CONCURRENT_TRANSACTIONS (the previous transaction's
// markers are still being written) is retried here for a moment, as
// Kafka's AddPartitionsToTxnManager does (add.partitions.to.txn.retry.*).

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
// req that fails verification, or for v12+ (KIP-890 part 2) the implicit
// add (nil map: nothing to refuse).
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
	var errs []error
	var err error
	if req.Version >= 12 {
		err = b.addWithCoordinator(ctx, id, pid, epoch, tps, addRetryProduce)
	} else {
		errs, err = b.verifyWithCoordinator(ctx, id, pid, epoch, tps)
	}
	out := make(map[txn.TopicPartition]error, len(tps))
	for i, tp := range tps {
		e := err
		if e == nil && errs != nil {
			e = errs[i]
		}
		if e != nil {
			out[tp] = e
		}
	}
	return out
}

// Bounds of the implicit add's own retries of CONCURRENT_TRANSACTIONS
// (Kafka: add.partitions.to.txn.retry.backoff.ms 20, .max.ms 100). A
// produce then answers the retriable NOT_ENOUGH_REPLICAS and the client
// retries; TxnOffsetCommit, whose per-partition codes franz-go does not
// retry, waits longer.
const (
	addRetryBackoff      = 20 * time.Millisecond
	addRetryProduce      = 100 * time.Millisecond
	addRetryOffsetCommit = 3 * time.Second
)

// addWithCoordinator is KIP-890 part 2's implicit add of tps to the
// transaction of id (pid at epoch), retrying CONCURRENT_TRANSACTIONS for
// up to retryFor. The error is mapped as produceVerifyError maps it.
func (b *Broker) addWithCoordinator(ctx context.Context, id string, pid int64, epoch int16, tps []txn.TopicPartition, retryFor time.Duration) error {
	deadline := time.Now().Add(retryFor)
	for {
		code, err := b.addOnce(ctx, id, pid, epoch, tps)
		if code != kerr.ConcurrentTransactions.Code || time.Now().After(deadline) {
			return produceVerifyError(code, id, err)
		}
		select {
		case <-ctx.Done():
			return produceVerifyError(code, id, err)
		case <-time.After(addRetryBackoff):
		}
	}
}

// addOnce asks the coordinator of id (this broker or another) to add tps:
// the code of the answer and its cause.
func (b *Broker) addOnce(ctx context.Context, id string, pid int64, epoch int16, tps []txn.TopicPartition) (int16, error) {
	p := b.txns.PartitionFor(id)
	if leader, loaded := b.txns.Leads(p); leader && loaded {
		err := b.txns.ImplicitAdd(ctx, id, pid, epoch, tps)
		return txnCode(err), err
	}
	resp, err := b.askCoordinator(ctx, id, pid, epoch, tps, false)
	if err != nil {
		return kerr.CoordinatorNotAvailable.Code, err
	}
	if resp.ErrorCode != 0 {
		return resp.ErrorCode, kerr.ErrorForCode(resp.ErrorCode)
	}
	for _, rtx := range resp.Transactions {
		for _, rt := range rtx.Topics {
			for _, rp := range rt.Partitions {
				if rp.ErrorCode != 0 {
					return rp.ErrorCode, kerr.ErrorForCode(rp.ErrorCode) // one error for them all
				}
			}
		}
	}
	return 0, nil
}

// askCoordinator sends AddPartitionsToTxn v5 for tps (verify_only as
// given) to the broker leading id's __transaction_state partition.
func (b *Broker) askCoordinator(ctx context.Context, id string, pid int64, epoch int16, tps []txn.TopicPartition, verifyOnly bool) (*kmsg.AddPartitionsToTxnResponse, error) {
	p := b.txns.PartitionFor(id)
	br, _, err := b.leaderEndpoint(txn.StateTopic, p, b.peers.listener, ErrTxnVerifyUnavailable)
	if err != nil {
		return nil, fmt.Errorf("transaction %q: %w", id, err)
	}
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 5
	tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
	tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, tx.VerifyOnly = id, pid, epoch, verifyOnly
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
		return nil, fmt.Errorf("%w: transaction %q with broker %d: %w", ErrTxnVerifyUnavailable, id, br.ID, err)
	}
	resp, ok := kresp.(*kmsg.AddPartitionsToTxnResponse)
	if !ok {
		return nil, fmt.Errorf("%w: broker %d answered %T", ErrTxnVerifyUnavailable, br.ID, kresp)
	}
	return resp, nil
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
	resp, err := b.askCoordinator(ctx, id, pid, epoch, tps, true)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
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
