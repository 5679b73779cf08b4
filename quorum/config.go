package quorum

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// Config configures one quorum node (a controller voter). Keys in
// parentheses are the server.properties keys the fields come from.
type Config struct {
	// NodeID is this node's id (node.id). Its raft server id is the decimal
	// string of NodeID.
	NodeID int32
	// Voters maps voter node id to its raft address host:port
	// (controller.quorum.voters, "1@h1:9093,2@h2:9093"; see ParseVoters).
	// NodeID must be one of them.
	Voters map[int32]string
	// Dir holds raft.db, snapshots/ and meta.properties (metadata.log.dir).
	Dir string
	// BindAddr is the TCP address the raft transport listens on. Port 0
	// picks a free port; the node's own voter entry is then replaced by the
	// bound address when the cluster is bootstrapped. (Issue 3 may multiplex
	// raft with the Kafka controller listener; until then raft has its own port.)
	BindAddr string
	// ClusterID is written to meta.properties when Dir is formatted on first
	// start. Empty: a random id for a single voter, and for several voters an
	// id derived from the voter set so that identically configured voters agree.
	ClusterID string

	// SnapshotMaxBytes: a snapshot is taken once this many bytes of
	// records were applied since the last one
	// (metadata.log.max.record.bytes.between.snapshots, Kafka's 20 MiB).
	SnapshotMaxBytes int64
	// SnapshotMaxInterval: a snapshot is taken once this long passed since
	// the last one with records applied in between
	// (metadata.log.max.snapshot.interval.ms, Kafka's 1 h); 0 = by size only.
	SnapshotMaxInterval time.Duration
	// SnapshotThreshold is raft's own trigger, a ceiling in entries: a
	// snapshot is also taken once this many raft log entries followed the
	// last one (whichever of the three comes first). It bounds raft.db in
	// entries, which TrailingLogs counts in.
	SnapshotThreshold uint64
	// SnapshotInterval is how often raft checks SnapshotThreshold.
	SnapshotInterval time.Duration
	// TrailingLogs is how many log entries stay behind a snapshot so that a
	// slightly lagging follower can catch up without a snapshot install.
	TrailingLogs uint64
	// SnapshotRetain is how many snapshot files are kept in Dir/snapshots.
	SnapshotRetain int

	// HeartbeatTimeout and ElectionTimeout bound how long a follower waits
	// for the leader before it stands for election
	// (controller.quorum.fetch.timeout.ms / election.timeout.ms).
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	// LeaderLeaseTimeout: a leader that cannot reach a quorum for this long steps down.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout: longest a leader waits to send entries to followers.
	CommitTimeout time.Duration
	// ApplyTimeout bounds the enqueue of one raft write (raft's Apply timeout);
	// the caller's ctx bounds the whole write.
	ApplyTimeout time.Duration

	// BrokerSessionTimeout is how long after a broker was last heard from
	// its session counts as live (broker.session.timeout.ms, default 9 s).
	// While it is live, another incarnation of the same broker id is refused
	// (DUPLICATE_BROKER_REGISTRATION).
	BrokerSessionTimeout time.Duration

	// Controller holds the defaults for CreateTopics (num.partitions,
	// default.replication.factor). A nil NewUuid means metadata.RandomUuid.
	Controller metadata.ControllerConfig

	// Network configures the Kafka-protocol controller listener that shares
	// BindAddr with raft (socket.request.max.bytes, connections.max.idle.ms).
	Network network.Config
	// RaftTLS, when set, is the controller listener's TLS settings
	// (listener.security.protocol.map maps it to SSL): raft between voters
	// then runs over TLS with client certificates required (raft_tls.go).
	// Nil: plaintext raft.
	RaftTLS *network.TLSSettings

	// Observer, when set, sees every controller-listener request and each
	// committed write's time (metrics); nil: none.
	Observer Observer

	// transport replaces the TCP transport (tests: raft.InmemTransport).
	// The node does not close an injected transport's peers, only the transport.
	transport raft.Transport
}

// DefaultConfig returns the embedded single-node defaults: node 1, voter
// 1@127.0.0.1:9093, data in ./data/metadata.
func DefaultConfig() Config {
	return Config{
		NodeID:               1,
		Voters:               map[int32]string{1: "127.0.0.1:9093"},
		Dir:                  "data/metadata",
		BindAddr:             "127.0.0.1:9093",
		SnapshotMaxBytes:     20 << 20,
		SnapshotMaxInterval:  time.Hour,
		SnapshotThreshold:    8192,
		SnapshotInterval:     30 * time.Second,
		TrailingLogs:         10240,
		SnapshotRetain:       2,
		HeartbeatTimeout:     1000 * time.Millisecond,
		ElectionTimeout:      1000 * time.Millisecond,
		LeaderLeaseTimeout:   500 * time.Millisecond,
		CommitTimeout:        5 * time.Millisecond,
		ApplyTimeout:         10 * time.Second,
		BrokerSessionTimeout: 9 * time.Second,
		Controller:           metadata.DefaultControllerConfig(),
		Network:              network.DefaultConfig(),
	}
}

// Validate reports the first bad field, naming its key.
func (c Config) Validate() error {
	bad := func(key string, format string, args ...interface{}) error {
		return fmt.Errorf("%s: %s: %w", key, fmt.Sprintf(format, args...), ErrInvalidConfig)
	}
	if c.NodeID < 0 {
		return bad("node.id", "%d is negative", c.NodeID)
	}
	if len(c.Voters) == 0 {
		return bad("controller.quorum.voters", "empty")
	}
	for id, addr := range c.Voters {
		if id < 0 {
			return bad("controller.quorum.voters", "voter id %d is negative", id)
		}
		if c.transport == nil {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return bad("controller.quorum.voters", "voter %d address %q: %v", id, addr, err)
			}
		} else if addr == "" {
			return bad("controller.quorum.voters", "voter %d has no address", id)
		}
	}
	if _, ok := c.Voters[c.NodeID]; !ok {
		return bad("node.id", "%d is not among controller.quorum.voters %s", c.NodeID, FormatVoters(c.Voters))
	}
	if c.Dir == "" {
		return bad("metadata.log.dir", "empty")
	}
	if c.transport == nil {
		if _, _, err := net.SplitHostPort(c.BindAddr); err != nil {
			return bad("bind address", "%q: %v", c.BindAddr, err)
		}
	}
	if c.ClusterID != "" {
		if _, err := metadata.ParseUuid(c.ClusterID); err != nil {
			return bad("cluster.id", "%v", err)
		}
	}
	if c.SnapshotMaxBytes < 1 {
		return bad("metadata.log.max.record.bytes.between.snapshots", "%d must be >= 1", c.SnapshotMaxBytes)
	}
	if c.SnapshotMaxInterval < 0 {
		return bad("metadata.log.max.snapshot.interval.ms", "%v must be >= 0", c.SnapshotMaxInterval)
	}
	if c.SnapshotThreshold == 0 {
		return bad("snapshot threshold", "must be > 0")
	}
	if c.SnapshotInterval <= 0 {
		return bad("snapshot interval", "%v must be > 0", c.SnapshotInterval)
	}
	if c.SnapshotRetain < 1 {
		return bad("snapshot retain", "%d must be >= 1", c.SnapshotRetain)
	}
	if c.HeartbeatTimeout < 5*time.Millisecond {
		return bad("controller.quorum.fetch.timeout.ms", "%v must be >= 5ms", c.HeartbeatTimeout)
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		return bad("controller.quorum.election.timeout.ms", "%v must be >= heartbeat timeout %v", c.ElectionTimeout, c.HeartbeatTimeout)
	}
	if c.LeaderLeaseTimeout <= 0 || c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		return bad("leader lease timeout", "%v must be in (0, heartbeat timeout %v]", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	if c.CommitTimeout <= 0 {
		return bad("commit timeout", "%v must be > 0", c.CommitTimeout)
	}
	if c.ApplyTimeout <= 0 {
		return bad("apply timeout", "%v must be > 0", c.ApplyTimeout)
	}
	if err := c.Controller.Validate(); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidConfig)
	}
	return nil
}

// ParseVoters parses controller.quorum.voters: "1@h1:9093,2@h2:9093".
func ParseVoters(s string) (map[int32]string, error) {
	voters := make(map[int32]string)
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		idStr, addr, ok := strings.Cut(part, "@")
		if !ok {
			return nil, fmt.Errorf("controller.quorum.voters: %q is not id@host:port: %w", part, ErrInvalidConfig)
		}
		id, err := strconv.ParseInt(idStr, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("controller.quorum.voters: bad id %q: %w", idStr, ErrInvalidConfig)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("controller.quorum.voters: voter %d address %q: %w: %w", id, addr, err, ErrInvalidConfig)
		}
		if _, dup := voters[int32(id)]; dup {
			return nil, fmt.Errorf("controller.quorum.voters: voter %d named twice: %w", id, ErrInvalidConfig)
		}
		voters[int32(id)] = addr
	}
	if len(voters) == 0 {
		return nil, fmt.Errorf("controller.quorum.voters: empty: %w", ErrInvalidConfig)
	}
	return voters, nil
}

// FormatVoters is the inverse of ParseVoters, sorted by id.
func FormatVoters(voters map[int32]string) string {
	ids := sortedIDs(voters)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%d@%s", id, voters[id])
	}
	return strings.Join(parts, ",")
}

func sortedIDs[V any](m map[int32]V) []int32 {
	ids := make([]int32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func serverID(id int32) raft.ServerID { return raft.ServerID(strconv.FormatInt(int64(id), 10)) }

func parseServerID(s raft.ServerID) (int32, bool) {
	v, err := strconv.ParseInt(string(s), 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(v), true
}
