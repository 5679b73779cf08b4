package zk

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/goleak"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestZombieControllerIsFenced: the controller loses its server for longer
// than its session (a SIGSTOP-like pause, made with a proxy), another broker
// is elected with epoch+1, and when the old controller comes back every
// write carrying its /controller_epoch zkVersion fails with
// ErrControllerMoved and changes nothing (KAFKA-REFERENCE §1.4,
// wrapRequestWithControllerEpochCheck). The old controller then resigns and
// re-registers its broker znode on its new session.
func TestZombieControllerIsFenced(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) })
	s := zktest.Start(t)
	raw := rawConn(t, s)
	proxy := zktest.NewProxy(t, s)
	short := func(c *Config) { c.SessionTimeout = time.Second }
	zombie := testBackend(t, proxy.Addr, 1, short)
	wait.For(t, 20*time.Second, "broker 1 controller", func() error {
		if !zombie.IsController() {
			return errors.New("not yet")
		}
		return nil
	})
	other := testBackend(t, s.Addr, 2, short)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if errs := other.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 2, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	staleVersion := zombie.epochZkVersion.Load()
	_, statBefore, err := raw.Get(PartitionStatePath("t", 0))
	if err != nil {
		t.Fatal(err)
	}

	proxy.Pause()
	wait.For(t, 30*time.Second, "broker 2 elected with epoch 2", func() error {
		id, err := controllerOf(t, raw)
		if err != nil || id != 2 || epochOf(t, raw) != 2 || !other.IsController() {
			return fmt.Errorf("controller %d, err %v", id, err)
		}
		return nil
	})
	proxy.Resume()
	wait.For(t, 30*time.Second, "zombie reconnected", func() error {
		if zombie.conn.State().String() != "StateHasSession" {
			return errors.New(zombie.conn.State().String())
		}
		return nil
	})

	// Every kind of controller write from the zombie is refused.
	writes := [][]Op{
		{{Kind: OpSet, Path: PartitionStatePath("t", 0), Version: -1,
			Data: EncodePartitionState(PartitionState{Leader: 1, LeaderEpoch: 99, ControllerEpoch: 1, ISR: []int32{1}})}},
		{{Kind: OpCreate, Path: TopicPath("zombie-topic"), Data: EncodeTopic(TopicZNode{TopicID: metadata.RandomUuid(), Partitions: map[int32][]int32{0: {1}}})}},
		{{Kind: OpDelete, Path: DeleteTopicsPath, Version: -1}},
		{{Kind: OpSet, Path: ProducerIDBlockPath, Version: -1, Data: EncodeProducerIDBlock(ProducerIDBlock{BlockEnd: 999})}},
	}
	for _, ops := range writes {
		if _, err := zombie.execFenced(zombie.conn, staleVersion, ops); !errors.Is(err, ErrControllerMoved) {
			t.Fatalf("zombie write %v: %v, want ErrControllerMoved", ops[0], err)
		}
	}
	_, statAfter, err := raw.Get(PartitionStatePath("t", 0))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := raw.Exists(TopicPath("zombie-topic")); ok {
		t.Fatal("zombie created a topic")
	}
	// Broker 2's failover may have moved partition 0 (broker 1 was gone),
	// but only broker 2 wrote it: controller_epoch says 2.
	data, _, _ := raw.Get(PartitionStatePath("t", 0))
	st, _ := DecodePartitionState(data)
	if st.LeaderEpoch == 99 || (statAfter.Version != statBefore.Version && st.ControllerEpoch != 2) {
		t.Fatalf("state written by the zombie: %+v", st)
	}
	// The zombie resigned and registered again on its new session.
	wait.For(t, 30*time.Second, "zombie resigned and re-registered", func() error {
		if zombie.IsController() {
			return errors.New("still thinks it is controller")
		}
		if ok, _, err := raw.Exists(BrokerPath(1)); !ok || err != nil {
			return fmt.Errorf("/brokers/ids/1 missing: %v", err)
		}
		return nil
	})
	// The live controller still writes.
	if _, err := other.execFenced(other.conn, other.epochZkVersion.Load(), []Op{{Kind: OpCreate, Path: DeleteTopicPath("t")}}); err != nil {
		t.Fatalf("controller write after failover: %v", err)
	}
}

// TestLoadTreeRealZooKeeper: the codecs against real znodes: what the
// backend writes, LoadTree reads back into the same image.
func TestLoadTreeRealZooKeeper(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) })
	s := zktest.Start(t)
	b := testBackend(t, s.Addr, 1, func(c *Config) { c.Chroot = "/kafka" })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if errs := b.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "a", NumPartitions: 3, ReplicationFactor: 1,
		Configs: map[string]string{"retention.ms": "1000"}}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if _, _, err := b.AllocateProducerIDs(ctx, 1); err != nil {
		t.Fatal(err)
	}
	raw := rawConn(t, s)
	tree, err := LoadTree(raw, "/kafka", 8)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tree.Image()
	if err != nil {
		t.Fatal(err)
	}
	if !img.Equal(b.Image()) || img.ClusterID() != b.ClusterID() {
		t.Fatalf("loaded image differs\nloaded: %v\nbackend: %v", metadata.WriteImage(img), metadata.WriteImage(b.Image()))
	}
	if ok, _, _ := raw.Exists("/brokers"); ok {
		t.Fatal("tree written outside the chroot")
	}
	// LoadTreeFrom with reader sessions (the migration's load, issue 13
	// part 4) reads the same tree, one read in flight per reader so every
	// reader serves some.
	readers := []*gozk.Conn{rawConn(t, s), rawConn(t, s), rawConn(t, s)}
	spread, err := LoadTreeFrom(raw, readers, "/kafka", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spread, tree) {
		t.Fatalf("LoadTreeFrom read another tree\nreaders: %+v\nLoadTree: %+v", spread, tree)
	}
}
