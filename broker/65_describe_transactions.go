package broker

// DescribeTransactions (key 65), version 0.
//
// Describes each transactional id this broker coordinates: state,
// producer id and epoch, timeout, start time and partitions (only those of
// topics the principal may DESCRIBE). DESCRIBE on the TRANSACTIONAL_ID is
// needed (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an id coordinated
// elsewhere is NOT_COORDINATOR, one still loading
// COORDINATOR_LOAD_IN_PROGRESS, an unknown one TRANSACTIONAL_ID_NOT_FOUND.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeTransactions(_ context.Context, nreq *network.Request, req *kmsg.DescribeTransactionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.ProducerEpoch, st.StartTimestamp = id, -1, -1, -1
		if !b.authorized(nreq, resTransactionalID, id, opDescribe) {
			st.ErrorCode = errorCode(ErrTransactionalIDAuthorization)
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		d, err := b.txns.Describe(id)
		if err != nil {
			st.ErrorCode = txnCode(err)
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		st.State, st.ProducerID, st.ProducerEpoch = d.State.String(), d.ProducerID, d.Epoch
		st.TimeoutMillis, st.StartTimestamp = d.TimeoutMs, d.StartMs
		for _, tp := range d.Partitions {
			if !b.authorizedQuietly(nreq, resTopic, tp.Topic, opDescribe) {
				continue
			}
			if n := len(st.Topics); n == 0 || st.Topics[n-1].Topic != tp.Topic {
				t := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
				t.Topic = tp.Topic
				st.Topics = append(st.Topics, t)
			}
			t := &st.Topics[len(st.Topics)-1]
			t.Partitions = append(t.Partitions, tp.Partition)
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp, nil
}
