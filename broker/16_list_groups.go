package broker

// ListGroups (key 16), versions 0-5.
//
// Handled by the group coordinator: the groups whose offsets partition this
// broker leads, filtered by state (v4) and type (v5, all "classic").

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleListGroups(ctx context.Context, _ *network.Request, body *kmsg.ListGroupsRequest) (kmsg.Response, error) {
	return b.groups.ListGroups(ctx, body), nil
}
