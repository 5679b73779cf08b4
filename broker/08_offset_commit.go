package broker

// OffsetCommit (key 8), versions 0-8.
//
// Handled by the group coordinator (broker/group): a member commits at its
// generation, a "simple" commit (generation -1, v0) while the group has no
// members. The offsets are appended to the group's __consumer_offsets
// partition (acks=all) before the answer. v9+ (KIP-848 member epochs) is
// not offered.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleOffsetCommit(ctx context.Context, _ *network.Request, body *kmsg.OffsetCommitRequest) (kmsg.Response, error) {
	return b.groups.OffsetCommit(ctx, body), nil
}
