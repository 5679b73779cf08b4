package broker

// EndTxn (key 26), versions 0-5.
//
// Commits or aborts the producer's transaction (txn.Coordinator.EndTxn):
// the answer comes once PrepareCommit/PrepareAbort is written to
// __transaction_state; the markers and the Complete* record follow in the
// background, and until then the transactional id answers
// CONCURRENT_TRANSACTIONS. WRITE on the TRANSACTIONAL_ID is needed;
// PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2. A v5 request
// (KIP-890 part 2) bumps the epoch with every transaction, aborts an empty
// one too, and the answer carries the producer id and epoch to go on with
// (a new producer id at epoch 0 once the epoch is exhausted); a retry is
// recognized by its epoch being one below the current one.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleEndTxn(ctx context.Context, nreq *network.Request, req *kmsg.EndTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if !b.authorized(nreq, resTransactionalID, req.TransactionalID, opWrite) {
		resp.ErrorCode = errorCode(fmt.Errorf("%w: WRITE on transactional id %q", ErrTransactionalIDAuthorization, req.TransactionalID))
		return resp, nil
	}
	got, err := b.txns.EndTxn(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit, req.Version >= 5)
	resp.ErrorCode = txn.FencedCode(txnCode(err), req.Version, 2)
	if err == nil && req.Version >= 5 {
		resp.ProducerID, resp.ProducerEpoch = got.ProducerID, got.Epoch
	}
	return resp, nil
}
