package main

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
)

// componentConfigs are the component configurations serve builds from cfg,
// by the functions serve calls, named as config.Destinations names them.
// A component serve does not run in cfg's mode is still built: the
// builders copy keys whatever the mode.
func componentConfigs(t *testing.T, cfg *config.Config) map[string]any {
	t.Helper()
	eps, err := advertisedEndpoints(cfg)
	if err != nil && cfg.HasRole(config.RoleBroker) {
		t.Fatalf("advertised endpoints: %v", err)
	}
	ctrl, _ := cfg.ControllerListener()
	srv, err := serverConfig(cfg, nil)
	if err != nil && cfg.HasRole(config.RoleBroker) {
		t.Fatalf("server config: %v", err)
	}
	return map[string]any{
		"server":  srv,
		"storage": storageConfig(cfg),
		"replica": replicaConfig(cfg),
		"broker":  brokerConfig(cfg, "cluster", eps),
		"network": networkConfig(cfg),
		"client":  clientConfig(cfg, eps),
		"quorum":  quorumConfig(cfg, ctrl),
		"gossip":  gossipConfig(cfg),
		"zk":      zkConfig(cfg),
		"migrate": driverConfig(cfg, cfg.ZooKeeperReverseEnable),
	}
}

// Bases the probes start from: valid configurations of each kind of node.
const (
	combinedBase = `process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:9093
log.dirs=/data/kafka-logs
metadata.log.dir=/data/metadata
offsets.topic.replication.factor=1
`
	zkBase = `broker.id=1
zookeeper.connect=127.0.0.1:2181
listeners=PLAINTEXT://127.0.0.1:9092
log.dirs=/data/kafka-logs
`
	migratingControllerBase = `process.roles=controller
node.id=3000
listeners=CONTROLLER://127.0.0.1:9093
controller.listener.names=CONTROLLER
controller.quorum.voters=3000@127.0.0.1:9093
zookeeper.connect=127.0.0.1:2181
zookeeper.metadata.migration.enable=true
log.dirs=/data/kafka-logs
`
)

// probe changes one key: base (with the keys in without removed) against
// base plus set. Every destination the key declares must differ.
type probe struct {
	base    string
	without []string
	set     []string
}

// probes has one entry per key that reaches a component or cmd; a key
// added to config's table without one here fails TestEveryKeyReachesAComponent.
var probes = map[string]probe{
	"process.roles":        {base: combinedBase, set: []string{"process.roles=controller,broker"}},
	"node.id":              {base: combinedBase + "controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.2:9093\n", set: []string{"node.id=2"}},
	"broker.id":            {base: zkBase, set: []string{"broker.id=2"}},
	"listeners":            {base: combinedBase, set: []string{"listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"}},
	"advertised.listeners": {base: combinedBase, set: []string{"advertised.listeners=PLAINTEXT://broker1.example:9092"}},
	"controller.listener.names": {
		base: combinedBase + "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,C2://127.0.0.1:9094\n" +
			"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,C2:PLAINTEXT\n",
		set: []string{"controller.listener.names=C2"}},
	"inter.broker.listener.name": {
		base: combinedBase + "listeners=PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093\n" +
			"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT\n",
		set: []string{"inter.broker.listener.name=INTERNAL"}},
	"controller.quorum.voters":        {base: combinedBase, set: []string{"controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.2:9093"}},
	"zookeeper.connect":               {base: zkBase, set: []string{"zookeeper.connect=zk1:2181,zk2:2181/kafka"}},
	"zookeeper.session.timeout.ms":    {base: zkBase, set: []string{"zookeeper.session.timeout.ms=6000"}},
	"zookeeper.connection.timeout.ms": {base: zkBase, set: []string{"zookeeper.connection.timeout.ms=1000"}},
	"zookeeper.metadata.migration.enable": {base: zkBase, set: []string{"zookeeper.metadata.migration.enable=true",
		"controller.quorum.voters=3000@127.0.0.1:9093", "controller.listener.names=CONTROLLER"}},
	"zookeeper.metadata.migration.reverse.enable": {base: migratingControllerBase, set: []string{
		"zookeeper.metadata.migration.enable=false", "zookeeper.metadata.migration.reverse.enable=true"}},
	"log.dirs":                                 {base: combinedBase, set: []string{"log.dirs=/other/a,/other/b"}},
	"log.dir":                                  {base: combinedBase, without: []string{"log.dirs"}, set: []string{"log.dir=/other"}},
	"metadata.log.dir":                         {base: combinedBase, set: []string{"metadata.log.dir=/other/metadata"}},
	"num.partitions":                           {base: combinedBase, set: []string{"num.partitions=3"}},
	"default.replication.factor":               {base: combinedBase, set: []string{"default.replication.factor=3"}},
	"min.insync.replicas":                      {base: combinedBase, set: []string{"min.insync.replicas=2"}},
	"log.segment.bytes":                        {base: combinedBase, set: []string{"log.segment.bytes=1048576"}},
	"log.retention.ms":                         {base: combinedBase, set: []string{"log.retention.ms=1000"}},
	"log.retention.minutes":                    {base: combinedBase, set: []string{"log.retention.minutes=5"}},
	"log.retention.hours":                      {base: combinedBase, set: []string{"log.retention.hours=1"}},
	"log.retention.bytes":                      {base: combinedBase, set: []string{"log.retention.bytes=1000000"}},
	"log.retention.check.interval.ms":          {base: combinedBase, set: []string{"log.retention.check.interval.ms=1000"}},
	"producer.id.expiration.ms":                {base: combinedBase, set: []string{"producer.id.expiration.ms=60000"}},
	"log.index.interval.bytes":                 {base: combinedBase, set: []string{"log.index.interval.bytes=100"}},
	"message.max.bytes":                        {base: combinedBase, set: []string{"message.max.bytes=2097152"}},
	"log.cleanup.policy":                       {base: combinedBase, set: []string{"log.cleanup.policy=compact, delete"}},
	"compression.type":                         {base: combinedBase, set: []string{"compression.type=zstd"}},
	"log.cleaner.delete.retention.ms":          {base: combinedBase, set: []string{"log.cleaner.delete.retention.ms=1000"}},
	"log.cleaner.min.cleanable.ratio":          {base: combinedBase, set: []string{"log.cleaner.min.cleanable.ratio=0.2"}},
	"socket.request.max.bytes":                 {base: combinedBase, set: []string{"socket.request.max.bytes=1000000"}},
	"auto.create.topics.enable":                {base: combinedBase, set: []string{"auto.create.topics.enable=false"}},
	"authorizer.class.name":                    {base: combinedBase, set: []string{"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"}},
	"super.users":                              {base: combinedBase, set: []string{"super.users=User:admin;User:broker"}},
	"allow.everyone.if.no.acl.found":           {base: combinedBase, set: []string{"allow.everyone.if.no.acl.found=true"}},
	"offsets.topic.num.partitions":             {base: combinedBase, set: []string{"offsets.topic.num.partitions=5"}},
	"transaction.state.log.num.partitions":     {base: combinedBase, set: []string{"transaction.state.log.num.partitions=5"}},
	"transaction.state.log.replication.factor": {base: combinedBase, set: []string{"transaction.state.log.replication.factor=1"}},
	"transaction.state.log.min.isr":            {base: combinedBase, set: []string{"transaction.state.log.min.isr=1"}},
	"transaction.state.log.segment.bytes":      {base: combinedBase, set: []string{"transaction.state.log.segment.bytes=1048576"}},
	"transaction.max.timeout.ms":               {base: combinedBase, set: []string{"transaction.max.timeout.ms=60000"}},
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": {base: combinedBase, set: []string{"transaction.abort.timed.out.transaction.cleanup.interval.ms=1000"}},
	"transactional.id.expiration.ms":                              {base: combinedBase, set: []string{"transactional.id.expiration.ms=60000"}},
	"transaction.remove.expired.transaction.cleanup.interval.ms":  {base: combinedBase, set: []string{"transaction.remove.expired.transaction.cleanup.interval.ms=1000"}},
	"zkraft.transaction.version":                                  {base: combinedBase, set: []string{"zkraft.transaction.version=0"}},
	"offsets.topic.replication.factor":                            {base: combinedBase, set: []string{"offsets.topic.replication.factor=2"}},
	"replica.lag.time.max.ms":                                     {base: combinedBase, set: []string{"replica.lag.time.max.ms=10000"}},
	"broker.heartbeat.interval.ms":                                {base: combinedBase, set: []string{"broker.heartbeat.interval.ms=1000"}},
	"broker.session.timeout.ms":                                   {base: combinedBase, set: []string{"broker.session.timeout.ms=20000"}},
	"unclean.leader.election.enable":                              {base: combinedBase, set: []string{"unclean.leader.election.enable=true"}},
	"auto.leader.rebalance.enable":                                {base: combinedBase, set: []string{"auto.leader.rebalance.enable=false"}},
	"leader.imbalance.check.interval.seconds":                     {base: combinedBase, set: []string{"leader.imbalance.check.interval.seconds=30"}},
	"leader.imbalance.per.broker.percentage":                      {base: combinedBase, set: []string{"leader.imbalance.per.broker.percentage=20"}},
	"controlled.shutdown.enable":                                  {base: zkBase, set: []string{"controlled.shutdown.enable=false"}},
	"controlled.shutdown.max.retries":                             {base: zkBase, set: []string{"controlled.shutdown.max.retries=1"}},
	"controlled.shutdown.retry.backoff.ms":                        {base: zkBase, set: []string{"controlled.shutdown.retry.backoff.ms=100"}},
	"log.message.timestamp.type":                                  {base: combinedBase, set: []string{"log.message.timestamp.type=LogAppendTime"}},
	"metadata.log.max.record.bytes.between.snapshots": {base: combinedBase,
		set: []string{"metadata.log.max.record.bytes.between.snapshots=1000"}},
	"metadata.log.max.snapshot.interval.ms": {base: combinedBase, set: []string{"metadata.log.max.snapshot.interval.ms=60000"}},
	"connections.max.idle.ms":               {base: combinedBase, set: []string{"connections.max.idle.ms=1000"}},
	"group.initial.rebalance.delay.ms":      {base: combinedBase, set: []string{"group.initial.rebalance.delay.ms=0"}},
	"zkraft.max.open.files":                 {base: combinedBase, set: []string{"zkraft.max.open.files=10"}},
	"max.incremental.fetch.session.cache.slots": {base: combinedBase,
		set: []string{"max.incremental.fetch.session.cache.slots=10"}},
	"zkraft.metadata.snapshot.retain": {base: combinedBase, set: []string{"zkraft.metadata.snapshot.retain=5"}},
	"zkraft.metrics.listener":         {base: combinedBase, set: []string{"zkraft.metrics.listener=http://127.0.0.1:9404"}},
}

// checkedOnly are the keys whose value only constrains other keys: the
// store types (PEM is the one zkraft reads), the store passwords (PEM
// stores have none) and ssl.key.password (it decides whether an encrypted
// key loads; the components get the decrypted key, the same as an
// unencrypted copy's), globally and per listener. A key is only
// accepted as config.DestChecked when listed here.
var checkedOnly = withPerListener("ssl.keystore.type", "ssl.truststore.type", "ssl.keystore.password",
	"ssl.truststore.password", "ssl.key.password")

func withPerListener(ks ...string) []string {
	out := slices.Clone(ks)
	for _, k := range ks {
		out = append(out, config.PerListenerKey(k))
	}
	return out
}

// TLS probes: a combined node whose listeners are both SSL, its keystore
// and truststore the committed test PKI (testdata/tls, made with openssl,
// valid until 2126).
const sslBase = `process.roles=broker,controller
node.id=1
listeners=SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
listener.security.protocol.map=SSL:SSL,CONTROLLER:SSL
inter.broker.listener.name=SSL
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:9093
log.dirs=/data/kafka-logs
metadata.log.dir=/data/metadata
offsets.topic.replication.factor=1
ssl.keystore.location=testdata/tls/broker.pem
ssl.truststore.location=testdata/tls/ca.pem
`

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// sslInlineBase is sslBase with the keystore inline, its PEM line breaks
// written as properties escapes (\n).
var sslInlineBase = strings.Replace(sslBase, "ssl.keystore.location=testdata/tls/broker.pem\n",
	"ssl.keystore.certificate.chain="+escapeNewlines(mustRead("testdata/tls/broker-cert.pem"))+"\n"+
		"ssl.keystore.key="+escapeNewlines(mustRead("testdata/tls/broker-key.pem"))+"\n", 1)

func escapeNewlines(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }

// tlsProbes change each ssl.* key; perListener turns each into the probe
// of its listener.name.<listener>. form, set on both listeners.
var tlsProbes = map[string]probe{
	"ssl.keystore.location": {base: sslBase, set: []string{"ssl.keystore.location=testdata/tls/broker2.pem"}},
	"ssl.keystore.certificate.chain": {base: sslInlineBase, set: []string{
		"ssl.keystore.certificate.chain=" + mustRead("testdata/tls/broker2-cert.pem"),
		"ssl.keystore.key=" + mustRead("testdata/tls/broker2-key.pem")}},
	"ssl.keystore.key": {base: sslInlineBase, set: []string{
		"ssl.keystore.certificate.chain=" + mustRead("testdata/tls/broker2-cert.pem"),
		"ssl.keystore.key=" + mustRead("testdata/tls/broker2-key.pem")}},
	// A truststore is required (raft over TLS): the probes add a second
	// trust anchor (trust2.pem = ca.pem + broker2's certificate).
	"ssl.truststore.location": {base: sslBase, set: []string{"ssl.truststore.location=testdata/tls/trust2.pem"}},
	"ssl.truststore.certificates": {base: strings.Replace(sslBase, "ssl.truststore.location=testdata/tls/ca.pem\n",
		"ssl.truststore.certificates="+escapeNewlines(mustRead("testdata/tls/ca.pem"))+"\n", 1),
		set: []string{"ssl.truststore.certificates=" + mustRead("testdata/tls/trust2.pem")}},
	"ssl.client.auth":                       {base: sslBase, set: []string{"ssl.client.auth=required"}},
	"ssl.enabled.protocols":                 {base: sslBase, set: []string{"ssl.enabled.protocols=TLSv1.3"}},
	"ssl.endpoint.identification.algorithm": {base: sslBase, set: []string{"ssl.endpoint.identification.algorithm="}},
}

func init() {
	probes["listener.security.protocol.map"] = probe{
		base: combinedBase + "ssl.keystore.location=testdata/tls/broker.pem\nssl.truststore.location=testdata/tls/ca.pem\n",
		set:  []string{"listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:SSL"}}
	for k, p := range tlsProbes {
		probes[k] = p
		// The global key's keystore, when inline, stays the base; the
		// override on both listeners changes every destination.
		var set []string
		for _, kv := range p.set {
			for _, l := range []string{"ssl", "controller"} {
				set = append(set, "listener.name."+l+"."+kv)
			}
		}
		probes[config.PerListenerKey(k)] = probe{base: p.base, without: p.without, set: set}
	}
}

// SASL probes: a combined node whose client listener CLIENTS is
// SASL_PLAINTEXT and also the inter-broker listener, with PLAIN users.
const (
	plainJaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret";`
	scramJaas = `org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="one";`
	saslBase  = `process.roles=broker,controller
node.id=1
listeners=CLIENTS://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
listener.security.protocol.map=CLIENTS:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=CLIENTS
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:9093
log.dirs=/data/kafka-logs
metadata.log.dir=/data/metadata
offsets.topic.replication.factor=1
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=PLAIN
`
)

func init() {
	listenerJaas := "listener.name.clients.plain.sasl.jaas.config=" + plainJaas + "\n"
	for k, p := range map[string]probe{
		"sasl.enabled.mechanisms": {base: saslBase + "sasl.jaas.config=" + plainJaas + "\n", set: []string{"sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN"}},
		config.PerListenerKey("sasl.enabled.mechanisms"): {base: saslBase + "sasl.jaas.config=" + plainJaas + "\n",
			set: []string{"listener.name.clients.sasl.enabled.mechanisms=PLAIN"}},
		"sasl.jaas.config": {base: saslBase + "sasl.jaas.config=" + plainJaas + "\n",
			set: []string{"sasl.jaas.config=" + strings.ReplaceAll(plainJaas, "admin-secret", "other")}},
		config.PerListenerKey("plain.sasl.jaas.config"): {base: saslBase + listenerJaas,
			set: []string{"listener.name.clients.plain.sasl.jaas.config=" + strings.ReplaceAll(plainJaas, "admin-secret", "other")}},
		"sasl.mechanism.inter.broker.protocol": {base: saslBase + listenerJaas + "listener.name.clients.scram-sha-512.sasl.jaas.config=" + scramJaas + "\n",
			set: []string{"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512"}},
		config.PerListenerKey("scram-sha-512.sasl.jaas.config"): {base: saslBase + listenerJaas + "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n" +
			"listener.name.clients.scram-sha-512.sasl.jaas.config=" + scramJaas + "\n",
			set: []string{"listener.name.clients.scram-sha-512.sasl.jaas.config=" + strings.ReplaceAll(scramJaas, "one", "two")}},
		config.PerListenerKey("scram-sha-256.sasl.jaas.config"): {base: strings.Replace(saslBase, "SCRAM-SHA-512", "SCRAM-SHA-256", 1) + listenerJaas +
			"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256\nlistener.name.clients.scram-sha-256.sasl.jaas.config=" + scramJaas + "\n",
			set: []string{"listener.name.clients.scram-sha-256.sasl.jaas.config=" + strings.ReplaceAll(scramJaas, "one", "two")}},
		"sasl.server.max.receive.size": {base: combinedBase, set: []string{"sasl.server.max.receive.size=1000"}},
	} {
		probes[k] = p
	}
}

// ignoredValues are values for ignored keys that need a particular form;
// the others get "1".
var ignoredValues = map[string]string{"controller.quorum.bootstrap.servers": "127.0.0.1:9093"}

func loadProbe(t *testing.T, key, base string, without, set []string) *config.Config {
	t.Helper()
	props, err := config.Parse([]byte(base), key+" probe base")
	if err != nil {
		t.Fatal(err)
	}
	props = slices.DeleteFunc(props, func(p config.Property) bool { return slices.Contains(without, p.Key) })
	for _, s := range set {
		k, v, _ := strings.Cut(s, "=")
		props = append(props, config.Property{Key: k, Value: v, Source: key + " probe"})
	}
	cfg, err := config.FromProperties(props)
	if err != nil {
		t.Fatalf("%s probe: %v", key, err)
	}
	return cfg
}

// field follows a dotted path of field names from v.
func field(t *testing.T, v reflect.Value, path string) reflect.Value {
	t.Helper()
	for _, name := range strings.Split(path, ".") {
		for v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			t.Fatalf("%s: %s is not a struct field", path, name)
		}
		f := v.FieldByName(name)
		if !f.IsValid() {
			t.Fatalf("%s: no field %s in %s", path, name, v.Type())
		}
		v = f
	}
	return v
}

// cmdSelectors are the names cmd/zkraft's own (non-test) code selects
// (x.Name), by file.
func cmdSelectors(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]string{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				if _, seen := used[s.Sel.Name]; !seen {
					used[s.Sel.Name] = e.Name()
				}
			}
			return true
		})
	}
	return used
}

// TestEveryKeyReachesAComponent (issue 17): every key config parses either
// reaches a component — setting it changes each component Config field it
// declares, as built by the functions serve uses — or is read by cmd itself
// (cmd.<Field>: the probe changes that config.Config field, and cmd/zkraft's
// code reads it), or is accepted but ignored and then warned about at
// startup, one warning per key the operator set.
func TestEveryKeyReachesAComponent(t *testing.T) {
	dests := config.Destinations()
	selectors := cmdSelectors(t)
	for key, to := range dests {
		t.Run(key, func(t *testing.T) {
			if len(to) == 0 {
				t.Fatalf("%s declares no destination in cmd/zkraft/config/keys.go", key)
			}
			switch {
			case slices.Contains(to, config.DestIgnored):
				checkIgnored(t, key)
				return
			case slices.Contains(to, config.DestChecked):
				if len(to) != 1 {
					t.Fatalf("%s: %v mixes checked with destinations", key, to)
				}
				if !slices.Contains(checkedOnly, key) {
					t.Fatalf("%s is declared checked-only (no component reads it): wire it, or add it to checkedOnly with the reason", key)
				}
				return
			}
			p, ok := probes[key]
			if !ok {
				t.Fatalf("%s goes to %v but has no probe in config_keys_test.go: add one that changes its value", key, to)
			}
			before := loadProbe(t, key, p.base, p.without, nil)
			after := loadProbe(t, key, p.base, p.without, p.set)
			cb, ca := componentConfigs(t, before), componentConfigs(t, after)
			for _, d := range to {
				root, path, ok := strings.Cut(d, ".")
				if !ok {
					t.Fatalf("%s: destination %q is not component.Field", key, d)
				}
				if root == "cmd" {
					b, a := field(t, reflect.ValueOf(before), path), field(t, reflect.ValueOf(after), path)
					if reflect.DeepEqual(b.Interface(), a.Interface()) {
						t.Errorf("%s: %v leaves config.Config.%s at %v", key, p.set, path, b)
					}
					if _, read := selectors[path]; !read {
						t.Errorf("%s: config.Config.%s is read nowhere in cmd/zkraft", key, path)
					}
					continue
				}
				b, ok := cb[root]
				if !ok {
					t.Fatalf("%s: destination %q names no component (have storage, replica, broker, network, client, quorum, gossip, zk, migrate)", key, d)
				}
				bv, av := field(t, reflect.ValueOf(b), path), field(t, reflect.ValueOf(ca[root]), path)
				if reflect.DeepEqual(bv.Interface(), av.Interface()) {
					t.Errorf("%s: %v leaves %s at %v: the key does not reach it", key, p.set, d, bv)
				}
			}
		})
	}
	for key := range probes {
		if _, ok := dests[key]; !ok {
			t.Errorf("probe for %s, which config does not parse", key)
		}
	}
}

// checkIgnored: an ignored key set by the operator is listed in
// Config.Ignored and draws exactly one startup warning naming it.
func checkIgnored(t *testing.T, key string) {
	t.Helper()
	v, ok := ignoredValues[key]
	if !ok {
		v = "1"
	}
	cfg := loadProbe(t, key, combinedBase, nil, []string{key + "=" + v, key + "=" + v})
	if !slices.Equal(cfg.Ignored, []string{key}) {
		t.Fatalf("Ignored = %v, want [%s]", cfg.Ignored, key)
	}
	core, logs := observer.New(zap.WarnLevel)
	cfg.WarnIgnored(zap.New(core))
	got := logs.FilterField(zap.String("key", key)).Len()
	if got != 1 || logs.Len() != 1 {
		t.Fatalf("%d warnings (%d naming %s), want one naming it", logs.Len(), got, key)
	}
}

// TestServeWarnsAboutIgnoredKeys: `zkraft serve` logs one warning per
// ignored key the operator set, whatever the number of times it is set.
// The node is asked to stop before it starts (ctx already cancelled): the
// warnings come first.
func TestServeWarnsAboutIgnoredKeys(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	err := serve(ctx, []string{
		"--override", "log.dirs=" + filepath.Join(dir, "logs"),
		"--override", "metadata.log.dir=" + filepath.Join(dir, "metadata"),
		"--override", "num.io.threads=8",
		"--override", "log.flush.interval.ms=1000",
		"--override", "num.io.threads=16",
		"--override", "num.partitions=2", // used: no warning
	}, &stderr)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("serve = %v, want it to stop on the cancelled context", err)
	}
	var warned []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "accepted but has no effect") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 2 || !strings.Contains(warned[0], `"log.flush.interval.ms"`) || !strings.Contains(warned[1], `"num.io.threads"`) {
		t.Fatalf("warnings %q, want one for log.flush.interval.ms and one for num.io.threads", warned)
	}
}
