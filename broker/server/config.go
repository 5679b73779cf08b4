package server

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata/metrics"
	"github.com/zkraft/zkraft/metadata/network"
)

// Listener is one broker listener: its name (listeners / advertised.listeners
// / inter.broker.listener.name) and the address it binds.
type Listener struct {
	Name string
	Addr string
	// SASLMechanisms makes it a SASL listener (SASL_PLAINTEXT, or
	// SASL_SSL with Network.TLS): the mechanisms offered, among PLAIN,
	// SCRAM-SHA-256 and SCRAM-SHA-512 (sasl.enabled.mechanisms). SCRAM
	// users are the image's credentials. Empty: no SASL.
	SASLMechanisms []string
	// PlainUsers are PLAIN's users, name -> password
	// (listener.name.<l>.plain.sasl.jaas.config user_<name>="<password>").
	PlainUsers map[string]string
}

// Config configures Run: one field per component it starts, plus the
// node's timing. cmd maps server.properties onto it.
type Config struct {
	// Storage is the LogManager's (log.dirs, log.segment.bytes, ...).
	Storage storage.Config
	// Replica is the replication manager's (replica.lag.time.max.ms, ...).
	// Its NodeID must be Broker.NodeID.
	Replica replica.Config
	// Broker is the request handlers' (node.id, topic defaults, ...).
	Broker broker.Config
	// Network is the socket server's (socket.request.max.bytes, ...).
	Network network.Config
	// Listeners are the broker listeners, at least one (listeners).
	Listeners []Listener
	// StartupTimeout bounds Source.Start: registration and metadata
	// catch-up (default 60 s, as initial.broker.registration.timeout.ms).
	StartupTimeout time.Duration
	// ShutdownTimeout bounds controlled shutdown and the drain after it
	// (default 5 s: a broker must exit within 10 s of SIGTERM).
	ShutdownTimeout time.Duration
	// ShutdownDrain is how long the broker keeps serving after a controlled
	// shutdown moved leaderships off it (default 500 ms). Clients that still
	// send to it then are answered NOT_LEADER_OR_FOLLOWER with the new
	// leader (KIP-951) and move at once; a client that instead finds the
	// connection gone retries the dead address until its next metadata
	// refresh, which franz-go spaces by its metadata min age (5 s). A
	// producer with data sends at least once per linger plus a round trip,
	// far below this. 0 = no drain.
	ShutdownDrain time.Duration
	// Metrics, when set, is the node's registry: the broker's requests,
	// bytes, ISR changes and gauges go into it. cmd adds the metadata
	// source's collectors (raft, ZooKeeper, controller) itself.
	Metrics *metrics.Registry
	// MetricsAddr is where Run serves Metrics, /healthz and /readyz
	// (zkraft.metrics.listener's host:port); "" = no listener.
	MetricsAddr string
	// Logger is the node's logger; components log under .Named children.
	Logger *zap.Logger
	// StartedFields are added to the "zkraft broker started" line (the
	// mode, the metadata source's addresses).
	StartedFields []zap.Field
}

// DefaultConfig is every component's default, the embedded single node's
// listener 127.0.0.1:9092 and the timings above.
func DefaultConfig() Config {
	return Config{
		Storage:         storage.DefaultConfig(),
		Replica:         replica.DefaultConfig(),
		Broker:          broker.DefaultConfig(),
		Network:         network.DefaultConfig(),
		Listeners:       []Listener{{Name: "PLAINTEXT", Addr: "127.0.0.1:9092"}},
		StartupTimeout:  60 * time.Second,
		ShutdownTimeout: 5 * time.Second,
		ShutdownDrain:   500 * time.Millisecond,
	}
}

// Validate checks what Run relies on beyond the components' own Validate
// (which their constructors call), naming the key.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, key, fmt.Sprintf(format, args...))
	}
	switch {
	case len(c.Listeners) == 0:
		return bad("listeners", "no broker listener")
	case c.Replica.NodeID != c.Broker.NodeID:
		return bad("node.id", "replication has %d, the broker %d", c.Replica.NodeID, c.Broker.NodeID)
	case c.StartupTimeout <= 0:
		return bad("initial.broker.registration.timeout.ms", "%v must be > 0", c.StartupTimeout)
	case c.ShutdownTimeout <= 0:
		return bad("controlled shutdown timeout", "%v must be > 0", c.ShutdownTimeout)
	case c.ShutdownDrain < 0:
		return bad("controlled shutdown drain", "%v must be >= 0", c.ShutdownDrain)
	}
	seen := map[string]bool{}
	for _, l := range c.Listeners {
		if l.Name == "" || l.Addr == "" {
			return bad("listeners", "listener %q at %q needs a name and an address", l.Name, l.Addr)
		}
		if seen[l.Name] {
			return bad("listeners", "listener %s named twice", l.Name)
		}
		seen[l.Name] = true
		if err := checkSASL(l); err != nil {
			return err
		}
	}
	return nil
}
