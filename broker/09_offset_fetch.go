package broker

// OffsetFetch (key 9), versions 0-8.
//
// Handled by the group coordinator: committed offsets of the requested
// partitions (or all, with null topics at v2+), -1 where none is
// committed. v8 batches groups (KIP-709). RequireStable (v7) needs no
// wait: there are no transactional offset commits.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleOffsetFetch(ctx context.Context, _ *network.Request, body *kmsg.OffsetFetchRequest) (kmsg.Response, error) {
	return b.groups.OffsetFetch(ctx, body), nil
}
