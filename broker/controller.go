package broker

import (
	"context"

	"github.com/zkraft/zkraft/metadata"
)

// Controller is the broker's view of the active controller: the small set of
// writes a broker forwards on behalf of clients. It is implemented by the
// quorum (its client, in process.roles=broker) and by the ZooKeeper backend
// (metadata/zk); the broker never imports them.
//
// Contract:
//   - Every method may block on the network and must return once ctx is done.
//   - CreateTopics and DeleteTopics return one error per input, in input
//     order (nil = success). They return only after the resulting records
//     have been applied to this node's image, so a Metadata request that
//     follows sees the change. Errors are typed metadata errors (wrapped with
//     %w) or a *kerr.Error the implementation chose; anything else becomes
//     UNKNOWN_SERVER_ERROR at the handler edge.
//   - validateOnly = true runs every check and writes nothing.
//   - AllocateProducerIDs hands this broker a fresh block [first, first+count)
//     of producer ids that no other broker will ever receive.
//   - Safe for concurrent use.
type Controller interface {
	CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error
	DeleteTopics(ctx context.Context, names []string) []error
	AllocateProducerIDs(ctx context.Context, brokerID int32) (first int64, count int64, err error)
}
