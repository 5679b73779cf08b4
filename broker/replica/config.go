package replica

import (
	"fmt"
	"time"

	"github.com/zkraft/zkraft/metadata/network"
)

// Config holds the replication settings. Each field names the
// server.properties key it comes from.
type Config struct {
	// NodeID is node.id: this broker's replica id.
	NodeID int32
	// ListenerName is inter.broker.listener.name: the leader's endpoint of
	// this name (from its registration in the image) is where followers
	// fetch. When the leader has no such endpoint its first one is used.
	ListenerName string
	// ReplicaLagTime is replica.lag.time.max.ms: a follower that has not
	// caught up to the leader's log end for this long leaves the ISR.
	ReplicaLagTime time.Duration
	// ISRCheckInterval is how often a leader looks for lagging followers
	// (Kafka: half of replica.lag.time.max.ms).
	ISRCheckInterval time.Duration
	// FetchMaxWait is replica.fetch.wait.max.ms: the long-poll bound of a
	// follower's fetch.
	FetchMaxWait time.Duration
	// FetchMinBytes is replica.fetch.min.bytes.
	FetchMinBytes int32
	// FetchMaxBytes is replica.fetch.max.bytes: per partition and fetch.
	FetchMaxBytes int32
	// FetchResponseMaxBytes is replica.fetch.response.max.bytes: per fetch.
	FetchResponseMaxBytes int32
	// FetchBackoff is replica.fetch.backoff.ms: the pause after a failed
	// fetch (whole request or one partition).
	FetchBackoff time.Duration
	// SocketTimeout is replica.socket.timeout.ms: the bound on dialling a
	// leader and on one request beyond its long-poll wait.
	SocketTimeout time.Duration
	// MinInsyncReplicas is min.insync.replicas, the default when a topic
	// has no override: an acks=all append committed while the ISR is
	// smaller answers NOT_ENOUGH_REPLICAS_AFTER_APPEND.
	MinInsyncReplicas int32
	// UncleanLeaderElection is unclean.leader.election.enable, the default
	// when a topic has no override. The election is the controller's; this
	// broker only logs loudly what it loses when it was unclean.
	UncleanLeaderElection bool
	// ControllerTimeout bounds one AlterPartition call (request.timeout.ms).
	ControllerTimeout time.Duration
	// Security is how fetchers dial leaders: the inter-broker listener's
	// TLS and SASL (zero: PLAINTEXT).
	Security network.ClientSecurity
}

// DefaultConfig returns Kafka's defaults for broker 1.
func DefaultConfig() Config {
	return Config{
		NodeID:                1,
		ListenerName:          "PLAINTEXT",
		ReplicaLagTime:        30 * time.Second,
		ISRCheckInterval:      15 * time.Second,
		FetchMaxWait:          500 * time.Millisecond,
		FetchMinBytes:         1,
		FetchMaxBytes:         1 << 20,
		FetchResponseMaxBytes: 10 << 20,
		FetchBackoff:          1 * time.Second,
		SocketTimeout:         30 * time.Second,
		MinInsyncReplicas:     1,
		ControllerTimeout:     30 * time.Second,
	}
}

// Validate reports the first bad value, naming its key.
func (c Config) Validate() error {
	bad := func(key string, v any, rule string) error {
		return fmt.Errorf("%w: %s = %v, %s", ErrInvalidConfig, key, v, rule)
	}
	switch {
	case c.NodeID < 0:
		return bad("node.id", c.NodeID, "must be >= 0")
	case c.ListenerName == "":
		return bad("inter.broker.listener.name", `""`, "must name a listener")
	case c.ReplicaLagTime <= 0:
		return bad("replica.lag.time.max.ms", c.ReplicaLagTime, "must be > 0")
	case c.ISRCheckInterval <= 0 || c.ISRCheckInterval > c.ReplicaLagTime:
		return bad("replica.lag.time.max.ms (isr check interval)", c.ISRCheckInterval, "must be in (0, replica.lag.time.max.ms]")
	case c.FetchMaxWait <= 0 || c.FetchMaxWait >= c.ReplicaLagTime:
		// A follower waiting longer than the lag time would be dropped
		// from the ISR while idle (Kafka checks the same).
		return bad("replica.fetch.wait.max.ms", c.FetchMaxWait, "must be > 0 and below replica.lag.time.max.ms")
	case c.FetchMinBytes < 1:
		return bad("replica.fetch.min.bytes", c.FetchMinBytes, "must be >= 1")
	case c.FetchMaxBytes < 1:
		return bad("replica.fetch.max.bytes", c.FetchMaxBytes, "must be >= 1")
	case c.FetchResponseMaxBytes < 1:
		return bad("replica.fetch.response.max.bytes", c.FetchResponseMaxBytes, "must be >= 1")
	case c.FetchBackoff <= 0:
		return bad("replica.fetch.backoff.ms", c.FetchBackoff, "must be > 0")
	case c.SocketTimeout <= 0:
		return bad("replica.socket.timeout.ms", c.SocketTimeout, "must be > 0")
	case c.MinInsyncReplicas < 1:
		return bad("min.insync.replicas", c.MinInsyncReplicas, "must be >= 1")
	case c.ControllerTimeout <= 0:
		return bad("request.timeout.ms", c.ControllerTimeout, "must be > 0")
	}
	return nil
}
