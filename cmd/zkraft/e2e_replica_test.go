package main_test

// End-to-end tests of replication (issue 4) with real processes: 3
// controllers (process.roles=controller, ids 1-3) and 3 brokers
// (process.roles=broker, ids 4-6) on loopback, a topic with replication
// factor 3 and min.insync.replicas=2, and a franz-go producer with
// acks=all running while brokers are killed with kill -9, restarted, and
// paused with SIGSTOP past replica.lag.time.max.ms.
//
// The checker (ackCheck) compares what the producer was told (offset ->
// value of every acknowledged record) with what a consumer reads back from
// offset 0 to the high watermark, and with each replica's log on disk. The
// negative control (TestE2EReplicaUncleanLossDetected) forces an unclean
// election and requires the checker to report the loss: proof that it can
// see one.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata/wait"
)

const (
	replicaTopic = "rf3"
	// replicaLag is replica.lag.time.max.ms; the session timeout is twice
	// it, so a paused follower normally leaves the ISR by the leader's lag
	// check before the controller fences it.
	replicaLag     = 3 * time.Second
	replicaSession = 6 * time.Second
	// replicaWait bounds every eventually: generous, for a loaded machine.
	replicaWait = 45 * time.Second
)

// startReplicaCluster starts 3 controllers and 3 brokers (as
// startQuorumCluster does) with replication settings plus extra overrides.
func startReplicaCluster(t *testing.T, extra ...string) *quorumCluster {
	t.Helper()
	qc := &quorumCluster{t: t, ctrlAddrs: map[int32]string{}, controllers: map[int32]*node{}, brokers: map[int32]*node{}}
	var vs []string
	for id := int32(1); id <= 3; id++ {
		qc.ctrlAddrs[id] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		vs = append(vs, fmt.Sprintf("%d@%s", id, qc.ctrlAddrs[id]))
	}
	qc.voters = strings.Join(vs, ",")
	common := append([]string{
		"controller.quorum.voters=" + qc.voters,
		"controller.listener.names=CONTROLLER",
		fmt.Sprintf("broker.session.timeout.ms=%d", replicaSession.Milliseconds()),
		"broker.heartbeat.interval.ms=500",
		fmt.Sprintf("replica.lag.time.max.ms=%d", replicaLag.Milliseconds()),
		"default.replication.factor=3",
		"auto.create.topics.enable=false",
	}, extra...)
	start := func(id int32, roles string, kvs ...string) *node {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d", roles, id))
		n := &node{t: t, dir: dir, metricsAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
		n.args = overrideArgs(append(append([]string{
			"process.roles=" + roles,
			fmt.Sprintf("node.id=%d", id),
			"zkraft.metrics.listener=http://" + n.metricsAddr,
			"log.dirs=" + filepath.Join(dir, "kafka-logs"),
			"metadata.log.dir=" + filepath.Join(dir, "metadata"),
		}, kvs...), common...))
		n.spawn()
		t.Cleanup(func() {
			_ = n.cmd.Process.Signal(syscall.SIGCONT) // a test that failed mid-pause
			n.kill()
			if t.Failed() {
				t.Logf("%s %d log tail:\n%s", roles, id, n.logTail())
			}
		})
		return n
	}
	for id := int32(1); id <= 3; id++ {
		qc.controllers[id] = start(id, "controller", "listeners=CONTROLLER://"+qc.ctrlAddrs[id])
		qc.controllers[id].ctrlAddr = qc.ctrlAddrs[id]
	}
	for id := int32(4); id <= 6; id++ {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		qc.brokers[id] = start(id, "broker", "listeners=PLAINTEXT://"+addr)
		qc.brokers[id].addr = addr
	}
	for _, n := range qc.brokers {
		n.waitReady()
	}
	return qc
}

// createReplicaTopic creates the one-partition RF 3 topic with configs.
func createReplicaTopic(t *testing.T, qc *quorumCluster, configs map[string]string) {
	t.Helper()
	cl := qc.brokerClient(4)
	wait.For(t, replicaWait, "create topic "+replicaTopic, func() error {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = replicaTopic, 1, 3
		for k, v := range configs {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, kmsg.StringPtr(v)
			rt.Configs = append(rt.Configs, c)
		}
		req.Topics = append(req.Topics, rt)
		req.TimeoutMillis = 5000
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return err
		}
		return nil
	})
	// Every replica exists and the ISR is complete before any load.
	waitReplicaISR(t, qc, 4, 4, 5, 6)
}

// replicaState is partition 0 of the topic as broker `via` sees it.
func replicaState(qc *quorumCluster, via int32) (leader int32, isr []int32, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(qc.brokers[via].addr))
	if err != nil {
		return 0, nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, parts, err := metadataOf(ctx, cl, replicaTopic)
	if err != nil {
		return 0, nil, err
	}
	p, ok := parts[0]
	if !ok {
		return 0, nil, errors.New("no partition 0")
	}
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil && !errors.Is(err, kerr.LeaderNotAvailable) {
		return 0, nil, err
	}
	isr = slices.Clone(p.ISR)
	slices.Sort(isr)
	return p.Leader, isr, nil
}

// waitReplicaISR waits until broker via reports exactly the ISR want.
func waitReplicaISR(t *testing.T, qc *quorumCluster, via int32, want ...int32) {
	t.Helper()
	wait.For(t, replicaWait, fmt.Sprintf("ISR %v (as broker %d sees it)", want, via), func() error {
		_, isr, err := replicaState(qc, via)
		if err == nil && !slices.Equal(isr, want) {
			err = fmt.Errorf("ISR %v", isr)
		}
		return err
	})
}

// waitLeader waits until broker via names a live leader accepted by ok.
func waitLeader(t *testing.T, qc *quorumCluster, via int32, what string, ok func(int32) bool) int32 {
	t.Helper()
	var leader int32
	wait.For(t, replicaWait, what, func() (err error) {
		leader, _, err = replicaState(qc, via)
		if err == nil && (leader < 0 || !ok(leader)) {
			err = fmt.Errorf("leader %d", leader)
		}
		return err
	})
	return leader
}

// ackProducer produces "value-N" records one at a time with acks=all until
// stopped, keeping offset -> value of every acknowledged record.
type ackProducer struct {
	cl     *kgo.Client
	mu     sync.Mutex
	acked  map[int64]string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func startAckProducer(t *testing.T, qc *quorumCluster) *ackProducer {
	t.Helper()
	var seeds []string
	for _, n := range qc.brokers {
		seeds = append(seeds, n.addr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(replicaTopic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.ProduceRequestTimeout(5*time.Second), kgo.RequestTimeoutOverhead(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &ackProducer{cl: cl, acked: map[int64]string{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ctx.Err() == nil; i++ {
			v := fmt.Sprintf("value-%d", i)
			r, err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).First()
			if err == nil {
				p.mu.Lock()
				p.acked[r.Offset] = v
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *ackProducer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

// stop ends the producer and returns what was acknowledged.
func (p *ackProducer) stop() map[int64]string {
	p.once.Do(func() {
		p.cancel()
		p.cl.Close() // fails an in-flight record, which cancelling alone does not
		<-p.done
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

// waitAcks waits for n more acknowledgements.
func (p *ackProducer) waitAcks(t *testing.T, n int, what string) {
	t.Helper()
	target := p.count() + n
	wait.For(t, replicaWait, fmt.Sprintf("%d acks (%s)", target, what), func() error {
		if got := p.count(); got < target {
			return fmt.Errorf("%d acks", got)
		}
		return nil
	})
}

// highWatermark asks broker via for ListOffsets latest of partition 0 (the
// high watermark); via must lead it.
func highWatermark(qc *quorumCluster, via int32) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(qc.brokers[via].addr))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = replicaTopic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = 0, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return 0, errors.New("malformed ListOffsets response")
	}
	rpp := resp.Topics[0].Partitions[0]
	return rpp.Offset, kerr.ErrorForCode(rpp.ErrorCode)
}

// consumeReplica reads partition 0 from offset 0 up to hw through the
// cluster, returning offset -> value and the offsets seen more than once.
func consumeReplica(t *testing.T, qc *quorumCluster, hw int64) (map[int64]string, []int64) {
	t.Helper()
	var seeds []string
	for _, n := range qc.brokers {
		seeds = append(seeds, n.addr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{replicaTopic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[int64]string{}
	var dups []int64
	wait.For(t, replicaWait, fmt.Sprintf("consume offsets 0..%d", hw-1), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if r.Offset >= hw {
				return // committed after hw was read: not part of the check
			}
			if _, dup := seen[r.Offset]; dup {
				dups = append(dups, r.Offset)
			}
			seen[r.Offset] = string(r.Value)
		})
		if int64(len(seen)) < hw {
			return fmt.Errorf("%d of %d records", len(seen), hw)
		}
		return nil
	})
	return seen, dups
}

// ackCheck is the loss checker: every acknowledged record is at its
// acknowledged offset in log (offset -> value read back, below hw) and
// log holds every offset 0..hw-1 (no gaps). It returns the problems, at
// most a few of each kind spelled out.
func ackCheck(acked, log map[int64]string, hw int64) []string {
	var problems []string
	report := func(kind string, n *int, format string, args ...any) {
		*n++
		if *n <= 3 {
			problems = append(problems, kind+": "+fmt.Sprintf(format, args...))
		}
	}
	var lost, wrong, gaps int
	for _, off := range sortedKeys(acked) {
		got, ok := log[off]
		switch {
		case !ok:
			report("lost", &lost, "acknowledged %q at offset %d is missing", acked[off], off)
		case got != acked[off]:
			report("lost", &wrong, "acknowledged %q at offset %d, read back %q", acked[off], off, got)
		}
	}
	for off := int64(0); off < hw; off++ {
		if _, ok := log[off]; !ok {
			report("gap", &gaps, "offset %d below the high watermark %d is missing", off, hw)
		}
	}
	if n := lost + wrong + gaps; n > len(problems) {
		problems = append(problems, fmt.Sprintf("(%d problems in all: %d missing, %d overwritten, %d gaps)", n, lost, wrong, gaps))
	}
	return problems
}

func sortedKeys(m map[int64]string) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// duplicateValues counts values held at more than one offset (a producer
// retry appended twice).
func duplicateValues(log map[int64]string) int {
	seen := map[string]bool{}
	n := 0
	for _, v := range log {
		if seen[v] {
			n++
		}
		seen[v] = true
	}
	return n
}

// replicaLogOnDisk opens a stopped broker's log dir and returns offset ->
// value of its copy of partition 0, below hw.
func replicaLogOnDisk(t *testing.T, n *node, hw int64) map[int64]string {
	t.Helper()
	cfg := storage.DefaultConfig()
	cfg.Dirs = []string{filepath.Join(n.dir, "kafka-logs")}
	cfg.RetentionMs = -1
	logs, err := storage.Open(cfg, zaptest.NewLogger(t).Named("check"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := logs.Close(); err != nil {
			t.Error(err)
		}
	}()
	l, ok := logs.Get(replicaTopic, 0)
	if !ok {
		t.Fatalf("%s holds no log of %s-0", n.dir, replicaTopic)
	}
	out := readReplicaLog(t, l)
	for off := range out {
		if off >= hw {
			delete(out, off) // uncommitted: may differ between replicas
		}
	}
	return out
}

// readReplicaLog returns offset -> value of every record in a log.
func readReplicaLog(t *testing.T, l *storage.Log) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		data, err := l.Read(off, math.MaxInt32, math.MaxInt64)
		if err != nil || len(data) == 0 {
			t.Fatalf("read at %d: %v", off, err)
		}
		for len(data) > 0 {
			var b kmsg.RecordBatch
			if err := b.ReadFrom(data); err != nil {
				t.Fatalf("decode batch at %d: %v", off, err)
			}
			data = data[int(b.Length)+12:]
			recs := b.Records
			for i := int32(0); i < b.NumRecords; i++ {
				n, ok := recordSize(recs)
				if !ok {
					t.Fatalf("bad record in batch at %d", b.FirstOffset)
				}
				var r kmsg.Record
				if err := r.ReadFrom(recs[:n]); err != nil {
					t.Fatalf("record %d of batch at %d: %v", i, b.FirstOffset, err)
				}
				o := b.FirstOffset + int64(r.OffsetDelta)
				if _, dup := out[o]; dup {
					t.Fatalf("offset %d twice in one log", o)
				}
				out[o] = string(r.Value)
				recs = recs[n:]
			}
			off = b.FirstOffset + int64(b.LastOffsetDelta) + 1
		}
	}
	return out
}

// recordSize is the byte size of the varint-length-prefixed record at b.
func recordSize(b []byte) (int, bool) {
	var ux uint64
	for i, s := 0, uint(0); i < len(b) && i < 10; i, s = i+1, s+7 {
		ux |= uint64(b[i]&0x7f) << s
		if b[i] < 0x80 {
			l := int64(ux>>1) ^ -int64(ux&1)
			if l < 0 || int(l) > len(b)-i-1 {
				return 0, false
			}
			return i + 1 + int(l), true
		}
	}
	return 0, false
}

func otherThan(ids ...int32) func(int32) bool {
	return func(id int32) bool { return !slices.Contains(ids, id) }
}

func signal(t *testing.T, n *node, sig syscall.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// TestE2EReplicaAcksAllSurvivesFailures is issue 4's acceptance test: with
// acks=all and min.insync.replicas=2 on RF 3, kill -9 of the partition
// leader (the controller fences it at session expiry and elects a leader
// from the ISR; restarted, it truncates by leader epoch, KIP-101/279, and
// rejoins the ISR), then SIGSTOP of a follower past
// replica.lag.time.max.ms (the leader shrinks the ISR; resumed, it catches
// up and is added back) lose no acknowledged record: each is read back at
// its acknowledged offset, offsets 0..HW-1 are each present once, and every
// replica's log on disk holds the same committed records.
//
// Issue 16 shares the cluster: a franz-go group consumer (groupWatch) reads
// throughout, and a controlled shutdown (SIGTERM) and restart of the leader
// follows the kill -9. The consumer must see no truncation report and no
// redelivery and receive every committed record; neither restarted broker
// may act on a leadership older than the metadata it started with.
func TestE2EReplicaAcksAllSurvivesFailures(t *testing.T) {
	qc := startReplicaCluster(t, groupOverrides...)
	createReplicaTopic(t, qc, map[string]string{"min.insync.replicas": "2"})
	leader := waitLeader(t, qc, 4, "a leader", otherThan())
	p := startAckProducer(t, qc)
	w := startReplicaGroupWatch(t, qc, "leader-changes")
	p.waitAcks(t, 50, "start")

	// (a) kill -9 the leader; a leader from the ISR takes over.
	qc.brokers[leader].kill()
	killed := time.Now()
	via := slices.DeleteFunc([]int32{4, 5, 6}, func(id int32) bool { return id == leader })[0]
	newLeader := waitLeader(t, qc, via, fmt.Sprintf("a new leader after kill -9 of %d", leader), otherThan(leader))
	t.Logf("kill -9 of leader %d: broker %d leads %v later", leader, newLeader, time.Since(killed).Round(100*time.Millisecond))
	p.waitAcks(t, 50, fmt.Sprintf("leader %d, %d dead", newLeader, leader))
	// What docs/migration.md tells operators to watch between two brokers.
	if out := underReplicatedCmd(t, qc, newLeader); !strings.Contains(out, "\tTopic: "+replicaTopic+"\tPartition: 0\t") {
		t.Errorf("--under-replicated-partitions with broker %d dead does not list %s-0:\n%s", leader, replicaTopic, out)
	}
	restartChecked(t, qc, leader, newLeader)
	waitReplicaISR(t, qc, newLeader, 4, 5, 6)
	wait.For(t, replicaWait, "--under-replicated-partitions to print nothing", func() error {
		if out := underReplicatedCmd(t, qc, newLeader); out != "" {
			return fmt.Errorf("printed %q", out)
		}
		return nil
	})
	t.Logf("broker %d restarted after kill -9 and rejoined the ISR under leader %d", leader, newLeader)
	p.waitAcks(t, 50, "restarted broker in the ISR")

	// (a') Controlled shutdown (SIGTERM) of the leader, then a restart;
	// three times, so that the consumer meets several new leaders whose
	// high watermark still lags the old one's.
	var cur int32
	for round := 1; round <= 3; round++ {
		cur = waitLeader(t, qc, newLeader, "the current leader", otherThan())
		if err := qc.brokers[cur].stop(replicaWait); err != nil {
			t.Fatalf("SIGTERM of leader %d: %v", cur, err)
		}
		via = slices.DeleteFunc([]int32{4, 5, 6}, func(id int32) bool { return id == cur })[0]
		newLeader = waitLeader(t, qc, via, fmt.Sprintf("a new leader after SIGTERM of %d", cur), otherThan(cur))
		p.waitAcks(t, 30, fmt.Sprintf("leader %d, %d shut down", newLeader, cur))
		restartChecked(t, qc, cur, newLeader)
		waitReplicaISR(t, qc, newLeader, 4, 5, 6)
		t.Logf("round %d: broker %d restarted after a controlled shutdown and rejoined the ISR under leader %d", round, cur, newLeader)
		p.waitAcks(t, 30, "restarted broker in the ISR")
	}

	// (b) SIGSTOP a follower past replica.lag.time.max.ms, then SIGCONT.
	cur = waitLeader(t, qc, newLeader, "the current leader", otherThan())
	follower := slices.DeleteFunc([]int32{4, 5, 6}, func(id int32) bool { return id == cur })[0]
	signal(t, qc.brokers[follower], syscall.SIGSTOP)
	paused := time.Now()
	waitReplicaISR(t, qc, cur, slices.DeleteFunc([]int32{4, 5, 6}, func(id int32) bool { return id == follower })...)
	// Out of the ISR by the leader's lag check, or fenced by the controller
	// (gossip or session expiry) if that came first: either keeps acks=all
	// safe. Metadata lists unfenced brokers only.
	how := "the leader's lag check"
	if ids, _, err := metadataOf(context.Background(), qc.brokerClient(cur), replicaTopic); err == nil && !slices.Contains(ids, follower) {
		how = "fencing"
	}
	t.Logf("paused follower %d left the ISR %v after SIGSTOP (by %s)", follower, time.Since(paused).Round(100*time.Millisecond), how)
	p.waitAcks(t, 30, fmt.Sprintf("follower %d paused", follower))
	wait.For(t, replicaWait, "a pause past replica.lag.time.max.ms", func() error {
		if d := time.Since(paused); d <= replicaLag {
			return fmt.Errorf("paused for %v", d)
		}
		return nil
	})
	signal(t, qc.brokers[follower], syscall.SIGCONT)
	waitReplicaISR(t, qc, cur, 4, 5, 6)
	p.waitAcks(t, 30, "paused follower back in the ISR")
	acked := p.stop()

	// Check: read back through the cluster, then each replica's disk.
	leader = waitLeader(t, qc, via, "the final leader", otherThan())
	waitReplicaISR(t, qc, leader, 4, 5, 6)
	var hw int64
	wait.For(t, replicaWait, "the high watermark", func() (err error) {
		hw, err = highWatermark(qc, leader)
		return err
	})
	read, dups := consumeReplica(t, qc, hw)
	if len(dups) > 0 {
		t.Errorf("offsets read twice: %v", dups[:min(len(dups), 10)])
	}
	if problems := ackCheck(acked, read, hw); len(problems) > 0 {
		t.Fatalf("consumer read-back: %s", strings.Join(problems, "\n"))
	}
	wait.For(t, replicaWait, fmt.Sprintf("the group consumer to receive offsets 0..%d", hw-1), func() error {
		if n := w.missing(hw); n > 0 {
			return fmt.Errorf("%d offsets not received", n)
		}
		return nil
	})
	w.stop()
	w.checkClean(t, "across the leader changes")
	for _, id := range []int32{4, 5, 6} {
		qc.brokers[id].kill()
		onDisk := replicaLogOnDisk(t, qc.brokers[id], hw)
		if problems := ackCheck(read, onDisk, hw); len(problems) > 0 {
			t.Fatalf("broker %d's log differs from what was read: %s", id, strings.Join(problems, "\n"))
		}
	}
	t.Logf("%d records acknowledged, high watermark %d, none lost; %d values written twice (producer retries)",
		len(acked), hw, duplicateValues(read))
}

// TestE2EReplicaUncleanLossDetected is the negative control: with
// unclean.leader.election.enable=true, follower F is paused until it
// leaves the ISR, more records are acknowledged by the others, then the
// leader and the other follower are killed (kill -9) and F resumed. The
// controller elects F, out of sync, as leader (logging the loss at error
// level), and the checker must report the acknowledged records F never had.
func TestE2EReplicaUncleanLossDetected(t *testing.T) {
	qc := startReplicaCluster(t, "unclean.leader.election.enable=true")
	createReplicaTopic(t, qc, map[string]string{"min.insync.replicas": "2"})
	leader := waitLeader(t, qc, 4, "a leader", otherThan())
	var f, other int32
	for _, id := range []int32{4, 5, 6} {
		if id != leader {
			if f == 0 {
				f = id
			} else {
				other = id
			}
		}
	}
	p := startAckProducer(t, qc)
	p.waitAcks(t, 30, "start")

	signal(t, qc.brokers[f], syscall.SIGSTOP)
	want := []int32{leader, other}
	slices.Sort(want)
	waitReplicaISR(t, qc, leader, want...)
	p.waitAcks(t, 30, fmt.Sprintf("broker %d out of the ISR", f))
	acked := p.stop()

	qc.brokers[leader].kill()
	qc.brokers[other].kill()
	signal(t, qc.brokers[f], syscall.SIGCONT)
	waitLeader(t, qc, f, fmt.Sprintf("unclean election of broker %d", f), func(id int32) bool { return id == f })
	var hw int64
	wait.For(t, replicaWait, "the high watermark", func() (err error) {
		hw, err = highWatermark(qc, f)
		return err
	})
	// Consume from f alone: the other two are dead.
	only := &quorumCluster{t: t, brokers: map[int32]*node{f: qc.brokers[f]}}
	read := map[int64]string{}
	if hw > 0 {
		read, _ = consumeReplica(t, only, hw)
	}
	problems := ackCheck(acked, read, hw)
	if len(problems) == 0 || !strings.HasPrefix(problems[0], "lost") {
		t.Fatalf("the checker saw no loss after an unclean election (acked %d, high watermark %d): %v", len(acked), hw, problems)
	}
	t.Logf("checker reports, as it must: %s", strings.Join(problems, "; "))

	logged := false
	for _, c := range qc.controllers {
		if strings.Contains(readFile(t, c.logPath), "UNCLEAN LEADER ELECTION") {
			logged = true
		}
	}
	if !logged {
		t.Fatal("no controller logged the unclean leader election")
	}
}
