package main_test

// End-to-end tests of partition reassignment (KIP-455, issue 14): one
// six-broker cluster per metadata mode, a topic whose every replica lives
// on brokers {1,2,3} moved to {4,5,6} with `zkraft reassign-partitions`
// (--generate, --execute, --verify --wait) while an acks=all producer
// runs. Nothing acknowledged is lost (read back with franz-go and kcat),
// the old brokers delete their logs of the topic, and kadm's
// AlterPartitionAssignments / ListPartitionReassignments answer Kafka's
// errors and the reassignments in progress.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

const (
	reassignTopic = "moving"
	reassignParts = 3
	reassignWait  = 60 * time.Second
)

// TestE2EReassignQuorum: one controller (id 100) and brokers 1-6.
func TestE2EReassignQuorum(t *testing.T) {
	ctrlAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	voters := "100@" + ctrlAddr
	start := func(id int32, roles string, kvs ...string) *node {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d", roles, id))
		n := &node{t: t, dir: dir}
		n.args = overrideArgs(append([]string{
			"process.roles=" + roles,
			fmt.Sprintf("node.id=%d", id),
			"controller.quorum.voters=" + voters,
			"controller.listener.names=CONTROLLER",
			"broker.session.timeout.ms=6000",
			"broker.heartbeat.interval.ms=500",
			"auto.create.topics.enable=false",
			"log.dirs=" + filepath.Join(dir, "kafka-logs"),
			"metadata.log.dir=" + filepath.Join(dir, "metadata"),
		}, kvs...))
		n.spawn()
		t.Cleanup(func() {
			n.kill()
			if t.Failed() {
				t.Logf("%s %d log tail:\n%s", roles, id, n.logTail())
			}
		})
		return n
	}
	start(100, "controller", "listeners=CONTROLLER://"+ctrlAddr)
	brokers := map[int32]*node{}
	for id := int32(1); id <= 6; id++ {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		brokers[id] = start(id, "broker", "listeners=PLAINTEXT://"+addr)
		brokers[id].addr = addr
	}
	for _, n := range brokers {
		n.waitReady()
	}
	runReassignE2E(t, brokers)
}

// TestE2EReassignZooKeeper: six ZooKeeper-mode brokers; the request goes to
// the /controller broker, whose loop writes the topic znode's
// adding_replicas/removing_replicas.
func TestE2EReassignZooKeeper(t *testing.T) {
	s := zktest.Start(t)
	brokers := map[int32]*node{}
	for id := 1; id <= 6; id++ {
		brokers[int32(id)] = startZkNode(t, s.Addr, id, "auto.create.topics.enable=false",
			fmt.Sprintf("zookeeper.session.timeout.ms=%d", zkSession.Milliseconds()))
	}
	rc := runReassignE2E(t, brokers)

	// Kafka's /admin/reassign_partitions (old tools write it): the
	// controller starts what it lists and deletes it once done.
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	data := `{"version":1,"partitions":[{"topic":"` + reassignTopic + `","partition":2,"replicas":[3,2,1]}]}`
	if _, err := raw.Create(zk.ReassignPartitionsPath, []byte(data), 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), reassignWait)
	defer cancel()
	rc.waitReplicas(ctx, func(p int32, replicas, isr []int32) bool {
		return p != 2 || slices.Equal(replicas, []int32{3, 2, 1}) && len(isr) == 3
	})
	wait.For(t, reassignWait, zk.ReassignPartitionsPath+" deleted once done", func() error {
		if ok, _, err := raw.Exists(zk.ReassignPartitionsPath); err != nil || ok {
			return fmt.Errorf("exists %v: %v", ok, err)
		}
		return nil
	})

	// Sent to a broker that is not the controller, the request is
	// forwarded to the /controller broker.
	data2, _, err := raw.Get(zk.ControllerPath)
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := zk.DecodeController(data2)
	if err != nil {
		t.Fatal(err)
	}
	via := int32(6)
	if ctrl.BrokerID == via {
		via = 5
	}
	ctx, cancel = context.WithTimeout(context.Background(), reassignWait)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers[via].addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign(reassignTopic, 1, []int32{6, 5, 4})
	if res, err := kadm.NewClient(cl).AlterPartitionAssignments(ctx, req); err != nil || res.Error() != nil {
		t.Fatalf("via broker %d (controller %d): %v %v", via, ctrl.BrokerID, err, res.Error())
	}
	rc.waitReplicas(ctx, func(p int32, replicas, isr []int32) bool {
		return p != 1 || slices.Equal(replicas, []int32{6, 5, 4}) && len(isr) == 3
	})
}

// reassignCluster is what the checks need of a cluster.
type reassignCluster struct {
	t       *testing.T
	brokers map[int32]*node
	seeds   []string
	cl      *kgo.Client
	adm     *kadm.Client
}

func runReassignE2E(t *testing.T, brokers map[int32]*node) *reassignCluster {
	rc := &reassignCluster{t: t, brokers: brokers}
	for id := int32(1); id <= 6; id++ {
		rc.seeds = append(rc.seeds, brokers[id].addr)
	}
	rc.cl = rc.client()
	rc.adm = kadm.NewClient(rc.cl)
	ctx, cancel := context.WithTimeout(context.Background(), 2*reassignWait)
	defer cancel()

	// Every replica of the topic on brokers 1-3.
	wait.For(t, reassignWait, "create "+reassignTopic+" on brokers 1-3", func() error {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = reassignTopic, -1, -1
		for p := int32(0); p < reassignParts; p++ {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition = p
			for i := int32(0); i < 3; i++ {
				a.Replicas = append(a.Replicas, 1+(p+i)%3)
			}
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
		}
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = "min.insync.replicas", kmsg.StringPtr("2")
		rt.Configs = append(rt.Configs, c)
		req.Topics = append(req.Topics, rt)
		req.TimeoutMillis = 5000
		resp, err := req.RequestWith(ctx, rc.cl)
		if err != nil {
			return err
		}
		if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return err
		}
		return nil
	})
	rc.waitReplicas(ctx, func(p int32, replicas, isr []int32) bool { return len(isr) == 3 && sorted(replicas)[2] == 3 })

	// Data to move: 2 MiB before, and an acks=all producer during the move.
	const preload, recSize = 2048, 1024
	rc.preload(ctx, preload, recSize)
	prod := rc.startProducer()
	prod.waitAcks(t, 20)

	t.Run("kadm errors", func(t *testing.T) {
		var req kadm.AlterPartitionAssignmentsReq
		req.Assign(reassignTopic, 0, []int32{4, 5, 99})
		req.CancelAssign(reassignTopic, 1)
		req.Assign(reassignTopic, 7, []int32{4, 5, 6})
		res, err := rc.adm.AlterPartitionAssignments(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range map[int32]error{0: kerr.InvalidReplicaAssignment, 1: kerr.NoReassignmentInProgress, 7: kerr.UnknownTopicOrPartition} {
			if got := res[reassignTopic][p].Err; !errors.Is(got, want) {
				t.Errorf("partition %d: %v, want %v", p, got, want)
			}
		}
		listed, err := rc.adm.ListPartitionReassignments(ctx, kadm.TopicsSet{reassignTopic: {0: {}, 1: {}, 2: {}}})
		if err != nil || len(listed) != 0 {
			t.Fatalf("nothing in progress: %v %v", listed, err)
		}
	})

	// --generate proposes {4,5,6}; --execute starts it; --verify --wait
	// follows it to the end.
	dir := t.TempDir()
	topicsFile := filepath.Join(dir, "topics.json")
	writeFile(t, topicsFile, `{"version":1,"topics":[{"topic":"`+reassignTopic+`"}]}`)
	out := rc.tool(t, "--generate", "--topics-to-move-json-file", topicsFile, "--broker-list", "4,5,6")
	mustContain(t, "--generate", out, "Current partition replica assignment", "Proposed partition reassignment configuration")
	proposed := strings.TrimSpace(out[strings.Index(out, "Proposed partition reassignment configuration")+len("Proposed partition reassignment configuration"):])
	var plan struct {
		Partitions []struct {
			Topic     string
			Partition int32
			Replicas  []int32
		}
	}
	if err := json.Unmarshal([]byte(proposed), &plan); err != nil || len(plan.Partitions) != reassignParts {
		t.Fatalf("proposed %q: %v", proposed, err)
	}
	for _, p := range plan.Partitions {
		if !slices.Equal(sorted(p.Replicas), []int32{4, 5, 6}) {
			t.Fatalf("proposed %v for partition %d", p.Replicas, p.Partition)
		}
	}
	planFile := filepath.Join(dir, "plan.json")
	writeFile(t, planFile, proposed)
	began := time.Now()
	out = rc.tool(t, "--execute", "--reassignment-json-file", planFile)
	mustContain(t, "--execute", out, "Save this to use as the --reassignment-json-file option during rollback",
		"Successfully started partition reassignments for "+reassignTopic+"-0,"+reassignTopic+"-1,"+reassignTopic+"-2")
	out = rc.tool(t, "--verify", "--wait", "--timeout", reassignWait.String(), "--reassignment-json-file", planFile)
	moved := time.Since(began)
	for p := 0; p < reassignParts; p++ {
		mustContain(t, "--verify", out, fmt.Sprintf("Reassignment of partition %s-%d is completed.", reassignTopic, p))
	}
	t.Logf("moved %d partitions x 3 replicas (%.1f MiB each) from {1,2,3} to {4,5,6} in %v", reassignParts,
		float64(preload*recSize)/reassignParts/(1<<20), moved.Round(10*time.Millisecond))
	rc.waitReplicas(ctx, func(p int32, replicas, isr []int32) bool {
		return slices.Equal(sorted(replicas), []int32{4, 5, 6}) && len(isr) == 3
	})
	mustContain(t, "--list", rc.tool(t, "--list"), "No partition reassignments found.")
	prod.waitAcks(t, 20)
	acked := prod.stop()

	t.Run("nothing acknowledged lost", func(t *testing.T) {
		got := rc.consumeAll(ctx)
		missing := 0
		for k, v := range acked {
			if got[k] != v {
				if missing++; missing <= 5 {
					t.Errorf("acknowledged %s=%q read back as %q", k, v, got[k])
				}
			}
		}
		if missing > 0 {
			t.Fatalf("%d of %d acknowledged records lost", missing, len(acked))
		}
		kc := runKcat(t, nil, "-b", strings.Join(rc.seeds[3:], ","), "-C", "-t", reassignTopic, "-o", "beginning", "-e", "-q",
			"-f", "%p:%o:%s\n")
		seen := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(kc), "\n") {
			if i := strings.LastIndexByte(line, ':'); i > 0 && !strings.HasPrefix(line[i+1:], "pre-") {
				seen[line[:i]] = line[i+1:]
			}
		}
		for k, v := range acked {
			if seen[k] != v {
				t.Fatalf("kcat: acknowledged %s=%q read back as %q (%d lines)", k, v, seen[k], len(seen))
			}
		}
		t.Logf("%d acknowledged records during the move, all read back (franz-go and kcat)", len(acked))
	})

	t.Run("old brokers deleted their logs", func(t *testing.T) {
		wait.For(t, reassignWait, "logs of "+reassignTopic+" only on brokers 4-6", func() error {
			for id := int32(1); id <= 6; id++ {
				dirs, _ := filepath.Glob(filepath.Join(rc.brokers[id].dir, "kafka-logs", reassignTopic+"-*"))
				if want := 0; id > 3 {
					want = reassignParts
					if len(dirs) != want {
						return fmt.Errorf("broker %d holds %v", id, dirs)
					}
				} else if len(dirs) != want {
					return fmt.Errorf("broker %d still holds %v", id, dirs)
				}
			}
			return nil
		})
	})

	t.Run("throttled reassignment cancelled", func(t *testing.T) {
		// Partition 0 back to {1,2,3} at 16 KiB/s: the leader serves its
		// three new followers from one bucket, so the copy takes a minute
		// and is still in progress when listed; --cancel reverts it, the
		// partial copies on 1-3 are deleted and the throttles removed.
		back := filepath.Join(dir, "back.json")
		writeFile(t, back, `{"version":1,"partitions":[{"topic":"`+reassignTopic+`","partition":0,"replicas":[1,2,3]}]}`)
		mustContain(t, "--execute --throttle", rc.tool(t, "--execute", "--throttle", "16384", "--reassignment-json-file", back),
			"The inter-broker throttle limit was set to 16384 B/s", "Successfully started partition reassignments for "+reassignTopic+"-0")
		listed, err := rc.adm.ListPartitionReassignments(ctx, kadm.TopicsSet{reassignTopic: {0: {}}})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := listed[reassignTopic][0]
		if !ok || !slices.Equal(sorted(got.AddingReplicas), []int32{1, 2, 3}) || !slices.Equal(sorted(got.RemovingReplicas), []int32{4, 5, 6}) {
			t.Fatalf("listed %+v", listed)
		}
		mustContain(t, "--list", rc.tool(t, "--list"), reassignTopic+"-0: replicas: ")
		mustContain(t, "--verify", rc.tool(t, "--verify", "--reassignment-json-file", back),
			"Reassignment of partition "+reassignTopic+"-0 is still in progress.")
		mustContain(t, "--cancel", rc.tool(t, "--cancel", "--reassignment-json-file", back),
			"Successfully cancelled partition reassignment(s) for: "+reassignTopic+"-0", "Clearing broker-level throttles")
		rc.waitReplicas(ctx, func(p int32, replicas, isr []int32) bool {
			return slices.Equal(sorted(replicas), []int32{4, 5, 6}) && len(isr) == 3
		})
		if listed, err := rc.adm.ListPartitionReassignments(ctx, kadm.TopicsSet{reassignTopic: {0: {}}}); err != nil || len(listed) != 0 {
			t.Fatalf("still in progress after cancel: %v %v", listed, err)
		}
		rc.waitNoLogs(t, 1, 2, 3)
		rc.noThrottles(ctx, t)
	})

	t.Run("throttled move", func(t *testing.T) {
		// Partition 1 to {1,2,3} at 1 MiB/s, --verify --wait to the end;
		// the time is logged next to the unthrottled move's.
		fwd := filepath.Join(dir, "fwd.json")
		writeFile(t, fwd, `{"version":1,"partitions":[{"topic":"`+reassignTopic+`","partition":1,"replicas":[1,2,3]}]}`)
		const rate = 1 << 20
		began := time.Now()
		rc.tool(t, "--execute", "--throttle", strconv.Itoa(rate), "--reassignment-json-file", fwd)
		out := rc.tool(t, "--verify", "--wait", "--timeout", reassignWait.String(), "--reassignment-json-file", fwd)
		mustContain(t, "--verify", out, "Reassignment of partition "+reassignTopic+"-1 is completed.", "Clearing broker-level throttles")
		t.Logf("moved 1 partition x 3 replicas (%.1f MiB) at --throttle %d in %v", float64(preload*recSize)/reassignParts/(1<<20),
			rate, time.Since(began).Round(10*time.Millisecond))
		rc.noThrottles(ctx, t)
	})
	return rc
}

// waitNoLogs waits until the brokers hold no log of the topic.
func (rc *reassignCluster) waitNoLogs(t *testing.T, ids ...int32) {
	t.Helper()
	wait.For(t, reassignWait, fmt.Sprintf("no log of %s on brokers %v", reassignTopic, ids), func() error {
		for _, id := range ids {
			if dirs, _ := filepath.Glob(filepath.Join(rc.brokers[id].dir, "kafka-logs", reassignTopic+"-*")); len(dirs) > 0 {
				return fmt.Errorf("broker %d holds %v", id, dirs)
			}
		}
		return nil
	})
}

// noThrottles checks that no broker and not the topic keep a throttle
// config (the tool removed them).
func (rc *reassignCluster) noThrottles(ctx context.Context, t *testing.T) {
	t.Helper()
	wait.For(t, reassignWait, "throttle configs removed", func() error {
		bc, err := rc.adm.DescribeBrokerConfigs(ctx, 1, 2, 3, 4, 5, 6)
		if err != nil {
			return err
		}
		tc, err := rc.adm.DescribeTopicConfigs(ctx, reassignTopic)
		if err != nil {
			return err
		}
		for _, r := range append(bc, tc...) {
			for _, c := range r.Configs {
				if strings.Contains(c.Key, "replication.throttled") && c.Value != nil && *c.Value != "" &&
					(c.Source == kmsg.ConfigSourceDynamicBrokerConfig || c.Source == kmsg.ConfigSourceDynamicDefaultBrokerConfig ||
						c.Source == kmsg.ConfigSourceDynamicTopicConfig) {
					return fmt.Errorf("%s still has %s=%s", r.Name, c.Key, *c.Value)
				}
			}
		}
		return nil
	})
}

func sorted(s []int32) []int32 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (rc *reassignCluster) client(opts ...kgo.Opt) *kgo.Client {
	rc.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(rc.seeds...), kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond })}, opts...)...)
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.t.Cleanup(cl.Close)
	return cl
}

// tool runs zkraft reassign-partitions and returns its output (failing
// the test on a non-zero exit).
func (rc *reassignCluster) tool(t *testing.T, args ...string) string {
	t.Helper()
	args = append([]string{"reassign-partitions", "--bootstrap-server", strings.Join(rc.seeds, ",")}, args...)
	out, err := exec.Command(zkraftBinary(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("zkraft %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitReplicas waits until every partition's replicas and ISR (as
// Metadata reports them) satisfy ok.
func (rc *reassignCluster) waitReplicas(ctx context.Context, ok func(p int32, replicas, isr []int32) bool) {
	rc.t.Helper()
	wait.For(rc.t, reassignWait, "replicas of "+reassignTopic, func() error {
		md, err := rc.adm.Metadata(ctx, reassignTopic)
		if err != nil {
			return err
		}
		t := md.Topics[reassignTopic]
		if t.Err != nil || len(t.Partitions) != reassignParts {
			return fmt.Errorf("topic: %v, %d partitions", t.Err, len(t.Partitions))
		}
		for _, p := range t.Partitions.Sorted() {
			if !ok(p.Partition, p.Replicas, p.ISR) {
				return fmt.Errorf("partition %d: replicas %v ISR %v leader %d", p.Partition, p.Replicas, p.ISR, p.Leader)
			}
		}
		return nil
	})
}

// preload produces n records of size bytes ("pre-N"), acks=all.
func (rc *reassignCluster) preload(ctx context.Context, n, size int) {
	rc.t.Helper()
	// Uncompressed, so the logged sizes are the bytes moved.
	cl := rc.client(kgo.DefaultProduceTopic(reassignTopic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	pad := strings.Repeat("x", size)
	for done := 0; done < n; done += 256 {
		var recs []*kgo.Record
		for i := done; i < min(done+256, n); i++ {
			recs = append(recs, &kgo.Record{Value: []byte(fmt.Sprintf("pre-%d-%s", i, pad))[:size]})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			rc.t.Fatalf("preload: %v", err)
		}
	}
}

// reassignProducer produces "v-N" one record at a time, acks=all,
// keeping "partition:offset" -> value of every acknowledged record.
type reassignProducer struct {
	mu     sync.Mutex
	acked  map[string]string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	cl     *kgo.Client
}

func (rc *reassignCluster) startProducer() *reassignProducer {
	cl, err := kgo.NewClient(kgo.SeedBrokers(rc.seeds...), kgo.DefaultProduceTopic(reassignTopic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.ProduceRequestTimeout(5*time.Second), kgo.RequestTimeoutOverhead(5*time.Second))
	if err != nil {
		rc.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &reassignProducer{acked: map[string]string{}, cancel: cancel, done: make(chan struct{}), cl: cl}
	go func() {
		defer close(p.done)
		for i := 0; ctx.Err() == nil; i++ {
			v := fmt.Sprintf("v-%d", i)
			r, err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).First()
			if err == nil {
				p.mu.Lock()
				p.acked[fmt.Sprintf("%d:%d", r.Partition, r.Offset)] = v
				p.mu.Unlock()
			}
		}
	}()
	rc.t.Cleanup(func() { p.stop() })
	return p
}

func (p *reassignProducer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

func (p *reassignProducer) waitAcks(t *testing.T, n int) {
	t.Helper()
	target := p.count() + n
	wait.Until(t, reassignWait, fmt.Sprintf("%d acks", target), func() bool { return p.count() >= target })
}

func (p *reassignProducer) stop() map[string]string {
	p.once.Do(func() {
		p.cancel()
		p.cl.Close()
		<-p.done
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

// consumeAll reads every partition from the start to its high watermark,
// returning "partition:offset" -> value of the producer's records.
func (rc *reassignCluster) consumeAll(ctx context.Context) map[string]string {
	rc.t.Helper()
	ends, err := rc.adm.ListEndOffsets(ctx, reassignTopic)
	if err != nil {
		rc.t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	cl := rc.client(kgo.ConsumeTopics(reassignTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))
	got := map[string]string{}
	next := map[int32]int64{}
	wait.For(rc.t, reassignWait, "consume "+reassignTopic+" to its end", func() error {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if !strings.HasPrefix(string(r.Value), "pre-") {
				got[fmt.Sprintf("%d:%d", r.Partition, r.Offset)] = string(r.Value)
			}
			next[r.Partition] = r.Offset + 1
		})
		for p, end := range want {
			if next[p] < end {
				return fmt.Errorf("partition %d at %d of %d", p, next[p], end)
			}
		}
		return nil
	})
	return got
}
