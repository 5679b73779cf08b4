package broker

// FindCoordinator (key 10), versions 0-4.
//
// Answers the broker leading the __consumer_offsets partition of a group id
// (abs(Java String.hashCode(id)) % offsets.topic.num.partitions), creating
// the topic on first use. v4 batches keys (KIP-699). Key type 1 finds the
// transaction coordinator of a transactional id the same way on
// __transaction_state (transaction.state.log.num.partitions; DESCRIBE on
// the TRANSACTIONAL_ID, an empty id is INVALID_REQUEST). While the topic has
// no leader for the partition the answer is COORDINATOR_NOT_AVAILABLE.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleFindCoordinator(ctx context.Context, req *network.Request, body *kmsg.FindCoordinatorRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.FindCoordinatorResponse)
	find := func(key string) (nodeID int32, host string, port int32, err error) {
		switch body.CoordinatorType {
		case 0:
		case 1:
			if key == "" {
				return -1, "", -1, fmt.Errorf("%w: empty transactional id", ErrInvalidRequest)
			}
			if !b.authorized(req, resTransactionalID, key, opDescribe) {
				return -1, "", -1, fmt.Errorf("%w: DESCRIBE on transactional id %q", ErrTransactionalIDAuthorization, key)
			}
			br, ep, err := b.txnCoordinatorFor(ctx, req.Listener, key)
			if err != nil {
				return -1, "", -1, err
			}
			return br.ID, ep.Host, int32(ep.Port), nil
		default:
			return -1, "", -1, fmt.Errorf("%w: coordinator type %d", ErrInvalidRequest, body.CoordinatorType)
		}
		if key == "" {
			return -1, "", -1, fmt.Errorf("%w: empty group id", group.ErrInvalidGroupID)
		}
		if !b.authorized(req, resGroup, key, opDescribe) {
			return -1, "", -1, fmt.Errorf("%w: DESCRIBE on group %q", ErrGroupAuthorization, key)
		}
		br, ep, err := b.coordinatorFor(ctx, req.Listener, key)
		if err != nil {
			return -1, "", -1, err
		}
		return br.ID, ep.Host, int32(ep.Port), nil
	}
	// An error no table names is one the client can only retry after
	// looking the coordinator up again, as in the coordinator itself.
	code := func(err error) int16 {
		if c := errorCode(err); c != kerr.UnknownServerError.Code {
			return c
		}
		return kerr.CoordinatorNotAvailable.Code
	}
	if body.Version < 4 {
		id, host, port, err := find(body.CoordinatorKey)
		resp.NodeID, resp.Host, resp.Port = id, host, port
		resp.ErrorCode = code(err)
		if body.Version >= 1 {
			resp.ErrorMessage = errorMessage(err)
		}
		return resp, nil
	}
	for _, key := range body.CoordinatorKeys {
		id, host, port, err := find(key)
		rc := kmsg.NewFindCoordinatorResponseCoordinator()
		rc.Key, rc.NodeID, rc.Host, rc.Port = key, id, host, port
		rc.ErrorCode, rc.ErrorMessage = code(err), errorMessage(err)
		resp.Coordinators = append(resp.Coordinators, rc)
	}
	return resp, nil
}
