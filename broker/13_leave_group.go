package broker

// LeaveGroup (key 13), versions 0-5.
//
// Handled by the group coordinator: the members leave and the group
// rebalances; v3+ batches members and names static ones by instance id
// (KIP-345).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleLeaveGroup(ctx context.Context, req *network.Request, body *kmsg.LeaveGroupRequest) (kmsg.Response, error) {
	if !b.authorized(req, resGroup, body.Group, opRead) {
		resp := body.ResponseKind().(*kmsg.LeaveGroupResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	return b.groups.LeaveGroup(ctx, body), nil
}
