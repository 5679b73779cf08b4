package group

import (
	"fmt"
	"time"
)

// OffsetsTopic is the internal topic holding group metadata and offsets.
const OffsetsTopic = "__consumer_offsets"

// Config holds the coordinator's settings. Each field names the
// server.properties key it stands for.
type Config struct {
	// NumPartitions is offsets.topic.num.partitions: how many partitions
	// __consumer_offsets has, which fixes where each group lives.
	NumPartitions int32
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms: how long
	// the first rebalance of an empty group waits for more members, in
	// steps of this length, bounded by the rebalance timeout.
	InitialRebalanceDelay time.Duration
	// MinSessionTimeout and MaxSessionTimeout are
	// group.min.session.timeout.ms and group.max.session.timeout.ms: the
	// range a JoinGroup's session timeout must fall in.
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	// MaxMetadataBytes is offset.metadata.max.bytes: the longest metadata
	// string a commit may carry.
	MaxMetadataBytes int
	// LoadBatchBytes is how much of the offsets log one read asks for while
	// loading a partition (offsets.load.buffer.size).
	LoadBatchBytes int32
	// AppendTimeout bounds an append of coordinator records made for a
	// request (offsets.commit.timeout.ms).
	AppendTimeout time.Duration
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		NumPartitions:         50,
		InitialRebalanceDelay: 3 * time.Second,
		MinSessionTimeout:     6 * time.Second,
		MaxSessionTimeout:     30 * time.Minute,
		MaxMetadataBytes:      4096,
		LoadBatchBytes:        5 << 20,
		AppendTimeout:         5 * time.Second,
	}
}

// Validate reports the first bad value, naming its key.
func (c Config) Validate() error {
	switch {
	case c.NumPartitions < 1:
		return fmt.Errorf("%w: offsets.topic.num.partitions = %d, must be >= 1", ErrInvalidConfig, c.NumPartitions)
	case c.InitialRebalanceDelay < 0:
		return fmt.Errorf("%w: group.initial.rebalance.delay.ms = %s, must be >= 0", ErrInvalidConfig, c.InitialRebalanceDelay)
	case c.MinSessionTimeout <= 0:
		return fmt.Errorf("%w: group.min.session.timeout.ms = %s, must be > 0", ErrInvalidConfig, c.MinSessionTimeout)
	case c.MaxSessionTimeout < c.MinSessionTimeout:
		return fmt.Errorf("%w: group.max.session.timeout.ms = %s, must be >= group.min.session.timeout.ms (%s)",
			ErrInvalidConfig, c.MaxSessionTimeout, c.MinSessionTimeout)
	case c.MaxMetadataBytes < 0:
		return fmt.Errorf("%w: offset.metadata.max.bytes = %d, must be >= 0", ErrInvalidConfig, c.MaxMetadataBytes)
	case c.LoadBatchBytes < 1:
		return fmt.Errorf("%w: offsets.load.buffer.size = %d, must be >= 1", ErrInvalidConfig, c.LoadBatchBytes)
	case c.AppendTimeout <= 0:
		return fmt.Errorf("%w: offsets.commit.timeout.ms = %s, must be > 0", ErrInvalidConfig, c.AppendTimeout)
	}
	return nil
}
