package zk

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/zkraft/zkraft/metadata"
)

// memZK applies ops like ZooKeeper does (parents must exist, versions are
// checked and bumped), so the translation can be tested without a server.
type memZK struct {
	nodes map[string]*memNode
	seq   int
}

type memNode struct {
	data    []byte
	version int32
}

func newMemZK() *memZK {
	m := &memZK{nodes: map[string]*memNode{"/": {}}}
	for _, p := range PersistentPaths {
		m.nodes[p] = &memNode{}
	}
	m.nodes["/cluster"] = &memNode{}
	return m
}

func parent(p string) string {
	i := strings.LastIndex(p, "/")
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func (m *memZK) apply(ops []Op) error {
	for _, op := range ops {
		n, exists := m.nodes[op.Path]
		switch op.Kind {
		case OpCreate:
			path := op.Path
			if op.Sequential {
				path = fmt.Sprintf("%s%010d", op.Path, m.seq)
				m.seq++
			} else if exists {
				if !op.Tolerant {
					return fmt.Errorf("%s: node exists", op)
				}
				if op.Data != nil {
					n.data, n.version = op.Data, n.version+1
				}
				continue
			}
			if _, ok := m.nodes[parent(path)]; !ok {
				return fmt.Errorf("%s: no parent", op)
			}
			m.nodes[path] = &memNode{data: op.Data}
		case OpSet:
			if !exists {
				return fmt.Errorf("%s: no node", op)
			}
			if op.Version != -1 && op.Version != n.version {
				return fmt.Errorf("%s: bad version (is %d)", op, n.version)
			}
			n.data, n.version = op.Data, n.version+1
		case OpDelete:
			if !exists {
				if op.Tolerant {
					continue
				}
				return fmt.Errorf("%s: no node", op)
			}
			for p := range m.nodes {
				if parent(p) == op.Path && p != op.Path {
					return fmt.Errorf("%s: has child %s", op, p)
				}
			}
			delete(m.nodes, op.Path)
		}
	}
	return nil
}

// tree reads the memory tree as LoadTree reads ZooKeeper.
func (m *memZK) tree(t *testing.T) *Tree {
	t.Helper()
	tr := NewTree()
	for p, n := range m.nodes {
		if name, ok := ParseTopicPath(p); ok {
			zn, err := DecodeTopic(n.data)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if tr.Topics[name] == nil {
				tr.Topics[name] = &TopicNode{States: map[int32]StateNode{}}
			}
			tr.Topics[name].ZNode = zn
		}
	}
	for p, n := range m.nodes {
		if name, part, ok := ParseStatePath(p); ok {
			st, err := DecodePartitionState(n.data)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			tr.Topics[name].States[part] = StateNode{State: st, ZkVersion: n.version}
		}
		if typ, name, ok := ParseEntityConfigPath(p); ok && (typ == ConfigTopics || typ == ConfigBrokers) {
			cfg, err := DecodeEntityConfig(n.data)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			tr.Configs[ConfigEntity{typ, name}] = cfg
		}
		if p == ProducerIDBlockPath && len(n.data) > 0 {
			blk, err := DecodeProducerIDBlock(n.data)
			if err != nil {
				t.Fatal(err)
			}
			tr.ProducerIDs = &blk
		}
	}
	return tr
}

func replay(t *testing.T, img *metadata.Image, recs []metadata.Record) *metadata.Image {
	t.Helper()
	d := metadata.NewDelta(img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			t.Fatalf("replay %s: %v", r.Type(), err)
		}
	}
	return d.Apply()
}

// registerBrokers adds live brokers 1..n to img (as a ZooKeeper tree would:
// unfenced, epoch = czxid).
func registerBrokers(t *testing.T, tree *Tree, n int32) {
	for id := int32(1); id <= n; id++ {
		tree.Brokers[id] = BrokerNode{Czxid: int64(100 + id), ZNode: NewBrokerZNode(metadata.BrokerRegistration{ID: id,
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "h", Port: uint16(9000 + id)}}}, 1)}
	}
}

// TestRecordsToOpsRoundTrip: records -> ZooKeeper ops -> tree -> records
// gives back the same image, through topic creation with configs, a broker
// failure (PartitionChangeRecords with zkVersion CAS), a producer id block
// and a topic deletion.
func TestRecordsToOpsRoundTrip(t *testing.T) {
	mem := newMemZK()
	brokers := NewTree()
	registerBrokers(t, brokers, 3)
	img := replay(t, metadata.EmptyImage(), brokers.Records())
	withBrokers := func(tr *Tree) *Tree {
		tr.Brokers = brokers.Brokers
		return tr
	}
	step := func(name string, recs []metadata.Record) {
		t.Helper()
		ops, err := RecordsToOps(img, recs, 5)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := mem.apply(ops); err != nil {
			t.Fatalf("%s: apply: %v", name, err)
		}
		img = replay(t, img, recs)
		back, err := withBrokers(mem.tree(t)).Image()
		if err != nil {
			t.Fatalf("%s: tree -> image: %v", name, err)
		}
		if !back.Equal(img) {
			t.Fatalf("%s: image from the ZooKeeper tree differs from the replayed image\ntree: %v\nimg:  %v",
				name, metadata.WriteImage(back), metadata.WriteImage(img))
		}
	}
	ccfg := metadata.DefaultControllerConfig()
	recs, err := metadata.CreateTopic(img, metadata.CreateTopicSpec{Name: "orders", NumPartitions: 4, ReplicationFactor: 3,
		Configs: map[string]string{"retention.ms": "1000"}}, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	step("create", recs)
	if !slices.ContainsFunc(slices.Collect(mapKeys(mem.nodes)), func(p string) bool { return strings.HasPrefix(p, ConfigChangesPath+"/config_change_") }) {
		t.Fatal("no /config/changes notification for the topic config")
	}

	// Broker 1 dies: FenceBroker's partition changes become state sets with
	// the old partition epoch as expected version.
	d := metadata.NewDelta(img)
	_ = d.Replay(&metadata.BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 101, Fenced: metadata.FenceFence})
	fenced := d.Apply()
	var changes []metadata.Record
	for _, r := range metadata.FenceBroker(fenced, 1) {
		if _, ok := r.(*metadata.PartitionChangeRecord); ok {
			changes = append(changes, r)
		}
	}
	if len(changes) == 0 {
		t.Fatal("no partition changes")
	}
	ops, err := RecordsToOps(img, changes, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.Kind == OpSet && strings.HasSuffix(op.Path, "/state") && op.Version != 0 {
			t.Fatalf("%s: expected version %d, want the partition epoch 0", op, op.Version)
		}
	}
	step("fence broker 1", changes)
	// A stale CAS is refused: replaying the same ops fails on the version.
	if err := mem.apply(ops); err == nil || !strings.Contains(err.Error(), "bad version") {
		t.Fatalf("stale state write accepted: %v", err)
	}

	_, _, pid := metadata.AllocateProducerIDs(img, 2, 102)
	step("producer ids", pid)
	if blk := mem.tree(t).ProducerIDs; blk == nil || blk.BlockStart != 0 || blk.BlockEnd != 999 {
		t.Fatalf("producer id block %+v", blk)
	}

	del, err := metadata.DeleteTopic(img, "orders")
	if err != nil {
		t.Fatal(err)
	}
	step("delete", del)
	for p := range mem.nodes {
		if strings.HasPrefix(p, TopicPath("orders")) || p == TopicConfigPath("orders") {
			t.Fatalf("%s left after delete", p)
		}
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestTreeRecords: a tree written by Kafka (incomplete topics, v1 topics
// without ids, broker default configs) becomes the expected records.
func TestTreeRecords(t *testing.T) {
	tr := NewTree()
	registerBrokers(t, tr, 2)
	id := metadata.RandomUuid()
	tr.Topics["done"] = &TopicNode{ZNode: TopicZNode{TopicID: id, Partitions: map[int32][]int32{0: {1, 2}}},
		States: map[int32]StateNode{0: {State: PartitionState{Leader: 2, LeaderEpoch: 3, ControllerEpoch: 1, ISR: []int32{2}}, ZkVersion: 7}}}
	tr.Topics["pending"] = &TopicNode{ZNode: TopicZNode{TopicID: metadata.RandomUuid(), Partitions: map[int32][]int32{0: {1}}}, States: map[int32]StateNode{}}
	tr.Topics["old"] = &TopicNode{ZNode: TopicZNode{Partitions: map[int32][]int32{0: {1}}},
		States: map[int32]StateNode{0: {State: PartitionState{Leader: 1, ISR: []int32{1}}}}}
	tr.Configs[ConfigEntity{ConfigBrokers, DefaultEntity}] = map[string]string{"log.retention.ms": "5"}
	tr.Configs[ConfigEntity{ConfigTopics, "done"}] = map[string]string{"cleanup.policy": "compact"}
	tr.ProducerIDs = &ProducerIDBlock{Broker: 1, BlockStart: 1000, BlockEnd: 1999}
	img, err := tr.Image()
	if err != nil {
		t.Fatal(err)
	}
	if img.TopicCount() != 1 {
		t.Fatalf("topics %d, want only the complete one with an id", img.TopicCount())
	}
	p := img.Topics()[0].Partitions[0]
	if p.Leader != 2 || p.LeaderEpoch != 3 || p.PartitionEpoch != 7 || !slices.Equal(p.Replicas, []int32{1, 2}) {
		t.Fatalf("partition %+v: want leader 2, leader epoch 3, partition epoch = zkVersion 7", p)
	}
	if b, _ := img.Broker(1); b.Epoch != 101 || b.Fenced {
		t.Fatalf("broker 1 %+v: want epoch = czxid 101, unfenced", b)
	}
	if img.Configs(metadata.BrokerResource, "")["log.retention.ms"] != "5" || img.Configs(metadata.TopicResource, "done")["cleanup.policy"] != "compact" {
		t.Fatal("configs not translated")
	}
	if img.NextProducerID() != 2000 {
		t.Fatalf("next producer id %d, want block_end+1", img.NextProducerID())
	}
}
