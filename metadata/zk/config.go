package zk

import (
	"fmt"
	"strings"
	"time"

	"github.com/zkraft/zkraft/metadata"
)

// Config configures a Backend. Keys in comments are server.properties keys.
type Config struct {
	// Servers are the ZooKeeper host:port pairs (zookeeper.connect).
	Servers []string
	// Chroot is the path under which Kafka's tree lives ("" = the root;
	// zookeeper.connect's /chroot suffix). It is created when missing.
	Chroot string
	// SessionTimeout is zookeeper.session.timeout.ms (Kafka: 18 s).
	SessionTimeout time.Duration
	// ConnectionTimeout bounds Start's wait for a session
	// (zookeeper.connection.timeout.ms; Kafka: the session timeout).
	ConnectionTimeout time.Duration
	// BrokerID is broker.id (or node.id).
	BrokerID int32
	// Controller holds num.partitions and default.replication.factor for
	// topics created through CreateTopics.
	Controller metadata.ControllerConfig
	// LoadConcurrency is how many reads are in flight when the tree is loaded.
	LoadConcurrency int
	// MaxMultiOps bounds the ops of one multi (ZooKeeper's jute.maxbuffer
	// is 1 MiB per request); larger writes are split.
	MaxMultiOps int
	// Now stamps znode timestamps; nil = time.Now.
	Now func() time.Time
	// FenceClientWrites (a broker with zookeeper.metadata.migration.enable)
	// makes the writes this broker does for clients conditional on
	// /controller_epoch and refuses them with ErrKRaftController once a
	// KRaft controller owns /controller (fence.go).
	FenceClientWrites bool
}

// ConnectString is zookeeper.connect as Servers and Chroot say it
// ("h1:p1,h2:p2/chroot").
func (c Config) ConnectString() string { return strings.Join(c.Servers, ",") + c.Chroot }

// DefaultConfig returns Kafka's defaults: 18 s session, broker id 0.
func DefaultConfig() Config {
	return Config{
		SessionTimeout:    18 * time.Second,
		ConnectionTimeout: 18 * time.Second,
		Controller:        metadata.DefaultControllerConfig(),
		LoadConcurrency:   64,
		MaxMultiOps:       1000,
	}
}

// Validate names the bad key.
func (c Config) Validate() error {
	if len(c.Servers) == 0 {
		return fmt.Errorf("zookeeper.connect: no servers: %w", ErrInvalidConfig)
	}
	for _, s := range c.Servers {
		if s == "" || strings.ContainsAny(s, "/ ") {
			return fmt.Errorf("zookeeper.connect: bad server %q: %w", s, ErrInvalidConfig)
		}
	}
	if c.Chroot != "" && (!strings.HasPrefix(c.Chroot, "/") || strings.HasSuffix(c.Chroot, "/")) {
		return fmt.Errorf("zookeeper.connect: chroot %q must start and not end with '/': %w", c.Chroot, ErrInvalidConfig)
	}
	if c.SessionTimeout < time.Millisecond {
		return fmt.Errorf("zookeeper.session.timeout.ms=%d: must be positive: %w", c.SessionTimeout.Milliseconds(), ErrInvalidConfig)
	}
	if c.ConnectionTimeout < time.Millisecond {
		return fmt.Errorf("zookeeper.connection.timeout.ms=%d: must be positive: %w", c.ConnectionTimeout.Milliseconds(), ErrInvalidConfig)
	}
	if c.BrokerID < 0 {
		return fmt.Errorf("broker.id=%d: must be >= 0 in zookeeper mode: %w", c.BrokerID, ErrInvalidConfig)
	}
	if err := c.Controller.Validate(); err != nil {
		return err
	}
	if c.LoadConcurrency < 1 {
		return fmt.Errorf("LoadConcurrency=%d: must be at least 1: %w", c.LoadConcurrency, ErrInvalidConfig)
	}
	if c.MaxMultiOps < 2 {
		return fmt.Errorf("MaxMultiOps=%d: must be at least 2: %w", c.MaxMultiOps, ErrInvalidConfig)
	}
	return nil
}
