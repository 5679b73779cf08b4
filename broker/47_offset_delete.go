package broker

// OffsetDelete (key 47), version 0.
//
// Handled by the group coordinator (KIP-496): tombstones the offsets of
// topics no member subscribes to; subscribed ones answer
// GROUP_SUBSCRIBED_TO_TOPIC.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleOffsetDelete(ctx context.Context, _ *network.Request, body *kmsg.OffsetDeleteRequest) (kmsg.Response, error) {
	return b.groups.OffsetDelete(ctx, body), nil
}
