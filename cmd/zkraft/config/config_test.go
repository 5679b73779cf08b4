package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// kraftSample has the keys of Kafka 3.x's config/kraft/server.properties.
const kraftSample = `
############################# Server Basics #############################
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
#log.flush.interval.messages=10000
#log.flush.interval.ms=1000
log.retention.hours=168
#log.retention.bytes=1073741824
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
`

// zkSample has the keys of Kafka 3.x's config/server.properties (ZooKeeper mode).
const zkSample = `
broker.id=0
#listeners=PLAINTEXT://:9092
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kafka-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.retention.check.interval.ms=300000
zookeeper.connect=localhost:2181
zookeeper.connection.timeout.ms=18000
group.initial.rebalance.delay.ms=0
`

// load writes text to a server.properties in a temp dir (text "" = no
// file: the embedded default) and loads it with overrides.
func load(t *testing.T, text string, overrides ...string) (*Config, error) {
	t.Helper()
	if text == "" {
		return Load("", overrides)
	}
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(path, overrides)
}

func mustLoad(t *testing.T, text string, overrides ...string) *Config {
	t.Helper()
	c, err := load(t, text, overrides...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Mode() != ModeQuorum || !c.HasRole(RoleBroker) || !c.HasRole(RoleController) || c.NodeID != 1 {
		t.Fatalf("mode %s roles %v node %d", c.Mode(), c.ProcessRoles, c.NodeID)
	}
	b, ok := c.BrokerListener()
	if !ok || b.Addr() != "127.0.0.1:9092" || b.Name != "PLAINTEXT" || b.Protocol != "PLAINTEXT" {
		t.Fatalf("broker listener %+v %v", b, ok)
	}
	ctl, ok := c.ControllerListener()
	if !ok || ctl.Addr() != "127.0.0.1:9093" {
		t.Fatalf("controller listener %+v %v", ctl, ok)
	}
	if v := c.QuorumVoters(); len(v) != 1 || v[1] != "127.0.0.1:9093" {
		t.Fatalf("voters %v", v)
	}
	if !slices.Equal(c.LogDirs, []string{"./data/kafka-logs"}) || c.MetadataLogDir != "./data/metadata" {
		t.Fatalf("dirs %v %q", c.LogDirs, c.MetadataLogDir)
	}
	if a, err := c.AdvertisedFor("PLAINTEXT"); err != nil || a.Addr() != "127.0.0.1:9092" {
		t.Fatalf("advertised %v %v", a, err)
	}
	// Kafka defaults for everything else.
	if c.NumPartitions != 1 || c.DefaultReplicationFactor != 1 || c.MinInsyncReplicas != 1 ||
		c.LogRetentionMs != 168*3600*1000 || c.LogRetentionBytes != -1 || c.LogSegmentBytes != 1<<30 ||
		c.SocketRequestMaxBytes != 104857600 || c.ConnectionsMaxIdle != 10*time.Minute ||
		c.OffsetsTopicNumPartitions != 50 || c.OffsetsTopicReplicationFactor != 1 ||
		c.ReplicaLagTimeMax != 30*time.Second || c.BrokerHeartbeatInterval != 2*time.Second ||
		c.BrokerSessionTimeout != 9*time.Second || !c.AutoCreateTopicsEnable || c.UncleanLeaderElectionEnable ||
		c.LogMessageTimestampType != "CreateTime" || c.MetadataMaxRecordBytesBetweenSnapshots != 20<<20 ||
		c.MetadataMaxSnapshotInterval != time.Hour || c.GroupInitialRebalanceDelay != 3*time.Second ||
		c.LogIndexIntervalBytes != 4096 || c.LogRetentionCheckInterval != 5*time.Minute || len(c.Ignored) != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestKafkaSampleFiles(t *testing.T) {
	c := mustLoad(t, kraftSample)
	if c.Mode() != ModeQuorum || c.MetadataLogDir != "/tmp/kraft-combined-logs" {
		t.Fatalf("kraft sample: %s %q", c.Mode(), c.MetadataLogDir)
	}
	wantIgnored := []string{"num.io.threads", "num.network.threads", "num.recovery.threads.per.data.dir",
		"socket.receive.buffer.bytes", "socket.send.buffer.bytes"}
	if !slices.Equal(c.Ignored, wantIgnored) {
		t.Fatalf("ignored %v, want %v", c.Ignored, wantIgnored)
	}
	if c.TransactionStateLogReplicationFactor != 1 || c.TransactionStateLogMinISR != 1 {
		t.Fatalf("the sample's transaction.state.log keys: rf %d min isr %d", c.TransactionStateLogReplicationFactor, c.TransactionStateLogMinISR)
	}
	if a, err := c.AdvertisedFor("PLAINTEXT"); err != nil || a.Addr() != "localhost:9092" {
		t.Fatalf("advertised %v %v", a, err)
	}
	if l, _ := c.ControllerListener(); l.Addr() != ":9093" {
		t.Fatalf("controller listener %v", l)
	}

	saved := hostname
	hostname = func() (string, error) { return "kafka-1", nil }
	defer func() { hostname = saved }()
	z := mustLoad(t, zkSample)
	if z.Mode() != ModeZooKeeper || z.NodeID != 0 || !slices.Equal(z.ZooKeeperServers, []string{"localhost:2181"}) ||
		z.ZooKeeperConnectionTimeout != 18*time.Second || z.GroupInitialRebalanceDelay != 0 {
		t.Fatalf("zk sample: %+v", z)
	}
	b, ok := z.BrokerListener()
	if !ok || b.Addr() != ":9092" {
		t.Fatalf("zk broker listener %v %v", b, ok)
	}
	if a, err := z.AdvertisedFor("PLAINTEXT"); err != nil || a.Addr() != "kafka-1:9092" {
		t.Fatalf("zk advertised %v %v", a, err)
	}
	if _, ok := z.ControllerListener(); ok {
		t.Fatal("zk broker has a controller listener")
	}
}

func TestValues(t *testing.T) {
	const zk = "zookeeper.connect=zk1:2181\nbroker.id=3\n"
	for _, tc := range []struct {
		name      string
		file      string
		overrides []string
		check     func(*Config) bool
	}{
		{"retention ms wins", "log.retention.ms=1000\nlog.retention.minutes=5\nlog.retention.hours=1", nil,
			func(c *Config) bool { return c.LogRetentionMs == 1000 }},
		{"retention minutes over hours", "log.retention.minutes=5\nlog.retention.hours=1", nil,
			func(c *Config) bool { return c.LogRetentionMs == 5*60*1000 }},
		{"retention hours", "log.retention.hours=2", nil,
			func(c *Config) bool { return c.LogRetentionMs == 2*3600*1000 }},
		{"retention negative is unlimited", "log.retention.ms=-5\nlog.retention.hours=1", nil,
			func(c *Config) bool { return c.LogRetentionMs == -1 }},
		{"retention hours -1 unlimited", "log.retention.hours=-1", nil,
			func(c *Config) bool { return c.LogRetentionMs == -1 }},
		{"retention huge hours clamp", "log.retention.hours=9223372036854775807", nil,
			func(c *Config) bool { return c.LogRetentionMs == 9223372036854775807 }},
		{"retention ms by override", "log.retention.hours=2", []string{"log.retention.ms=77"},
			func(c *Config) bool { return c.LogRetentionMs == 77 }},
		{"override beats file", "num.partitions=3", []string{"num.partitions=7"},
			func(c *Config) bool { return c.NumPartitions == 7 && c.Set["num.partitions"] == "7" }},
		{"later override wins", "", []string{"num.partitions=7", "num.partitions=9"},
			func(c *Config) bool { return c.NumPartitions == 9 }},
		{"override on default", "", []string{"node.id=1", "log.dirs=/a,/b"},
			func(c *Config) bool {
				return slices.Equal(c.LogDirs, []string{"/a", "/b"}) && c.MetadataLogDir == "./data/metadata"
			}},
		{"last duplicate wins, bad earlier value ignored", "num.partitions=abc\nnum.partitions=4", nil,
			func(c *Config) bool { return c.NumPartitions == 4 }},
		{"Kafka's default protocol map: listeners named after their protocol", zk +
			"listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9094\nsasl.enabled.mechanisms=SCRAM-SHA-512", nil,
			func(c *Config) bool {
				return len(c.Listeners) == 2 && c.Listeners[1].Protocol == "SASL_PLAINTEXT" && c.ListenerSecurityProtocolMap["SSL"] == "SSL"
			}},
		{"broker.id alias", zk, nil, func(c *Config) bool { return c.NodeID == 3 }},
		{"node.id and equal broker.id", zk + "node.id=3", nil, func(c *Config) bool { return c.NodeID == 3 }},
		{"log.dirs over log.dir", zk + "log.dir=/x\nlog.dirs=/y, /z", nil,
			func(c *Config) bool { return slices.Equal(c.LogDirs, []string{"/y", "/z"}) && c.MetadataLogDir == "/y" }},
		{"log.dir alone", zk + "log.dir=/x", nil,
			func(c *Config) bool { return slices.Equal(c.LogDirs, []string{"/x"}) }},
		{"reverse controller", "process.roles=controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:9093\nlisteners=CONTROLLER://127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\nzookeeper.connect=zk:2181/kafka\nzookeeper.metadata.migration.reverse.enable=true", nil,
			func(c *Config) bool {
				return c.ZooKeeperReverseEnable && !c.ZooKeeperMigrationEnable && c.ZooKeeperChroot == "/kafka"
			}},
		{"zk chroot and default port", "broker.id=1\nzookeeper.connect=a:2181, b ,[::1]:2182/kafka/prod", nil,
			func(c *Config) bool {
				return slices.Equal(c.ZooKeeperServers, []string{"a:2181", "b:2181", "[::1]:2182"}) && c.ZooKeeperChroot == "/kafka/prod"
			}},
		{"zk root chroot", "broker.id=1\nzookeeper.connect=a:1/", nil, func(c *Config) bool { return c.ZooKeeperChroot == "" }},
		{"zk connection timeout defaults to session", zk + "zookeeper.session.timeout.ms=6000", nil,
			func(c *Config) bool { return c.ZooKeeperConnectionTimeout == 6*time.Second }},
		{"zk migration broker", zk + "zookeeper.metadata.migration.enable=true\ncontroller.quorum.voters=3000@c:9093\ncontroller.listener.names=CONTROLLER", nil,
			func(c *Config) bool { return c.ZooKeeperMigrationEnable && c.Mode() == ModeZooKeeper }},
		{"migrating controller", "process.roles=controller\nnode.id=3000\ncontroller.quorum.voters=3000@127.0.0.1:9093\n" +
			"listeners=CONTROLLER://127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\nzookeeper.connect=zk:2181\nzookeeper.metadata.migration.enable=true", nil,
			func(c *Config) bool {
				_, isBroker := c.BrokerListener()
				return c.Mode() == ModeQuorum && !isBroker && c.ZooKeeperConnect == "zk:2181"
			}},
		{"broker-only quorum node", "process.roles=broker\nnode.id=4\ncontroller.quorum.voters=1@c1:9093,2@c2:9093\n" +
			"listeners=PLAINTEXT://127.0.0.1:9092\ncontroller.listener.names=CONTROLLER", nil,
			func(c *Config) bool {
				_, ctl := c.ControllerListener()
				return !ctl && len(c.QuorumVoters()) == 2 && c.QuorumVoters()[2] == "c2:9093"
			}},
		{"inter broker listener derived", "", []string{"listeners=INTERNAL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093",
			"listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"},
			func(c *Config) bool { return c.InterBrokerListenerName == "INTERNAL" }},
		{"listener names upper-cased", "", []string{"listeners=plaintext://127.0.0.1:9092,controller://127.0.0.1:9093"},
			func(c *Config) bool { return c.Listeners[0].Name == "PLAINTEXT" }},
		{"ipv6 listener", "", []string{"listeners=PLAINTEXT://[::1]:9092,CONTROLLER://127.0.0.1:9093"},
			func(c *Config) bool { return c.Listeners[0].Host == "::1" && c.Listeners[0].Addr() == "[::1]:9092" }},
		{"port 0 listeners", "", []string{"listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0", "controller.quorum.voters=1@127.0.0.1:9093"},
			func(c *Config) bool { return c.Listeners[0].Port == 0 && c.Listeners[1].Port == 0 }},
		{"all-interfaces with advertised", "", []string{"listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093",
			"advertised.listeners=PLAINTEXT://broker1.example:9092"},
			func(c *Config) bool {
				a, err := c.AdvertisedFor("PLAINTEXT")
				_, cerr := c.AdvertisedFor("CONTROLLER")
				return err == nil && a.Addr() == "broker1.example:9092" && cerr != nil
			}},
		{"typed values", "", []string{"auto.create.topics.enable=FALSE", "unclean.leader.election.enable=true",
			"log.message.timestamp.type=LogAppendTime", "log.retention.bytes=-7", "zkraft.max.open.files=64",
			"metadata.log.max.snapshot.interval.ms=0", "connections.max.idle.ms=1500", "log.segment.bytes=1048576",
			"metadata.log.max.record.bytes.between.snapshots=1000", "min.insync.replicas=2", "default.replication.factor=3"},
			func(c *Config) bool {
				return !c.AutoCreateTopicsEnable && c.UncleanLeaderElectionEnable && c.LogMessageTimestampType == "LogAppendTime" &&
					c.LogRetentionBytes == -1 && c.MaxOpenFiles == 64 && c.MetadataMaxSnapshotInterval == 0 &&
					c.ConnectionsMaxIdle == 1500*time.Millisecond && c.LogSegmentBytes == 1<<20 &&
					c.MetadataMaxRecordBytesBetweenSnapshots == 1000 && c.MinInsyncReplicas == 2 && c.DefaultReplicationFactor == 3
			}},
		{"controlled shutdown keys", "", []string{"controlled.shutdown.enable=false", "controlled.shutdown.max.retries=0",
			"controlled.shutdown.retry.backoff.ms=250"},
			func(c *Config) bool {
				return !c.ControlledShutdownEnable && c.ControlledShutdownMaxRetries == 0 &&
					c.ControlledShutdownRetryBackoff == 250*time.Millisecond && !slices.Contains(c.Ignored, "controlled.shutdown.enable")
			}},
		{"controlled shutdown defaults (Kafka's)", "", nil,
			func(c *Config) bool {
				return c.ControlledShutdownEnable && c.ControlledShutdownMaxRetries == 3 && c.ControlledShutdownRetryBackoff == 5*time.Second
			}},
		{"bootstrap servers beside voters ignored", "", []string{"controller.quorum.bootstrap.servers=127.0.0.1:9093"},
			func(c *Config) bool { return len(c.ControllerQuorumVoters) == 1 }},
		{"ignored key listed", "", []string{"num.io.threads=8", "log.flush.interval.ms=1"},
			func(c *Config) bool {
				return slices.Equal(c.Ignored, []string{"log.flush.interval.ms", "num.io.threads"})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file != "" && !strings.Contains(file, "zookeeper.connect") && !strings.Contains(file, "process.roles") {
				file = string(defaultProperties) + "\n" + file
			}
			c := mustLoad(t, file, tc.overrides...)
			if !tc.check(c) {
				t.Fatalf("unexpected config: %+v", c)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("loaded config fails Validate: %v", err)
			}
		})
	}
}

// TestZooKeeperModeByOverrides (issue 13 part 2): with no file, overrides
// that set zookeeper.connect and not process.roles are ZooKeeper mode
// (docs/configuration.md: an empty process.roles with zookeeper.connect),
// so none of the quorum default's keys (process.roles, node.id, the
// CONTROLLER listener, voters) is applied under them.
func TestZooKeeperModeByOverrides(t *testing.T) {
	c := mustLoad(t, "", "broker.id=2", "zookeeper.connect=127.0.0.1:2181/kafka", "listeners=PLAINTEXT://127.0.0.1:19092")
	if c.Mode() != ModeZooKeeper || len(c.ProcessRoles) != 0 || c.NodeID != 2 {
		t.Fatalf("mode %s roles %v node %d", c.Mode(), c.ProcessRoles, c.NodeID)
	}
	if c.ZooKeeperChroot != "/kafka" || !slices.Equal(c.ZooKeeperServers, []string{"127.0.0.1:2181"}) {
		t.Fatalf("zookeeper %v %q", c.ZooKeeperServers, c.ZooKeeperChroot)
	}
	if len(c.Listeners) != 1 || c.Listeners[0].String() != "PLAINTEXT://127.0.0.1:19092" ||
		len(c.ControllerQuorumVoters) != 0 || len(c.ControllerListenerNames) != 0 {
		t.Fatalf("listeners %v voters %v controller listeners %v", c.Listeners, c.ControllerQuorumVoters, c.ControllerListenerNames)
	}
	if !slices.Equal(c.LogDirs, []string{"./data/kafka-logs"}) || c.OffsetsTopicReplicationFactor != 1 {
		t.Fatalf("log dirs %v offsets rf %d", c.LogDirs, c.OffsetsTopicReplicationFactor)
	}
	// Without listeners: the ZooKeeper-mode default's one broker listener.
	c = mustLoad(t, "", "broker.id=1", "zookeeper.connect=zk:2181")
	if b, ok := c.BrokerListener(); !ok || b.Addr() != "127.0.0.1:9092" || len(c.Listeners) != 1 {
		t.Fatalf("listeners %v", c.Listeners)
	}
	// A migrating ZooKeeper-mode broker by overrides alone.
	c = mustLoad(t, "", "broker.id=1", "zookeeper.connect=zk:2181", "zookeeper.metadata.migration.enable=true",
		"controller.quorum.voters=3000@127.0.0.1:9093", "controller.listener.names=CONTROLLER")
	if c.Mode() != ModeZooKeeper || !c.ZooKeeperMigrationEnable {
		t.Fatalf("migrating broker: mode %s flag %v", c.Mode(), c.ZooKeeperMigrationEnable)
	}
	// An empty zookeeper.connect (unset) keeps the quorum default.
	if c := mustLoad(t, "", "zookeeper.connect="); c.Mode() != ModeQuorum {
		t.Fatalf("zookeeper.connect= chose mode %s", c.Mode())
	}
}

// Every error names the key(s) and the value.
func TestErrors(t *testing.T) {
	const quorum = "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:9093\n" +
		"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\n"
	const zk = "zookeeper.connect=zk1:2181\nbroker.id=3\n"
	for _, tc := range []struct {
		name      string
		file      string
		overrides []string
		sentinel  error
		want      string
	}{
		{"unknown key", quorum + "log.retention.hourz=5", nil, ErrUnknownKey, `unknown configuration key "log.retention.hourz" (`},
		{"unknown key line", quorum + "\n# c\nfoo.bar=1", nil, ErrUnknownKey, `"foo.bar" (` /* path */},
		{"unknown override", "", []string{"nope=1"}, ErrUnknownKey, `unknown configuration key "nope" (--override #1)`},
		{"bad override", "", []string{"num.partitions"}, ErrBadOverride, `"num.partitions": want key=value`},
		{"empty override key", "", []string{"=3"}, ErrBadOverride, `"=3"`},
		{"not an integer", quorum + "num.partitions=abc", nil, ErrInvalidValue, `invalid value "abc" for num.partitions: not an integer`},
		{"int32 overflow", "", []string{"num.partitions=3000000000"}, ErrInvalidValue, `invalid value "3000000000" for num.partitions: must be at most 2147483647`},
		{"int64 overflow", "", []string{"log.retention.bytes=99999999999999999999"}, ErrInvalidValue, `for log.retention.bytes: out of range for a 64-bit integer`},
		{"replication factor 0", "", []string{"default.replication.factor=0"}, ErrInvalidValue, `invalid value "0" for default.replication.factor: must be at least 1`},
		{"replication factor too big", "", []string{"default.replication.factor=40000"}, ErrInvalidValue, `invalid value "40000" for default.replication.factor: must be at most 32767`},
		{"min isr 0", "", []string{"min.insync.replicas=0"}, ErrInvalidValue, `invalid value "0" for min.insync.replicas: must be at least 1`},
		{"num partitions 0", "", []string{"num.partitions=0"}, ErrInvalidValue, `for num.partitions: must be at least 1`},
		{"offsets rf 0", "", []string{"offsets.topic.replication.factor=0"}, ErrInvalidValue, `for offsets.topic.replication.factor`},
		{"segment tiny", "", []string{"log.segment.bytes=10"}, ErrInvalidValue, `invalid value "10" for log.segment.bytes: must be at least 14`},
		{"bad bool", "", []string{"auto.create.topics.enable=yes"}, ErrInvalidValue, `invalid value "yes" for auto.create.topics.enable: not true or false`},
		{"bad timestamp type", "", []string{"log.message.timestamp.type=Now"}, ErrInvalidValue, `for log.message.timestamp.type: want CreateTime or LogAppendTime`},
		{"negative ms", "", []string{"connections.max.idle.ms=-1"}, ErrInvalidValue, `invalid value "-1" for connections.max.idle.ms: must be at least 1`},
		{"retention zero", "", []string{"log.retention.ms=0"}, ErrInconsistent, `log retention of 0 ms`},
		{"unknown role", "", []string{"process.roles=broker,observer"}, ErrInvalidValue, `invalid value "broker,observer" for process.roles: unknown role "observer"`},
		{"duplicate role", "", []string{"process.roles=broker,broker"}, ErrInvalidValue, `role "broker" given twice`},
		{"node.id and broker.id differ", "", []string{"broker.id=2"}, ErrInconsistent, `node.id=1 and broker.id=2 differ`},
		{"bad node id", "", []string{"node.id=x"}, ErrInvalidValue, `invalid value "x" for node.id: not an integer`},
		{"quorum without node.id", "", []string{"node.id=-1"}, ErrInconsistent, `node.id is required when process.roles is set`},
		{"controller not a voter", "", []string{"node.id=2"}, ErrInconsistent, `process.roles=broker,controller includes controller but node.id=2 is not in controller.quorum.voters (1@127.0.0.1:9093)`},
		{"no voters", "", []string{"controller.quorum.voters="}, ErrInconsistent, `controller.quorum.voters is required when process.roles is set`},
		{"bootstrap servers only", "", []string{"controller.quorum.voters=", "controller.quorum.bootstrap.servers=a:9093"}, ErrInconsistent, `controller.quorum.bootstrap.servers (dynamic quorum, KIP-853) is not supported`},
		{"bad voter", "", []string{"controller.quorum.voters=1@127.0.0.1"}, ErrInvalidValue, `invalid value "1@127.0.0.1" for controller.quorum.voters: entry "1@127.0.0.1": bad host:port`},
		{"voter without id", "", []string{"controller.quorum.voters=127.0.0.1:9093"}, ErrInvalidValue, `is not id@host:port`},
		{"duplicate voter", "", []string{"controller.quorum.voters=1@a:1,1@b:2"}, ErrInvalidValue, `node id 1 given twice`},
		{"controller listener missing", "", []string{"controller.listener.names="}, ErrInconsistent, `controller.listener.names is required when process.roles is set`},
		{"controller listener not in listeners", "", []string{"controller.listener.names=CTL", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CTL:PLAINTEXT"}, ErrInconsistent, `controller.listener.names: CTL is not in listeners (PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093)`},
		{"neither mode", "log.dirs=/x", nil, ErrInconsistent, `neither process.roles (quorum mode) nor zookeeper.connect (zookeeper mode) is set`},
		{"both modes", "", []string{"zookeeper.connect=zk:2181", "process.roles=broker,controller"}, ErrInconsistent, `process.roles=broker,controller and zookeeper.connect are both set`},
		{"both modes in file", quorum + "zookeeper.connect=zk:2181", nil, ErrInconsistent, `process.roles=broker,controller and zookeeper.connect are both set`},
		{"zk mode by overrides without broker.id", "", []string{"zookeeper.connect=zk:2181"}, ErrInconsistent, `broker.id (or node.id) is required in zookeeper mode`},
		{"zk migration broker by overrides without voters", "", []string{"zookeeper.connect=zk:2181", "broker.id=1", "zookeeper.metadata.migration.enable=true"}, ErrInconsistent, `needs controller.quorum.voters and controller.listener.names`},
		{"migrating controller without zk", "process.roles=controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:9093\nlisteners=CONTROLLER://127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\nzookeeper.metadata.migration.enable=true", nil, ErrInconsistent, `zookeeper.metadata.migration.enable=true with process.roles=controller needs zookeeper.connect`},
		{"reverse flag on zk broker", zk + "zookeeper.metadata.migration.reverse.enable=true", nil, ErrInconsistent, `zookeeper.metadata.migration.reverse.enable=true is for controllers`},
		{"reverse flag on combined node", "", []string{"zookeeper.connect=zk:2181", "process.roles=broker,controller", "zookeeper.metadata.migration.reverse.enable=true"}, ErrInconsistent, `is for process.roles=controller, not process.roles=broker,controller`},
		{"reverse controller without zk", "process.roles=controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:9093\nlisteners=CONTROLLER://127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\nzookeeper.metadata.migration.reverse.enable=true", nil, ErrInconsistent, `zookeeper.metadata.migration.reverse.enable=true needs zookeeper.connect`},
		{"both directions", "process.roles=controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:9093\nlisteners=CONTROLLER://127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\nzookeeper.connect=zk:2181\nzookeeper.metadata.migration.enable=true\nzookeeper.metadata.migration.reverse.enable=true", nil, ErrInconsistent, `set one (forward or reverse)`},
		{"migration flag on quorum broker", "", []string{"zookeeper.metadata.migration.enable=true"}, ErrInconsistent, `zookeeper.metadata.migration.enable=true is for zookeeper-mode brokers and controllers, not process.roles=broker,controller`},
		{"zk mode without broker.id", "zookeeper.connect=zk:2181", nil, ErrInconsistent, `broker.id (or node.id) is required in zookeeper mode`},
		{"zk migration broker without voters", zk + "zookeeper.metadata.migration.enable=true", nil, ErrInconsistent, `needs controller.quorum.voters and controller.listener.names`},
		{"bad zk connect", "broker.id=1\nzookeeper.connect=a:b", nil, ErrInvalidValue, `invalid value "a:b" for zookeeper.connect`},
		{"bad zk chroot", "broker.id=1\nzookeeper.connect=a:1/x/", nil, ErrInvalidValue, `bad chroot "/x/"`},
		{"empty zk server", "broker.id=1\nzookeeper.connect=a:1,,b:2", nil, ErrInvalidValue, `empty server in list`},
		{"listener not in map", "", []string{"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,EXTERNAL://127.0.0.1:9094"}, ErrInconsistent, `listener name "EXTERNAL" (listeners) has no entry in listener.security.protocol.map`},
		{"sasl default gssapi", "", []string{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"}, ErrInconsistent,
			`listener PLAINTEXT is SASL_PLAINTEXT but sasl.enabled.mechanisms (default GSSAPI) enables only GSSAPI, which zkraft does not serve`},
		{"sasl only unsupported", "", []string{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
			"listener.name.plaintext.sasl.enabled.mechanisms=GSSAPI,OAUTHBEARER"}, ErrInconsistent, `listener.name.plaintext.sasl.enabled.mechanisms enables only GSSAPI,OAUTHBEARER`},
		{"sasl plain without users", "", []string{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
			"sasl.enabled.mechanisms=PLAIN"}, ErrInconsistent, `listener PLAINTEXT enables PLAIN but has no users: set listener.name.plaintext.plain.sasl.jaas.config`},
		{"sasl bad jaas", "", []string{"listener.name.plaintext.plain.sasl.jaas.config=PlainLoginModule required"}, ErrInvalidValue, `listener.name.plaintext.plain.sasl.jaas.config`},
		{"sasl controller listener", "", []string{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
			"sasl.enabled.mechanisms=SCRAM-SHA-512"}, ErrInconsistent, `listener CONTROLLER is a controller listener`},
		{"sasl inter-broker mechanism", "", []string{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
			"sasl.enabled.mechanisms=SCRAM-SHA-512"}, ErrInconsistent, `set sasl.mechanism.inter.broker.protocol`},
		{"sasl inter-broker credentials", "", []string{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
			"sasl.enabled.mechanisms=SCRAM-SHA-512", "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512"}, ErrInconsistent,
			`go in listener.name.plaintext.scram-sha-512.sasl.jaas.config`},
		{"ssl without keystore", "", []string{"listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:PLAINTEXT"}, ErrInconsistent, `listener PLAINTEXT is SSL in listener.security.protocol.map but has no keystore`},
		{"bad map entry", "", []string{"listener.security.protocol.map=PLAINTEXT"}, ErrInvalidValue, `entry "PLAINTEXT" is not NAME:PROTOCOL`},
		{"bad protocol", "", []string{"listener.security.protocol.map=PLAINTEXT:TLS"}, ErrInvalidValue, `unknown security protocol "TLS"`},
		{"bad listener", "", []string{"listeners=127.0.0.1:9092"}, ErrInvalidValue, `entry "127.0.0.1:9092" is not NAME://host:port`},
		{"bad listener port", "", []string{"listeners=PLAINTEXT://h:99999"}, ErrInvalidValue, `bad port "99999"`},
		{"duplicate listener", "", []string{"listeners=PLAINTEXT://h:1,PLAINTEXT://h:2"}, ErrInvalidValue, `listener name PLAINTEXT given twice`},
		{"shared port", "", []string{"listeners=PLAINTEXT://h:1,CONTROLLER://h:1"}, ErrInvalidValue, `share port 1`},
		{"advertised 0.0.0.0", "", []string{"advertised.listeners=PLAINTEXT://0.0.0.0:9092"}, ErrInconsistent, `advertised.listeners entry PLAINTEXT://0.0.0.0:9092 has host "0.0.0.0"`},
		{"advertised port 0", "", []string{"advertised.listeners=PLAINTEXT://h:0"}, ErrInvalidValue, `bad port "0"`},
		{"advertised unknown listener", "", []string{"advertised.listeners=CONTROLLER2://h:1", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CONTROLLER2:PLAINTEXT"}, ErrInconsistent, `advertised.listeners entry CONTROLLER2://h:1 names no listener`},
		{"0.0.0.0 not advertisable", "", []string{"listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093"}, ErrInconsistent, `listener PLAINTEXT://0.0.0.0:9092 binds 0.0.0.0, which cannot be advertised; set advertised.listeners`},
		{"inter broker listener missing", "", []string{"inter.broker.listener.name=INTERNAL"}, ErrInconsistent, `inter.broker.listener.name=INTERNAL is not in listeners`},
		{"inter broker is controller", "", []string{"inter.broker.listener.name=CONTROLLER"}, ErrInconsistent, `inter.broker.listener.name=CONTROLLER is a controller listener`},
		{"no broker listener", "", []string{"listeners=CONTROLLER://127.0.0.1:9093"}, ErrInconsistent, `has no broker listener`},
		{"broker-only with controller listener", "", []string{"process.roles=broker"}, ErrInconsistent, `listener CONTROLLER is in controller.listener.names, but process.roles=broker`},
		{"controller-only with broker listener", "", []string{"process.roles=controller"}, ErrInconsistent, `listener PLAINTEXT is not in controller.listener.names (CONTROLLER)`},
		{"heartbeat above session", "", []string{"broker.heartbeat.interval.ms=9000"}, ErrInconsistent, `broker.heartbeat.interval.ms=9000 must be below broker.session.timeout.ms=9000`},
		{"empty log dirs", "", []string{"log.dirs= , "}, ErrInconsistent, `log.dirs is empty`},
		{"max open files", "", []string{"zkraft.max.open.files=1"}, ErrInvalidValue, `for zkraft.max.open.files: must be at least 2`},
		{"missing file", "", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.name == "missing file" {
				_, err = Load(filepath.Join(t.TempDir(), "nope.properties"), nil)
				if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.properties") {
					t.Fatalf("missing file: %v", err)
				}
				return
			}
			_, err = load(t, tc.file, tc.overrides...)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %v containing %q", err, tc.sentinel, tc.want)
			}
		})
	}
}

func TestValidateAfterEdit(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"replication factor", func(c *Config) { c.DefaultReplicationFactor = 0 }, "default.replication.factor"},
		{"min isr", func(c *Config) { c.MinInsyncReplicas = -1 }, "min.insync.replicas"},
		{"role", func(c *Config) { c.ProcessRoles = []string{"observer"} }, `unknown role "observer"`},
		{"retention", func(c *Config) { c.LogRetentionMs = -2 }, "log.retention.ms"},
		{"timestamp type", func(c *Config) { c.LogMessageTimestampType = "x" }, "log.message.timestamp.type"},
		{"metadata dir", func(c *Config) { c.MetadataLogDir = "" }, "metadata.log.dir"},
		{"no listeners", func(c *Config) { c.Listeners = nil }, "listeners is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error naming %q", err, tc.want)
			}
		})
	}
}

func TestAdvertisedFor(t *testing.T) {
	saved := hostname
	defer func() { hostname = saved }()
	hostname = func() (string, error) { return "", errors.New("no name") }
	c := mustLoad(t, "", "listeners=PLAINTEXT://:9092,CONTROLLER://127.0.0.1:9093")
	if _, err := c.AdvertisedFor("PLAINTEXT"); err == nil || !strings.Contains(err.Error(), "set advertised.listeners") {
		t.Fatalf("empty host without host name: %v", err)
	}
	if _, err := c.AdvertisedFor("NOPE"); err == nil || !strings.Contains(err.Error(), `listener "NOPE" is not in listeners`) {
		t.Fatalf("unknown listener: %v", err)
	}
	if a, err := c.AdvertisedFor("CONTROLLER"); err != nil || a.Addr() != "127.0.0.1:9093" || a.Protocol != "PLAINTEXT" {
		t.Fatalf("controller: %v %v", a, err)
	}
}

// docs/configuration.md documents every key the package accepts.
func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/configuration.md does not document %s", k)
		}
	}
	for _, k := range ignoredKeys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/configuration.md does not list ignored key %s", k)
		}
	}
}
