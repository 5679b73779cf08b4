package broker

// Heartbeat (key 12), versions 0-4.
//
// Handled by the group coordinator: restarts the member's session timeout;
// REBALANCE_IN_PROGRESS tells it to rejoin.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleHeartbeat(ctx context.Context, _ *network.Request, body *kmsg.HeartbeatRequest) (kmsg.Response, error) {
	return b.groups.Heartbeat(ctx, body), nil
}
