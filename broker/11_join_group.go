package broker

// JoinGroup (key 11), versions 0-9.
//
// Handled by the group coordinator (broker/group): blocks until the join
// phase ends (bound to the request context), then answers the generation,
// the chosen protocol and, to the leader, every member's protocol metadata
// untouched. v4+ answers a new member MEMBER_ID_REQUIRED first (KIP-394);
// v5+ carries group.instance.id (static membership, KIP-345); v9 tells a
// rejoining static leader to skip the assignment.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleJoinGroup(ctx context.Context, req *network.Request, body *kmsg.JoinGroupRequest) (kmsg.Response, error) {
	if !b.authorized(req, resGroup, body.Group, opRead) {
		resp := body.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation = kerr.GroupAuthorizationFailed.Code, -1
		return resp, nil
	}
	return b.groups.JoinGroup(ctx, groupClient(req.ClientID, req.RemoteAddr), body), nil
}
