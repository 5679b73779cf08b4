package migrate

import (
	"context"
	"fmt"
	"time"
)

// Config configures the migration driver of a controller
// (process.roles=controller with zookeeper.connect and
// zookeeper.metadata.migration.enable=true).
type Config struct {
	// Servers and Chroot come from zookeeper.connect.
	Servers []string
	Chroot  string
	// SessionTimeout is zookeeper.session.timeout.ms; ConnectionTimeout
	// zookeeper.connection.timeout.ms.
	SessionTimeout, ConnectionTimeout time.Duration
	// NodeID is this controller's node.id, written to /controller as brokerid.
	NodeID int32
	// BatchSize is the number of records per log entry of the initial load
	// (Kafka's zookeeper.metadata.migration.min.batch.size is 200; raft
	// entries are cheaper here, so the default is larger).
	BatchSize int
	// MaxMultiOps bounds the ops of one ZooKeeper multi (jute.maxbuffer).
	MaxMultiOps int
	// LoadConcurrency is how many ZooKeeper reads are in flight while the
	// tree is loaded.
	LoadConcurrency int
	// LoadSessions is how many extra ZooKeeper sessions read the tree (the
	// load and SYNC_KRAFT_TO_ZK), LoadConcurrency reads in flight on each
	// (zk.LoadTreeFrom); 0 reads on the driver's own session only.
	LoadSessions int
	// Reverse is zookeeper.metadata.migration.reverse.enable: the reverse
	// migration (quorum -> ZooKeeper mode). A log in NONE (born in quorum
	// mode) or POST_MIGRATION is exported to ZooKeeper (Export), then
	// REVERSE_MIGRATION is appended and every change dual-written, until
	// the ZooKeeper-mode brokers take /controller back (Rollback).
	Reverse bool
	// PollInterval is how often the driver checks leadership, brokers and
	// the finalize request when nothing else wakes it.
	PollInterval time.Duration
	// AfterTakeover is a test hook (nil in production): it runs on the
	// driver's goroutine after the initial takeover of /controller and
	// before the tree is read, so a test can act inside that window.
	AfterTakeover func(ctx context.Context)
}

// DefaultConfig: local ZooKeeper, batches of 2000 records.
func DefaultConfig() Config {
	return Config{
		Servers:           []string{"127.0.0.1:2181"},
		SessionTimeout:    18 * time.Second,
		ConnectionTimeout: 18 * time.Second,
		NodeID:            1,
		BatchSize:         2000,
		MaxMultiOps:       1000,
		LoadConcurrency:   64,
		LoadSessions:      8,
		PollInterval:      250 * time.Millisecond,
	}
}

// Validate names the bad key.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %w", key, fmt.Sprintf(format, args...), ErrInvalidConfig)
	}
	switch {
	case len(c.Servers) == 0:
		return bad("zookeeper.connect", "no server")
	case c.SessionTimeout <= 0:
		return bad("zookeeper.session.timeout.ms", "%v must be > 0", c.SessionTimeout)
	case c.ConnectionTimeout <= 0:
		return bad("zookeeper.connection.timeout.ms", "%v must be > 0", c.ConnectionTimeout)
	case c.NodeID < 0:
		return bad("node.id", "%d is negative", c.NodeID)
	case c.BatchSize < 1:
		return bad("zookeeper.metadata.migration.min.batch.size", "%d must be >= 1", c.BatchSize)
	case c.MaxMultiOps < 3:
		return bad("max multi ops", "%d must be >= 3", c.MaxMultiOps)
	case c.LoadConcurrency < 1:
		return bad("load concurrency", "%d must be >= 1", c.LoadConcurrency)
	case c.LoadSessions < 0 || c.LoadSessions > 64:
		return bad("load sessions", "%d must be in [0, 64]", c.LoadSessions)
	case c.PollInterval <= 0:
		return bad("poll interval", "%v must be > 0", c.PollInterval)
	}
	if c.Chroot != "" && (c.Chroot[0] != '/' || c.Chroot[len(c.Chroot)-1] == '/') {
		return bad("zookeeper.connect", "chroot %q must start with / and not end with /", c.Chroot)
	}
	return nil
}
