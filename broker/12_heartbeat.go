package broker

// Heartbeat (key 12), versions 0-4.
//
// Handled by the group coordinator: restarts the member's session timeout;
// REBALANCE_IN_PROGRESS tells it to rejoin.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleHeartbeat(ctx context.Context, req *network.Request, body *kmsg.HeartbeatRequest) (kmsg.Response, error) {
	if !b.authorized(req, resGroup, body.Group, opRead) {
		resp := body.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	return b.groups.Heartbeat(ctx, body), nil
}
