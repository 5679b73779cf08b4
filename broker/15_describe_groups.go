package broker

// DescribeGroups (key 15), versions 0-5.
//
// Handled by the group coordinator: state, protocol and members (with
// metadata and assignment once Stable). Unknown groups answer state Dead.
// Authorized operations are not computed (no ACLs).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeGroups(ctx context.Context, _ *network.Request, body *kmsg.DescribeGroupsRequest) (kmsg.Response, error) {
	return b.groups.DescribeGroups(ctx, body), nil
}
