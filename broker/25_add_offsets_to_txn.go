package broker

// AddOffsetsToTxn (key 25), versions 0-4.
//
// Adds the __consumer_offsets partition of the group to the transaction,
// so the commit or abort marker reaches the group coordinator and the
// group's TxnOffsetCommit offsets become visible (or are dropped) with the
// transaction. WRITE on the TRANSACTIONAL_ID (else
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and READ on the group (else
// GROUP_AUTHORIZATION_FAILED) are needed; PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH before v2.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleAddOffsetsToTxn(ctx context.Context, nreq *network.Request, req *kmsg.AddOffsetsToTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	var err error
	switch {
	case !b.authorized(nreq, resTransactionalID, req.TransactionalID, opWrite):
		err = fmt.Errorf("%w: WRITE on transactional id %q", ErrTransactionalIDAuthorization, req.TransactionalID)
	case !b.authorized(nreq, resGroup, req.Group, opRead):
		err = fmt.Errorf("%w: READ on group %q", ErrGroupAuthorization, req.Group)
	default:
		tp := txn.TopicPartition{Topic: group.OffsetsTopic, Partition: b.groups.PartitionFor(req.Group)}
		err = b.txns.AddPartitions(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, []txn.TopicPartition{tp})
	}
	resp.ErrorCode = txn.FencedCode(txnCode(err), req.Version, 2)
	return resp, nil
}
