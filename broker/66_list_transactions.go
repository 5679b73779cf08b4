package broker

// ListTransactions (key 66), versions 0-1.
//
// Lists the transactions this broker coordinates (clients ask every
// broker), keeping only transactional ids the principal may DESCRIBE.
// state_filters and producer_id_filters narrow the list when non-empty;
// unknown state names are echoed in unknown_state_filters; v1's duration
// filter keeps transactions running at least that long (KIP-994).

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleListTransactions(_ context.Context, nreq *network.Request, req *kmsg.ListTransactionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	var states []txn.State
	for _, s := range req.StateFilters {
		st, ok := txn.ParseState(s)
		if !ok {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, s)
			continue
		}
		states = append(states, st)
	}
	if len(req.StateFilters) > 0 && len(states) == 0 {
		return resp, nil // only unknown states: nothing matches
	}
	var minDuration time.Duration
	if req.Version >= 1 && req.DurationFilterMillis > 0 {
		minDuration = time.Duration(req.DurationFilterMillis) * time.Millisecond
	}
	for _, l := range b.txns.List(states, req.ProducerIDFilters, minDuration) {
		if !b.authorizedQuietly(nreq, resTransactionalID, l.ID, opDescribe) {
			continue
		}
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = l.ID, l.ProducerID, l.State.String()
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp, nil
}
