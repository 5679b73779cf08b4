package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/brokertest"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
	"github.com/zkraft/zkraft/quorum"
)

// TestMigrateWindowWritesGoToQuorum holds the migration driver between its
// takeover of /controller and the load of the tree (Config
// .AfterTakeover) and, inside that window, has a migrating ZooKeeper-mode
// broker (BrokerSource) create a topic and shrink an ISR, while a topic
// a broker wrote just before the takeover lacks its partition states. The
// ZooKeeper path refuses the writes (zk.ErrKRaftController), the quorum
// refuses them in PRE_MIGRATION (NOT_CONTROLLER), the broker's client
// retries, and after the load each change is in the log and in ZooKeeper
// exactly once; the half-created topic is completed in both.
func TestMigrateWindowWritesGoToQuorum(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	h1 := newBrokerSource(zaptest.NewLogger(t).Named("source1"))
	b1 := windowZkBroker(t, srv.Addr, chroot, 1, treeSide{h1})
	windowZkBroker(t, srv.Addr, chroot, 2)
	wait.For(t, 30*time.Second, "both brokers in broker 1's image", func() error {
		if n := b1.Image().BrokerCount(); n != 2 {
			return fmt.Errorf("%d brokers", n)
		}
		return nil
	})
	if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "foo", NumPartitions: 2, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	foo, _ := b1.Image().Topic("foo")
	part := int32(-1)
	for _, p := range foo.PartitionIDs() {
		if foo.Partitions[p].Leader == 1 && len(foo.Partitions[p].ISR) == 2 {
			part = p
		}
	}
	if part < 0 {
		t.Fatalf("no partition of foo led by broker 1 with 2 in-sync replicas: %+v", foo.Partitions)
	}

	// The controller quorum with the driver, held in the window.
	inWindow, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	releaseWindow := sync.OnceFunc(func() { close(release) })
	mcfg := DefaultConfig()
	mcfg.Servers, mcfg.Chroot, mcfg.NodeID = []string{srv.Addr}, chroot, 3000
	mcfg.SessionTimeout, mcfg.ConnectionTimeout, mcfg.PollInterval = 4*time.Second, 20*time.Second, 50*time.Millisecond
	mcfg.AfterTakeover = func(ctx context.Context) {
		once.Do(func() { close(inWindow) })
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	drv, err := New(mcfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	node := controllerNode(t, b1.ClusterID(), drv)
	if err := drv.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releaseWindow(); _ = drv.Close() }) // before node.Close (cleanups run last-in first-out)

	// Both brokers register with the quorum as migrating ZooKeeper brokers;
	// broker 1's client feeds its source's log side.
	c1 := windowClient(t, ctx, node, 1, logSide{h1})
	windowClient(t, ctx, node, 2)
	h1.zk, h1.client = b1, c1
	<-inWindow
	// Heartbeats unfence the brokers in PRE_MIGRATION (placement needs them).
	wait.For(t, 30*time.Second, "brokers 1 and 2 unfenced by the quorum", func() error {
		for _, id := range []int32{1, 2} {
			if b, ok := node.Image().Broker(id); !ok || b.Fenced {
				return fmt.Errorf("broker %d: %+v", id, b)
			}
		}
		return nil
	})

	// Inside the window both paths refuse.
	if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "probe", NumPartitions: 1, ReplicationFactor: 1}}, false); !errors.Is(errs[0], zk.ErrKRaftController) {
		t.Fatalf("ZooKeeper CreateTopics after the takeover: %v, want zk.ErrKRaftController", errs[0])
	}
	if errs := node.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "probe", NumPartitions: 1, ReplicationFactor: 1}}, false); !errors.Is(errs[0], quorum.ErrPreMigration) || !errors.Is(errs[0], quorum.ErrNotController) {
		t.Fatalf("quorum CreateTopics in PRE_MIGRATION: %v, want ErrPreMigration (NOT_CONTROLLER)", errs[0])
	}
	// A topic a broker wrote just before the takeover: no partition state.
	conn, err := Connect(ctx, []string{srv.Addr}, 10*time.Second, 20*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	halfID := metadata.RandomUuid()
	half := zk.EncodeTopic(zk.TopicZNode{TopicID: halfID, Partitions: map[int32][]int32{0: {2, 1}},
		AddingReplicas: map[int32][]int32{}, RemovingReplicas: map[int32][]int32{}})
	if _, err := conn.Create(chroot+zk.TopicPath("half"), half, 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}

	// The migrating broker's writes, retried by its client across the window.
	reg := foo.Partitions[part]
	self, _ := b1.Image().Broker(1)
	zkEpoch := self.Epoch // what the replica layer sends: the czxid epoch of its image
	type alterResult struct {
		reg *metadata.PartitionRegistration
		err error
	}
	created, altered := make(chan error, 1), make(chan alterResult, 1)
	go func() {
		created <- h1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "during", NumPartitions: 2, ReplicationFactor: 2}}, false)[0]
	}()
	go func() {
		r, err := h1.AlterPartition(ctx, metadata.AlterPartitionRequest{BrokerID: 1, BrokerEpoch: zkEpoch, TopicID: foo.ID, Partition: part,
			LeaderEpoch: reg.LeaderEpoch, NewISR: []int32{1}, PartitionEpoch: reg.PartitionEpoch})
		altered <- alterResult{r, err}
	}()
	if st := windowState(t, conn, chroot, "foo", part); len(st.ISR) != 2 {
		t.Fatalf("the ISR of foo-%d changed in ZooKeeper inside the window: %+v", part, st)
	}
	if ok, _, _ := conn.Exists(chroot + zk.TopicPath("during")); ok {
		t.Fatal("topic during written to ZooKeeper inside the window")
	}
	select { // the quorum refuses until the load: nothing can have completed
	case err := <-created:
		t.Fatalf("create topic completed inside the window: %v", err)
	case r := <-altered:
		t.Fatalf("ISR change completed inside the window: %+v", r)
	default:
	}
	releaseWindow()

	if err := <-created; err != nil {
		t.Fatalf("create topic during the window: %v", err)
	}
	ar := <-altered
	if ar.err != nil || !slices.Equal(ar.reg.ISR, []int32{1}) {
		t.Fatalf("ISR shrink during the window: %+v, %v", ar.reg, ar.err)
	}
	wait.For(t, 30*time.Second, "dual-write", func() error {
		if s := drv.State(); s != DualWrite {
			return fmt.Errorf("driver %s", s)
		}
		return nil
	})

	// The log: each change once, the half-created topic completed.
	img := node.Image()
	if got := slices.Sorted(maps.Keys(topicSet(img))); !slices.Equal(got, []string{"during", "foo", "half"}) {
		t.Fatalf("topics in the log: %v", got)
	}
	during, _ := img.Topic("during")
	if fooT, ok := img.TopicByID(foo.ID); !ok || !slices.Equal(fooT.Partitions[part].ISR, []int32{1}) {
		t.Fatalf("foo in the log: %v, want ISR [1] for partition %d", fooT, part)
	}
	halfT, _ := img.Topic("half")
	if halfT.ID != halfID || halfT.Partitions[0].Leader != 2 || !slices.Equal(halfT.Partitions[0].ISR, []int32{2, 1}) {
		t.Fatalf("half in the log: id %v (want %v), %+v", halfT.ID, halfID, halfT.Partitions[0])
	}
	// ZooKeeper: the same, through dual-write and the load's completion.
	wait.For(t, 30*time.Second, "ZooKeeper holds the log's changes", func() error {
		tree, err := zk.LoadTree(conn, chroot, 4)
		if err != nil {
			return err
		}
		if got := slices.Sorted(maps.Keys(tree.Topics)); !slices.Equal(got, []string{"during", "foo", "half"}) {
			return fmt.Errorf("topics in ZooKeeper: %v", got)
		}
		for name, want := range map[string]metadata.Uuid{"during": during.ID, "foo": foo.ID, "half": halfID} {
			tn := tree.Topics[name]
			if !tn.Complete() || tn.ZNode.TopicID != want {
				return fmt.Errorf("%s in ZooKeeper: complete %v id %v, want %v", name, tn.Complete(), tn.ZNode.TopicID, want)
			}
		}
		// Written by the dual-write (stamped with the takeover's
		// controller epoch), not by the broker (which keeps the ZooKeeper
		// controller's stamp) before the load.
		data, _, err := conn.Get(chroot + zk.ControllerEpochPath)
		if err != nil {
			return err
		}
		epoch, err := zk.DecodeControllerEpoch(data)
		if err != nil {
			return err
		}
		if st := tree.Topics["foo"].States[part].State; !slices.Equal(st.ISR, []int32{1}) || st.ControllerEpoch != epoch {
			return fmt.Errorf("foo-%d state in ZooKeeper: %+v, want ISR [1] stamped with controller epoch %d", part, st, epoch)
		}
		return nil
	})
}

// windowZkBroker starts a migrating ZooKeeper-mode backend (client writes
// fenced) for broker id and registers it.
func windowZkBroker(t *testing.T, addr, chroot string, id int32, pubs ...zk.Publisher) *zk.Backend {
	t.Helper()
	cfg := brokertest.Config(addr, chroot, id)
	cfg.FenceClientWrites = true
	return brokertest.Broker(t, cfg, pubs...)
}

// windowClient registers broker id with the quorum as a migrating
// ZooKeeper broker and follows the log.
func windowClient(t *testing.T, ctx context.Context, node *quorum.Node, id int32, pubs ...quorum.Publisher) *quorum.Client {
	t.Helper()
	cfg := quorum.DefaultClientConfig()
	cfg.NodeID, cfg.Voters, cfg.MigratingZkBroker = id, map[int32]string{3000: node.Addr().String()}, true
	cfg.Endpoints = []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}
	cfg.HeartbeatInterval, cfg.FetchMaxWait, cfg.RequestTimeout = 100*time.Millisecond, 100*time.Millisecond, 2*time.Second
	c, err := quorum.NewClient(cfg, zaptest.NewLogger(t).Named(fmt.Sprint("client", id)), pubs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func windowState(t *testing.T, conn interface {
	Get(string) ([]byte, *gozk.Stat, error)
}, chroot, topic string, p int32) zk.PartitionState {
	t.Helper()
	data, _, err := conn.Get(chroot + zk.PartitionStatePath(topic, p))
	if err != nil {
		t.Fatal(err)
	}
	st, err := zk.DecodePartitionState(data)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
