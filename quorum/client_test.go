package quorum

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

// startClient starts a following broker client of the given voters.
func startClient(t *testing.T, id int32, voters map[int32]string, pubs ...Publisher) *Client {
	t.Helper()
	cfg := DefaultClientConfig()
	cfg.NodeID = id
	cfg.Voters = voters
	cfg.Endpoints = []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(19000 + id)}}
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.FetchMaxWait = 100 * time.Millisecond
	cfg.RequestTimeout = 2 * time.Second
	c, err := NewClient(cfg, zaptest.NewLogger(t), pubs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func tcpVoter(t *testing.T, dir string) Config {
	cfg := fastConfig(dir)
	cfg.BrokerSessionTimeout = 2 * time.Second
	return cfg
}

// TestClientLifecycle: KIP-631 registration, unfence once caught up,
// forwarded admin writes visible in the broker's own image, controlled
// shutdown ending fenced.
func TestClientLifecycle(t *testing.T) {
	n := startNode(t, tcpVoter(t, t.TempDir()))
	waitController(t, n)
	rec := &recorder{}
	c := startClient(t, 7, map[int32]string{1: n.Addr().String()}, rec)
	ctx := testCtx(t)
	if err := c.WaitUnfenced(ctx); err != nil {
		t.Fatal(err)
	}
	if b, ok := n.Image().Broker(7); !ok || b.Fenced || b.Epoch != c.BrokerEpoch() {
		t.Fatalf("controller image broker 7 = %+v, %v; client epoch %d", b, ok, c.BrokerEpoch())
	}
	errs := c.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 3, ReplicationFactor: 1}}, false)
	if errs[0] != nil {
		t.Fatalf("create: %v", errs[0])
	}
	ti, ok := c.Image().Topic("t")
	if !ok || ti.NumPartitions() != 3 || ti.Partitions[0].Leader != 7 {
		t.Fatalf("broker image topic t = %+v, %v", ti, ok)
	}
	if img := rec.last(); img == nil || img.ClusterID() != n.ClusterID() {
		t.Fatalf("published image cluster id: %v, want %s", img, n.ClusterID())
	}
	errs = c.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if !errors.Is(errs[0], kerr.TopicAlreadyExists) {
		t.Fatalf("second create: %v, want TOPIC_ALREADY_EXISTS", errs[0])
	}
	first, count, err := c.AllocateProducerIDs(ctx, 7)
	if err != nil || count != metadata.ProducerIDBlockSize || first < 0 {
		t.Fatalf("producer ids: %d %d %v", first, count, err)
	}
	if errs := c.DeleteTopics(ctx, []string{"t", "nope"}); errs[0] != nil || !errors.Is(errs[1], kerr.UnknownTopicOrPartition) {
		t.Fatalf("delete: %v", errs)
	}
	if _, ok := c.Image().Topic("t"); ok {
		t.Fatal("topic t still in the broker image after delete")
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := n.Image().Broker(7); !b.Fenced {
		t.Fatalf("broker 7 after controlled shutdown: %+v", b)
	}
}

// TestClientLoadsSnapshot: a broker whose fetch offset is before the log
// start loads the controller's image with FetchSnapshot (KIP-630).
func TestClientLoadsSnapshot(t *testing.T) {
	cfg := tcpVoter(t, t.TempDir())
	cfg.TrailingLogs = 1
	n := startNode(t, cfg)
	waitController(t, n)
	registerBrokers(t, n, 1)
	for i := 0; i < 5; i++ {
		createTopic(t, n, fmt.Sprintf("s%d", i), 2)
	}
	if err := n.Snapshot(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if first, _ := n.store.FirstIndex(); first <= 1 {
		t.Fatalf("log start %d after snapshot: the test needs a compacted log", first)
	}
	c := startClient(t, 2, map[int32]string{1: n.Addr().String()})
	if err := c.WaitCaughtUp(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if c.follower.fsm.restores.Load() == 0 {
		t.Fatal("follower did not load a snapshot")
	}
	createTopic(t, n, "after", 1)
	wait.Until(t, 20*time.Second, "broker image to hold every topic", func() bool {
		return c.Image().TopicCount() == 6 && c.Image().Equal(n.Image())
	})
}

// startWithRF2Topic starts a leading voter with brokers 1 and 2 registered
// and a topic of partitions partitions on both.
func startWithRF2Topic(t *testing.T, cfg Config, topic string, partitions int32) *Node {
	t.Helper()
	n := startNode(t, cfg)
	waitController(t, n)
	registerBrokers(t, n, 1, 2)
	errs := n.CreateTopics(testCtx(t), []metadata.CreateTopicSpec{{Name: topic, NumPartitions: partitions, ReplicationFactor: 2}}, false)
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	return n
}

// TestSessionExpiryFences: an unfenced broker that stops heartbeating is
// fenced and its partitions get leaders from the ISR.
func TestSessionExpiryFences(t *testing.T) {
	cfg := tcpVoter(t, t.TempDir())
	cfg.BrokerSessionTimeout = 300 * time.Millisecond
	n := startWithRF2Topic(t, cfg, "r", 4)
	ctx := testCtx(t)
	b2, _ := n.Image().Broker(2)
	wait.Until(t, 20*time.Second, "broker 1 fenced, broker 2 leading everything", func() bool {
		if _, err := n.BrokerHeartbeat(ctx, Heartbeat{BrokerID: 2, BrokerEpoch: b2.Epoch, MetadataOffset: n.Image().Offset()}); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
		b1, _ := n.Image().Broker(1)
		ti, _ := n.Image().Topic("r")
		for _, p := range ti.Partitions {
			if p.Leader != 2 || p.InISR(1) {
				return false
			}
		}
		return b1.Fenced
	})
	if b, _ := n.Image().Broker(2); b.Fenced {
		t.Fatal("heartbeating broker 2 was fenced")
	}
	// A heartbeat with the old epoch unfences broker 1 again once caught up.
	b1, _ := n.Image().Broker(1)
	res, err := n.BrokerHeartbeat(ctx, Heartbeat{BrokerID: 1, BrokerEpoch: b1.Epoch, MetadataOffset: n.Image().Offset()})
	if err != nil || res.IsFenced || !res.IsCaughtUp {
		t.Fatalf("heartbeat of broker 1: %+v %v", res, err)
	}
	if _, err := n.BrokerHeartbeat(ctx, Heartbeat{BrokerID: 1, BrokerEpoch: b1.Epoch + 100}); !errors.Is(err, metadata.ErrStaleBrokerEpoch) {
		t.Fatalf("stale epoch heartbeat: %v", err)
	}
}

// TestGossipDeadFencesEarly: BrokerDead fences without the session timeout.
func TestGossipDeadFencesEarly(t *testing.T) {
	cfg := tcpVoter(t, t.TempDir())
	cfg.BrokerSessionTimeout = time.Hour
	n := startNode(t, cfg)
	waitController(t, n)
	registerBrokers(t, n, 1)
	n.BrokerDead(1)
	wait.Until(t, 20*time.Second, "broker 1 fenced", func() bool {
		b, _ := n.Image().Broker(1)
		return b.Fenced
	})
}

// TestControllerListener: the voter port answers Kafka requests next to
// raft; DescribeQuorum names the leader and the voters.
func TestControllerListener(t *testing.T) {
	n := startNode(t, tcpVoter(t, t.TempDir()))
	waitController(t, n)
	p := describeQuorum(t, n.Addr().String())
	cc := &ctrlConn{addr: n.Addr().String(), clientID: "test"}
	defer cc.close()
	if p.ErrorCode != 0 || p.LeaderID != 1 || len(p.CurrentVoters) != 1 {
		t.Fatalf("describe quorum: %+v", p)
	}
	av, err := cc.request(testCtx(t), kmsg.NewPtrApiVersionsRequest())
	if err != nil || len(av.(*kmsg.ApiVersionsResponse).ApiKeys) != len(controllerVersions) {
		t.Fatalf("api versions: %v %v", av, err)
	}
}

// threeVoters starts 3 TCP voters on free loopback ports.
func threeVoters(t *testing.T) []*Node {
	voters := map[int32]string{}
	var held []net.Listener // held until all are picked: no port twice
	for id := int32(1); id <= 3; id++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		voters[id] = l.Addr().String()
	}
	for _, l := range held {
		l.Close()
	}
	var nodes []*Node
	for id := int32(1); id <= 3; id++ {
		cfg := tcpVoter(t, t.TempDir())
		cfg.NodeID, cfg.Voters, cfg.BindAddr = id, voters, voters[id]
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 300*time.Millisecond, 300*time.Millisecond, 150*time.Millisecond
		nodes = append(nodes, startNode(t, cfg))
	}
	return nodes
}

// activeController waits for one of nodes to be the active controller.
func activeController(t *testing.T, nodes []*Node) *Node {
	t.Helper()
	var leader *Node
	wait.Until(t, 20*time.Second, "a leader", func() bool {
		for _, n := range nodes {
			if n.IsController() {
				leader = n
				return true
			}
		}
		return false
	})
	return leader
}

// threeVotersAndBroker starts 3 TCP voters and an unfenced broker id
// following them.
func threeVotersAndBroker(t *testing.T, id int32) ([]*Node, *Client) {
	t.Helper()
	nodes := threeVoters(t)
	c := startClient(t, id, nodes[0].cfg.Voters)
	if err := c.WaitUnfenced(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return nodes, c
}

// TestClientFailover: after the active controller dies, the client finds
// the new one and writes succeed again; the broker stays registered.
func TestClientFailover(t *testing.T) {
	nodes, c := threeVotersAndBroker(t, 9)
	ctx := testCtx(t)
	if errs := c.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "a", NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	leader := activeController(t, nodes)
	if err := leader.Close(); err != nil {
		t.Fatal(err)
	}
	if errs := c.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "b", NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
		t.Fatalf("create after failover: %v", errs[0])
	}
	if b, ok := c.Image().Broker(9); !ok || b.Fenced {
		t.Fatalf("broker 9 after failover: %+v", b)
	}
}

func FuzzDecodeEntryBatches(f *testing.F) {
	f.Add(appendEntryBatch(appendEntryBatch(nil, 3, 1, []byte{0, 0}), 5, 2, metadata.AppendBatch(nil, []metadata.Record{&metadata.NoOpRecord{}})))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := decodeEntryBatches(b)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range es {
			again = appendEntryBatch(again, e.Index, e.Term, e.Data)
		}
		es2, err := decodeEntryBatches(again)
		if err != nil || len(es2) != len(es) {
			t.Fatalf("re-encoded batches: %d entries, %v; want %d", len(es2), err, len(es))
		}
	})
}

func TestClientConfigValidate(t *testing.T) {
	ok := DefaultClientConfig()
	ok.Endpoints = []metadata.Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 1}}
	for _, tc := range []struct {
		name  string
		tweak func(*ClientConfig)
		key   string
	}{
		{"ok", func(*ClientConfig) {}, ""},
		{"negative id", func(c *ClientConfig) { c.NodeID = -1 }, "node.id"},
		{"no voters", func(c *ClientConfig) { c.Voters = nil }, "controller.quorum.voters"},
		{"no endpoints", func(c *ClientConfig) { c.Endpoints = nil }, "advertised.listeners"},
		{"zero heartbeat", func(c *ClientConfig) { c.HeartbeatInterval = 0 }, "broker.heartbeat.interval.ms"},
		{"not following without image", func(c *ClientConfig) { c.Follow = false }, "process.roles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.tweak(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig naming %s", err, tc.key)
			}
		})
	}
}

// TestMuxSortsConnections: a raft-marked connection reaches the raft side,
// anything else the Kafka side with its first byte intact.
func TestMuxSortsConnections(t *testing.T) {
	m, err := newMux("127.0.0.1:0", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	rs := &raftStream{muxListener: m.raft}
	rc, err := rs.Dial(raftAddr(m), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := m.raft.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	kc, err := net.Dial("tcp", m.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	if _, err := kc.Write([]byte{0, 0, 0, 7}); err != nil {
		t.Fatal(err)
	}
	kg, err := m.kafka.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer kg.Close()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(kg, buf); err != nil || buf[3] != 7 || buf[0] != 0 {
		t.Fatalf("kafka side read %v, %v", buf, err)
	}
}

func raftAddr(m *mux) raft.ServerAddress { return raft.ServerAddress(m.ln.Addr().String()) }

// TestFollowerPublishesOnceCaughtUp: a (re)starting broker applies the
// metadata log up to the controller's high watermark at start (a snapshot
// and the entries after it) without publishing, then publishes the
// caught-up image once with a delta from the empty image (Kafka's
// MetadataLoader), and every entry after that. It never publishes a
// leadership older than the one the log held when it started.
func TestFollowerPublishesOnceCaughtUp(t *testing.T) {
	for _, snapshot := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", snapshot), func(t *testing.T) {
			cfg := tcpVoter(t, t.TempDir())
			cfg.TrailingLogs = 1
			n := startWithRF2Topic(t, cfg, "moves", 2)
			ctx := testCtx(t)
			move := func() { // every partition to its other replica: leader epoch + 1
				ti, _ := n.Image().Topic("moves")
				var recs []metadata.Record
				for id, p := range ti.Partitions {
					r := metadata.NewPartitionChangeRecord(ti.ID, id)
					r.Leader = p.Replicas[0] + p.Replicas[1] - p.Leader
					recs = append(recs, r)
				}
				if _, err := n.AppendRecords(ctx, "move leaders", nil, recs); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 3; i++ {
				move()
			}
			if snapshot {
				if err := n.Snapshot(ctx); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 3; i++ {
					move()
				}
			}
			startEpochs := map[int32]int32{}
			ti, _ := n.Image().Topic("moves")
			for id, p := range ti.Partitions {
				startEpochs[id] = p.LeaderEpoch
			}

			rec := &recorder{}
			c := startClient(t, 7, map[int32]string{1: n.Addr().String()}, rec)
			if err := c.WaitCaughtUp(ctx); err != nil {
				t.Fatal(err)
			}
			if snapshot && c.follower.fsm.restores.Load() == 0 {
				t.Fatal("follower did not load a snapshot")
			}
			d, _ := rec.first()
			if d == nil || d.Base().TopicCount() != 0 || d.Base().Offset() != metadata.EmptyImage().Offset() {
				t.Fatalf("first publish: %v, want a delta from the empty image", d)
			}
			rec.mu.Lock()
			imgs := append([]*metadata.Image(nil), rec.imgs...)
			rec.mu.Unlock()
			for i, img := range imgs {
				ti, ok := img.Topic("moves")
				if !ok {
					t.Fatalf("publish %d (offset %d) has no topic moves: an image from before the high watermark", i, img.Offset())
				}
				for id, p := range ti.Partitions {
					if p.LeaderEpoch < startEpochs[id] {
						t.Fatalf("publish %d (offset %d): moves-%d at leader epoch %d, the log held %d at start",
							i, img.Offset(), id, p.LeaderEpoch, startEpochs[id])
					}
				}
			}

			// After catching up, each entry is published with its own delta.
			if err := c.WaitUnfenced(ctx); err != nil {
				t.Fatal(err)
			}
			move()
			want := n.Image().Offset()
			at := func() int { // index of the publish of the entry at want, -1 if none yet
				rec.mu.Lock()
				defer rec.mu.Unlock()
				for i, img := range rec.imgs {
					if img.Offset() == want {
						return i
					}
				}
				return -1
			}
			wait.Until(t, 20*time.Second, "the next entry published", func() bool { return at() >= 0 })
			i := at()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if i == 0 || rec.deltas[i].Base() != rec.imgs[i-1] {
				t.Fatalf("entry %d after catch-up: publish %d, its delta is not from the previous publish", want, i)
			}
		})
	}
}

// describeQuorum asks addr for DescribeQuorum v1 of __cluster_metadata-0.
func describeQuorum(t *testing.T, addr string) kmsg.DescribeQuorumResponseTopicPartition {
	t.Helper()
	cc := &ctrlConn{addr: addr, clientID: "test"}
	defer cc.close()
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Version = 1
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = MetadataTopic
	rt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, rt)
	resp, err := cc.request(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.(*kmsg.DescribeQuorumResponse)
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		t.Fatalf("describe quorum: %+v", r)
	}
	return r.Topics[0].Partitions[0]
}

// TestDescribeQuorum answers as Kafka's KRaft does (KIP-595/836): every
// voter's log end offset and fetch times, brokers following the log as
// observers, and a follower names the real leader.
func TestDescribeQuorum(t *testing.T) {
	nodes, _ := threeVotersAndBroker(t, 9)
	leader := activeController(t, nodes)
	createTopic(t, leader, "dq", 1)
	var p kmsg.DescribeQuorumResponseTopicPartition
	wait.Until(t, 20*time.Second, "every voter and the broker caught up in DescribeQuorum", func() bool {
		p = describeQuorum(t, leader.Addr().String())
		if p.ErrorCode != 0 || len(p.CurrentVoters) != 3 || len(p.Observers) != 1 {
			return false
		}
		for _, v := range append(append([]kmsg.DescribeQuorumResponseTopicPartitionReplicaState{}, p.CurrentVoters...), p.Observers...) {
			if v.LogEndOffset < p.HighWatermark || v.LastFetchTimestamp <= 0 || v.LastCaughtUpTimestamp <= 0 {
				return false
			}
		}
		return true
	})
	if p.LeaderID != leader.cfg.NodeID || p.LeaderEpoch < 1 || p.HighWatermark < 2 {
		t.Errorf("leader %d epoch %d hw %d", p.LeaderID, p.LeaderEpoch, p.HighWatermark)
	}
	if p.Observers[0].ReplicaID != 9 {
		t.Errorf("observer %d, want broker 9", p.Observers[0].ReplicaID)
	}
	// The high watermark is exclusive: one past the last committed entry.
	if want := int64(leader.Image().Offset()) + 1; p.HighWatermark < want {
		t.Errorf("high watermark %d below image offset + 1 = %d", p.HighWatermark, want)
	}
	for _, n := range nodes {
		if n == leader {
			continue
		}
		fp := describeQuorum(t, n.Addr().String())
		if fp.ErrorCode != kerr.NotLeaderForPartition.Code || fp.LeaderID != leader.cfg.NodeID || fp.LeaderEpoch != p.LeaderEpoch {
			t.Errorf("follower %d: error %d leader %d epoch %d; want NOT_LEADER_OR_FOLLOWER naming leader %d epoch %d",
				n.cfg.NodeID, fp.ErrorCode, fp.LeaderID, fp.LeaderEpoch, leader.cfg.NodeID, p.LeaderEpoch)
		}
	}
}

// TestGossipDeadIgnoredForMigratingZkBroker: a migrating ZooKeeper-mode
// broker runs no gossip, so gossip declaring its id dead (an earlier
// quorum-mode incarnation: a rollback's first roll, re-marked by every
// controller that becomes active) does not fence it while it heartbeats;
// a quorum-mode broker gossip declares dead is fenced as before.
func TestGossipDeadIgnoredForMigratingZkBroker(t *testing.T) {
	cfg := tcpVoter(t, t.TempDir())
	cfg.BrokerSessionTimeout = time.Hour
	n := startNode(t, cfg)
	waitController(t, n)
	ctx := testCtx(t)
	epoch, err := n.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 1, IncarnationID: metadata.RandomUuid(), IsMigratingZkBroker: true,
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9001}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.UnfenceBroker(ctx, 1, epoch); err != nil {
		t.Fatal(err)
	}
	registerBrokers(t, n, 2)
	n.BrokerDead(1)
	n.BrokerDead(2)
	n.checkSessions(ctx)
	if b, _ := n.Image().Broker(2); !b.Fenced {
		t.Fatal("quorum-mode broker 2 that gossip declared dead was not fenced")
	}
	if b, _ := n.Image().Broker(1); b.Fenced {
		t.Fatal("migrating ZooKeeper-mode broker 1 was fenced because gossip declared its id dead")
	}
}
