package broker

// InitProducerId (key 22), versions 0-4.
//
// Idempotent producers only: a request without a transactional id gets a
// fresh producer id with epoch 0 (the producer id/epoch of v3+ requests is
// ignored, as Kafka does for non-transactional producers). Ids come from
// blocks the controller hands this broker (Controller.AllocateProducerIDs,
// 1000 at a time), so no two brokers ever give out the same id. A failing
// allocation answers COORDINATOR_LOAD_IN_PROGRESS (retriable) unless the
// controller chose a Kafka error itself.
//
// With a transactional id the transaction coordinator answers
// (txn.Coordinator.InitProducerID, broker/txn): WRITE on the
// TRANSACTIONAL_ID is needed (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
// the first call gets a new producer id at epoch 0, later ones bump the
// epoch (fencing the previous instance; a new id once the epoch is
// exhausted), an ongoing transaction is aborted first
// (CONCURRENT_TRANSACTIONS until it is), v3+ producer id/epoch are
// checked (KIP-360), a timeout above transaction.max.timeout.ms is
// INVALID_TRANSACTION_TIMEOUT, and PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH before v4. An empty transactional id is
// INVALID_REQUEST.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleInitProducerID(ctx context.Context, nreq *network.Request, req *kmsg.InitProducerIDRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	var err error
	var pid int64
	switch {
	case req.TransactionalID != nil && *req.TransactionalID == "":
		err = fmt.Errorf("%w: empty transactional id", ErrInvalidRequest)
	case req.TransactionalID != nil:
		return b.initTransactionalProducerID(ctx, nreq, req, resp), nil
	case b.authorizing() && !b.authorizedQuietly(nreq, resCluster, metadata.ClusterResourceName, opIdempotentWrite) &&
		!b.authorizedAnyTopic(nreq, opWrite):
		// Kafka 3.x: IDEMPOTENT_WRITE on the cluster, or WRITE on any
		// topic (KIP-679).
		err = fmt.Errorf("%w: IDEMPOTENT_WRITE on the cluster or WRITE on a topic", ErrClusterAuthorization)
	default:
		pid, err = b.nextProducerID(ctx)
	}
	if err != nil {
		resp.ErrorCode = errorCode(err)
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = pid, 0
	return resp, nil
}

// nextProducerID hands out the next id of the current block, fetching a
// new block from the controller when it is used up. One caller at a time
// fetches; the others wait for it or for their ctx.
func (b *Broker) nextProducerID(ctx context.Context) (int64, error) {
	select {
	case b.pidSem <- struct{}{}:
	case <-ctx.Done():
		return -1, fmt.Errorf("%w: waiting for a producer id block: %w", ErrProducerIDsUnavailable, ctx.Err())
	}
	defer func() { <-b.pidSem }()
	if b.pidNext >= b.pidEnd {
		cctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
		first, count, err := b.ctrl.AllocateProducerIDs(cctx, b.cfg.NodeID)
		cancel()
		if err == nil && (first < 0 || count <= 0) {
			err = fmt.Errorf("controller returned block [%d, +%d)", first, count)
		}
		if err != nil {
			if answer := (*kerr.Error)(nil); errors.As(err, &answer) {
				// The controller's own answer (NOT_CONTROLLER, ...) is
				// passed on as it is.
				return -1, fmt.Errorf("allocate producer ids: %w", err)
			}
			return -1, fmt.Errorf("%w: %w", ErrProducerIDsUnavailable, err)
		}
		b.pidNext, b.pidEnd = first, first+count
		b.logger.Info("got producer id block", zap.Int64("first", first), zap.Int64("count", count))
	}
	pid := b.pidNext
	b.pidNext++
	return pid, nil
}

// initTransactionalProducerID is InitProducerId for a transactional id.
func (b *Broker) initTransactionalProducerID(ctx context.Context, nreq *network.Request, req *kmsg.InitProducerIDRequest, resp *kmsg.InitProducerIDResponse) *kmsg.InitProducerIDResponse {
	id := *req.TransactionalID
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if !b.authorized(nreq, resTransactionalID, id, opWrite) {
		resp.ErrorCode = errorCode(ErrTransactionalIDAuthorization)
		return resp
	}
	expected := txn.ProducerIDAndEpoch{ProducerID: -1, Epoch: -1}
	if req.Version >= 3 {
		expected = txn.ProducerIDAndEpoch{ProducerID: req.ProducerID, Epoch: req.ProducerEpoch}
	}
	got, err := b.txns.InitProducerID(ctx, id, time.Duration(req.TransactionTimeoutMillis)*time.Millisecond, expected)
	if err != nil {
		b.logger.Debug("init transactional producer id", zap.String("transactional_id", id), zap.Error(err))
		resp.ErrorCode = txn.FencedCode(txnCode(err), req.Version, 4)
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = got.ProducerID, got.Epoch
	return resp
}
