package broker

import (
	"fmt"
	"time"

	"github.com/zkraft/zkraft/broker/acl"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// Config holds the broker settings the request handlers need. Each field
// names the server.properties key it comes from.
type Config struct {
	// NodeID is node.id (broker.id): this broker's id in every image.
	NodeID int32
	// ClusterID is cluster.id, answered in Metadata when the image carries
	// no cluster id of its own.
	ClusterID string
	// Listeners are the advertised listeners (advertised.listeners). They
	// are reported by DescribeConfigs; the Metadata answer comes from the
	// broker registrations in the image, which cmd fills from the same list.
	Listeners []metadata.Endpoint
	// AutoCreateTopics is auto.create.topics.enable: Metadata (when the
	// request allows it) and Produce create unknown topics.
	AutoCreateTopics bool
	// NumPartitions is num.partitions, used for auto-created topics and for
	// CreateTopics with num_partitions = -1.
	NumPartitions int32
	// DefaultReplicationFactor is default.replication.factor, used like
	// NumPartitions.
	DefaultReplicationFactor int16
	// MinInsyncReplicas is min.insync.replicas: an acks=all produce to a
	// partition whose ISR is smaller fails with NOT_ENOUGH_REPLICAS. A topic
	// override of the same name wins.
	MinInsyncReplicas int32
	// MessageMaxBytes is message.max.bytes: the largest record batch a
	// producer may send (topic override: max.message.bytes).
	MessageMaxBytes int32
	// LogSegmentBytes, LogRetentionMs and LogRetentionBytes are
	// log.segment.bytes, log.retention.ms and log.retention.bytes: the
	// defaults DescribeConfigs reports for topics without overrides. They
	// must equal what the storage.Manager was opened with (cmd wires both
	// from one file). -1 = unlimited for the retention keys.
	LogSegmentBytes   int64
	LogRetentionMs    int64
	LogRetentionBytes int64
	// LogMessageTimestampType is log.message.timestamp.type, "CreateTime"
	// or "LogAppendTime": the default of the topic config
	// message.timestamp.type, which decides whether the broker stamps
	// appended batches with its own clock.
	LogMessageTimestampType string
	// LogCleanupPolicy is log.cleanup.policy ("delete", "compact" or
	// both, comma-separated), LogCleanerDeleteRetentionMs
	// log.cleaner.delete.retention.ms and LogCleanerMinCleanableRatio
	// log.cleaner.min.cleanable.ratio: the defaults of the topic configs
	// cleanup.policy, delete.retention.ms and min.cleanable.dirty.ratio.
	LogCleanupPolicy            string
	LogCleanerDeleteRetentionMs int64
	LogCleanerMinCleanableRatio float64
	// CompressionType is compression.type, the default of the topic config
	// of the same name: "producer" keeps the producer's codec,
	// "uncompressed", "gzip", "snappy", "lz4" or "zstd" recompress every
	// produced batch (storage/compression.go).
	CompressionType string
	// StaticKeys are the broker keys the server.properties file (or a
	// flag) set: DescribeConfigs names them STATIC_BROKER_CONFIG even
	// when the value equals Kafka's default (a key not listed is
	// STATIC_BROKER_CONFIG only when its value differs from the default).
	StaticKeys map[string]bool
	// UncleanLeaderElection is unclean.leader.election.enable: only
	// reported here (DescribeConfigs); the controller and replication
	// apply it.
	UncleanLeaderElection bool
	// MaxFetchWait caps a fetch's max_wait_ms so a client cannot park a
	// request for longer (replica.fetch.wait.max.ms is the Kafka analogue).
	MaxFetchWait time.Duration
	// ControllerTimeout bounds a call to the Controller made for a request
	// that carries no timeout of its own (auto-create, producer ids).
	ControllerTimeout time.Duration
	// OffsetsTopicNumPartitions is offsets.topic.num.partitions: the
	// partition count of __consumer_offsets, created on first use.
	OffsetsTopicNumPartitions int32
	// OffsetsTopicReplicationFactor is offsets.topic.replication.factor,
	// capped (with a warning) to the live brokers when the topic is created.
	OffsetsTopicReplicationFactor int16
	// GroupInitialRebalanceDelay is group.initial.rebalance.delay.ms: how
	// long an empty group's first rebalance waits for more members.
	GroupInitialRebalanceDelay time.Duration
	// TransactionStateNumPartitions, TransactionStateReplicationFactor,
	// TransactionStateMinISR and TransactionStateSegmentBytes are
	// transaction.state.log.num.partitions, .replication.factor (capped to
	// the live brokers), .min.isr (capped to the replication factor) and
	// .segment.bytes: how __transaction_state is created on first use.
	TransactionStateNumPartitions     int32
	TransactionStateReplicationFactor int16
	TransactionStateMinISR            int32
	TransactionStateSegmentBytes      int64
	// TransactionMaxTimeout is transaction.max.timeout.ms: the longest
	// transaction.timeout.ms InitProducerId accepts.
	TransactionMaxTimeout time.Duration
	// TransactionAbortInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms.
	TransactionAbortInterval time.Duration
	// TransactionalIDExpiration is transactional.id.expiration.ms and
	// TransactionExpireInterval
	// transaction.remove.expired.transaction.cleanup.interval.ms.
	TransactionalIDExpiration time.Duration
	TransactionExpireInterval time.Duration
	// TransactionVersion is zkraft.transaction.version: the finalized level
	// of Kafka's transaction.version feature that ApiVersions reports
	// (0-2). At 2 clients that look for it (franz-go 1.22, the Java
	// producer 4.0) run KIP-890 part 2: Produce v12 without
	// AddPartitionsToTxn, TxnOffsetCommit v5 without AddOffsetsToTxn,
	// EndTxn v5 bumping the epoch. The broker serves every version at any
	// level; the level only tells clients which protocol to use.
	TransactionVersion int16
	// FetchSessionCacheSlots is max.incremental.fetch.session.cache.slots:
	// how many fetch sessions (KIP-227) the broker keeps; 0 = none (every
	// fetch is full).
	FetchSessionCacheSlots int
	// Authorize is on when authorizer.class.name names one of Kafka's
	// authorizers (acl.KnownAuthorizer): every handler then checks the
	// request's principal against the image's ACLs (authorize.go).
	Authorize bool
	// ACL is super.users and allow.everyone.if.no.acl.found (used only
	// with Authorize).
	ACL acl.Config
}

// The values of message.timestamp.type and log.message.timestamp.type.
const (
	timestampCreateTime    = "CreateTime"
	timestampLogAppendTime = "LogAppendTime"
)

// DefaultConfig returns Kafka's defaults for a single broker with id 1.
func DefaultConfig() Config {
	return Config{
		NodeID:                   1,
		AutoCreateTopics:         true,
		NumPartitions:            1,
		DefaultReplicationFactor: 1,
		MinInsyncReplicas:        1,
		MessageMaxBytes:          1048588,
		LogSegmentBytes:          1 << 30,
		LogRetentionMs:           7 * 24 * 60 * 60 * 1000,
		LogRetentionBytes:        -1,
		LogMessageTimestampType:  timestampCreateTime,

		LogCleanupPolicy:            storage.PolicyDelete,
		LogCleanerDeleteRetentionMs: storage.DefaultDeleteRetentionMs,
		LogCleanerMinCleanableRatio: storage.DefaultMinCleanableDirtyRatio,
		CompressionType:             storage.CompressionProducer,
		MaxFetchWait:                30 * time.Second,
		ControllerTimeout:           30 * time.Second,

		OffsetsTopicNumPartitions:     50,
		OffsetsTopicReplicationFactor: 3,
		GroupInitialRebalanceDelay:    3 * time.Second,
		FetchSessionCacheSlots:        1000,

		TransactionStateNumPartitions:     50,
		TransactionStateReplicationFactor: 3,
		TransactionStateMinISR:            2,
		TransactionStateSegmentBytes:      100 << 20,
		TransactionMaxTimeout:             15 * time.Minute,
		TransactionAbortInterval:          10 * time.Second,
		TransactionalIDExpiration:         7 * 24 * time.Hour,
		TransactionExpireInterval:         time.Hour,
		TransactionVersion:                2,
	}
}

// Validate reports the first bad value, naming its key.
func (c Config) Validate() error {
	switch {
	case c.NodeID < 0:
		return fmt.Errorf("%w: node.id = %d, must be >= 0", ErrInvalidConfig, c.NodeID)
	case c.NumPartitions < 1:
		return fmt.Errorf("%w: num.partitions = %d, must be >= 1", ErrInvalidConfig, c.NumPartitions)
	case c.DefaultReplicationFactor < 1:
		return fmt.Errorf("%w: default.replication.factor = %d, must be >= 1", ErrInvalidConfig, c.DefaultReplicationFactor)
	case c.MinInsyncReplicas < 1:
		return fmt.Errorf("%w: min.insync.replicas = %d, must be >= 1", ErrInvalidConfig, c.MinInsyncReplicas)
	case c.MessageMaxBytes < 1:
		return fmt.Errorf("%w: message.max.bytes = %d, must be >= 1", ErrInvalidConfig, c.MessageMaxBytes)
	case c.LogSegmentBytes < 14:
		return fmt.Errorf("%w: log.segment.bytes = %d, must be >= 14", ErrInvalidConfig, c.LogSegmentBytes)
	case c.LogRetentionMs < -1:
		return fmt.Errorf("%w: log.retention.ms = %d, must be >= -1", ErrInvalidConfig, c.LogRetentionMs)
	case c.LogRetentionBytes < -1:
		return fmt.Errorf("%w: log.retention.bytes = %d, must be >= -1", ErrInvalidConfig, c.LogRetentionBytes)
	case c.LogMessageTimestampType != timestampCreateTime && c.LogMessageTimestampType != timestampLogAppendTime:
		return fmt.Errorf("%w: log.message.timestamp.type = %q, must be CreateTime or LogAppendTime", ErrInvalidConfig, c.LogMessageTimestampType)
	case c.LogCleanerDeleteRetentionMs < 0:
		return fmt.Errorf("%w: log.cleaner.delete.retention.ms = %d, must be >= 0", ErrInvalidConfig, c.LogCleanerDeleteRetentionMs)
	case !(c.LogCleanerMinCleanableRatio >= 0 && c.LogCleanerMinCleanableRatio <= 1):
		return fmt.Errorf("%w: log.cleaner.min.cleanable.ratio = %v, must be between 0 and 1", ErrInvalidConfig, c.LogCleanerMinCleanableRatio)
	case c.MaxFetchWait <= 0:
		return fmt.Errorf("%w: MaxFetchWait = %s, must be > 0", ErrInvalidConfig, c.MaxFetchWait)
	case c.ControllerTimeout <= 0:
		return fmt.Errorf("%w: ControllerTimeout = %s, must be > 0", ErrInvalidConfig, c.ControllerTimeout)
	case c.OffsetsTopicNumPartitions < 1:
		return fmt.Errorf("%w: offsets.topic.num.partitions = %d, must be >= 1", ErrInvalidConfig, c.OffsetsTopicNumPartitions)
	case c.OffsetsTopicReplicationFactor < 1:
		return fmt.Errorf("%w: offsets.topic.replication.factor = %d, must be >= 1", ErrInvalidConfig, c.OffsetsTopicReplicationFactor)
	case c.TransactionStateNumPartitions < 1:
		return fmt.Errorf("%w: transaction.state.log.num.partitions = %d, must be >= 1", ErrInvalidConfig, c.TransactionStateNumPartitions)
	case c.TransactionStateReplicationFactor < 1:
		return fmt.Errorf("%w: transaction.state.log.replication.factor = %d, must be >= 1", ErrInvalidConfig, c.TransactionStateReplicationFactor)
	case c.TransactionStateMinISR < 1:
		return fmt.Errorf("%w: transaction.state.log.min.isr = %d, must be >= 1", ErrInvalidConfig, c.TransactionStateMinISR)
	case c.TransactionStateSegmentBytes < 14:
		return fmt.Errorf("%w: transaction.state.log.segment.bytes = %d, must be >= 14", ErrInvalidConfig, c.TransactionStateSegmentBytes)
	case c.TransactionVersion < 0 || c.TransactionVersion > MaxTransactionVersion:
		return fmt.Errorf("%w: zkraft.transaction.version = %d, must be 0 to %d", ErrInvalidConfig, c.TransactionVersion, MaxTransactionVersion)
	case c.TransactionMaxTimeout < time.Millisecond:
		return fmt.Errorf("%w: transaction.max.timeout.ms = %s, must be >= 1 ms", ErrInvalidConfig, c.TransactionMaxTimeout)
	case c.TransactionAbortInterval < time.Millisecond:
		return fmt.Errorf("%w: transaction.abort.timed.out.transaction.cleanup.interval.ms = %s, must be >= 1 ms", ErrInvalidConfig, c.TransactionAbortInterval)
	case c.TransactionalIDExpiration < time.Millisecond:
		return fmt.Errorf("%w: transactional.id.expiration.ms = %s, must be >= 1 ms", ErrInvalidConfig, c.TransactionalIDExpiration)
	case c.TransactionExpireInterval < time.Millisecond:
		return fmt.Errorf("%w: transaction.remove.expired.transaction.cleanup.interval.ms = %s, must be >= 1 ms", ErrInvalidConfig, c.TransactionExpireInterval)
	case c.FetchSessionCacheSlots < 0:
		return fmt.Errorf("%w: max.incremental.fetch.session.cache.slots = %d, must be >= 0", ErrInvalidConfig, c.FetchSessionCacheSlots)
	case c.GroupInitialRebalanceDelay < 0:
		return fmt.Errorf("%w: group.initial.rebalance.delay.ms = %s, must be >= 0", ErrInvalidConfig, c.GroupInitialRebalanceDelay)
	}
	if err := metadata.ValidateTopicConfigs(map[string]string{
		"cleanup.policy": c.LogCleanupPolicy, "compression.type": c.CompressionType}); err != nil {
		return fmt.Errorf("%w: log.cleanup.policy = %q, compression.type = %q: %w", ErrInvalidConfig,
			c.LogCleanupPolicy, c.CompressionType, err)
	}
	if c.Authorize {
		if err := c.ACL.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	for i, l := range c.Listeners {
		if l.Name == "" || l.Host == "" {
			return fmt.Errorf("%w: advertised.listeners[%d] = %q://%s:%d, needs a name and a host",
				ErrInvalidConfig, i, l.Name, l.Host, l.Port)
		}
	}
	return nil
}
