package replica

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
)

// Sentinel errors of this package, wrapped with facts. The two that
// WaitCommitted returns through the broker's Replication seam carry their
// Kafka code (network.NewError), so the produce handler answers them
// without knowing this package.
var (
	ErrInvalidConfig = errors.New("replica: invalid config")
	ErrClosed        = errors.New("replica: manager closed")
	ErrFetch         = errors.New("replica: fetch from leader failed")
	// ErrNotLeader: this broker does not lead the partition (any more), or
	// leads it in another epoch than the append's.
	ErrNotLeader = network.NewError("replica: not leader or follower", kerr.NotLeaderForPartition)
	// ErrNotEnoughReplicasAfterAppend: the high watermark reached the
	// append with an ISR smaller than min.insync.replicas.
	ErrNotEnoughReplicasAfterAppend = network.NewError("replica: not enough in-sync replicas after append", kerr.NotEnoughReplicasAfterAppend)
)
