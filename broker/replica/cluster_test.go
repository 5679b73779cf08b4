package replica_test

// In-process cluster tests: three brokers (broker.Broker + network.Server +
// storage.Manager + replica.Manager each), one fake controller running
// metadata's pure controller logic, a real franz-go producer with
// acks=all. They check Kafka's replication guarantee: with RF 3 and
// min.insync.replicas 2, no acknowledged record is lost across follower
// outages and a leader change, and replicas never diverge (KIP-101).

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/metadata/wait"
)

// controller is a fake active controller: metadata's pure logic on an
// in-memory image, published synchronously to every running broker.
type controller struct {
	mu   sync.Mutex
	img  *metadata.Image
	subs map[int32]func(*metadata.Delta, *metadata.Image)
	off  int64
}

func (c *controller) applyLocked(recs []metadata.Record) error {
	d := metadata.NewDelta(c.img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			return err
		}
	}
	c.off++
	d.SetProvenance(c.off, 1)
	c.img = d.Apply()
	for _, s := range c.subs {
		s(d, c.img)
	}
	return nil
}

func (c *controller) write(fn func(img *metadata.Image) ([]metadata.Record, error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, err := fn(c.img)
	if err != nil {
		return err
	}
	return c.applyLocked(recs)
}

func (c *controller) image() *metadata.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.img
}

func (c *controller) CreateTopics(_ context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	errs := make([]error, len(specs))
	for i, s := range specs {
		errs[i] = c.write(func(img *metadata.Image) ([]metadata.Record, error) {
			recs, err := metadata.CreateTopic(img, s, metadata.DefaultControllerConfig())
			if validateOnly {
				return nil, err
			}
			return recs, err
		})
	}
	return errs
}

func (c *controller) DeleteTopics(_ context.Context, names []string) []error {
	errs := make([]error, len(names))
	for i, n := range names {
		errs[i] = c.write(func(img *metadata.Image) ([]metadata.Record, error) { return metadata.DeleteTopic(img, n) })
	}
	return errs
}

func (c *controller) AllocateProducerIDs(_ context.Context, id int32) (first, count int64, err error) {
	err = c.write(func(img *metadata.Image) ([]metadata.Record, error) {
		var recs []metadata.Record
		first, count, recs = metadata.AllocateProducerIDs(img, id, 0)
		return recs, nil
	})
	return first, count, err
}

func (c *controller) AlterPartition(_ context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	var reg *metadata.PartitionRegistration
	err := c.write(func(img *metadata.Image) ([]metadata.Record, error) {
		r, recs, err := metadata.AlterPartition(img, req)
		reg = r
		return recs, err
	})
	return reg, err
}

// node is one broker of the cluster; nil fields while it is stopped.
type node struct {
	id   int32
	dir  string
	addr string
	logs *storage.Manager
	mgr  *replica.Manager
	b    *broker.Broker
	srv  *network.Server
}

type cluster struct {
	t     *testing.T
	ctrl  *controller
	nodes map[int32]*node
}

func replicaConfig(id int32) replica.Config {
	cfg := replica.DefaultConfig()
	cfg.NodeID = id
	cfg.ReplicaLagTime = 1500 * time.Millisecond
	cfg.ISRCheckInterval = 100 * time.Millisecond
	cfg.FetchMaxWait = 200 * time.Millisecond
	cfg.FetchBackoff = 50 * time.Millisecond
	cfg.SocketTimeout = 5 * time.Second
	cfg.ControllerTimeout = 5 * time.Second
	return cfg
}

func newCluster(t *testing.T, ids ...int32) *cluster {
	c := &cluster{t: t, ctrl: &controller{img: metadata.EmptyImage(), subs: map[int32]func(*metadata.Delta, *metadata.Image){}},
		nodes: map[int32]*node{}}
	for _, id := range ids {
		n := &node{id: id, dir: t.TempDir()}
		c.nodes[id] = n
		c.start(id)
		host, port, _ := net.SplitHostPort(n.addr)
		p, _ := strconv.Atoi(port)
		reg := metadata.BrokerRegistration{ID: id, Epoch: int64(id), IncarnationID: metadata.RandomUuid(),
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: host, Port: uint16(p)}}}
		if err := c.ctrl.write(func(img *metadata.Image) ([]metadata.Record, error) {
			return metadata.RegisterBroker(img, reg, false)
		}); err != nil {
			t.Fatal(err)
		}
		c.unfence(id)
	}
	t.Cleanup(func() {
		for id := range c.nodes {
			c.stop(id)
		}
	})
	return c
}

func (c *cluster) unfence(id int32) {
	c.t.Helper()
	if err := c.ctrl.write(func(img *metadata.Image) ([]metadata.Record, error) {
		return metadata.UnfenceBroker(img, id, int64(id))
	}); err != nil {
		c.t.Fatal(err)
	}
}

// start (re)starts broker id on its directory and address and hands it the
// whole current image, as a restarted broker catching up would get.
func (c *cluster) start(id int32) {
	t := c.t
	t.Helper()
	n := c.nodes[id]
	logger := zaptest.NewLogger(t).With(zap.Int32("node", id))
	scfg := storage.DefaultConfig()
	scfg.Dirs = []string{n.dir}
	scfg.RetentionMs = -1
	logs, err := storage.Open(scfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := replica.New(replicaConfig(id), logs, c.ctrl, logger)
	if err != nil {
		t.Fatal(err)
	}
	mgr.Start()
	bcfg := broker.DefaultConfig()
	bcfg.NodeID = id
	bcfg.AutoCreateTopics = false
	bcfg.MaxFetchWait = time.Second
	b, err := broker.New(bcfg, logs, c.ctrl, logger, broker.WithReplication(mgr))
	if err != nil {
		t.Fatal(err)
	}
	srv := network.NewServer(network.DefaultConfig(), b, logger)
	listen := n.addr
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	addr, err := srv.Listen("PLAINTEXT", listen)
	if err != nil {
		t.Fatal(err)
	}
	n.addr, n.logs, n.mgr, n.b, n.srv = addr.String(), logs, mgr, b, srv

	c.ctrl.mu.Lock()
	d := metadata.NewDelta(metadata.EmptyImage())
	for _, r := range metadata.WriteImage(c.ctrl.img) {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	b.Publish(d, d.Apply())
	c.ctrl.subs[id] = b.Publish
	c.ctrl.mu.Unlock()
	srv.Start()
}

// stop shuts broker id down (its fetchers, server and logs) without
// telling the controller, like a crashed or paused process.
func (c *cluster) stop(id int32) {
	n := c.nodes[id]
	if n.srv == nil {
		return
	}
	c.ctrl.mu.Lock()
	delete(c.ctrl.subs, id)
	c.ctrl.mu.Unlock()
	if err := n.srv.Close(); err != nil {
		c.t.Error(err)
	}
	if err := n.mgr.Close(); err != nil {
		c.t.Error(err)
	}
	if err := n.b.Close(); err != nil {
		c.t.Error(err)
	}
	if err := n.logs.Close(); err != nil {
		c.t.Error(err)
	}
	n.logs, n.mgr, n.b, n.srv = nil, nil, nil, nil
}

func (c *cluster) partition(topic string) *metadata.PartitionRegistration {
	top, ok := c.ctrl.image().Topic(topic)
	if !ok {
		c.t.Fatalf("no topic %s", topic)
	}
	return top.Partitions[0]
}

func (c *cluster) createTopic(name string, replicas []int32, configs map[string]string) {
	c.t.Helper()
	errs := c.ctrl.CreateTopics(context.Background(), []metadata.CreateTopicSpec{{Name: name, NumPartitions: -1,
		ReplicationFactor: -1, Assignments: map[int32][]int32{0: replicas}, Configs: configs}}, false)
	if errs[0] != nil {
		c.t.Fatal(errs[0])
	}
}

// producer produces value-N records with acks=all until stopped and keeps
// what was acknowledged: offset -> value.
type producer struct {
	cl     *kgo.Client
	mu     sync.Mutex
	acked  map[int64]string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (c *cluster) produce(topic string) *producer {
	var seeds []string
	for _, n := range c.nodes {
		seeds = append(seeds, n.addr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.MetadataMinAge(50*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.ProduceRequestTimeout(5*time.Second))
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &producer{cl: cl, acked: map[int64]string{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ctx.Err() == nil; i++ {
			v := fmt.Sprintf("value-%d", i)
			var wg sync.WaitGroup
			wg.Add(1)
			cl.Produce(ctx, &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
				defer wg.Done()
				if err == nil {
					p.mu.Lock()
					p.acked[r.Offset] = v
					p.mu.Unlock()
				}
			})
			wg.Wait()
		}
	}()
	c.t.Cleanup(p.stop)
	return p
}

func (p *producer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

func (p *producer) stop() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.cl.Close()
	})
}

// waitAcks waits until n more records are acknowledged.
func (c *cluster) waitAcks(p *producer, n int, what string) {
	c.t.Helper()
	target := p.count() + n
	wait.Until(c.t, 45*time.Second, fmt.Sprintf("%d acks (%s)", target, what), func() bool { return p.count() >= target })
}

func (c *cluster) waitISR(topic string, want ...int32) {
	c.t.Helper()
	wait.Until(c.t, 45*time.Second, fmt.Sprintf("ISR of %s = %v", topic, want), func() bool {
		isr := slices.Clone(c.partition(topic).ISR)
		slices.Sort(isr)
		return slices.Equal(isr, want)
	})
}

// readLog returns offset -> value of every record in a replica's log.
func readLog(t *testing.T, l *storage.Log) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		data, err := l.Read(off, math.MaxInt32, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 {
			break
		}
		for len(data) > 0 {
			var b kmsg.RecordBatch
			if err := b.ReadFrom(data); err != nil {
				t.Fatalf("decode batch at %d: %v", off, err)
			}
			data = data[int(b.Length)+12:]
			recs, err := decodeRecords(b)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range recs {
				o := b.FirstOffset + int64(r.OffsetDelta)
				if _, dup := out[o]; dup || i > int(b.LastOffsetDelta) {
					t.Fatalf("offset %d twice in the log", o)
				}
				out[o] = string(r.Value)
			}
			off = b.FirstOffset + int64(b.LastOffsetDelta) + 1
		}
	}
	return out
}

func decodeRecords(b kmsg.RecordBatch) ([]kmsg.Record, error) {
	var out []kmsg.Record
	data := b.Records
	for i := int32(0); i < b.NumRecords; i++ {
		var r kmsg.Record
		n, err := readVarint(data)
		if err != nil {
			return nil, err
		}
		if err := r.ReadFrom(data[:n]); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		out = append(out, r)
		data = data[n:]
	}
	return out, nil
}

// readVarint returns the size of the length-prefixed record at data.
func readVarint(data []byte) (int, error) {
	var ux uint64
	for i, s := 0, uint(0); i < len(data) && i < 10; i, s = i+1, s+7 {
		ux |= uint64(data[i]&0x7f) << s
		if data[i] < 0x80 {
			l := int64(ux>>1) ^ -int64(ux&1)
			if l < 0 || int(l) > len(data)-i-1 {
				return 0, errors.New("bad record length")
			}
			return i + 1 + int(l), nil
		}
	}
	return 0, errors.New("bad varint")
}

// check is the checker: every acknowledged record must be at its
// acknowledged offset in every given replica's log, and the logs must be
// identical (no divergence). It returns the problems found.
func check(acked map[int64]string, logs map[int32]map[int64]string) []string {
	var problems []string
	for id, l := range logs {
		for off, v := range acked {
			if got, ok := l[off]; !ok || got != v {
				problems = append(problems, fmt.Sprintf("broker %d: acked %q at %d, log has %q", id, v, off, got))
			}
		}
	}
	var ref map[int64]string
	var refID int32
	for id, l := range logs {
		if ref == nil {
			ref, refID = l, id
			continue
		}
		if len(l) != len(ref) {
			problems = append(problems, fmt.Sprintf("brokers %d and %d hold %d and %d records", refID, id, len(ref), len(l)))
		}
		for off, v := range ref {
			if l[off] != v {
				problems = append(problems, fmt.Sprintf("brokers %d and %d diverge at %d", refID, id, off))
				break
			}
		}
	}
	return problems
}

// settle waits until every running replica of topic has the leader's log
// end offset and high watermark, then reads their logs.
func (c *cluster) settle(topic string) map[int32]map[int64]string {
	c.t.Helper()
	leader := c.partition(topic).Leader
	wait.Until(c.t, 45*time.Second, "replicas to converge", func() bool {
		ln := c.nodes[leader]
		if ln.logs == nil {
			return false
		}
		ll, ok := ln.logs.Get(topic, 0)
		if !ok {
			return false
		}
		leo := ll.LogEndOffset()
		for _, n := range c.nodes {
			l, ok := n.logs.Get(topic, 0)
			if !ok || l.LogEndOffset() != leo {
				return false
			}
		}
		st, _ := ln.mgr.Partition(topic, 0)
		return st.HighWatermark == leo
	})
	out := map[int32]map[int64]string{}
	for id, n := range c.nodes {
		l, _ := n.logs.Get(topic, 0)
		out[id] = readLog(c.t, l)
	}
	return out
}

// TestClusterNoLossRF3 is the scenario in process: RF 3,
// min.insync.replicas 2, acks=all producing throughout; a follower stops
// past the lag time (ISR shrinks) and comes back (rejoins); the leader
// dies (fenced, a new leader is elected from the ISR) and comes back as a
// follower that truncates by leader epoch. Then every acknowledged record
// is on every replica at its acknowledged offset and no logs diverge.
func TestClusterNoLossRF3(t *testing.T) {
	c := newCluster(t, 1, 2, 3)
	c.createTopic("r3", []int32{1, 2, 3}, map[string]string{"min.insync.replicas": "2"})
	p := c.produce("r3")
	c.waitAcks(p, 30, "start")

	c.stop(3)
	c.waitISR("r3", 1, 2)
	c.waitAcks(p, 30, "ISR {1,2}")
	c.start(3)
	c.waitISR("r3", 1, 2, 3)
	c.waitAcks(p, 30, "follower rejoined")

	c.stop(1)
	if err := c.ctrl.write(func(img *metadata.Image) ([]metadata.Record, error) {
		return metadata.FenceBroker(img, 1), nil
	}); err != nil {
		t.Fatal(err)
	}
	if l := c.partition("r3").Leader; l != 2 {
		t.Fatalf("leader after fencing 1 = %d, want 2", l)
	}
	c.waitAcks(p, 30, "new leader")
	c.start(1)
	c.unfence(1)
	c.waitISR("r3", 1, 2, 3)
	c.waitAcks(p, 30, "old leader rejoined")
	p.stop()

	logs := c.settle("r3")
	p.mu.Lock()
	acked := p.acked
	p.mu.Unlock()
	if problems := check(acked, logs); len(problems) > 0 {
		t.Fatalf("%d problems, first: %v", len(problems), problems[:min(5, len(problems))])
	}
	// Consumers see exactly the committed log, offsets unique.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[2].addr), kgo.ConsumeTopics("r3"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[int64]string{}
	wait.Until(t, 45*time.Second, "consume all", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if _, dup := seen[r.Offset]; dup {
				t.Errorf("offset %d consumed twice", r.Offset)
			}
			seen[r.Offset] = string(r.Value)
		})
		return len(seen) == len(logs[2])
	})
	for off, v := range acked {
		if seen[off] != v {
			t.Fatalf("consumer: offset %d = %q, acked %q", off, seen[off], v)
		}
	}
}

// TestClusterUncleanElectionLoses is the negative control: it forces an
// out-of-sync replica to lead (what unclean.leader.election.enable allows)
// and checks that the checker does see the acknowledged records that
// election loses.
func TestClusterUncleanElectionLoses(t *testing.T) {
	c := newCluster(t, 1, 2)
	c.createTopic("u", []int32{1, 2}, map[string]string{"min.insync.replicas": "1", "unclean.leader.election.enable": "true"})
	p := c.produce("u")
	c.waitAcks(p, 10, "start")
	c.stop(2)
	c.waitISR("u", 1)
	c.waitAcks(p, 20, "ISR {1}")
	p.stop()
	c.stop(1)
	// Unclean election: 2 leads although it is not in the ISR.
	top, _ := c.ctrl.image().Topic("u")
	rec := metadata.NewPartitionChangeRecord(top.ID, 0)
	rec.Leader, rec.ISR, rec.LeaderRecoveryState = 2, []int32{2}, metadata.LeaderRecovering
	if err := c.ctrl.write(func(img *metadata.Image) ([]metadata.Record, error) {
		return append(metadata.FenceBroker(img, 1), rec), nil
	}); err != nil {
		t.Fatal(err)
	}
	c.start(2)
	c.start(1)
	c.unfence(1)
	logs := c.settle("u")
	p.mu.Lock()
	acked := p.acked
	p.mu.Unlock()
	problems := check(acked, logs)
	if len(problems) == 0 {
		t.Fatal("checker found no loss after an unclean election that drops acknowledged records")
	}
	t.Logf("checker found %d problems as expected, e.g. %s", len(problems), problems[0])
}
