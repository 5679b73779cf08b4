package main_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	ksasl "github.com/twmb/franz-go/pkg/sasl"
	kplain "github.com/twmb/franz-go/pkg/sasl/plain"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/zkraft/zkraft/broker/sasl"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network/tlstest"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// The users of the SASL end-to-end tests: SCRAM users are metadata (the
// bootstrap of `zkraft storage format --add-scram` in quorum mode,
// /config/users/<user> in ZooKeeper mode), the PLAIN user comes from the
// listeners' sasl.jaas.config.
const (
	saslPlainJaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="carol" password="carol-secret" user_carol="carol-secret";`
)

// saslNode is one zkraft node with three broker listeners: PLAINTEXT
// (inter-broker; n.addr), CLIENTS (SASL_PLAINTEXT) and SECURE (SASL_SSL,
// its certificate from a CA the test made).
type saslNode struct {
	*node
	saslAddr, sslAddr string
	caPath            string
	ca                *x509.CertPool
}

// saslProps writes the CA and the broker's keystore into dir and returns
// the properties of the three listeners.
func saslProps(t *testing.T, dir string, sn *saslNode) []string {
	t.Helper()
	ca, err := tlstest.NewCA("zkraft-e2e-ca")
	if err != nil {
		t.Fatal(err)
	}
	chain, key, err := ca.Issue(pkix.Name{CommonName: "broker"}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	sn.caPath = filepath.Join(dir, "ca.pem")
	keystore := filepath.Join(dir, "broker.pem")
	if err := os.WriteFile(sn.caPath, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keystore, append(append([]byte{}, key...), chain...), 0o600); err != nil {
		t.Fatal(err)
	}
	sn.ca = x509.NewCertPool()
	sn.ca.AppendCertsFromPEM(ca.CertPEM)
	sn.saslAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	sn.sslAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	return []string{
		"inter.broker.listener.name=PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.clients.plain.sasl.jaas.config=" + saslPlainJaas,
		"listener.name.secure.plain.sasl.jaas.config=" + saslPlainJaas,
		"listener.name.secure.ssl.keystore.location=" + keystore,
		"offsets.topic.replication.factor=1",
		"log.dirs=" + filepath.Join(dir, "kafka-logs"),
		// ACLs on (checkSecurityAdmin): the SASL users above and the
		// PLAINTEXT inter-broker principal are super users.
		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users=User:ANONYMOUS;User:admin;User:alice;User:carol",
	}
}

func writeProps(t *testing.T, dir string, props []string) string {
	t.Helper()
	path := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(path, []byte(strings.Join(props, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startSASLQuorumNode formats a combined node's storage with two SCRAM
// users (KIP-900 bootstrap: admin SCRAM-SHA-512, alice SCRAM-SHA-256) and
// starts it.
func startSASLQuorumNode(t *testing.T) *saslNode {
	t.Helper()
	dir := t.TempDir()
	sn := &saslNode{node: &node{t: t, dir: dir}}
	n := sn.node
	n.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	n.ctrlAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	props := append(saslProps(t, dir, sn),
		"process.roles=broker,controller", "node.id=1",
		"listeners=PLAINTEXT://"+n.addr+",CLIENTS://"+sn.saslAddr+",SECURE://"+sn.sslAddr+",CONTROLLER://"+n.ctrlAddr,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CLIENTS:SASL_PLAINTEXT,SECURE:SASL_SSL,CONTROLLER:PLAINTEXT",
		"controller.listener.names=CONTROLLER", "controller.quorum.voters=1@"+n.ctrlAddr,
		"metadata.log.dir="+filepath.Join(dir, "metadata"))
	path := writeProps(t, dir, props)
	out, err := exec.Command(zkraftBinary(t), "storage", "format", "-t", "c2FzbC1lMmUtY2x1c3Rlcg", "-c", path,
		"--add-scram", `SCRAM-SHA-512=[name=admin,password="admin-secret"]`,
		"--add-scram", `SCRAM-SHA-256=[name=alice,password="alice-secret"]`).CombinedOutput()
	if err != nil {
		t.Fatalf("storage format: %v\n%s", err, out)
	}
	n.args = []string{"serve", path}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("node log tail:\n%s", n.logTail())
		}
	})
	n.start()
	return sn
}

// startSASLZkNode writes the same SCRAM users into /config/users/<user>
// with Kafka's exact strings, then starts a ZooKeeper-mode broker, which
// loads them into its image.
func startSASLZkNode(t *testing.T) *saslNode {
	t.Helper()
	s := zktest.Start(t)
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for user, mech := range map[string]metadata.ScramMechanism{"admin": metadata.ScramSHA512, "alice": metadata.ScramSHA256} {
		writeZkScramUser(t, raw, user, user+"-secret", mech)
	}
	dir := t.TempDir()
	sn := &saslNode{node: &node{t: t, dir: dir}}
	n := sn.node
	n.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	props := append(saslProps(t, dir, sn),
		"broker.id=1", "zookeeper.connect="+s.Addr, "zookeeper.session.timeout.ms=4000",
		"listeners=PLAINTEXT://"+n.addr+",CLIENTS://"+sn.saslAddr+",SECURE://"+sn.sslAddr,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CLIENTS:SASL_PLAINTEXT,SECURE:SASL_SSL")
	n.args = []string{"serve", writeProps(t, dir, props)}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("zk broker log tail:\n%s", n.logTail())
		}
	})
	n.start()
	return sn
}

// writeZkScramUser writes /config/users/<user> as kafka-configs.sh
// --alter --add-config 'SCRAM-SHA-512=[password=...]' does, before the
// brokers start (they load it into their image).
func writeZkScramUser(t *testing.T, raw *gozk.Conn, user, pass string, mech metadata.ScramMechanism) {
	t.Helper()
	cred, err := sasl.CredentialFromPassword(mech, user, pass, nil, 4096)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{zk.ConfigPath, zk.ConfigPath + "/" + zk.ConfigUsers} {
		if _, err := raw.Create(p, nil, 0, gozk.WorldACL(gozk.PermAll)); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			t.Fatal(err)
		}
	}
	data := zk.EncodeEntityConfig(map[string]string{mech.String(): zk.EncodeScramCredential(cred)})
	if _, err := raw.Create(zk.UserConfigPath(user), data, 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
}

// TestE2ESASL: in quorum mode and in ZooKeeper mode, kcat (librdkafka)
// with SCRAM-SHA-512 over SASL_PLAINTEXT and SASL_SSL, and franz-go with
// PLAIN and SCRAM-SHA-256, produce and consume; a wrong password (kcat and
// franz-go) and an unauthenticated Produce get a clean error or close and
// the broker keeps serving (issue 11).
func TestE2ESASL(t *testing.T) {
	requireTool(t, "kcat", "make test installs it with: apt-get install -y kcat")
	for _, mode := range []struct {
		name  string
		start func(*testing.T) *saslNode
	}{
		{"quorum", startSASLQuorumNode},
		{"zookeeper", startSASLZkNode},
	} {
		t.Run(mode.name, func(t *testing.T) {
			sn := mode.start(t)
			checkSASLNode(t, sn)
			checkSecurityAdmin(t, sn)
		})
	}
}

func kcatSASL(sn *saslNode, secure bool, user, pass string, args ...string) []string {
	addr, proto := sn.saslAddr, "SASL_PLAINTEXT"
	if secure {
		addr, proto = sn.sslAddr, "SASL_SSL"
	}
	out := []string{"-b", addr, "-X", "security.protocol=" + proto, "-X", "sasl.mechanisms=SCRAM-SHA-512",
		"-X", "sasl.username=" + user, "-X", "sasl.password=" + pass}
	if secure {
		out = append(out, "-X", "ssl.ca.location="+sn.caPath)
	}
	return append(out, args...)
}

func checkSASLNode(t *testing.T, sn *saslNode) {
	topic := "sasl-e2e"
	createTopic(t, sn.client(t), topic, 1)
	// The SCRAM users are in the image the broker serves with; wait until
	// a SCRAM login works before the checks below, so that a slow
	// metadata publication on a loaded machine fails here, named.
	wait.For(t, 20*time.Second, "admin authenticates with SCRAM-SHA-512", func() error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(sn.saslAddr), kgo.RequestRetries(0),
			kgo.SASL(kscram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism()))
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		return err
	})

	// kcat, SCRAM-SHA-512, over both SASL listeners.
	for _, secure := range []bool{false, true} {
		runKcat(t, []byte(fmt.Sprintf("kcat-%v-a\nkcat-%v-b\n", secure, secure)),
			kcatSASL(sn, secure, "admin", "admin-secret", "-P", "-t", topic)...)
	}
	got := runKcat(t, nil, kcatSASL(sn, true, "admin", "admin-secret", "-C", "-t", topic, "-o", "beginning", "-c", "4", "-e")...)
	for _, want := range []string{"kcat-false-a", "kcat-false-b", "kcat-true-a", "kcat-true-b"} {
		if !strings.Contains(got, want) {
			t.Fatalf("kcat consumed %q, want %s", got, want)
		}
	}

	// franz-go: PLAIN over SASL_PLAINTEXT, SCRAM-SHA-256 over SASL_SSL.
	tlsCfg := &tls.Config{RootCAs: sn.ca, MinVersion: tls.VersionTLS12}
	for _, c := range []struct {
		name string
		opts []kgo.Opt
	}{
		{"PLAIN", []kgo.Opt{kgo.SeedBrokers(sn.saslAddr), kgo.SASL(kplain.Auth{User: "carol", Pass: "carol-secret"}.AsMechanism())}},
		{"SCRAM-SHA-256+TLS", []kgo.Opt{kgo.SeedBrokers(sn.sslAddr), kgo.DialTLSConfig(tlsCfg),
			kgo.SASL(kscram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism())}},
	} {
		cl, err := kgo.NewClient(append(c.opts, kgo.DefaultProduceTopic(topic), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("kgo-" + c.name)}).FirstErr(); err != nil {
			t.Fatalf("%s produce: %v", c.name, err)
		}
		seen := map[string]bool{}
		for !(seen["kgo-"+c.name] && seen["kcat-true-b"]) && ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		}
		cancel()
		cl.Close()
		if !seen["kgo-"+c.name] || !seen["kcat-true-b"] {
			t.Fatalf("%s consumed %v", c.name, seen)
		}
	}

	// A wrong password: franz-go gets SASL_AUTHENTICATION_FAILED with
	// Kafka's message, and so does an unknown user; kcat reports it.
	for _, auth := range []ksasl.Mechanism{kscram.Auth{User: "admin", Pass: "wrong"}.AsSha512Mechanism(),
		kscram.Auth{User: "nobody", Pass: "wrong"}.AsSha512Mechanism()} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(sn.saslAddr), kgo.SASL(auth), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		cancel()
		cl.Close()
		if !errors.Is(err, kerr.SaslAuthenticationFailed) ||
			!strings.Contains(err.Error(), "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512") {
			t.Fatalf("wrong credentials: %v", err)
		}
	}
	kcat := requireTool(t, "kcat", "apt-get install -y kcat")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, kcat, kcatSASL(sn, true, "admin", "wrong", "-L", "-m", "5")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	cancel()
	if err == nil || !strings.Contains(stderr.String(), "Authentication failed") {
		t.Fatalf("kcat with a wrong password: %v\n%s", err, stderr.String())
	}

	// An unauthenticated Produce on the SASL listener: the connection is
	// closed unanswered.
	nc, err := net.DialTimeout("tcp", sn.saslAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(7)
	req.Acks, req.TimeoutMillis = 1, 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = topic
	req.Topics = append(req.Topics, pt)
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("intruder")).AppendRequest(nil, req, 1)
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if n, err := io.ReadFull(nc, size[:]); err == nil || isTimeout(err) {
		t.Fatalf("unauthenticated Produce was answered (%d bytes, size %d): %v", n, binary.BigEndian.Uint32(size[:]), err)
	}
	nc.Close()

	// The broker still serves, authenticated clients and the PLAINTEXT
	// listener alike.
	runKcat(t, []byte("after\n"), kcatSASL(sn, false, "admin", "admin-secret", "-P", "-t", topic)...)
	got = runKcat(t, nil, "-b", sn.addr, "-C", "-t", topic, "-o", "beginning", "-c", "7", "-e")
	if !strings.Contains(got, "after") {
		t.Fatalf("after the failures kcat consumed %q", got)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestE2ESASLInterBrokerZooKeeper: 3 ZooKeeper-mode brokers whose one
// listener, SASL_SSL, is also the inter-broker listener: the brokers
// authenticate to each other with SCRAM-SHA-512 as User:broker (from
// listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config) to replicate
// acks=all RF 3 writes, and a controlled shutdown reaches the controller
// over SASL_SSL.
func TestE2ESASLInterBrokerZooKeeper(t *testing.T) {
	p := newE2EPKI(t)
	s := zktest.Start(t)
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	writeZkScramUser(t, raw, "broker", "broker-secret", metadata.ScramSHA512)
	writeZkScramUser(t, raw, "admin", "admin-secret", metadata.ScramSHA512)
	clientOpts := append(p.tlsOpts(), kgo.SASL(kscram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism()))
	brokers := map[int32]*node{}
	for id := 7; id <= 9; id++ {
		dir := t.TempDir()
		n := &node{t: t, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), clientOpts: clientOpts}
		n.args = overrideArgs(append([]string{
			fmt.Sprintf("broker.id=%d", id),
			"zookeeper.connect=" + s.Addr,
			"zookeeper.session.timeout.ms=6000",
			"listeners=SASL_SSL://" + n.addr,
			"listener.security.protocol.map=SASL_SSL:SASL_SSL",
			"inter.broker.listener.name=SASL_SSL",
			"sasl.enabled.mechanisms=SCRAM-SHA-512",
			"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
			`listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";`,
			"log.dirs=" + filepath.Join(dir, "kafka-logs"),
			"default.replication.factor=3",
			"auto.create.topics.enable=false",
			"controlled.shutdown.retry.backoff.ms=500",
		}, p.keys()...))
		t.Cleanup(func() {
			n.kill()
			if t.Failed() {
				t.Logf("zk broker %d log tail:\n%s", id, n.logTail())
			}
		})
		n.start()
		brokers[int32(id)] = n
	}
	zkClusterReplicatesAndShutsDown(t, raw, brokers, 7, "zk-sasl-rf3", "SASL_SSL")
}

// TestE2ESASLInterBrokerQuorum: 3 combined quorum-mode nodes whose client
// and inter-broker listener is SASL_SSL (SCRAM-SHA-512) and whose
// controller listener is SSL; the SCRAM users are the storage format's
// bootstrap (KIP-900). Followers authenticate as User:broker to replicate
// acks=all RF 3 writes; franz-go and kcat produce and consume as admin.
func TestE2ESASLInterBrokerQuorum(t *testing.T) {
	p := newE2EPKI(t)
	qc := &quorumCluster{t: t, ctrlAddrs: map[int32]string{}, controllers: map[int32]*node{}, brokers: map[int32]*node{}}
	var vs []string
	for id := int32(1); id <= 3; id++ {
		qc.ctrlAddrs[id] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		vs = append(vs, fmt.Sprintf("%d@%s", id, qc.ctrlAddrs[id]))
	}
	qc.voters = strings.Join(vs, ",")
	clientOpts := append(p.tlsOpts(), kgo.SASL(kscram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism()))
	for id := int32(1); id <= 3; id++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("node-%d", id))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		n := &node{t: t, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), ctrlAddr: qc.ctrlAddrs[id], clientOpts: clientOpts}
		path := writeProps(t, dir, append([]string{
			"process.roles=broker,controller",
			fmt.Sprintf("node.id=%d", id),
			"listeners=SASL_SSL://" + n.addr + ",CONTROLLER://" + n.ctrlAddr,
			"listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL",
			"inter.broker.listener.name=SASL_SSL",
			"controller.listener.names=CONTROLLER",
			"controller.quorum.voters=" + qc.voters,
			"listener.name.controller.ssl.client.auth=required",
			"sasl.enabled.mechanisms=SCRAM-SHA-512",
			"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
			`listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";`,
			"broker.session.timeout.ms=6000",
			"broker.heartbeat.interval.ms=500",
			"default.replication.factor=3",
			"auto.create.topics.enable=false",
			"log.dirs=" + filepath.Join(dir, "kafka-logs"),
			"metadata.log.dir=" + filepath.Join(dir, "metadata"),
		}, p.keys()...))
		out, err := exec.Command(zkraftBinary(t), "storage", "format", "-t", "c2FzbC1xdW9ydW0tZTJlLQ", "-c", path,
			"--add-scram", `SCRAM-SHA-512=[name=broker,password="broker-secret"]`,
			"--add-scram", `SCRAM-SHA-512=[name=admin,password="admin-secret"]`).CombinedOutput()
		if err != nil {
			t.Fatalf("storage format node %d: %v\n%s", id, err, out)
		}
		n.args = []string{"serve", path}
		n.spawn()
		t.Cleanup(func() {
			n.kill()
			if t.Failed() {
				t.Logf("node %d log tail:\n%s", id, n.logTail())
			}
		})
		qc.controllers[id], qc.brokers[id] = n, n
	}
	for _, n := range qc.brokers {
		n.waitReady()
	}
	cl := qc.brokers[1].client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	produceConsumeRF3(t, cl, "quorum-sasl-rf3", 300)

	kc := []string{"-b", qc.brokers[2].addr, "-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=" + p.file("ca.pem"),
		"-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=admin", "-X", "sasl.password=admin-secret"}
	runKcat(t, []byte("q1\nq2\n"), append(kc, "-P", "-t", "quorum-sasl-rf3", "-p", "0", "-X", "acks=all")...)
	out := runKcat(t, nil, append(kc, "-C", "-t", "quorum-sasl-rf3", "-p", "0", "-o", "beginning", "-e", "-q")...)
	if !strings.Contains(out, "q1\n") || !strings.Contains(out, "q2\n") {
		t.Fatalf("kcat read %q", out)
	}
}
