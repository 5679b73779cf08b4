package replica

import "errors"

// Sentinel errors of this package, wrapped with facts. Errors returned
// through the broker's Replication seam wrap the broker's sentinels instead
// (broker.ErrNotLeader, broker.ErrNotEnoughReplicasAfterAppend), so the
// handler picks the Kafka code from its one table.
var (
	ErrInvalidConfig = errors.New("replica: invalid config")
	ErrClosed        = errors.New("replica: manager closed")
	ErrFetch         = errors.New("replica: fetch from leader failed")
)
