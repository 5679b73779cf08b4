package replica_test

import (
	"testing"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/metadata/network"
)

// Manager is the broker's replication seam; the broker tree's arrow goes
// from the test, not from the package.
var (
	_ broker.Replication      = (*replica.Manager)(nil)
	_ broker.ReplicaPublisher = (*replica.Manager)(nil)
	_ broker.FollowerTracker  = (*replica.Manager)(nil)
)

// TestSeamErrorCodes: the errors WaitCommitted returns are answered with the
// same Kafka codes as the broker's own sentinels for the same situations.
func TestSeamErrorCodes(t *testing.T) {
	for _, tc := range []struct{ ours, brokers error }{
		{replica.ErrNotLeader, broker.ErrNotLeader},
		{replica.ErrNotEnoughReplicasAfterAppend, broker.ErrNotEnoughReplicasAfterAppend},
	} {
		if got, want := network.ErrorCode(tc.ours), network.ErrorCode(tc.brokers); got != want {
			t.Errorf("%v: code %d, want %d (as %v)", tc.ours, got, want, tc.brokers)
		}
	}
}
