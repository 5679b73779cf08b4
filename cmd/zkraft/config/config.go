package config

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkraft/zkraft/metadata/network"
)

//go:embed default.properties
var defaultProperties []byte

//go:embed default-zookeeper.properties
var defaultZooKeeperProperties []byte

// Roles of process.roles.
const (
	RoleBroker     = "broker"
	RoleController = "controller"
)

// Modes returned by Config.Mode.
const (
	ModeQuorum    = "quorum"
	ModeZooKeeper = "zookeeper"
)

// Config is a parsed and validated server.properties. Field comments name
// the Kafka key each comes from; docs/configuration.md describes them all.
type Config struct {
	ProcessRoles []string // process.roles; empty = zookeeper mode
	NodeID       int32    // node.id, or broker.id; -1 when neither is set

	Listeners                   []Listener        // listeners (Protocol filled from the map)
	AdvertisedListeners         []Listener        // advertised.listeners as configured (may be empty)
	ListenerSecurityProtocolMap map[string]string // listener.security.protocol.map
	ControllerListenerNames     []string          // controller.listener.names
	InterBrokerListenerName     string            // inter.broker.listener.name
	ControllerQuorumVoters      []Voter           // controller.quorum.voters

	ZooKeeperConnect           string        // zookeeper.connect as given
	ZooKeeperServers           []string      // its host:port list
	ZooKeeperChroot            string        // its chroot ("" = none)
	ZooKeeperSessionTimeout    time.Duration // zookeeper.session.timeout.ms
	ZooKeeperConnectionTimeout time.Duration // zookeeper.connection.timeout.ms
	ZooKeeperMigrationEnable   bool          // zookeeper.metadata.migration.enable
	ZooKeeperReverseEnable     bool          // zookeeper.metadata.migration.reverse.enable (controllers: quorum -> ZooKeeper mode)

	LogDirs        []string // log.dirs, else log.dir
	MetadataLogDir string   // metadata.log.dir, else LogDirs[0]

	NumPartitions               int32    // num.partitions
	DefaultReplicationFactor    int16    // default.replication.factor
	MinInsyncReplicas           int32    // min.insync.replicas
	AutoCreateTopicsEnable      bool     // auto.create.topics.enable
	AuthorizerClassName         string   // authorizer.class.name: "" (none) or one of acl.AuthorizerClassNames
	SuperUsers                  []string // super.users, split at ';'
	AllowEveryoneIfNoACLFound   bool     // allow.everyone.if.no.acl.found
	UncleanLeaderElectionEnable bool     // unclean.leader.election.enable
	// AutoLeaderRebalanceEnable is auto.leader.rebalance.enable, checked
	// every LeaderImbalanceCheckInterval
	// (leader.imbalance.check.interval.seconds) against
	// LeaderImbalancePerBrokerPercentage
	// (leader.imbalance.per.broker.percentage).
	AutoLeaderRebalanceEnable          bool
	LeaderImbalanceCheckInterval       time.Duration
	LeaderImbalancePerBrokerPercentage int
	LogMessageTimestampType            string // log.message.timestamp.type: CreateTime or LogAppendTime
	OffsetsTopicNumPartitions          int32  // offsets.topic.num.partitions
	OffsetsTopicReplicationFactor      int16  // offsets.topic.replication.factor

	TransactionStateLogNumPartitions     int32         // transaction.state.log.num.partitions
	TransactionStateLogReplicationFactor int16         // transaction.state.log.replication.factor
	TransactionStateLogMinISR            int32         // transaction.state.log.min.isr
	TransactionStateLogSegmentBytes      int64         // transaction.state.log.segment.bytes
	TransactionMaxTimeout                time.Duration // transaction.max.timeout.ms
	TransactionAbortInterval             time.Duration // transaction.abort.timed.out.transaction.cleanup.interval.ms
	TransactionalIDExpiration            time.Duration // transactional.id.expiration.ms
	TransactionExpireInterval            time.Duration // transaction.remove.expired.transaction.cleanup.interval.ms
	TransactionVersion                   int16         // zkraft.transaction.version

	LogSegmentBytes           int64         // log.segment.bytes
	LogRetentionMs            int64         // log.retention.{ms,minutes,hours}; -1 = unlimited
	LogRetentionBytes         int64         // log.retention.bytes; -1 = unlimited
	LogRetentionCheckInterval time.Duration // log.retention.check.interval.ms
	LogIndexIntervalBytes     int32         // log.index.interval.bytes
	ProducerIDExpiration      time.Duration // producer.id.expiration.ms
	// The broker defaults of topic configs without a LogManager role:
	MessageMaxBytes             int32   // message.max.bytes (topic: max.message.bytes)
	LogCleanupPolicy            string  // log.cleanup.policy (cleanup.policy): delete, compact or both
	CompressionType             string  // compression.type: producer, uncompressed, gzip, snappy, lz4, zstd
	LogCleanerDeleteRetentionMs int64   // log.cleaner.delete.retention.ms (delete.retention.ms)
	LogCleanerMinCleanableRatio float64 // log.cleaner.min.cleanable.ratio (min.cleanable.dirty.ratio)
	MaxOpenFiles                int     // zkraft.max.open.files

	SocketRequestMaxBytes      int32         // socket.request.max.bytes
	ConnectionsMaxIdle         time.Duration // connections.max.idle.ms
	ReplicaLagTimeMax          time.Duration // replica.lag.time.max.ms
	BrokerHeartbeatInterval    time.Duration // broker.heartbeat.interval.ms
	BrokerSessionTimeout       time.Duration // broker.session.timeout.ms
	GroupInitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms
	FetchSessionCacheSlots     int           // max.incremental.fetch.session.cache.slots

	// ZooKeeper mode: ControlledShutdown to the controller on SIGTERM.
	ControlledShutdownEnable       bool          // controlled.shutdown.enable
	ControlledShutdownMaxRetries   int           // controlled.shutdown.max.retries
	ControlledShutdownRetryBackoff time.Duration // controlled.shutdown.retry.backoff.ms

	MetadataMaxRecordBytesBetweenSnapshots int64         // metadata.log.max.record.bytes.between.snapshots
	MetadataMaxSnapshotInterval            time.Duration // metadata.log.max.snapshot.interval.ms; 0 = size only
	MetadataSnapshotRetain                 int           // zkraft.metadata.snapshot.retain: snapshots kept (and the log back to the oldest)

	// MetricsListener is zkraft.metrics.listener's host:port, where the node
	// serves /metrics, /healthz and /readyz; "" = off (the default).
	MetricsListener string

	// ListenerOverrides are the per-listener keys
	// (listener.name.<listener>.<key>): by upper-case listener name, then
	// key (ssl.keystore.location, ...), the value given.
	ListenerOverrides map[string]map[string]string
	// ListenerTLS are the TLS listeners (SSL, SASL_SSL) with their resolved
	// ssl.* keys, keystores and truststores read.
	ListenerTLS map[string]network.TLSSettings
	// InterBrokerSecurity dials the inter-broker listener
	// (inter.broker.listener.name): replica fetchers, ZooKeeper-mode
	// controlled shutdown. ControllerSecurity dials the controller listener
	// (the first of controller.listener.names): registration, heartbeats,
	// the metadata fetch. PLAINTEXT when the zero value.
	InterBrokerSecurity network.ClientSecurity
	ControllerSecurity  network.ClientSecurity
	// ListenerSASL are the SASL listeners (SASL_PLAINTEXT, SASL_SSL) with
	// their enabled mechanisms and PLAIN users (sasl.go).
	ListenerSASL map[string]ListenerSASL
	// SASLServerMaxReceiveSize bounds a SASL connection's frames before it
	// authenticated (sasl.server.max.receive.size).
	SASLServerMaxReceiveSize int32

	// Ignored lists, sorted, the keys that were given but that zkraft
	// accepts without using (Kafka tuning knobs); the caller logs a warning.
	Ignored []string
	// Set holds every key given in the file or overrides with its final
	// (last) value, for display.
	Set map[string]string
}

// Listener is one entry of listeners or advertised.listeners.
type Listener struct {
	Name     string // upper case, e.g. PLAINTEXT
	Host     string // "" = all interfaces
	Port     uint16 // 0 = any free port (listeners only)
	Protocol string // from listener.security.protocol.map
}

// Addr is host:port, as net.Listen takes it.
func (l Listener) Addr() string { return joinHostPort(l.Host, l.Port) }

// String is Kafka's form, NAME://host:port.
func (l Listener) String() string { return l.Name + "://" + l.Addr() }

// Voter is one entry of controller.quorum.voters.
type Voter struct {
	ID   int32
	Host string
	Port uint16
}

// Addr is host:port.
func (v Voter) Addr() string { return joinHostPort(v.Host, v.Port) }

func (v Voter) String() string { return fmt.Sprintf("%d@%s", v.ID, v.Addr()) }

func joinHostPort(host string, port uint16) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// hostname is what an empty listener host advertises (Kafka uses the
// canonical host name); a variable so tests can pin it.
var hostname = os.Hostname

// Load reads the properties file at path ("" = the embedded default),
// applies overrides ("key=value", later wins), and validates the result.
// With no file, overrides that set zookeeper.connect but not process.roles
// choose ZooKeeper mode, so the embedded ZooKeeper-mode default applies
// instead of the quorum one (whose process.roles, node.id and controller
// keys would contradict them).
func Load(path string, overrides []string) (*Config, error) {
	var props []Property
	var err error
	if path == "" && overridesChooseZooKeeper(overrides) {
		props, err = Parse(defaultZooKeeperProperties, "embedded ZooKeeper-mode default")
	} else if path == "" {
		props, err = Parse(defaultProperties, "embedded default")
	} else {
		var data []byte
		data, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: read %s: %w", path, err)
		}
		props, err = Parse(data, path)
	}
	if err != nil {
		return nil, err
	}
	for i, o := range overrides {
		k, v, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%w %q: want key=value", ErrBadOverride, o)
		}
		props = append(props, Property{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v),
			Source: fmt.Sprintf("--override #%d", i+1)})
	}
	return FromProperties(props)
}

// Default returns the embedded default configuration (no file, no
// overrides). The embedded file is tested to be valid.
func Default() *Config {
	c, err := Load("", nil)
	if err != nil {
		panic(fmt.Sprintf("config: embedded default is invalid: %v", err))
	}
	return c
}

// Mode is ModeQuorum when process.roles is set, else ModeZooKeeper.
func (c *Config) Mode() string {
	if len(c.ProcessRoles) > 0 {
		return ModeQuorum
	}
	return ModeZooKeeper
}

// HasRole reports whether this node runs role. A zookeeper-mode node is a
// broker.
func (c *Config) HasRole(role string) bool {
	if c.Mode() == ModeZooKeeper {
		return role == RoleBroker
	}
	return slices.Contains(c.ProcessRoles, role)
}

// Listener returns the listener named name.
func (c *Config) Listener(name string) (Listener, bool) {
	for _, l := range c.Listeners {
		if l.Name == name {
			return l, true
		}
	}
	return Listener{}, false
}

// BrokerListener is the inter-broker listener (inter.broker.listener.name),
// which clients and other brokers use; false when this node is no broker.
func (c *Config) BrokerListener() (Listener, bool) {
	if !c.HasRole(RoleBroker) {
		return Listener{}, false
	}
	return c.Listener(c.InterBrokerListenerName)
}

// ControllerListener is the first controller.listener.names entry among the
// listeners; false when this node is no controller.
func (c *Config) ControllerListener() (Listener, bool) {
	if !c.HasRole(RoleController) || len(c.ControllerListenerNames) == 0 {
		return Listener{}, false
	}
	return c.Listener(c.ControllerListenerNames[0])
}

// BrokerListeners are the listeners that serve clients: all but the
// controller listeners.
func (c *Config) BrokerListeners() []Listener {
	var out []Listener
	for _, l := range c.Listeners {
		if !slices.Contains(c.ControllerListenerNames, l.Name) {
			out = append(out, l)
		}
	}
	return out
}

// AdvertisedFor is the endpoint others should use to reach the listener
// named name: its advertised.listeners entry, else the listener itself. An
// empty host advertises the host name (as Kafka does); 0.0.0.0 and :: cannot
// be advertised. A port of 0 is returned as 0: the caller advertises the
// port it bound.
func (c *Config) AdvertisedFor(name string) (Listener, error) {
	for _, l := range c.AdvertisedListeners {
		if l.Name == name {
			return l, nil
		}
	}
	l, ok := c.Listener(name)
	if !ok {
		return Listener{}, fmt.Errorf("%w: listener %q is not in listeners", ErrInconsistent, name)
	}
	switch l.Host {
	case "0.0.0.0", "::":
		return Listener{}, fmt.Errorf("%w: listener %s binds %s, which cannot be advertised; set advertised.listeners",
			ErrInconsistent, l, l.Host)
	case "":
		h, err := hostname()
		if err != nil || h == "" {
			return Listener{}, fmt.Errorf("%w: listener %s has no host and the host name is unknown (%v); set advertised.listeners",
				ErrInconsistent, l, err)
		}
		l.Host = h
	}
	return l, nil
}

// QuorumVoters maps controller.quorum.voters ids to host:port.
func (c *Config) QuorumVoters() map[int32]string {
	m := make(map[int32]string, len(c.ControllerQuorumVoters))
	for _, v := range c.ControllerQuorumVoters {
		m[v.ID] = v.Addr()
	}
	return m
}

// overridesChooseZooKeeper reports whether the overrides' last values set a
// non-empty zookeeper.connect and do not mention process.roles.
func overridesChooseZooKeeper(overrides []string) bool {
	zkSet, rolesSet := false, false
	for _, o := range overrides {
		k, v, _ := strings.Cut(o, "=")
		switch strings.TrimSpace(k) {
		case "zookeeper.connect":
			zkSet = strings.TrimSpace(v) != ""
		case "process.roles":
			rolesSet = true
		}
	}
	return zkSet && !rolesSet
}
