package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// migWait bounds every eventually of the migration tests (loaded machine, -race).
const migWait = 60 * time.Second

const migTopic = "mig"

// migCluster is a ZooKeeper, brokers 1-3 (ZooKeeper mode first) and, from
// step 2 on, controllers 11-13 of the quorum (docs/migration.md).
type migCluster struct {
	t           *testing.T
	zk          *zktest.Server
	raw         *gozk.Conn
	voters      string
	ctrlAddrs   map[int32]string
	brokers     map[int32]*node
	controllers map[int32]*node
	// saslAddrs are the brokers' SASL_PLAINTEXT listeners (CLIENTS), where
	// the security checks' SCRAM users connect (e2e_migrate_security_test.go).
	saslAddrs map[int32]string
}

// Broker phases of the runbook.
const (
	phaseZk        = iota // step 1: ZooKeeper mode
	phaseZkMigrate        // step 3: ZooKeeper mode + migration keys
	phaseQuorum           // step 4: process.roles=broker
)

// startBrokers starts brokers 1-3 in phase and waits until each serves.
func (mc *migCluster) startBrokers(phase int) {
	t := mc.t
	t.Helper()
	if mc.saslAddrs == nil {
		mc.saslAddrs = map[int32]string{}
	}
	for id := int32(1); id <= 3; id++ {
		n := &node{t: t, dir: filepath.Join(t.TempDir(), fmt.Sprintf("broker-%d", id)), addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			metricsAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
		mc.brokers[id] = n
		mc.saslAddrs[id] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		n.args = mc.brokerArgs(id, phase)
		n.spawn()
		t.Cleanup(func() {
			n.kill()
			if t.Failed() {
				t.Logf("broker %d log tail:\n%s", id, n.logTail())
			}
		})
	}
	for _, n := range mc.brokers {
		n.waitReady()
	}
}

func (mc *migCluster) brokerArgs(id int32, phase int) []string {
	n := mc.brokers[id]
	kv := append([]string{
		"listeners=PLAINTEXT://" + n.addr + ",CLIENTS://" + mc.saslAddrs[id],
		"log.dirs=" + filepath.Join(n.dir, "kafka-logs"),
		"default.replication.factor=3",
		"offsets.topic.replication.factor=3",
		"offsets.topic.num.partitions=3",
		"auto.create.topics.enable=false",
		"replica.lag.time.max.ms=4000",
		"broker.session.timeout.ms=3000",
		"broker.heartbeat.interval.ms=500",
	}, migSecurityKeys...)
	if n.metricsAddr != "" {
		kv = append(kv, "zkraft.metrics.listener=http://"+n.metricsAddr)
	}
	quorumKeys := []string{"controller.quorum.voters=" + mc.voters, "controller.listener.names=CONTROLLER"}
	switch phase {
	case phaseZk:
		kv = append(kv, fmt.Sprintf("broker.id=%d", id), "zookeeper.connect="+mc.zk.Addr, "zookeeper.session.timeout.ms=4000")
	case phaseZkMigrate:
		kv = append(kv, fmt.Sprintf("broker.id=%d", id), "zookeeper.connect="+mc.zk.Addr, "zookeeper.session.timeout.ms=4000",
			"zookeeper.metadata.migration.enable=true")
		kv = append(kv, quorumKeys...)
	case phaseQuorum:
		kv = append(kv, "process.roles=broker", fmt.Sprintf("node.id=%d", id), "metadata.log.dir="+filepath.Join(n.dir, "metadata"))
		kv = append(kv, quorumKeys...)
	}
	return propsArgs(mc.t, n.dir, kv)
}

// propsArgs writes kv as the node's server.properties (no file means the
// embedded combined-mode defaults) and returns `serve <file>`.
func propsArgs(t *testing.T, dir string, kv []string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(path, []byte(strings.Join(kv, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"serve", path}
}

// controllerArgs writes controller id's properties: migrating adds the
// forward migration's keys, extra any others (key=value).
func (mc *migCluster) controllerArgs(id int32, migrating bool, extra ...string) []string {
	n := mc.controllers[id]
	kv := []string{
		"process.roles=controller",
		fmt.Sprintf("node.id=%d", id),
		"listeners=CONTROLLER://" + mc.ctrlAddrs[id],
		"controller.listener.names=CONTROLLER",
		"controller.quorum.voters=" + mc.voters,
		"metadata.log.dir=" + filepath.Join(n.dir, "metadata"),
		"log.dirs=" + filepath.Join(n.dir, "kafka-logs"),
		"broker.session.timeout.ms=3000",
		"default.replication.factor=3",
	}
	if n.metricsAddr != "" {
		kv = append(kv, "zkraft.metrics.listener=http://"+n.metricsAddr)
	}
	if migrating {
		kv = append(kv, "zookeeper.connect="+mc.zk.Addr, "zookeeper.metadata.migration.enable=true", "zookeeper.session.timeout.ms=4000")
	}
	return propsArgs(mc.t, n.dir, append(kv, extra...))
}

// startMigCluster is step 1: three ZooKeeper-mode brokers.
func startMigCluster(t *testing.T) *migCluster {
	t.Helper()
	mc := &migCluster{t: t, zk: zktest.Start(t), brokers: map[int32]*node{}, controllers: map[int32]*node{}, ctrlAddrs: map[int32]string{},
		saslAddrs: map[int32]string{}}
	var vs []string
	for id := int32(11); id <= 13; id++ {
		mc.ctrlAddrs[id] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		vs = append(vs, fmt.Sprintf("%d@%s", id, mc.ctrlAddrs[id]))
	}
	mc.voters = strings.Join(vs, ",")
	mc.startBrokers(phaseZk)
	raw, _, err := gozk.Connect([]string{mc.zk.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	mc.raw = raw
	wait.For(t, migWait, "three ZooKeeper brokers registered", func() error {
		ids, _, err := raw.Children(zk.BrokerIDsPath)
		if err != nil || len(ids) != 3 {
			return fmt.Errorf("ids %v: %v", ids, err)
		}
		return nil
	})
	return mc
}

// startControllers is step 2.
func (mc *migCluster) startControllers() {
	for id := int32(11); id <= 13; id++ {
		n := &node{t: mc.t, dir: filepath.Join(mc.t.TempDir(), fmt.Sprintf("controller-%d", id)), ctrlAddr: mc.ctrlAddrs[id],
			metricsAddr: fmt.Sprintf("127.0.0.1:%d", freePort(mc.t))}
		mc.controllers[id] = n
		n.args = mc.controllerArgs(id, true)
		n.spawn()
		mc.t.Cleanup(func() {
			n.kill()
			if mc.t.Failed() {
				mc.t.Logf("controller %d log tail:\n%s", id, n.logTail())
			}
		})
	}
}

// rollBroker restarts broker id (SIGTERM, then the same dirs and address) in phase.
func (mc *migCluster) rollBroker(id int32, phase int) {
	mc.t.Helper()
	mc.stopBroker(id)
	mc.startBroker(id, phase)
}

// stopBroker stops broker id with SIGTERM; startBroker starts it again in phase.
func (mc *migCluster) stopBroker(id int32) {
	mc.t.Helper()
	if err := mc.brokers[id].stop(15 * time.Second); err != nil {
		mc.t.Logf("broker %d stop: %v", id, err)
	}
}

func (mc *migCluster) startBroker(id int32, phase int) {
	mc.t.Helper()
	n := mc.brokers[id]
	n.args = mc.brokerArgs(id, phase)
	n.start()
}

func (mc *migCluster) rollController(id int32, migrating bool) {
	mc.t.Helper()
	n := mc.controllers[id]
	if err := n.stop(15 * time.Second); err != nil {
		mc.t.Logf("controller %d stop: %v", id, err)
	}
	n.args = mc.controllerArgs(id, migrating)
	n.spawn()
}

func (mc *migCluster) seeds() []string {
	var s []string
	for _, n := range mc.brokers {
		s = append(s, n.addr)
	}
	return s
}

func (mc *migCluster) bootstrap() string {
	var s []string
	for id := int32(11); id <= 13; id++ {
		s = append(s, mc.ctrlAddrs[id])
	}
	return strings.Join(s, ",")
}

// zkraft runs the binary (a subcommand) and returns its output.
func (mc *migCluster) zkraft(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, zkraftBinary(mc.t), args...).CombinedOutput()
	return string(out), err
}

// status is `zkraft migrate status` against ZooKeeper and the quorum.
func (mc *migCluster) status() (string, error) {
	return mc.zkraft("migrate", "status", "--zookeeper", mc.zk.Addr, "--bootstrap-controller", mc.bootstrap(), "--timeout", "20s")
}

func (mc *migCluster) waitStatus(what string, wants ...string) string {
	mc.t.Helper()
	var out string
	wait.For(mc.t, migWait, what, func() error {
		var err error
		out, err = mc.status()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		for _, w := range wants {
			if !strings.Contains(out, w) {
				return fmt.Errorf("no %q in:\n%s", w, out)
			}
		}
		return nil
	})
	return out
}

// migProducer produces with acks=all the whole time and remembers every
// acknowledged record by partition and offset.
type migProducer struct {
	cl     *kgo.Client
	mu     sync.Mutex
	acked  map[int32]map[int64]string
	n      int
	errs   int
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func startMigProducer(t *testing.T, seeds []string, topic string) *migProducer {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.ProduceRequestTimeout(5*time.Second), kgo.RequestTimeoutOverhead(5*time.Second),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &migProducer{cl: cl, acked: map[int32]map[int64]string{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ctx.Err() == nil; i++ {
			v := fmt.Sprintf("live-%d", i)
			r, err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).First()
			p.mu.Lock()
			if err == nil {
				if p.acked[r.Partition] == nil {
					p.acked[r.Partition] = map[int64]string{}
				}
				p.acked[r.Partition][r.Offset] = v
				p.n++
			} else {
				p.errs++
			}
			p.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *migProducer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *migProducer) stop() map[int32]map[int64]string {
	p.once.Do(func() {
		p.cancel()
		// Cancelling does not fail a record already in flight; closing the client does, so
		// the produce loop cannot hang here on a cluster that stopped answering.
		p.cl.Close()
		<-p.done
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

func (p *migProducer) waitMore(t *testing.T, n int, what string) {
	t.Helper()
	target := p.count() + n
	wait.For(t, migWait, fmt.Sprintf("%d acks (%s)", target, what), func() error {
		if got := p.count(); got < target {
			return fmt.Errorf("%d acks", got)
		}
		return nil
	})
}

// topicIDs asks a broker for the topic ids (Metadata v12).
func topicIDs(t *testing.T, cl *kgo.Client, topics ...string) map[string][16]byte {
	t.Helper()
	out := map[string][16]byte{}
	wait.For(t, migWait, "topic ids", func() error {
		req := kmsg.NewPtrMetadataRequest()
		for _, name := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			n := name
			rt.Topic = &n
			req.Topics = append(req.Topics, rt)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		for _, rt := range resp.Topics {
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
				return fmt.Errorf("%v: %w", *rt.Topic, err)
			}
			out[*rt.Topic] = rt.TopicID
		}
		return nil
	})
	return out
}

// readAll consumes every partition of the topic up to the given offsets.
func readAll(t *testing.T, seeds []string, want map[int32]map[int64]string) map[int32]map[int64]string {
	t.Helper()
	parts := map[string]map[int32]kgo.Offset{migTopic: {}}
	ends := map[int32]int64{}
	for p, recs := range want {
		parts[migTopic][p] = kgo.NewOffset().AtStart()
		for o := range recs {
			ends[p] = max(ends[p], o)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumePartitions(parts), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[int32]map[int64]string{}
	done := func() bool {
		for p, e := range ends {
			if _, ok := got[p][e]; !ok {
				return false
			}
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), migWait)
	defer cancel()
	for !done() && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if got[r.Partition] == nil {
				got[r.Partition] = map[int64]string{}
			}
			got[r.Partition][r.Offset] = string(r.Value)
		})
	}
	return got
}

// ackedReadable checks that every acknowledged record is readable at its
// offset (what names the moment in messages).
func (mc *migCluster) ackedReadable(what string, acked map[int32]map[int64]string) {
	t := mc.t
	t.Helper()
	got := readAll(t, mc.seeds(), acked)
	n := 0
	for part, recs := range acked {
		for off, v := range recs {
			n++
			if got[part][off] != v {
				t.Fatalf("acked %s-%d@%d = %q, read %q %s", migTopic, part, off, v, got[part][off], what)
			}
		}
	}
	t.Logf("%d acknowledged records readable %s", n, what)
}

// waitZkController waits until a ZooKeeper-mode broker holds /controller
// (after a rollback).
func (mc *migCluster) waitZkController() {
	mc.t.Helper()
	wait.For(mc.t, migWait, "a ZooKeeper-mode broker is controller", func() error {
		data, _, err := mc.raw.Get(zk.ControllerPath)
		if err != nil {
			return err
		}
		c, err := zk.DecodeController(data)
		if err != nil || c.IsKRaft() {
			return fmt.Errorf("/controller %s: %v", data, err)
		}
		return nil
	})
}

// nothingLost checks what every migration test promises once the producer
// has stopped: every acknowledged record readable at its offset, the topic
// ids of ids unchanged (and every topic of also present), the committed
// offsets of group mig-g unchanged. what names the moment in messages.
func (mc *migCluster) nothingLost(what string, acked map[int32]map[int64]string, ids map[string][16]byte, committed map[int32]int64, also ...string) {
	t := mc.t
	t.Helper()
	mc.ackedReadable(what, acked)
	cl := mc.brokers[1].client(t, kgo.SeedBrokers(mc.seeds()...))
	after := topicIDs(t, cl, append([]string{migTopic, "__consumer_offsets"}, also...)...) // fails unless every topic is there
	for name, id := range ids {
		if after[name] != id {
			t.Fatalf("topic id of %s changed %s: %x -> %x", name, what, id, after[name])
		}
	}
	wait.For(t, migWait, "committed offsets unchanged "+what, func() error {
		off, err := offsetFetch(cl, "mig-g")
		if err != nil {
			return err
		}
		for part, o := range committed {
			if off[part] != o {
				return fmt.Errorf("partition %d: committed %d, now %d", part, o, off[part])
			}
		}
		return nil
	})
}

// prepareMigration is step 1 with data: topic mig (RF 3), 30 records
// consumed and committed by group mig-g, then a producer and a consumer
// that run until the test ends.
func prepareMigration(t *testing.T) (*migCluster, *migProducer, *groupWatch, map[int32]int64, map[string][16]byte) {
	t.Helper()
	mc := startMigCluster(t)
	admin := mc.brokers[1].client(t, kgo.SeedBrokers(mc.seeds()...))
	ctx, cancel := context.WithTimeout(context.Background(), migWait)
	defer cancel()
	zkCreateTopic(ctx, t, admin, migTopic, 3, 3, nil)
	mc.setupSecurity(ctx, admin)
	mc.setupConfigs(ctx)
	pre := mc.brokers[1].client(t, kgo.SeedBrokers(mc.seeds()...), kgo.DefaultProduceTopic(migTopic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := 0; i < 30; i++ {
		if err := pre.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("pre-%d", i))}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	g := groupConsumer(t, mc.brokers[1], "mig-g", migTopic, kgo.SeedBrokers(mc.seeds()...))
	pollN(t, g, 30)
	if err := g.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	committed, err := offsetFetch(g, "mig-g")
	if err != nil || len(committed) != 3 {
		t.Fatalf("committed offsets %v: %v", committed, err)
	}
	g.Close()
	ids := topicIDs(t, admin, migTopic, "__consumer_offsets")
	p := startMigProducer(t, mc.seeds(), migTopic)
	c := startGroupWatch(t, mc.seeds(), migTopic, "mig-live")
	p.waitMore(t, 10, "ZooKeeper mode")
	return mc, p, c, committed, ids
}

// migrateBrokers is steps 2 and 3: controllers, then each broker rolled
// with the migration keys; the last registration starts the migration.
func (mc *migCluster) migrateBrokers(p *migProducer) {
	t := mc.t
	mc.startControllers()
	mc.waitStatus("controllers in PRE_MIGRATION", "PRE_MIGRATION", "brokers registered vs expected: 0/3")
	for id := int32(1); id <= 3; id++ {
		mc.rollBroker(id, phaseZkMigrate)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d joined the migration", id))
	}
	out := mc.waitStatus("migrated", "state:               MIGRATION", "KRaft controller 1", "brokers registered vs expected: 3/3")
	t.Logf("after step 3:\n%s", out)
	mc.securityHolds("after step 3 (dual-write)")
	mc.configsHold("after step 3 (dual-write)")
}

// TestE2EMigrateZkToQuorum is issue 7's procedure end to end: three
// ZooKeeper-mode brokers with an RF 3 topic, a consumer group with
// committed offsets and a producer (acks=all) and consumer running
// throughout; steps 2 to 5 of docs/migration.md; afterwards every
// acknowledged record is readable, topic ids and committed offsets are
// unchanged, `zkraft meta` shows the loaded records and ZooKeeper mode can
// no longer elect a controller.
func TestE2EMigrateZkToQuorum(t *testing.T) {
	mc, p, c, committed, ids := prepareMigration(t)
	mc.migrateBrokers(p)

	// Dual-write: a topic created through a ZooKeeper-mode broker now goes
	// to the quorum and is mirrored into ZooKeeper.
	admin := mc.brokers[2].client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*migWait)
	defer cancel()
	zkCreateTopic(ctx, t, admin, "mig-dual", 2, 3, nil)
	wait.For(t, migWait, "mig-dual mirrored to ZooKeeper", func() error {
		_, _, err := zkState(mc.raw, "mig-dual", 1)
		return err
	})
	mc.transactionsWork("dual-write")
	// A broker config set through a migrating ZooKeeper-mode broker too.
	mc.configsDualWrite()
	// A partition reassignment too, completed under acks=all load.
	mc.reassignDualWrite()

	// Step 4: brokers into quorum mode, same node ids and log dirs.
	for id := int32(1); id <= 3; id++ {
		mc.rollBroker(id, phaseQuorum)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d moved to quorum mode", id))
	}
	mc.waitStatus("quorum-mode brokers", "quorum-mode brokers: [1 2 3]", "all in quorum mode [1 2 3], none left in /brokers/ids")
	mc.securityDualWrite()
	mc.securityHolds("after step 4")
	mc.configsHold("after step 4")

	// Step 5: controllers restarted without the ZooKeeper keys finalize.
	for id := int32(11); id <= 13; id++ {
		mc.rollController(id, false)
	}
	if out := mc.waitStatus("finalized", "state:               POST_MIGRATION", "dual-write:           stopped at the finalize"); strings.Contains(out, "lag") {
		t.Fatalf("status after finalize still reports a dual-write lag:\n%s", out)
	}
	p.waitMore(t, 5, "after finalize")
	mc.securityHolds("after finalize")
	mc.configsHold("after finalize")
	// Rollback after finalize is refused (issue 13 part 1): the log says
	// POST_MIGRATION and ZooKeeper is left as it was.
	ctrlBefore := zkGet(t, mc.raw, zk.ControllerPath)
	out, err := mc.zkraft("migrate", "rollback", "--zookeeper", mc.zk.Addr, "--bootstrap-controller", mc.bootstrap())
	if err == nil {
		t.Fatalf("zkraft migrate rollback after finalize succeeded:\n%s", out)
	}
	mustContain(t, "refused rollback", out, "rollback refused", "POST_MIGRATION", "From the quorum back to ZooKeeper mode")
	if after := zkGet(t, mc.raw, zk.ControllerPath); after != ctrlBefore {
		t.Fatalf("/controller changed by the refused rollback: %s -> %s", ctrlBefore, after)
	}
	seenBefore := c.count()
	acked := p.stop()
	wait.For(t, migWait, "consumer still consuming", func() error {
		if c.count() <= seenBefore && seenBefore < p.count() {
			return fmt.Errorf("consumer stuck at %d", c.count())
		}
		return nil
	})
	c.stop()
	c.checkClean(t, "steps 2-5")

	mc.nothingLost("after the migration", acked, ids, committed)

	// zkraft meta shows the records loaded from ZooKeeper.
	out, err = mc.zkraft("meta", "dump", "--bootstrap-controller", mc.bootstrap())
	if err != nil {
		t.Fatalf("zkraft meta dump: %v\n%s", err, out)
	}
	mustContain(t, "zkraft meta dump", out, "ZK Migration", "ZkMigrationStateRecord", migTopic)

	// ZooKeeper mode cannot elect a controller any more: a new
	// ZooKeeper-mode broker registers but /controller stays the quorum's.
	epoch := zkGet(t, mc.raw, zk.ControllerEpochPath)
	extra := startZkNode(t, mc.zk.Addr, 7)
	wait.For(t, migWait, "broker 7 registered", func() error {
		ok, _, err := mc.raw.Exists(zk.BrokerPath(7))
		if err != nil || !ok {
			return fmt.Errorf("exists %v: %v", ok, err)
		}
		return nil
	})
	extra.waitReady()
	ctrl := zkGet(t, mc.raw, zk.ControllerPath)
	cz, err := zk.DecodeController([]byte(ctrl))
	if err != nil || !cz.IsKRaft() || zkGet(t, mc.raw, zk.ControllerEpochPath) != epoch {
		t.Fatalf("ZooKeeper mode elected a controller after the migration: /controller %s, epoch %s (was %s)",
			ctrl, zkGet(t, mc.raw, zk.ControllerEpochPath), epoch)
	}
}

// TestE2EMigrateRollback rolls back after step 4 (brokers already in
// quorum mode), as docs/migration.md describes: brokers back to ZooKeeper
// mode with the migration flag, controllers stopped, `zkraft migrate
// rollback`, brokers without the flag. The cluster keeps serving in
// ZooKeeper mode with nothing lost.
func TestE2EMigrateRollback(t *testing.T) {
	mc, p, c, committed, ids := prepareMigration(t)
	mc.migrateBrokers(p)
	for id := int32(1); id <= 3; id++ {
		mc.rollBroker(id, phaseQuorum)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d moved to quorum mode", id))
	}
	// Rollback roll 1: ZooKeeper mode, flag still on.
	for id := int32(1); id <= 3; id++ {
		mc.rollBroker(id, phaseZkMigrate)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d went back to ZooKeeper mode", id))
	}
	// Controllers stopped, then zkraft migrate rollback.
	for _, n := range mc.controllers {
		_ = n.stop(15 * time.Second)
	}
	out, err := mc.zkraft("migrate", "rollback", "--zookeeper", mc.zk.Addr)
	if err != nil {
		t.Fatalf("zkraft migrate rollback: %v\n%s", err, out)
	}
	t.Logf("rollback:\n%s", out)
	mustContain(t, "rollback output", out, "deleted /controller", "deleted /migration")
	mc.waitZkController()
	// Rollback roll 2: plain ZooKeeper mode. The first broker rolled right
	// after the rollback shuts down through the ZooKeeper-mode controller
	// that is back, not through the stopped quorum: leadership moves off it
	// before it deregisters.
	for id := int32(1); id <= 3; id++ {
		waitFullISR(t, mc.raw, migTopic, 3, fmt.Sprintf("full ISRs before rolling broker %d", id))
		mc.stopBroker(id)
		if id == 1 {
			movedBeforeExit(t, mc.raw, migTopic, 3, id)
			logHas(t, mc.brokers[id], "first broker rolled after the rollback", "controlled shutdown complete")
			if out, _ := os.ReadFile(mc.brokers[id].logPath); strings.Contains(string(out), "controlled shutdown incomplete") {
				t.Errorf("first broker rolled after the rollback: controlled shutdown incomplete (log %s)", mc.brokers[id].logPath)
			}
		}
		mc.startBroker(id, phaseZk)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d dropped the migration flag", id))
	}
	mc.securityHolds("after rollback")
	mc.configsHold("after rollback")
	acked := p.stop()
	c.stop()
	c.checkClean(t, "migration and rollback")
	mc.nothingLost("after rollback", acked, ids, committed)
	// Nothing is offline: every partition has a leader in ZooKeeper.
	for part := int32(0); part < 3; part++ {
		st, _, err := zkState(mc.raw, migTopic, part)
		if err != nil || st.Leader < 0 {
			t.Fatalf("partition %d after rollback: %+v %v", part, st, err)
		}
	}
}

// TestE2EMigrateControllerFailover: the active controller is killed (kill
// -9) while the migration dual-writes and a producer (acks=all) runs. Another
// controller takes /controller over with a higher kraftControllerEpoch and
// a bumped /controller_epoch, resyncs ZooKeeper and keeps dual-writing: a
// topic created afterwards through a ZooKeeper-mode broker appears in
// ZooKeeper; a write fenced with the old /controller_epoch version is
// refused; the killed controller rejoins; every acknowledged record is
// readable.
func TestE2EMigrateControllerFailover(t *testing.T) {
	// Steps 2 and 3 without the rolls: the controllers first, then the
	// brokers started in ZooKeeper mode with the migration keys.
	mc := &migCluster{t: t, zk: zktest.Start(t), brokers: map[int32]*node{}, controllers: map[int32]*node{}, ctrlAddrs: map[int32]string{}}
	var vs []string
	for id := int32(11); id <= 13; id++ {
		mc.ctrlAddrs[id] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		vs = append(vs, fmt.Sprintf("%d@%s", id, mc.ctrlAddrs[id]))
	}
	mc.voters = strings.Join(vs, ",")
	raw, _, err := gozk.Connect([]string{mc.zk.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	mc.raw = raw
	// The ZooKeeper cluster's id, which the controllers adopt (a broker of
	// step 1 would have created it).
	if _, err := raw.Create("/cluster", nil, 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Create(zk.ClusterIDPath, zk.EncodeClusterID("vp10JlDESliyXcs4B4Tllw"), 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	mc.startControllers()
	mc.startBrokers(phaseZkMigrate)
	mc.waitStatus("migrated", "state:               MIGRATION", "brokers registered vs expected: 3/3")

	ctx, cancel := context.WithTimeout(context.Background(), 2*migWait)
	defer cancel()
	admin := mc.brokers[1].client(t, kgo.SeedBrokers(mc.seeds()...))
	zkCreateTopic(ctx, t, admin, migTopic, 3, 3, nil)
	wait.For(t, migWait, migTopic+" mirrored to ZooKeeper", func() error {
		_, _, err := zkState(mc.raw, migTopic, 2)
		return err
	})
	p := startMigProducer(t, mc.seeds(), migTopic)
	p.waitMore(t, 10, "before the failover")

	data, _, err := mc.raw.Get(zk.ControllerPath)
	if err != nil {
		t.Fatal(err)
	}
	first, err := zk.DecodeController(data)
	if err != nil || !first.IsKRaft() || mc.controllers[first.BrokerID] == nil {
		t.Fatalf("/controller %s (%v): not one of the controllers", data, err)
	}
	data, estat, err := mc.raw.Get(zk.ControllerEpochPath)
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := zk.DecodeControllerEpoch(data)
	if err != nil {
		t.Fatal(err)
	}
	mc.controllers[first.BrokerID].kill()
	t.Logf("killed the active controller %d (kraftControllerEpoch %d, controller_epoch %d)", first.BrokerID, first.KRaftControllerEpoch, epoch)

	wait.For(t, migWait, "another controller took /controller over", func() error {
		data, _, err := mc.raw.Get(zk.ControllerPath)
		if err != nil {
			return err
		}
		c, err := zk.DecodeController(data)
		if err != nil {
			return err
		}
		if !c.IsKRaft() || c.BrokerID == first.BrokerID || c.KRaftControllerEpoch <= first.KRaftControllerEpoch {
			return fmt.Errorf("/controller %s", data)
		}
		data, _, err = mc.raw.Get(zk.ControllerEpochPath)
		if err != nil {
			return err
		}
		if e, err := zk.DecodeControllerEpoch(data); err != nil || e <= epoch {
			return fmt.Errorf("/controller_epoch %s (%v), was %d", data, err, epoch)
		}
		return nil
	})
	// Dual-write goes on: a topic created through a ZooKeeper-mode broker
	// reaches the new active controller and is mirrored.
	zkCreateTopic(ctx, t, admin, "mig-after-failover", 2, 3, nil)
	wait.For(t, migWait, "mig-after-failover mirrored to ZooKeeper", func() error {
		_, _, err := zkState(mc.raw, "mig-after-failover", 1)
		return err
	})
	var cur zk.MigrationZNode
	wait.For(t, migWait, "/migration names the new controller", func() error {
		data, _, err := mc.raw.Get(zk.MigrationPath)
		if err != nil {
			return err
		}
		cur, err = zk.DecodeMigration(data)
		if err != nil || cur.KRaftControllerID == first.BrokerID || cur.KRaftControllerEpoch <= first.KRaftControllerEpoch {
			return fmt.Errorf("/migration %s (%v)", data, err)
		}
		return nil
	})
	// The new active controller resynced ZooKeeper from the log first.
	newLog, err := os.ReadFile(mc.controllers[cur.KRaftControllerID].logPath)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, fmt.Sprintf("controller %d's log", cur.KRaftControllerID), string(newLog),
		`"to": "SYNC_KRAFT_TO_ZK"`, "ZooKeeper synchronized with the metadata log", `"to": "DUAL_WRITE"`)
	// The killed controller comes back as a follower; dual-write goes on.
	mc.controllers[first.BrokerID].spawn()
	zkCreateTopic(ctx, t, admin, "mig-after-rejoin", 1, 3, nil)
	wait.For(t, migWait, "mig-after-rejoin mirrored to ZooKeeper", func() error {
		_, _, err := zkState(mc.raw, "mig-after-rejoin", 0)
		return err
	})
	// A write fenced as the old controller's was is refused.
	if _, err := mc.raw.Multi(&gozk.CheckVersionRequest{Path: zk.ControllerEpochPath, Version: estat.Version},
		&gozk.CreateRequest{Path: "/zombie", Data: []byte("x"), Acl: gozk.WorldACL(gozk.PermAll)}); err == nil {
		t.Fatal("a multi checking the old /controller_epoch version succeeded")
	}
	if ok, _, _ := mc.raw.Exists("/zombie"); ok {
		t.Fatal("/zombie written")
	}
	p.waitMore(t, 10, "after the failover")
	mc.ackedReadable("after the failover", p.stop())
}
