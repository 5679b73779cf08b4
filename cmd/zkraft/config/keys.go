package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zkraft/zkraft/broker/acl"
	"github.com/zkraft/zkraft/metadata/metrics"
	"github.com/zkraft/zkraft/metadata/zk"
)

// builder is the state of one FromProperties call: the Config being filled
// and the keys whose meaning depends on others (resolved after all are set).
type builder struct {
	*Config
	brokerID                          *int32
	nodeID                            *int32
	retentionMs, retentionMin, retHrs *int64
	logDir, logDirs                   []string
	zkConnTimeout                     *time.Duration
}

// setter parses v into the builder; its error is the reason v is bad.
type setter func(b *builder, v string) error

// key is one key zkraft uses: how its value is parsed (set) and where the
// value goes (to). Every entry of to is one of
//
//   - "<component>.<Field>[.<Field>]": a field of a component's Config that
//     cmd/zkraft sets from this key, the component being one of storage,
//     replica, broker, network, client (quorum.ClientConfig), quorum, gossip,
//     zk, migrate or server (broker/server.Config: its Listeners);
//   - "cmd.<Field>": the Config field this key sets, which cmd/zkraft itself
//     reads to decide what to run (mode, roles, controlled shutdown);
//   - DestIgnored: accepted, checked against the other keys, and otherwise
//     without effect; FromProperties lists it in Config.Ignored, and serve
//     warns about it (WarnIgnored);
//   - DestChecked: its value only constrains other keys (Validate) and no
//     component reads it (ssl.keystore.type, which must be PEM, ...).
//
// cmd/zkraft's config-key test sets each key to a probe value and checks
// that every destination it names changes, so a key added here without
// being wired fails that test.
type key struct {
	set setter
	to  []string
}

// Destinations of key.to that are not component fields.
const (
	DestIgnored = "ignored"
	DestChecked = "checked"
)

func to(dst ...string) []string { return dst }

// nodeID is where node.id and broker.id go.
var nodeID = to("broker.NodeID", "replica.NodeID", "client.NodeID", "quorum.NodeID", "gossip.NodeID",
	"zk.BrokerID", "migrate.NodeID")

// keys are the keys zkraft uses. Each setter checks its own value's range;
// relations between keys are checked in validate.
var keys = map[string]key{
	"process.roles": {func(b *builder, v string) error {
		b.ProcessRoles = nil
		for _, r := range splitList(v) {
			if r != RoleBroker && r != RoleController {
				return fmt.Errorf("unknown role %q (want broker, controller or both)", r)
			}
			if slices.Contains(b.ProcessRoles, r) {
				return fmt.Errorf("role %q given twice", r)
			}
			b.ProcessRoles = append(b.ProcessRoles, r)
		}
		return nil
	}, to("cmd.ProcessRoles")},
	"node.id":   {func(b *builder, v string) error { return setID(&b.nodeID, v) }, nodeID},
	"broker.id": {func(b *builder, v string) error { return setID(&b.brokerID, v) }, nodeID},
	"listeners": {func(b *builder, v string) (err error) {
		b.Listeners, err = parseListeners(v, true)
		return err
	}, to("broker.Listeners", "client.Endpoints", "quorum.BindAddr")},
	"advertised.listeners": {func(b *builder, v string) (err error) {
		b.AdvertisedListeners, err = parseListeners(v, false)
		return err
	}, to("broker.Listeners", "client.Endpoints")},
	"listener.security.protocol.map": {func(b *builder, v string) error {
		m := map[string]string{}
		for _, e := range splitList(v) {
			name, proto, ok := strings.Cut(e, ":")
			name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
			if !ok || name == "" || proto == "" {
				return fmt.Errorf("entry %q is not NAME:PROTOCOL", e)
			}
			if !slices.Contains(securityProtocols, proto) {
				return fmt.Errorf("entry %q: unknown security protocol %q (want one of %s)", e, proto, strings.Join(securityProtocols, ", "))
			}
			if _, dup := m[name]; dup {
				return fmt.Errorf("listener name %q given twice", name)
			}
			m[name] = proto
		}
		b.ListenerSecurityProtocolMap = m
		return nil
	}, tlsDest},
	"controller.listener.names": {func(b *builder, v string) error {
		b.ControllerListenerNames = nil
		for _, n := range splitList(v) {
			b.ControllerListenerNames = append(b.ControllerListenerNames, strings.ToUpper(n))
		}
		return nil
	}, to("quorum.BindAddr")},
	"inter.broker.listener.name": {func(b *builder, v string) error {
		b.InterBrokerListenerName = strings.ToUpper(v)
		return nil
	}, to("replica.ListenerName")},
	"controller.quorum.voters": {func(b *builder, v string) (err error) {
		b.ControllerQuorumVoters, err = parseVoters(v)
		return err
	}, to("quorum.Voters", "client.Voters", "gossip.Seeds")},
	"zookeeper.connect": {func(b *builder, v string) (err error) {
		b.ZooKeeperConnect = v
		b.ZooKeeperServers, b.ZooKeeperChroot, err = parseZooKeeperConnect(v)
		return err
	}, to("zk.Servers", "zk.Chroot", "migrate.Servers", "migrate.Chroot")},
	"zookeeper.session.timeout.ms": {msKey(1, func(b *builder, d time.Duration) { b.ZooKeeperSessionTimeout = d }),
		to("zk.SessionTimeout", "migrate.SessionTimeout")},
	"zookeeper.connection.timeout.ms": {msKey(1, func(b *builder, d time.Duration) { b.zkConnTimeout = &d }),
		to("zk.ConnectionTimeout", "migrate.ConnectionTimeout")},
	"zookeeper.metadata.migration.enable": {boolKey(func(b *builder, x bool) { b.ZooKeeperMigrationEnable = x }),
		to("cmd.ZooKeeperMigrationEnable")},
	"zookeeper.metadata.migration.reverse.enable": {boolKey(func(b *builder, x bool) { b.ZooKeeperReverseEnable = x }),
		to("cmd.ZooKeeperReverseEnable")},
	"log.dirs": {func(b *builder, v string) error {
		b.logDirs = append([]string{}, splitList(v)...)
		return nil
	}, to("storage.Dirs")},
	"log.dir": {func(b *builder, v string) error {
		b.logDir = append([]string{}, splitList(v)...)
		return nil
	}, to("storage.Dirs")},
	"metadata.log.dir": {func(b *builder, v string) error {
		b.MetadataLogDir = v
		return nil
	}, to("quorum.Dir")},
	"num.partitions": {intKey(1, math.MaxInt32, func(b *builder, n int64) { b.NumPartitions = int32(n) }),
		to("broker.NumPartitions", "quorum.Controller.DefaultNumPartitions", "zk.Controller.DefaultNumPartitions")},
	"default.replication.factor": {intKey(1, math.MaxInt16, func(b *builder, n int64) { b.DefaultReplicationFactor = int16(n) }),
		to("broker.DefaultReplicationFactor", "quorum.Controller.DefaultReplicationFactor", "zk.Controller.DefaultReplicationFactor")},
	"min.insync.replicas": {intKey(1, math.MaxInt32, func(b *builder, n int64) { b.MinInsyncReplicas = int32(n) }),
		to("broker.MinInsyncReplicas", "replica.MinInsyncReplicas")},
	"log.segment.bytes": {intKey(14, math.MaxInt32, func(b *builder, n int64) { b.LogSegmentBytes = n }),
		to("storage.SegmentBytes", "broker.LogSegmentBytes")},
	"log.retention.ms":      {retentionKey(func(b *builder) **int64 { return &b.retentionMs }), retention},
	"log.retention.minutes": {retentionKey(func(b *builder) **int64 { return &b.retentionMin }), retention},
	"log.retention.hours":   {retentionKey(func(b *builder) **int64 { return &b.retHrs }), retention},
	"log.retention.bytes": {intKey(math.MinInt64, math.MaxInt64, func(b *builder, n int64) {
		b.LogRetentionBytes = max(n, -1)
	}), to("storage.RetentionBytes", "broker.LogRetentionBytes")},
	"log.retention.check.interval.ms": {msKey(1, func(b *builder, d time.Duration) { b.LogRetentionCheckInterval = d }),
		to("storage.RetentionCheckInterval")},
	"producer.id.expiration.ms": {msKey(1, func(b *builder, d time.Duration) { b.ProducerIDExpiration = d }),
		to("storage.ProducerIDExpiration")},
	"log.index.interval.bytes": {intKey(0, math.MaxInt32, func(b *builder, n int64) { b.LogIndexIntervalBytes = int32(n) }),
		to("storage.IndexIntervalBytes")},
	"message.max.bytes": {intKey(1, math.MaxInt32, func(b *builder, n int64) { b.MessageMaxBytes = int32(n) }),
		to("broker.MessageMaxBytes")},
	"log.cleanup.policy": {func(b *builder, v string) error {
		ps := splitList(v)
		if len(ps) == 0 || len(ps) > 2 || slices.ContainsFunc(ps, func(p string) bool { return p != "delete" && p != "compact" }) {
			return errors.New("want delete, compact or delete,compact")
		}
		b.LogCleanupPolicy = strings.Join(ps, ",")
		return nil
	}, to("broker.LogCleanupPolicy")},
	"compression.type": {func(b *builder, v string) error {
		v = strings.TrimSpace(v)
		if !slices.Contains([]string{"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}, v) {
			return errors.New("want producer, uncompressed, gzip, snappy, lz4 or zstd")
		}
		b.CompressionType = v
		return nil
	}, to("broker.CompressionType")},
	"log.cleaner.delete.retention.ms": {intKey(0, math.MaxInt64, func(b *builder, n int64) { b.LogCleanerDeleteRetentionMs = n }),
		to("broker.LogCleanerDeleteRetentionMs")},
	"log.cleaner.min.cleanable.ratio": {func(b *builder, v string) error {
		r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return errors.New("want a number between 0 and 1")
		}
		b.LogCleanerMinCleanableRatio = r
		return nil
	}, to("broker.LogCleanerMinCleanableRatio")},
	"socket.request.max.bytes": {intKey(1, math.MaxInt32, func(b *builder, n int64) { b.SocketRequestMaxBytes = int32(n) }),
		to("network.MaxRequestBytes", "quorum.Network.MaxRequestBytes")},
	"auto.create.topics.enable": {boolKey(func(b *builder, x bool) { b.AutoCreateTopicsEnable = x }),
		to("broker.AutoCreateTopics")},
	"authorizer.class.name": {func(b *builder, v string) error {
		if v = strings.TrimSpace(v); v != "" && !acl.KnownAuthorizer(v) {
			return fmt.Errorf("%q is not an authorizer zkraft implements (%s)", v, strings.Join(acl.AuthorizerClassNames, ", "))
		}
		b.AuthorizerClassName = strings.TrimSpace(v)
		return nil
	}, to("broker.Authorize")},
	"super.users": {func(b *builder, v string) error {
		b.SuperUsers = acl.ParseSuperUsers(v)
		return acl.Config{SuperUsers: b.SuperUsers}.Validate()
	}, to("broker.ACL.SuperUsers")},
	"allow.everyone.if.no.acl.found": {boolKey(func(b *builder, x bool) { b.AllowEveryoneIfNoACLFound = x }),
		to("broker.ACL.AllowEveryoneIfNoACLFound")},
	"offsets.topic.num.partitions": {intKey(1, math.MaxInt32, func(b *builder, n int64) { b.OffsetsTopicNumPartitions = int32(n) }),
		to("broker.OffsetsTopicNumPartitions")},
	"offsets.topic.replication.factor": {intKey(1, math.MaxInt16, func(b *builder, n int64) {
		b.OffsetsTopicReplicationFactor = int16(n)
	}), to("broker.OffsetsTopicReplicationFactor")},
	"transaction.state.log.num.partitions": {intKey(1, math.MaxInt32, func(b *builder, n int64) {
		b.TransactionStateLogNumPartitions = int32(n)
	}), to("broker.TransactionStateNumPartitions")},
	"transaction.state.log.replication.factor": {intKey(1, math.MaxInt16, func(b *builder, n int64) {
		b.TransactionStateLogReplicationFactor = int16(n)
	}), to("broker.TransactionStateReplicationFactor")},
	"transaction.state.log.min.isr": {intKey(1, math.MaxInt32, func(b *builder, n int64) { b.TransactionStateLogMinISR = int32(n) }),
		to("broker.TransactionStateMinISR")},
	"transaction.state.log.segment.bytes": {intKey(14, math.MaxInt32, func(b *builder, n int64) { b.TransactionStateLogSegmentBytes = n }),
		to("broker.TransactionStateSegmentBytes")},
	"transaction.max.timeout.ms": {msKey(1, func(b *builder, d time.Duration) { b.TransactionMaxTimeout = d }),
		to("broker.TransactionMaxTimeout")},
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": {msKey(1, func(b *builder, d time.Duration) { b.TransactionAbortInterval = d }),
		to("broker.TransactionAbortInterval")},
	"transactional.id.expiration.ms": {msKey(1, func(b *builder, d time.Duration) { b.TransactionalIDExpiration = d }),
		to("broker.TransactionalIDExpiration")},
	"transaction.remove.expired.transaction.cleanup.interval.ms": {msKey(1, func(b *builder, d time.Duration) { b.TransactionExpireInterval = d }),
		to("broker.TransactionExpireInterval")},
	"replica.lag.time.max.ms": {msKey(1, func(b *builder, d time.Duration) { b.ReplicaLagTimeMax = d }),
		to("replica.ReplicaLagTime")},
	"broker.heartbeat.interval.ms": {msKey(1, func(b *builder, d time.Duration) { b.BrokerHeartbeatInterval = d }),
		to("client.HeartbeatInterval")},
	"broker.session.timeout.ms": {msKey(1, func(b *builder, d time.Duration) { b.BrokerSessionTimeout = d }),
		to("quorum.BrokerSessionTimeout")},
	"unclean.leader.election.enable": {boolKey(func(b *builder, x bool) { b.UncleanLeaderElectionEnable = x }),
		to("replica.UncleanLeaderElection", "quorum.Controller.UncleanLeaderElection")},
	"auto.leader.rebalance.enable": {boolKey(func(b *builder, x bool) { b.AutoLeaderRebalanceEnable = x }),
		to("quorum.Controller.AutoLeaderRebalance", "zk.Controller.AutoLeaderRebalance")},
	"leader.imbalance.check.interval.seconds": {intKey(1, math.MaxInt32, func(b *builder, n int64) {
		b.LeaderImbalanceCheckInterval = time.Duration(n) * time.Second
	}), to("quorum.Controller.LeaderImbalanceCheckInterval", "zk.Controller.LeaderImbalanceCheckInterval")},
	"leader.imbalance.per.broker.percentage": {intKey(0, 100, func(b *builder, n int64) {
		b.LeaderImbalancePerBrokerPercentage = int(n)
	}), to("quorum.Controller.LeaderImbalancePerBrokerPercentage", "zk.Controller.LeaderImbalancePerBrokerPercentage")},
	"controlled.shutdown.enable": {boolKey(func(b *builder, x bool) { b.ControlledShutdownEnable = x }),
		to("cmd.ControlledShutdownEnable")},
	"controlled.shutdown.max.retries": {intKey(0, math.MaxInt32, func(b *builder, n int64) {
		b.ControlledShutdownMaxRetries = int(n)
	}), to("cmd.ControlledShutdownMaxRetries")},
	"controlled.shutdown.retry.backoff.ms": {msKey(0, func(b *builder, d time.Duration) { b.ControlledShutdownRetryBackoff = d }),
		to("cmd.ControlledShutdownRetryBackoff")},
	"log.message.timestamp.type": {func(b *builder, v string) error {
		if v != "CreateTime" && v != "LogAppendTime" {
			return errors.New("want CreateTime or LogAppendTime")
		}
		b.LogMessageTimestampType = v
		return nil
	}, to("broker.LogMessageTimestampType")},
	"metadata.log.max.record.bytes.between.snapshots": {intKey(1, math.MaxInt64, func(b *builder, n int64) {
		b.MetadataMaxRecordBytesBetweenSnapshots = n
	}), to("quorum.SnapshotMaxBytes")},
	"metadata.log.max.snapshot.interval.ms": {msKey(0, func(b *builder, d time.Duration) { b.MetadataMaxSnapshotInterval = d }),
		to("quorum.SnapshotMaxInterval")},
	"connections.max.idle.ms": {msKey(1, func(b *builder, d time.Duration) { b.ConnectionsMaxIdle = d }),
		to("network.ConnectionsMaxIdle", "quorum.Network.ConnectionsMaxIdle")},
	"group.initial.rebalance.delay.ms": {msKey(0, func(b *builder, d time.Duration) { b.GroupInitialRebalanceDelay = d }),
		to("broker.GroupInitialRebalanceDelay")},
	"max.incremental.fetch.session.cache.slots": {intKey(0, math.MaxInt32, func(b *builder, n int64) { b.FetchSessionCacheSlots = int(n) }),
		to("broker.FetchSessionCacheSlots")},
	// Kafka finalizes its transaction.version feature with kafka-features /
	// kafka-storage; here the level is a key (broker.Config.TransactionVersion).
	"zkraft.transaction.version": {intKey(0, 2, func(b *builder, n int64) { b.TransactionVersion = int16(n) }),
		to("broker.TransactionVersion")},
	"zkraft.max.open.files": {intKey(2, math.MaxInt32, func(b *builder, n int64) { b.MaxOpenFiles = int(n) }),
		to("storage.MaxOpenFiles")},
	"zkraft.metadata.snapshot.retain": {intKey(1, 100, func(b *builder, n int64) { b.MetadataSnapshotRetain = int(n) }),
		to("quorum.SnapshotRetain")},
	// Kafka has no HTTP listener of its own (its metrics go through JMX);
	// zkraft serves Prometheus metrics, /healthz and /readyz here.
	"zkraft.metrics.listener": {func(b *builder, v string) (err error) {
		b.MetricsListener = ""
		if strings.TrimSpace(v) != "" {
			b.MetricsListener, err = metrics.ParseListener(strings.TrimSpace(v))
		}
		return err
	}, to("cmd.MetricsListener")},
	// KIP-853 dynamic quorum: zkraft needs the static voter list; accepted
	// only next to controller.quorum.voters (checked in validate), then
	// ignored with a warning.
	"controller.quorum.bootstrap.servers": {func(*builder, string) error { return nil }, to(DestIgnored)},
}

// retention is where log.retention.{ms,minutes,hours} go.
var retention = to("storage.RetentionMs", "broker.LogRetentionMs")

// Destinations returns where each key zkraft parses goes (see key): the
// component fields, cmd.<Field>, DestIgnored or DestChecked; the keys of
// ignoredKeys map to DestIgnored. The result is a copy.
func Destinations() map[string][]string {
	m := make(map[string][]string, len(keys)+len(ignoredKeys))
	for k, e := range keys {
		m[k] = slices.Clone(e.to)
	}
	for _, k := range ignoredKeys {
		m[k] = to(DestIgnored)
	}
	for k, e := range tlsKeys {
		m[PerListenerKey(k)] = slices.Clone(e.to)
	}
	for k, e := range saslListenerKeys {
		m[PerListenerKey(k)] = slices.Clone(e.to)
	}
	return m
}

// ignoredKeys are Kafka keys (from its sample server.properties files and
// common tuning) that zkraft accepts without using.
var ignoredKeys = []string{
	"background.threads", "broker.rack",
	"controller.quorum.election.timeout.ms",
	"controller.quorum.fetch.timeout.ms", "delete.topic.enable", "group.coordinator.rebalance.protocols",
	"group.max.session.timeout.ms", "group.min.session.timeout.ms", "inter.broker.protocol.version",
	"log.cleaner.enable", "log.cleaner.threads", "log.flush.interval.messages",
	"log.flush.interval.ms", "log.flush.offset.checkpoint.interval.ms", "log.flush.scheduler.interval.ms",
	"log.message.format.version", "log.preallocate", "log.roll.hours", "log.roll.ms",
	"metadata.log.segment.bytes", "metadata.log.segment.ms",
	"num.io.threads", "num.network.threads", "num.recovery.threads.per.data.dir",
	"num.replica.alter.log.dirs.threads", "num.replica.fetchers", "queued.max.requests",
	"replica.fetch.max.bytes", "replica.socket.timeout.ms", "request.timeout.ms",
	"security.inter.broker.protocol", "share.coordinator.state.topic.min.isr",
	"share.coordinator.state.topic.replication.factor", "socket.listen.backlog.size",
	"socket.receive.buffer.bytes", "socket.send.buffer.bytes",
	"transaction.state.log.load.buffer.size", "zookeeper.set.acl",
}

var securityProtocols = []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}

// baseConfig holds Kafka's defaults (zkraft's for zkraft.* and the paths).
func baseConfig() *Config {
	return &Config{
		NodeID:                        -1,
		Listeners:                     []Listener{{Name: "PLAINTEXT", Port: 9092}},
		ListenerSecurityProtocolMap:   map[string]string{"PLAINTEXT": "PLAINTEXT", "SSL": "SSL", "SASL_PLAINTEXT": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL", "CONTROLLER": "PLAINTEXT"},
		ZooKeeperSessionTimeout:       18 * time.Second,
		LogDirs:                       []string{"./data/kafka-logs"},
		NumPartitions:                 1,
		DefaultReplicationFactor:      1,
		MinInsyncReplicas:             1,
		AutoCreateTopicsEnable:        true,
		LogMessageTimestampType:       "CreateTime",
		OffsetsTopicNumPartitions:     50,
		OffsetsTopicReplicationFactor: 3,

		TransactionStateLogNumPartitions:     50,
		TransactionStateLogReplicationFactor: 3,
		TransactionStateLogMinISR:            2,
		TransactionStateLogSegmentBytes:      100 << 20,
		TransactionMaxTimeout:                15 * time.Minute,
		TransactionAbortInterval:             10 * time.Second,
		TransactionalIDExpiration:            7 * 24 * time.Hour,
		TransactionExpireInterval:            time.Hour,
		TransactionVersion:                   2,

		LogSegmentBytes:             1 << 30,
		LogRetentionMs:              168 * 3600 * 1000,
		LogRetentionBytes:           -1,
		LogRetentionCheckInterval:   5 * time.Minute,
		ProducerIDExpiration:        24 * time.Hour,
		LogIndexIntervalBytes:       4096,
		MessageMaxBytes:             1048588,
		LogCleanupPolicy:            "delete",
		CompressionType:             "producer",
		LogCleanerDeleteRetentionMs: 24 * 3600 * 1000,
		LogCleanerMinCleanableRatio: 0.5,
		MaxOpenFiles:                1024,
		SocketRequestMaxBytes:       104857600,
		SASLServerMaxReceiveSize:    524288,
		ConnectionsMaxIdle:          10 * time.Minute,
		ReplicaLagTimeMax:           30 * time.Second,
		BrokerHeartbeatInterval:     2 * time.Second,
		BrokerSessionTimeout:        9 * time.Second,
		GroupInitialRebalanceDelay:  3 * time.Second,
		FetchSessionCacheSlots:      1000,

		AutoLeaderRebalanceEnable:          true,
		LeaderImbalanceCheckInterval:       300 * time.Second,
		LeaderImbalancePerBrokerPercentage: 10,

		ControlledShutdownEnable:       true,
		ControlledShutdownMaxRetries:   3,
		ControlledShutdownRetryBackoff: 5 * time.Second,

		MetadataMaxRecordBytesBetweenSnapshots: 20 << 20,
		MetadataMaxSnapshotInterval:            time.Hour,
		MetadataSnapshotRetain:                 2,
	}
}

// FromProperties builds and validates a Config from parsed properties; for
// a key given more than once the last value wins (as in java.util.Properties).
func FromProperties(props []Property) (*Config, error) {
	last := map[string]int{}
	for i, p := range props {
		last[p.Key] = i
	}
	b := &builder{Config: baseConfig()}
	b.Set = map[string]string{}
	ignored := map[string]bool{}
	for i, p := range props {
		e, known := keys[p.Key]
		listener, suffix, le, perListener := listenerKey(p.Key)
		switch {
		case known:
		case perListener:
			e = le
		case slices.Contains(ignoredKeys, p.Key):
			ignored[p.Key] = true
			continue
		default:
			return nil, fmt.Errorf("%w %q (%s)", ErrUnknownKey, p.Key, p.where())
		}
		if last[p.Key] != i {
			continue
		}
		b.Set[p.Key] = p.Value
		if perListener {
			if b.ListenerOverrides == nil {
				b.ListenerOverrides = map[string]map[string]string{}
			}
			if b.ListenerOverrides[listener] == nil {
				b.ListenerOverrides[listener] = map[string]string{}
			}
			b.ListenerOverrides[listener][suffix] = p.Value
		}
		if slices.Contains(e.to, DestIgnored) {
			ignored[p.Key] = true
		}
		if err := e.set(b, p.Value); err != nil {
			return nil, fmt.Errorf("%w %q for %s: %v (%s)", ErrInvalidValue, p.Value, p.Key, err, p.where())
		}
	}
	for k := range ignored {
		b.Ignored = append(b.Ignored, k)
	}
	sort.Strings(b.Ignored)
	if err := b.resolve(); err != nil {
		return nil, err
	}
	if err := b.Config.Validate(); err != nil {
		return nil, err
	}
	if err := b.resolveSecurity(); err != nil {
		return nil, err
	}
	if err := b.resolveSASL(); err != nil {
		return nil, err
	}
	return b.Config, nil
}

// resolve settles the keys that depend on each other, with Kafka's rules.
func (b *builder) resolve() error {
	switch {
	case b.nodeID != nil && b.brokerID != nil && *b.nodeID != *b.brokerID:
		return fmt.Errorf("%w: node.id=%d and broker.id=%d differ; set one of them", ErrInconsistent, *b.nodeID, *b.brokerID)
	case b.nodeID != nil:
		b.NodeID = *b.nodeID
	case b.brokerID != nil:
		b.NodeID = *b.brokerID
	}
	switch {
	case b.retentionMs != nil:
		b.LogRetentionMs = *b.retentionMs
	case b.retentionMin != nil:
		b.LogRetentionMs = mulClamp(*b.retentionMin, 60*1000)
	case b.retHrs != nil:
		b.LogRetentionMs = mulClamp(*b.retHrs, 3600*1000)
	}
	if b.LogRetentionMs < 0 {
		b.LogRetentionMs = -1
	}
	if b.LogRetentionMs == 0 {
		return fmt.Errorf("%w: log retention of 0 ms (log.retention.ms, .minutes or .hours); use -1 for unlimited",
			ErrInconsistent)
	}
	switch {
	case b.logDirs != nil:
		b.LogDirs = b.logDirs
	case b.logDir != nil:
		b.LogDirs = b.logDir
	}
	if len(b.LogDirs) == 0 {
		return fmt.Errorf("%w: log.dirs is empty", ErrInconsistent)
	}
	if b.MetadataLogDir == "" {
		b.MetadataLogDir = b.LogDirs[0]
	}
	b.ZooKeeperConnectionTimeout = b.ZooKeeperSessionTimeout
	if b.zkConnTimeout != nil {
		b.ZooKeeperConnectionTimeout = *b.zkConnTimeout
	}
	if b.InterBrokerListenerName == "" {
		b.InterBrokerListenerName = b.defaultInterBrokerListener()
	}
	for i := range b.Listeners {
		b.Listeners[i].Protocol = b.ListenerSecurityProtocolMap[b.Listeners[i].Name]
	}
	for i := range b.AdvertisedListeners {
		b.AdvertisedListeners[i].Protocol = b.ListenerSecurityProtocolMap[b.AdvertisedListeners[i].Name]
	}
	return nil
}

// defaultInterBrokerListener is PLAINTEXT when there is such a listener
// (Kafka's security.inter.broker.protocol default), else the first
// non-controller listener.
func (b *builder) defaultInterBrokerListener() string {
	ls := b.BrokerListeners()
	for _, l := range ls {
		if l.Name == "PLAINTEXT" {
			return l.Name
		}
	}
	if len(ls) > 0 {
		return ls[0].Name
	}
	return ""
}

func mulClamp(n, by int64) int64 {
	if n > math.MaxInt64/by {
		return math.MaxInt64
	}
	if n < 0 {
		return -1
	}
	return n * by
}

func setID(dst **int32, v string) error {
	n, err := parseInt(v, -1, math.MaxInt32)
	if err != nil {
		return err
	}
	if n < 0 {
		*dst = nil // -1: unset (Kafka's "generate one", which zkraft does not do)
		return nil
	}
	id := int32(n)
	*dst = &id
	return nil
}

func parseInt(v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, errors.New("out of range for a 64-bit integer")
		}
		return 0, errors.New("not an integer")
	}
	if n < lo {
		return 0, fmt.Errorf("must be at least %d", lo)
	}
	if n > hi {
		return 0, fmt.Errorf("must be at most %d", hi)
	}
	return n, nil
}

func intKey(lo, hi int64, set func(*builder, int64)) setter {
	return func(b *builder, v string) error {
		n, err := parseInt(v, lo, hi)
		if err != nil {
			return err
		}
		set(b, n)
		return nil
	}
}

func msKey(lo int64, set func(*builder, time.Duration)) setter {
	return intKey(lo, math.MaxInt64/int64(time.Millisecond), func(b *builder, n int64) {
		set(b, time.Duration(n)*time.Millisecond)
	})
}

func retentionKey(field func(*builder) **int64) setter {
	return func(b *builder, v string) error {
		n, err := parseInt(v, math.MinInt64, math.MaxInt64)
		if err != nil {
			return err
		}
		*field(b) = &n
		return nil
	}
}

func boolKey(set func(*builder, bool)) setter {
	return func(b *builder, v string) error {
		switch strings.ToLower(v) {
		case "true":
			set(b, true)
		case "false":
			set(b, false)
		default:
			return errors.New("not true or false")
		}
		return nil
	}
}

// splitList splits a comma-separated list, trimming entries and dropping
// empty ones.
func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// parseListeners parses NAME://host:port,...; portZeroOK for listeners.
func parseListeners(v string, portZeroOK bool) ([]Listener, error) {
	var out []Listener
	for _, e := range splitList(v) {
		name, addr, ok := strings.Cut(e, "://")
		name = strings.ToUpper(strings.TrimSpace(name))
		if !ok || name == "" {
			return nil, fmt.Errorf("entry %q is not NAME://host:port", e)
		}
		host, port, err := splitHostPort(addr, portZeroOK)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %v", e, err)
		}
		for _, l := range out {
			if l.Name == name {
				return nil, fmt.Errorf("listener name %s given twice", name)
			}
			if port != 0 && l.Port == port {
				return nil, fmt.Errorf("listeners %s and %s share port %d", l.Name, name, port)
			}
		}
		out = append(out, Listener{Name: name, Host: host, Port: port})
	}
	return out, nil
}

func splitHostPort(addr string, portZeroOK bool) (string, uint16, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("bad host:port %q", addr)
	}
	if strings.ContainsAny(host, "/@, ") {
		return "", 0, fmt.Errorf("bad host %q", host)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || (n == 0 && !portZeroOK) {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, uint16(n), nil
}

// parseVoters parses id@host:port,...
func parseVoters(v string) ([]Voter, error) {
	var out []Voter
	for _, e := range splitList(v) {
		idStr, addr, ok := strings.Cut(e, "@")
		if !ok {
			return nil, fmt.Errorf("entry %q is not id@host:port", e)
		}
		id, err := strconv.ParseInt(strings.TrimSpace(idStr), 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("entry %q: bad node id %q", e, idStr)
		}
		host, port, err := splitHostPort(strings.TrimSpace(addr), false)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %v", e, err)
		}
		if host == "" {
			return nil, fmt.Errorf("entry %q: empty host", e)
		}
		for _, o := range out {
			if o.ID == int32(id) {
				return nil, fmt.Errorf("node id %d given twice", id)
			}
		}
		out = append(out, Voter{ID: int32(id), Host: host, Port: port})
	}
	return out, nil
}

// parseZooKeeperConnect parses zookeeper.connect with zk.ParseConnect (the
// one connect-string parser); empty means unset.
func parseZooKeeperConnect(v string) (servers []string, chroot string, err error) {
	if v == "" {
		return nil, "", nil
	}
	return zk.ParseConnect(v)
}
