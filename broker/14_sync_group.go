package broker

// SyncGroup (key 14), versions 0-5.
//
// Handled by the group coordinator: the leader's assignment is written to
// __consumer_offsets, then every member gets its part. Waits (bound to the
// request context) until the leader's SyncGroup arrives.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleSyncGroup(ctx context.Context, req *network.Request, body *kmsg.SyncGroupRequest) (kmsg.Response, error) {
	if !b.authorized(req, resGroup, body.Group, opRead) {
		resp := body.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	return b.groups.SyncGroup(ctx, body), nil
}
