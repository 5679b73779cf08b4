package txn

import (
	"fmt"
	"time"
)

// StateTopic is the internal topic holding transaction metadata.
const StateTopic = "__transaction_state"

// Config holds the coordinator's settings. Each field names the
// server.properties key it stands for.
type Config struct {
	// NumPartitions is transaction.state.log.num.partitions: how many
	// partitions __transaction_state has, which fixes where each
	// transactional id lives.
	NumPartitions int32
	// MaxTimeout is transaction.max.timeout.ms: the longest
	// transaction.timeout.ms a producer may ask for.
	MaxTimeout time.Duration
	// AbortInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms: how
	// often transactions older than their timeout are aborted.
	AbortInterval time.Duration
	// IDExpiration is transactional.id.expiration.ms: a transactional id
	// with no transaction for this long is forgotten (tombstoned).
	IDExpiration time.Duration
	// ExpireInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms.
	ExpireInterval time.Duration
	// LoadBatchBytes is transaction.state.log.load.buffer.size.
	LoadBatchBytes int32
	// AppendTimeout bounds one append of transaction metadata (Kafka's
	// request.timeout.ms for the coordinator's appends).
	AppendTimeout time.Duration
	// MarkerBackoff is the pause before markers that failed (no leader,
	// NOT_LEADER_OR_FOLLOWER, a broker down) are sent again.
	MarkerBackoff time.Duration
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		NumPartitions:  50,
		MaxTimeout:     15 * time.Minute,
		AbortInterval:  10 * time.Second,
		IDExpiration:   7 * 24 * time.Hour,
		ExpireInterval: time.Hour,
		LoadBatchBytes: 5 << 20,
		AppendTimeout:  5 * time.Second,
		MarkerBackoff:  100 * time.Millisecond,
	}
}

// Validate reports the first bad value, naming its key.
func (c Config) Validate() error {
	switch {
	case c.NumPartitions < 1:
		return fmt.Errorf("%w: transaction.state.log.num.partitions = %d, must be >= 1", ErrInvalidConfig, c.NumPartitions)
	case c.MaxTimeout < time.Millisecond:
		return fmt.Errorf("%w: transaction.max.timeout.ms = %s, must be >= 1 ms", ErrInvalidConfig, c.MaxTimeout)
	case c.AbortInterval < time.Millisecond:
		return fmt.Errorf("%w: transaction.abort.timed.out.transaction.cleanup.interval.ms = %s, must be >= 1 ms", ErrInvalidConfig, c.AbortInterval)
	case c.IDExpiration < time.Millisecond:
		return fmt.Errorf("%w: transactional.id.expiration.ms = %s, must be >= 1 ms", ErrInvalidConfig, c.IDExpiration)
	case c.ExpireInterval < time.Millisecond:
		return fmt.Errorf("%w: transaction.remove.expired.transaction.cleanup.interval.ms = %s, must be >= 1 ms", ErrInvalidConfig, c.ExpireInterval)
	case c.LoadBatchBytes < 1:
		return fmt.Errorf("%w: transaction.state.log.load.buffer.size = %d, must be >= 1", ErrInvalidConfig, c.LoadBatchBytes)
	case c.AppendTimeout <= 0:
		return fmt.Errorf("%w: AppendTimeout = %s, must be > 0", ErrInvalidConfig, c.AppendTimeout)
	case c.MarkerBackoff <= 0:
		return fmt.Errorf("%w: MarkerBackoff = %s, must be > 0", ErrInvalidConfig, c.MarkerBackoff)
	}
	return nil
}
