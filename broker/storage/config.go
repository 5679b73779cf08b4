package storage

import (
	"fmt"
	"math"
	"time"
)

// Config configures a Manager. The keys in parentheses are Kafka's
// server.properties names the broker maps onto these fields.
type Config struct {
	// Dirs are the log directories (log.dirs). New partitions go to the one
	// holding the fewest partitions.
	Dirs []string
	// SegmentBytes is the size at which the active segment is rolled
	// (log.segment.bytes, default 1 GiB). At most math.MaxInt32, because
	// index entries hold 32-bit file positions.
	SegmentBytes int64
	// RetentionMs deletes segments whose newest timestamp is older than this
	// (log.retention.ms, default 7 days); -1 = unlimited.
	RetentionMs int64
	// RetentionBytes deletes the oldest segments while a partition is larger
	// (log.retention.bytes, default -1 = unlimited).
	RetentionBytes int64
	// IndexIntervalBytes is the distance in log bytes between two sparse
	// index entries (log.index.interval.bytes, default 4096).
	IndexIntervalBytes int
	// MaxOpenFiles bounds the file handles held by the LRU handle cache
	// (default 2048). Handles in use by a read or append are never evicted,
	// so the bound may be exceeded briefly by the number of concurrent calls.
	MaxOpenFiles int
	// RetentionCheckInterval is how often Start's goroutine applies retention
	// (log.retention.check.interval.ms, default 5 minutes).
	RetentionCheckInterval time.Duration
	// CleanerBackoff is how often Start's cleaner goroutine looks for
	// compacted logs to clean (log.cleaner.backoff.ms; 0 = 15 s).
	CleanerBackoff time.Duration
	// CleanerMaxBytesPerPass bounds the dirty bytes one cleaner pass maps
	// and cleans, summed over its logs (the part of
	// log.cleaner.dedupe.buffer.size it stands for; 0 = 128 MiB).
	CleanerMaxBytesPerPass int64
	// ProducerIDExpiration forgets the state of a producer id without an
	// open transaction whose last batch is older (producer.id.expiration.ms,
	// Kafka's default 1 day; 0 = the default, < 0 never), checked with
	// retention.
	ProducerIDExpiration time.Duration
}

// DefaultProducerIDExpiration is producer.id.expiration.ms's default.
const DefaultProducerIDExpiration = 24 * time.Hour

// DefaultConfig returns Kafka's defaults with a single directory "./data".
func DefaultConfig() Config {
	return Config{
		Dirs:                   []string{"./data"},
		SegmentBytes:           1 << 30,
		RetentionMs:            7 * 24 * 60 * 60 * 1000,
		RetentionBytes:         -1,
		IndexIntervalBytes:     4096,
		MaxOpenFiles:           2048,
		RetentionCheckInterval: 5 * time.Minute,
	}
}

// minSegmentBytes is Kafka's lower bound for log.segment.bytes (14 bytes is
// the legacy record overhead); we require room for one batch header.
const minSegmentBytes = BatchHeaderSize

// Validate reports the first bad value, naming its Kafka key.
func (c Config) Validate() error {
	if len(c.Dirs) == 0 {
		return fmt.Errorf("%w: log.dirs is empty", ErrInvalidConfig)
	}
	seen := make(map[string]bool, len(c.Dirs))
	for _, d := range c.Dirs {
		if d == "" {
			return fmt.Errorf("%w: log.dirs holds an empty path", ErrInvalidConfig)
		}
		if seen[d] {
			return fmt.Errorf("%w: log.dirs names %q twice", ErrInvalidConfig, d)
		}
		seen[d] = true
	}
	if err := c.logConfig().Validate(); err != nil {
		return err
	}
	if c.IndexIntervalBytes < 1 {
		return fmt.Errorf("%w: log.index.interval.bytes=%d, want >= 1", ErrInvalidConfig, c.IndexIntervalBytes)
	}
	if c.MaxOpenFiles < 8 {
		return fmt.Errorf("%w: max open files=%d, want >= 8", ErrInvalidConfig, c.MaxOpenFiles)
	}
	if c.RetentionCheckInterval <= 0 {
		return fmt.Errorf("%w: log.retention.check.interval.ms=%v, want > 0", ErrInvalidConfig, c.RetentionCheckInterval)
	}
	if c.CleanerBackoff < 0 {
		return fmt.Errorf("%w: log.cleaner.backoff.ms=%v, want >= 0", ErrInvalidConfig, c.CleanerBackoff)
	}
	if c.CleanerMaxBytesPerPass < 0 {
		return fmt.Errorf("%w: log.cleaner.dedupe.buffer.size=%d, want >= 0", ErrInvalidConfig, c.CleanerMaxBytesPerPass)
	}
	return nil
}

func (c Config) logConfig() LogConfig {
	return LogConfig{SegmentBytes: c.SegmentBytes, RetentionMs: c.RetentionMs, RetentionBytes: c.RetentionBytes,
		CleanupPolicy: PolicyDelete, DeleteRetentionMs: DefaultDeleteRetentionMs, MinCleanableDirtyRatio: DefaultMinCleanableDirtyRatio}
}

// LogConfig is the per-topic part of the configuration (Kafka's topic-level
// segment.bytes, retention.ms, retention.bytes overrides).
type LogConfig struct {
	SegmentBytes   int64 // segment.bytes
	RetentionMs    int64 // retention.ms, -1 = unlimited
	RetentionBytes int64 // retention.bytes, -1 = unlimited
	// CleanupPolicy is cleanup.policy: "delete", "compact" or
	// "delete,compact" (either order); "" means delete. Compact-only logs
	// ignore retention.ms and retention.bytes, as Kafka's do.
	CleanupPolicy string
	// DeleteRetentionMs is delete.retention.ms: how long a tombstone is
	// kept after the cleaner first saw it.
	DeleteRetentionMs int64
	// MinCleanableDirtyRatio is min.cleanable.dirty.ratio: the cleaner
	// picks the log once dirty bytes / cleanable bytes reach it.
	MinCleanableDirtyRatio float64
	// LogAppendTime is message.timestamp.type=LogAppendTime: Append stamps
	// every batch with the broker's clock (timestamp-type attribute set,
	// max timestamp = append time, CRC recomputed), as Kafka's
	// LogValidator does. false is CreateTime: the producer's timestamps.
	LogAppendTime bool
	// Compression is compression.type: "producer" (or "") keeps the
	// producer's codec, "uncompressed", "gzip", "snappy", "lz4" or "zstd"
	// makes Append recompress every batch in another codec
	// (compression.go).
	Compression string
	// MaxMessageBytes is max.message.bytes: Append (not the coordinator
	// or follower appends) refuses a batch whose length field exceeds it,
	// after recompression, with MESSAGE_TOO_LARGE, as Kafka re-checks the
	// rewritten size (the broker checked the produced size before). 0 =
	// not checked.
	MaxMessageBytes int32
}

// Validate reports the first bad value, naming its Kafka key.
func (c LogConfig) Validate() error {
	if c.SegmentBytes < minSegmentBytes || c.SegmentBytes > math.MaxInt32 {
		return fmt.Errorf("%w: segment.bytes=%d, want %d..%d", ErrInvalidConfig, c.SegmentBytes, minSegmentBytes, math.MaxInt32)
	}
	if c.RetentionMs < -1 {
		return fmt.Errorf("%w: retention.ms=%d, want >= -1", ErrInvalidConfig, c.RetentionMs)
	}
	if c.RetentionBytes < -1 {
		return fmt.Errorf("%w: retention.bytes=%d, want >= -1", ErrInvalidConfig, c.RetentionBytes)
	}
	if _, _, err := parseCleanupPolicy(c.CleanupPolicy); err != nil {
		return err
	}
	if c.DeleteRetentionMs < 0 {
		return fmt.Errorf("%w: delete.retention.ms=%d, want >= 0", ErrInvalidConfig, c.DeleteRetentionMs)
	}
	if c.MaxMessageBytes < 0 {
		return fmt.Errorf("%w: max.message.bytes=%d, want >= 0", ErrInvalidConfig, c.MaxMessageBytes)
	}
	if !validCompression(c.Compression) {
		return fmt.Errorf("%w: compression.type=%q, want producer, uncompressed, gzip, snappy, lz4 or zstd", ErrInvalidConfig, c.Compression)
	}
	if !(c.MinCleanableDirtyRatio >= 0 && c.MinCleanableDirtyRatio <= 1) {
		return fmt.Errorf("%w: min.cleanable.dirty.ratio=%v, want 0..1", ErrInvalidConfig, c.MinCleanableDirtyRatio)
	}
	return nil
}
