package main_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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

// startZkNode starts a ZooKeeper-mode broker: a server.properties with
// zookeeper.connect and broker.id and no process.roles; overrides
// (key=value) are passed as --override flags, which win over the file.
func startZkNode(t *testing.T, zkAddr string, id int, overrides ...string) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{t: t, dir: dir}
	n.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	props := []string{
		fmt.Sprintf("broker.id=%d", id),
		"zookeeper.connect=" + zkAddr,
		"zookeeper.session.timeout.ms=4000",
		"listeners=PLAINTEXT://" + n.addr,
		"log.dirs=" + filepath.Join(dir, "kafka-logs"),
		"offsets.topic.replication.factor=1",
	}
	path := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(path, []byte(strings.Join(props, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.args = []string{"serve", path}
	for _, kv := range overrides {
		n.args = append(n.args, "--override", kv)
	}
	t.Cleanup(func() {
		if n.cmd != nil && n.cmd.Process != nil {
			_ = n.cmd.Process.Signal(syscall.SIGCONT) // a test that failed mid-pause
		}
		n.kill()
		if t.Failed() {
			t.Logf("zk broker %d log tail:\n%s", id, n.logTail())
		}
	})
	n.start()
	return n
}

func zkGet(t *testing.T, c *gozk.Conn, path string) string {
	t.Helper()
	data, _, err := c.Get(path)
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	return string(data)
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s: %q does not contain %q", what, got, w)
		}
	}
}

// TestE2EZkCluster: three zkraft brokers in ZooKeeper mode against a real
// ZooKeeper serve kgo and kcat; zkCli.sh shows Kafka's JSON on Kafka's
// paths (KAFKA-REFERENCE §1.1); kill -9 of the controller broker gives a new
// /controller and /controller_epoch+1 within the session timeout (§1.3).
func TestE2EZkCluster(t *testing.T) {
	s := zktest.Start(t)
	nodes := map[int32]*node{}
	for id := 1; id <= 3; id++ {
		nodes[int32(id)] = startZkNode(t, s.Addr, id)
	}
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	wait.For(t, 30*time.Second, "three brokers registered", func() error {
		ids, _, err := raw.Children(zk.BrokerIDsPath)
		if err != nil || len(ids) != 3 {
			return fmt.Errorf("ids %v: %v", ids, err)
		}
		return nil
	})

	// kgo: create topics, produce, consume.
	cl := nodes[1].client(t, kgo.DefaultProduceTopic("zk-e2e"), kgo.ConsumeTopics("zk-e2e"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	zkCreateTopic(ctx, t, cl, "zk-e2e", 3, 1, nil)
	zkCreateTopic(ctx, t, cl, "zk-rf3", 6, 3, map[string]string{"retention.ms": "86400000"})
	for i := 0; i < 30; i++ {
		r := &kgo.Record{Value: []byte(fmt.Sprintf("v%d", i)), Partition: int32(i % 3)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	got := map[string]bool{}
	for len(got) < 30 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
	}
	if len(got) != 30 {
		t.Fatalf("consumed %d of 30 records", len(got))
	}

	// kcat through another broker: metadata lists all three, produce and consume.
	md := runKcat(t, nil, "-b", nodes[2].addr, "-L")
	mustContain(t, "kcat -L", md, "3 brokers:", `topic "zk-e2e" with 3 partitions`, `topic "zk-rf3" with 6 partitions`)
	runKcat(t, []byte("hello-from-kcat\n"), "-b", nodes[3].addr, "-P", "-t", "zk-e2e", "-p", "0")
	out := runKcat(t, nil, "-b", nodes[3].addr, "-C", "-t", "zk-e2e", "-p", "0", "-o", "beginning", "-e", "-q")
	mustContain(t, "kcat -C", out, "hello-from-kcat", "v0")

	// zkCli.sh shows Kafka's JSON.
	mustContain(t, "/brokers/ids/1", s.Cli(t, "get", "/brokers/ids/1"),
		`"version":5`, `"endpoints":["PLAINTEXT://`+nodes[1].addr+`"]`, `"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"}`,
		`"jmx_port":-1`, `"timestamp":"`)
	mustContain(t, "/cluster/id", s.Cli(t, "get", "/cluster/id"), `{"version":"1","id":"`)
	mustContain(t, "/controller", s.Cli(t, "get", "/controller"), `"version":2`, `"kraftControllerEpoch":-1`)
	mustContain(t, "/brokers/topics/zk-rf3", s.Cli(t, "get", "/brokers/topics/zk-rf3"),
		`"version":3`, `"topic_id":"`, `"adding_replicas":{}`, `"removing_replicas":{}`)
	mustContain(t, "state", s.Cli(t, "get", "/brokers/topics/zk-rf3/partitions/0/state"),
		`"version":1`, `"controller_epoch":1`, `"leader_epoch":0`)
	mustContain(t, "/config/topics/zk-rf3", zkGet(t, raw, zk.TopicConfigPath("zk-rf3")), `{"version":1,"config":{"retention.ms":"86400000"}}`)
	if e := zkGet(t, raw, zk.ControllerEpochPath); e != "1" {
		t.Fatalf("/controller_epoch = %q, want 1", e)
	}

	// kill -9 the controller: a new one with epoch 2 within the session timeout.
	c, err := zk.DecodeController([]byte(zkGet(t, raw, zk.ControllerPath)))
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	nodes[c.BrokerID].kill()
	var next int32
	wait.For(t, 30*time.Second, "new controller after kill -9", func() error {
		data, _, err := raw.Get(zk.ControllerPath)
		if err != nil {
			return err
		}
		n, err := zk.DecodeController(data)
		if err != nil || n.BrokerID == c.BrokerID {
			return fmt.Errorf("controller %d (%v)", n.BrokerID, err)
		}
		next = n.BrokerID
		if e := zkGet(t, raw, zk.ControllerEpochPath); e != "2" {
			return fmt.Errorf("/controller_epoch %q", e)
		}
		return nil
	})
	t.Logf("controller %d killed; broker %d took over with epoch 2 after %s (session timeout 4s)", c.BrokerID, next, time.Since(killed))
	// The new controller moved leadership of zk-rf3 off the dead broker.
	wait.For(t, 30*time.Second, "zk-rf3 leaders on live brokers", func() error {
		for p := int32(0); p < 6; p++ {
			st, err := zk.DecodePartitionState([]byte(zkGet(t, raw, zk.PartitionStatePath("zk-rf3", p))))
			if err != nil {
				return err
			}
			if st.Leader == c.BrokerID || st.Leader < 0 || st.ControllerEpoch != 2 && containsID(st.ISR, c.BrokerID) {
				return fmt.Errorf("partition %d: %+v", p, st)
			}
		}
		return nil
	})
	md = runKcat(t, nil, "-b", nodes[next].addr, "-L")
	mustContain(t, "kcat -L after failover", md, "2 brokers:")
}

func containsID(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// zkCreateTopic sends CreateTopics (api 19) and fails on a non-zero error code.
func zkCreateTopic(ctx context.Context, t *testing.T, cl *kgo.Client, name string, parts int32, rf int16, cfg map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, parts, rf
	for k, v := range cfg {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, &v
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
}

// zkSession is zookeeper.session.timeout.ms of the failure tests.
const zkSession = 4 * time.Second

// startZkReplicaCluster starts a ZooKeeper and brokers 4, 5 and 6 in
// ZooKeeper mode with replication settings (and extra overrides) (ids as in startReplicaCluster,
// so the replica helpers apply), and waits for all three registrations.
func startZkReplicaCluster(t *testing.T, extra ...string) (*zktest.Server, *gozk.Conn, *quorumCluster) {
	t.Helper()
	s := zktest.Start(t)
	qc := &quorumCluster{t: t, brokers: map[int32]*node{}}
	for id := 4; id <= 6; id++ {
		qc.brokers[int32(id)] = startZkNode(t, s.Addr, id, append([]string{
			fmt.Sprintf("zookeeper.session.timeout.ms=%d", zkSession.Milliseconds()),
			fmt.Sprintf("replica.lag.time.max.ms=%d", replicaLag.Milliseconds()),
			"default.replication.factor=3", "auto.create.topics.enable=false"}, extra...)...)
	}
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	wait.For(t, replicaWait, "three brokers registered", func() error {
		ids, _, err := raw.Children(zk.BrokerIDsPath)
		if err != nil || len(ids) != 3 {
			return fmt.Errorf("ids %v: %v", ids, err)
		}
		return nil
	})
	return s, raw, qc
}

// zkState reads a partition state znode: its content and zkVersion.
func zkState(raw *gozk.Conn, topic string, p int32) (zk.PartitionState, int32, error) {
	data, stat, err := raw.Get(zk.PartitionStatePath(topic, p))
	if err != nil {
		return zk.PartitionState{}, 0, err
	}
	st, err := zk.DecodePartitionState(data)
	return st, stat.Version, err
}

// TestE2EZkReplicaAcksAllSurvivesLeaderKill is issue 5's "acknowledged
// records survive a leader kill" with three ZooKeeper-mode brokers: RF 3,
// min.insync.replicas=2, a kgo acks=all producer running while the
// partition leader is killed with kill -9 and restarted at once (while its
// old /brokers/ids znode still exists: it waits for its old session to
// expire, then registers with a new epoch). The controller moves
// leadership off the dead broker; the restarted broker truncates, catches
// up and is added back to the ISR by the leader's AlterPartition, a
// setData of the state znode at its zkVersion. Every acknowledged record
// is read back at its offset, no offset or value twice, and each replica's
// log holds the same committed records.
func TestE2EZkReplicaAcksAllSurvivesLeaderKill(t *testing.T) {
	_, raw, qc := startZkReplicaCluster(t)
	createReplicaTopic(t, qc, map[string]string{"min.insync.replicas": "2"})
	leader := waitLeader(t, qc, 4, "a leader", otherThan())
	p := startAckProducer(t, qc)
	p.waitAcks(t, 50, "start")

	killed := qc.brokers[leader]
	killed.kill()
	killed.start() // waits until it serves: after its old session expired and it registered again
	if strings.Contains(killed.logTail(), "still registered by another session") {
		t.Logf("restarted broker %d waited for its predecessor's /brokers/ids znode to expire", leader)
	}
	via := slices.DeleteFunc([]int32{4, 5, 6}, func(id int32) bool { return id == leader })[0]
	cur := waitLeader(t, qc, via, fmt.Sprintf("a leader after kill -9 of %d", leader), otherThan())
	p.waitAcks(t, 50, fmt.Sprintf("leader %d after the kill of %d", cur, leader))
	waitReplicaISR(t, qc, cur, 4, 5, 6)
	t.Logf("broker %d killed and restarted; leader now %d; ISR back to [4 5 6]", leader, cur)

	// ZooKeeper shows the same: the restarted broker back in the ISR (the
	// controller never adds to an ISR: this was the leader's conditional
	// setData, AlterPartition).
	wait.For(t, replicaWait, "state znode shows the full ISR", func() error {
		st, _, err := zkState(raw, replicaTopic, 0)
		if err == nil && (len(st.ISR) != 3 || st.Leader < 0) {
			err = fmt.Errorf("state %+v", st)
		}
		return err
	})
	p.waitAcks(t, 50, "restarted broker in the ISR")
	acked := p.stop()

	var hw int64
	wait.For(t, replicaWait, "the high watermark", func() (err error) {
		if cur, _, err = replicaState(qc, via); err != nil {
			return err
		}
		if cur < 0 {
			return errors.New("no leader")
		}
		hw, err = highWatermark(qc, cur)
		return err
	})
	read, dups := consumeReplica(t, qc, hw)
	if len(dups) > 0 {
		t.Errorf("offsets read twice: %v", dups[:min(len(dups), 10)])
	}
	if problems := ackCheck(acked, read, hw); len(problems) > 0 {
		t.Fatalf("consumer read-back: %s", strings.Join(problems, "\n"))
	}
	for _, id := range []int32{4, 5, 6} {
		qc.brokers[id].kill()
		if problems := ackCheck(read, replicaLogOnDisk(t, qc.brokers[id], hw), hw); len(problems) > 0 {
			t.Fatalf("broker %d's log differs from what was read: %s", id, strings.Join(problems, "\n"))
		}
	}
	// kgo's producer is idempotent by default: a retry across the leader
	// change is recognised by its sequence number, not appended again.
	if n := duplicateValues(read); n > 0 {
		t.Fatalf("%d values written at two offsets", n)
	}
	t.Logf("%d records acknowledged, high watermark %d, none lost, none duplicated", len(acked), hw)
}

// znodeSnap is a znode's content and zkVersion.
type znodeSnap struct {
	data    string
	version int32
}

// snapZNodes reads paths; a missing znode is recorded with version -1.
func snapZNodes(t *testing.T, raw *gozk.Conn, paths []string) map[string]znodeSnap {
	t.Helper()
	out := map[string]znodeSnap{}
	for _, p := range paths {
		data, stat, err := raw.Get(p)
		switch {
		case errors.Is(err, gozk.ErrNoNode):
			out[p] = znodeSnap{version: -1}
		case err != nil:
			t.Fatalf("get %s: %v", p, err)
		default:
			out[p] = znodeSnap{data: string(data), version: stat.Version}
		}
	}
	return out
}

// TestE2EZkZombieControllerWritesNothing: the controller broker is paused
// with SIGSTOP past zookeeper.session.timeout.ms; another broker becomes
// controller with /controller_epoch+1 (zkCli.sh shows it) and moves
// leadership and ISR membership off it. On SIGCONT the zombie resigns (on
// the session-expired event, or on the failed /controller_epoch check of a
// write it had under way: every controller write is a multi led by
// check(/controller_epoch, its zkVersion)) and registers again on a new
// session. ZooKeeper shows nothing written by it: /controller,
// /controller_epoch, the topic list and topic znode are unchanged, and a
// state that did change (a leader adding it back to the ISR) carries the
// new controller epoch and the same leader and leader epoch. The cluster
// keeps serving, through the former zombie too.
//
// Whether a write was under way at the pause is up to timing; the refusal
// of every kind of write with a stale epoch zkVersion is checked
// deterministically by metadata/zk's TestZombieControllerIsFenced.
func TestE2EZkZombieControllerWritesNothing(t *testing.T) {
	s := zktest.Start(t)
	nodes := map[int32]*node{}
	for id := 1; id <= 3; id++ {
		nodes[int32(id)] = startZkNode(t, s.Addr, id,
			fmt.Sprintf("zookeeper.session.timeout.ms=%d", zkSession.Milliseconds()), "default.replication.factor=3")
	}
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	wait.For(t, replicaWait, "three brokers registered", func() error {
		ids, _, err := raw.Children(zk.BrokerIDsPath)
		if err != nil || len(ids) != 3 {
			return fmt.Errorf("ids %v: %v", ids, err)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*replicaWait)
	defer cancel()
	const topic, parts = "zt", 3
	zkCreateTopic(ctx, t, nodes[1].client(t), topic, parts, 3, nil)
	statePaths := []string{}
	for p := int32(0); p < parts; p++ {
		statePaths = append(statePaths, zk.PartitionStatePath(topic, p))
	}
	c, err := zk.DecodeController([]byte(zkGet(t, raw, zk.ControllerPath)))
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := zk.DecodeControllerEpoch([]byte(zkGet(t, raw, zk.ControllerEpochPath)))
	if err != nil {
		t.Fatal(err)
	}
	zombie := nodes[c.BrokerID]

	signal(t, zombie, syscall.SIGSTOP)

	// A new controller, epoch+1, which moves everything off the zombie.
	var next int32
	wait.For(t, replicaWait, "a new controller with epoch+1", func() error {
		data, _, err := raw.Get(zk.ControllerPath)
		if err != nil {
			return err
		}
		n, err := zk.DecodeController(data)
		if err != nil || n.BrokerID == c.BrokerID {
			return fmt.Errorf("controller %d (%v)", n.BrokerID, err)
		}
		next = n.BrokerID
		if e := zkGet(t, raw, zk.ControllerEpochPath); e != fmt.Sprint(epoch+1) {
			return fmt.Errorf("/controller_epoch %s", e)
		}
		return nil
	})
	wait.For(t, replicaWait, "partitions moved off the paused controller", func() error {
		for p := int32(0); p < parts; p++ {
			st, _, err := zkState(raw, topic, p)
			if err != nil {
				return err
			}
			if st.ControllerEpoch != epoch+1 || st.Leader == c.BrokerID || st.Leader < 0 || containsID(st.ISR, c.BrokerID) {
				return fmt.Errorf("partition %d: %+v", p, st)
			}
		}
		return nil
	})
	ctrlOnly := append([]string{zk.ControllerPath, zk.ControllerEpochPath, zk.BrokerTopicsPath, zk.TopicPath(topic)}, statePaths...)
	before := snapZNodes(t, raw, ctrlOnly)
	topicsBefore, _, err := raw.Children(zk.BrokerTopicsPath)
	if err != nil {
		t.Fatal(err)
	}
	cliEpoch := s.Cli(t, "get", zk.ControllerEpochPath)
	if !slices.Contains(strings.Split(cliEpoch, "\n"), fmt.Sprint(epoch+1)) {
		t.Fatalf("zkCli.sh get %s: %q, want a line %d", zk.ControllerEpochPath, cliEpoch, epoch+1)
	}
	t.Logf("controller %d paused; broker %d took over with epoch %d", c.BrokerID, next, epoch+1)

	signal(t, zombie, syscall.SIGCONT)
	wait.For(t, replicaWait, "the zombie resigned and registered again", func() error {
		log := readFile(t, zombie.logPath)
		if !strings.Contains(log, "resigned as controller") || !strings.Contains(log, "re-registered broker") {
			return errors.New("not yet in its log")
		}
		if ok, _, err := raw.Exists(zk.BrokerPath(c.BrokerID)); !ok || err != nil {
			return fmt.Errorf("/brokers/ids/%d missing (%v)", c.BrokerID, err)
		}
		return nil
	})
	// It resigned either on the session-expired event or, had a write of
	// its been under way, on that write's failed epoch check.
	if log := readFile(t, zombie.logPath); strings.Contains(log, zk.ErrControllerMoved.Error()) {
		t.Logf("the zombie's controller write was refused: %q in its log", zk.ErrControllerMoved)
	} else {
		t.Logf("the zombie resigned on its session-expired event before attempting a controller write")
	}

	// Nothing written by the zombie.
	after := snapZNodes(t, raw, ctrlOnly)
	for _, path := range ctrlOnly {
		b, a := before[path], after[path]
		if slices.Contains(statePaths, path) {
			continue
		}
		if a != b {
			t.Errorf("%s changed after the zombie resumed: %+v -> %+v", path, b, a)
		}
	}
	for i, path := range statePaths {
		b, a := before[path], after[path]
		if a == b {
			continue
		}
		old, _ := zk.DecodePartitionState([]byte(b.data))
		cur, err := zk.DecodePartitionState([]byte(a.data))
		if err != nil || cur.ControllerEpoch != epoch+1 || cur.Leader != old.Leader || cur.LeaderEpoch != old.LeaderEpoch {
			t.Errorf("partition %d changed other than by its leader's ISR update: %+v -> %+v (%v)", i, old, cur, err)
		}
	}
	topicsAfter, _, err := raw.Children(zk.BrokerTopicsPath)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(topicsBefore)
	slices.Sort(topicsAfter)
	if !slices.Equal(topicsBefore, topicsAfter) {
		t.Errorf("topics %v -> %v after the zombie resumed", topicsBefore, topicsAfter)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The cluster keeps serving, through the former zombie too: it is back
	// in every ISR, and records produced through it are read back.
	wait.For(t, replicaWait, fmt.Sprintf("broker %d back in every ISR", c.BrokerID), func() error {
		for p := int32(0); p < parts; p++ {
			st, _, err := zkState(raw, topic, p)
			if err != nil {
				return err
			}
			if !containsID(st.ISR, c.BrokerID) {
				return fmt.Errorf("partition %d: %+v", p, st)
			}
		}
		return nil
	})
	cl := zombie.client(t, kgo.DefaultProduceTopic(topic), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := 0; i < 30; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("z%d", i)), Partition: int32(i % parts)}).FirstErr(); err != nil {
			t.Fatalf("produce %d after the zombie resumed: %v", i, err)
		}
	}
	got := map[string]bool{}
	for len(got) < 30 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
	}
	if len(got) != 30 {
		t.Fatalf("consumed %d of 30 records", len(got))
	}
	wait.For(t, replicaWait, "kcat lists three brokers", func() error {
		if md := runKcat(t, nil, "-b", zombie.addr, "-L"); !strings.Contains(md, "3 brokers:") {
			return errors.New(md)
		}
		return nil
	})
}

// TestE2EZkModeByOverridesAlone (issue 13 part 2): `zkraft serve` with no
// file, ZooKeeper mode chosen by --override alone, starts a ZooKeeper-mode
// broker (registered in /brokers/ids under the chroot) that serves
// produce and fetch; the embedded quorum default's process.roles is not
// applied under the overrides.
func TestE2EZkModeByOverridesAlone(t *testing.T) {
	srv := zktest.Start(t)
	dir := t.TempDir()
	n := &node{t: t, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	n.args = []string{"serve",
		"--override", "broker.id=1",
		"--override", "zookeeper.connect=" + srv.Addr + "/kafka",
		"--override", "listeners=PLAINTEXT://" + n.addr,
		"--override", "log.dirs=" + filepath.Join(dir, "kafka-logs"),
	}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("broker log tail:\n%s", n.logTail())
		}
	})
	n.start()
	raw, _, err := gozk.Connect([]string{srv.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	wait.For(t, 30*time.Second, "broker 1 in /kafka/brokers/ids", func() error {
		ok, _, err := raw.Exists("/kafka" + zk.BrokerPath(1))
		if err != nil || !ok {
			return fmt.Errorf("exists %v: %v", ok, err)
		}
		return nil
	})
	log, err := os.ReadFile(n.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), "process.roles") {
		t.Fatalf("the quorum default leaked into the overrides:\n%s", log)
	}
	cl := n.client(t, kgo.DefaultProduceTopic("by-overrides"), kgo.AllowAutoTopicCreation())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("zk-mode")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	ok, _, err := raw.Exists("/kafka" + zk.TopicPath("by-overrides"))
	if err != nil || !ok {
		t.Fatalf("topic by-overrides not in ZooKeeper: %v %v", ok, err)
	}
}
