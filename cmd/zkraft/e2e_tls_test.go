package main_test

// End-to-end tests of TLS (issue 11, item 1): every listener SSL, in
// quorum mode (3 combined nodes: client, inter-broker and controller
// listeners all TLS, client certificates required between nodes) and in
// ZooKeeper mode (3 brokers, inter-broker SSL), driven by franz-go with
// kgo.DialTLSConfig and by kcat (librdkafka, security.protocol=ssl). The CA
// is made by the test.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network/tlstest"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// e2ePKI is a CA made for the test and the files the nodes and clients
// read: ca.pem (truststore), node.pem (key and chain of every node, for
// 127.0.0.1), client-cert.pem and client-key.pem (CN=e2e-client).
type e2ePKI struct {
	dir     string
	ca      *tlstest.CA
	clientT *tls.Config // trusts the CA, offers the client certificate
}

func newE2EPKI(t *testing.T) *e2ePKI {
	t.Helper()
	p := &e2ePKI{dir: t.TempDir()}
	var err error
	if p.ca, err = tlstest.NewCA("zkraft-e2e-ca"); err != nil {
		t.Fatal(err)
	}
	chain, key, err := p.ca.Issue(pkix.Name{CommonName: "zkraft-node", Organization: []string{"zkraft-e2e"}}, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	cchain, ckey, err := p.ca.Issue(pkix.Name{CommonName: "e2e-client"})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"ca.pem": p.ca.CertPEM, "node.pem": append(append([]byte{}, key...), chain...),
		"client-cert.pem": cchain, "client-key.pem": ckey,
	} {
		if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := tls.X509KeyPair(cchain, ckey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ca.CertPEM)
	p.clientT = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
	return p
}

func (p *e2ePKI) file(name string) string { return filepath.Join(p.dir, name) }

// keys are the ssl.* overrides of every node.
func (p *e2ePKI) keys() []string {
	return []string{
		"ssl.keystore.type=PEM",
		"ssl.keystore.location=" + p.file("node.pem"),
		"ssl.truststore.type=PEM",
		"ssl.truststore.location=" + p.file("ca.pem"),
	}
}

// tlsOpts is how the tests' clients dial: kgo with the CA and the client
// certificate.
func (p *e2ePKI) tlsOpts() []kgo.Opt { return []kgo.Opt{kgo.DialTLSConfig(p.clientT.Clone())} }

// startTLSQuorum starts 3 combined broker+controller nodes whose SSL
// (client, inter-broker) and CONTROLLER listeners are TLS; the controller
// listener requires a client certificate (brokers and controllers dial it
// with their own), the SSL listener requests one.
func startTLSQuorum(t *testing.T, p *e2ePKI) *quorumCluster {
	t.Helper()
	qc := &quorumCluster{t: t, ctrlAddrs: map[int32]string{}, controllers: map[int32]*node{}, brokers: map[int32]*node{}}
	var vs []string
	for id := int32(1); id <= 3; id++ {
		qc.ctrlAddrs[id] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		vs = append(vs, fmt.Sprintf("%d@%s", id, qc.ctrlAddrs[id]))
	}
	qc.voters = strings.Join(vs, ",")
	for id := int32(1); id <= 3; id++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("node-%d", id))
		n := &node{t: t, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), ctrlAddr: qc.ctrlAddrs[id], clientOpts: p.tlsOpts()}
		n.args = overrideArgs(append([]string{
			"process.roles=broker,controller",
			fmt.Sprintf("node.id=%d", id),
			"listeners=SSL://" + n.addr + ",CONTROLLER://" + n.ctrlAddr,
			"listener.security.protocol.map=SSL:SSL,CONTROLLER:SSL",
			"inter.broker.listener.name=SSL",
			"controller.listener.names=CONTROLLER",
			"controller.quorum.voters=" + qc.voters,
			"ssl.client.auth=requested",
			"listener.name.controller.ssl.client.auth=required",
			"broker.session.timeout.ms=6000",
			"broker.heartbeat.interval.ms=500",
			"default.replication.factor=3",
			"auto.create.topics.enable=false",
			"log.dirs=" + filepath.Join(dir, "kafka-logs"),
			"metadata.log.dir=" + filepath.Join(dir, "metadata"),
		}, p.keys()...))
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
	return qc
}

// produceConsumeRF3 creates topic with 3 partitions, RF 3 and
// min.insync.replicas=3 (so every acks=all write needs both followers to
// have fetched it, over the inter-broker listener), produces n records and
// reads them back.
func produceConsumeRF3(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 3, 3
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name, c.Value = "min.insync.replicas", kmsg.StringPtr("3")
	rt.Configs = append(rt.Configs, c)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	wait.For(t, 60*time.Second, "topic "+topic+" created", func() error {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		if code := resp.Topics[0].ErrorCode; code != 0 && code != 36 { // 36: TOPIC_ALREADY_EXISTS on a retry
			return fmt.Errorf("create: error code %d", code)
		}
		return nil
	})
	wait.For(t, 60*time.Second, "every partition with ISR of 3", func() error {
		_, parts, err := metadataOf(ctx, cl, topic)
		if err != nil {
			return err
		}
		if len(parts) != 3 {
			return fmt.Errorf("%d partitions", len(parts))
		}
		for p, st := range parts {
			if len(st.ISR) != 3 || st.Leader < 0 {
				return fmt.Errorf("partition %d: leader %d ISR %v", p, st.Leader, st.ISR)
			}
		}
		return nil
	})
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprintf("v%d", i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("acks=all produce over TLS: %v", err)
	}
	consumer, err := kgo.NewClient(append(cl.Opts()[:0:0], cl.Opts()...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	consumer.AddConsumeTopics(topic)
	seen := map[string]bool{}
	for len(seen) < n {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(seen), n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
}

// TestE2ETLSQuorum: a 3-node quorum-mode cluster with every listener TLS
// serves acks=all RF 3 produce and consume to franz-go and kcat; a
// plaintext client on a TLS port (client or controller) gets its
// connection closed and the cluster keeps serving.
func TestE2ETLSQuorum(t *testing.T) {
	p := newE2EPKI(t)
	qc := startTLSQuorum(t, p)
	cl := qc.brokers[1].client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))

	t.Run("franz-go acks=all RF 3", func(t *testing.T) {
		produceConsumeRF3(t, cl, "tls-rf3", 300)
	})

	t.Run("plaintext client on TLS ports", func(t *testing.T) {
		plain, err := kgo.NewClient(kgo.SeedBrokers(qc.brokers[2].addr), kgo.DialTimeout(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = plain.Ping(ctx)
		cancel()
		plain.Close()
		if err == nil {
			t.Fatal("a plaintext client was served on the SSL listener")
		}
		if _, err := controllerRequest(qc.ctrlAddrs[2], kmsg.NewPtrApiVersionsRequest()); err == nil {
			t.Fatal("a plaintext client was served on the controller listener")
		}
		// Still serving, on both ports of that node.
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := qc.brokers[2].client(t).Ping(ctx); err != nil {
			t.Fatalf("TLS client after the plaintext ones: %v", err)
		}
		if _, _, err := metadataOf(ctx, cl, "tls-rf3"); err != nil {
			t.Fatalf("metadata after the plaintext clients: %v", err)
		}
	})

	t.Run("zkraft meta over the TLS controller listener", func(t *testing.T) {
		props := filepath.Join(p.dir, "client.properties")
		if err := os.WriteFile(props, []byte("security.protocol=SSL\nssl.truststore.location="+p.file("ca.pem")+
			"\nssl.keystore.location="+p.file("node.pem")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		wait.For(t, 20*time.Second, "topic over --bootstrap-controller with TLS", func() error {
			out, err := runMetaCmd(t, "--bootstrap-controller", qc.ctrlAddrs[1]+","+qc.ctrlAddrs[2]+","+qc.ctrlAddrs[3], "--command-config", props, "ls", "/image/topics/byName")
			if err == nil && !strings.Contains(out, "tls-rf3") {
				err = fmt.Errorf("ls: %q", out)
			}
			return err
		})
	})

	t.Run("kcat security.protocol=ssl", func(t *testing.T) {
		ssl := []string{"-b", qc.brokers[3].addr, "-X", "security.protocol=ssl",
			"-X", "ssl.ca.location=" + p.file("ca.pem"),
			"-X", "ssl.certificate.location=" + p.file("client-cert.pem"),
			"-X", "ssl.key.location=" + p.file("client-key.pem")}
		runKcat(t, []byte("k1\nk2\nk3\n"), append(ssl, "-P", "-t", "tls-rf3", "-p", "0", "-X", "acks=all")...)
		out := runKcat(t, nil, append(ssl, "-C", "-t", "tls-rf3", "-p", "0", "-o", "beginning", "-e", "-q")...)
		for _, w := range []string{"k1", "k2", "k3"} {
			if !strings.Contains(out, w+"\n") {
				t.Fatalf("kcat read %q, want %s in it", out, w)
			}
		}
	})
}

// startZkTLSNode starts a ZooKeeper-mode broker whose one listener, SSL,
// is also the inter-broker listener.
func startZkTLSNode(t *testing.T, p *e2ePKI, zkAddr string, id int) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{t: t, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), clientOpts: p.tlsOpts()}
	n.args = overrideArgs(append([]string{
		fmt.Sprintf("broker.id=%d", id),
		"zookeeper.connect=" + zkAddr,
		"zookeeper.session.timeout.ms=6000",
		"listeners=SSL://" + n.addr,
		"listener.security.protocol.map=SSL:SSL",
		"security.inter.broker.protocol=SSL",
		"inter.broker.listener.name=SSL",
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
	return n
}

// TestE2ETLSZooKeeper: 3 ZooKeeper-mode brokers with inter-broker SSL
// replicate acks=all RF 3 writes, and a broker's controlled shutdown
// reaches the controller over TLS.
func TestE2ETLSZooKeeper(t *testing.T) {
	p := newE2EPKI(t)
	s := zktest.Start(t)
	brokers := map[int32]*node{}
	for id := 4; id <= 6; id++ {
		brokers[int32(id)] = startZkTLSNode(t, p, s.Addr, id)
	}
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	zkClusterReplicatesAndShutsDown(t, raw, brokers, 4, "zk-tls-rf3", "TLS")
}

// zkClusterReplicatesAndShutsDown checks three ZooKeeper-mode brokers
// first..first+2 whose inter-broker listener is secured (how is named in
// messages): they register, replicate acks=all RF 3 writes (produced and
// consumed through brokers[first]), and a broker that is not the
// controller completes its controlled shutdown through the controller's
// listener.
func zkClusterReplicatesAndShutsDown(t *testing.T, raw *gozk.Conn, brokers map[int32]*node, first int32, topic, how string) {
	t.Helper()
	wait.For(t, 45*time.Second, "three brokers registered", func() error {
		ids, _, err := raw.Children(zk.BrokerIDsPath)
		if err != nil || len(ids) != 3 {
			return fmt.Errorf("ids %v: %v", ids, err)
		}
		return nil
	})
	cl := brokers[first].client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	produceConsumeRF3(t, cl, topic, 300)

	// Controlled shutdown of a broker that is not the controller: its
	// ControlledShutdown goes to the controller's secured listener.
	var ctrl int32 = -1
	wait.For(t, 30*time.Second, "a controller", func() error {
		data, _, err := raw.Get("/controller")
		if err != nil {
			return err
		}
		for id := first; id <= first+2; id++ {
			if strings.Contains(string(data), fmt.Sprintf(`"brokerid":%d`, id)) {
				ctrl = id
				return nil
			}
		}
		return fmt.Errorf("/controller is %s", data)
	})
	victim := first
	if victim == ctrl {
		victim = first + 1
	}
	if err := brokers[victim].stop(20 * time.Second); err != nil {
		t.Fatalf("broker %d after SIGTERM: %v\n%s", victim, err, brokers[victim].logTail())
	}
	if log := brokers[victim].logTail(); !strings.Contains(log, "controlled shutdown complete") {
		t.Fatalf("broker %d did not complete its controlled shutdown through controller %d over %s:\n%s", victim, ctrl, how, log)
	}
}
