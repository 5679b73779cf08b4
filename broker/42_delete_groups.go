package broker

// DeleteGroups (key 42), versions 0-2.
//
// Handled by the group coordinator: an Empty group's offsets and metadata
// are tombstoned in __consumer_offsets; a group with members answers
// NON_EMPTY_GROUP.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDeleteGroups(ctx context.Context, _ *network.Request, body *kmsg.DeleteGroupsRequest) (kmsg.Response, error) {
	return b.groups.DeleteGroups(ctx, body), nil
}
