package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
	"github.com/zkraft/zkraft/quorum"
)

const exportClusterID = "vp10JlDESliyXcs4B4Tllw"

// quorumCluster is a single-voter quorum born in quorum mode (never
// migrated): brokers 1-3 registered and unfenced, topic a (3 partitions,
// RF 2, retention.ms), topic b (1 partition, RF 3), a producer-id block,
// and a leader change on a-0 (leader epoch 1).
func quorumCluster(t *testing.T, ctx context.Context) *quorum.Node {
	t.Helper()
	node := controllerNode(t, exportClusterID)
	for id := int32(1); id <= 3; id++ {
		epoch, err := node.RegisterBroker(ctx, metadata.BrokerRegistration{ID: id, IncarnationID: metadata.RandomUuid(),
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := node.UnfenceBroker(ctx, id, epoch); err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range node.CreateTopics(ctx, []metadata.CreateTopicSpec{
		{Name: "a", NumPartitions: 3, ReplicationFactor: 2, Configs: map[string]string{"retention.ms": "3600000"}},
		{Name: "b", NumPartitions: 1, ReplicationFactor: 3}}, false) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := node.AllocateProducerIDs(ctx, 1); err != nil {
		t.Fatal(err)
	}
	a, _ := node.Image().Topic("a")
	if _, err := node.AppendRecords(ctx, "test: move leadership", nil, []metadata.Record{leaderChange(a, 0)}); err != nil {
		t.Fatal(err)
	}
	return node
}

func exportConfig(addr, chroot string) Config {
	cfg := testDriverConfig(addr, chroot)
	cfg.MaxMultiOps = 5 // several multis even for a small image
	return cfg
}

// sameAsLog checks that the ZooKeeper tree holds img: topics with their
// ids, assignments, leaders, leader epochs, ISRs and recovery states,
// topic configs and the producer-id block. Partition epochs are not
// compared: in ZooKeeper mode they are the state znodes' zkVersions.
func sameAsLog(conn *gozk.Conn, chroot string, img *metadata.Image) error {
	tree, err := zk.LoadTree(conn, chroot, 4)
	if err != nil {
		return err
	}
	zimg, err := tree.Image()
	if err != nil {
		return err
	}
	if zimg.ClusterID() != img.ClusterID() {
		return fmt.Errorf("cluster id %q, log %q", zimg.ClusterID(), img.ClusterID())
	}
	names := func(i *metadata.Image) []string {
		var out []string
		for _, t := range i.Topics() {
			out = append(out, t.Name)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(names(zimg), names(img)) {
		return fmt.Errorf("topics %v in ZooKeeper, %v in the log (incomplete in the tree: %v)", names(zimg), names(img), len(tree.Topics))
	}
	for _, lt := range img.Topics() {
		zt, _ := zimg.Topic(lt.Name)
		if zt.ID != lt.ID || zt.NumPartitions() != lt.NumPartitions() {
			return fmt.Errorf("topic %s: id %v/%d partitions in ZooKeeper, %v/%d in the log", lt.Name, zt.ID, zt.NumPartitions(), lt.ID, lt.NumPartitions())
		}
		for p, l := range lt.Partitions {
			z := zt.Partitions[p]
			if z.Leader != l.Leader || z.LeaderEpoch != l.LeaderEpoch || !slices.Equal(z.ISR, l.ISR) ||
				!slices.Equal(z.Replicas, l.Replicas) || z.LeaderRecoveryState != l.LeaderRecoveryState {
				return fmt.Errorf("%s-%d: ZooKeeper %+v, log %+v", lt.Name, p, z, l)
			}
		}
		if zc, lc := zimg.Configs(metadata.TopicResource, lt.Name), img.Configs(metadata.TopicResource, lt.Name); !maps.Equal(zc, lc) {
			return fmt.Errorf("configs of %s: ZooKeeper %v, log %v", lt.Name, zc, lc)
		}
	}
	if zimg.NextProducerID() != img.NextProducerID() {
		return fmt.Errorf("next producer id: ZooKeeper %d, log %d", zimg.NextProducerID(), img.NextProducerID())
	}
	return nil
}

// TestExportIntoEmptyTree (issue 13 part 3, a cluster born in quorum
// mode): Export writes the whole image into an empty ZooKeeper: cluster
// id, topics with their ids, partition states with their leaders and
// leader epochs stamped with the new /controller_epoch, configs, the
// producer-id block; it holds a persistent /controller, so a ZooKeeper-mode
// broker started on the tree does not elect itself, and sees the log's
// topics with their ids.
func TestExportIntoEmptyTree(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node := quorumCluster(t, ctx)
	img := node.Image()
	term, _ := node.LeaderTerm()
	conn := rawConn(t, srv)
	res, err := Export(ctx, conn, exportConfig(srv.Addr, chroot), img, int32(term), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Topics != 2 || res.Partitions != 4 || res.Ops == 0 || res.ZkControllerEpoch != 1 {
		t.Fatalf("export: %+v", res)
	}
	if err := sameAsLog(conn, chroot, img); err != nil {
		t.Fatal(err)
	}
	if st := readState(t, conn, chroot, "a", 0); st.ControllerEpoch != res.ZkControllerEpoch || st.LeaderEpoch != 1 {
		t.Fatalf("a-0 state %+v", st)
	}
	c, cstat := readController(t, conn, chroot)
	if !c.IsKRaft() || c.BrokerID != 3000 || c.KRaftControllerEpoch != int32(term) || cstat.EphemeralOwner != 0 {
		t.Fatalf("/controller %+v owner %d", c, cstat.EphemeralOwner)
	}
	m, _, _, err := newSession(conn, chroot).readMigration()
	if err != nil || m.KRaftMetadataOffset != img.Offset() || m.KRaftControllerID != 3000 {
		t.Fatalf("/migration %+v (%v), image offset %d", m, err, img.Offset())
	}
	b1 := zkBroker(t, srv.Addr, chroot, 1)
	wait.For(t, 20*time.Second, "the ZooKeeper-mode broker sees the log's topics", func() error {
		for _, lt := range img.Topics() {
			zt, ok := b1.Image().Topic(lt.Name)
			if !ok || zt.ID != lt.ID {
				return fmt.Errorf("%s: %v %+v", lt.Name, ok, zt)
			}
		}
		return nil
	})
	if b1.IsController() {
		t.Fatal("a ZooKeeper-mode broker elected itself while the quorum holds /controller")
	}
	if b1.ClusterID() != exportClusterID {
		t.Fatalf("cluster id %q", b1.ClusterID())
	}
}

// TestExportRepairsStaleTreeAndFences: a second export (a new leader after
// a crash mid-export, or a tree left stale by a finalized migration)
// repairs whatever the tree holds: a topic deleted since, an incomplete
// stale topic, an old partition state, the finalize marker; it bumps
// /controller_epoch again, so a write behind the first export's fence is
// refused. A /controller of a higher kraftControllerEpoch and another
// cluster's tree are refused.
func TestExportRepairsStaleTreeAndFences(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node := quorumCluster(t, ctx)
	term, _ := node.LeaderTerm()
	conn := rawConn(t, srv)
	cfg := exportConfig(srv.Addr, chroot)
	first, err := Export(ctx, conn, cfg, node.Image(), int32(term), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	_, oldEpoch, err := conn.Get(chroot + zk.ControllerEpochPath)
	if err != nil {
		t.Fatal(err)
	}
	// Stale: a complete topic the log does not have, an incomplete one, an
	// old state of a-1, the finalize marker.
	acl := gozk.WorldACL(gozk.PermAll)
	gone := zk.TopicZNode{TopicID: metadata.RandomUuid(), Partitions: map[int32][]int32{0: {1, 2}}}
	for _, op := range []struct {
		path string
		data []byte
	}{
		{zk.TopicPath("gone"), zk.EncodeTopic(gone)},
		{zk.PartitionsPath("gone"), nil},
		{zk.PartitionPath("gone", 0), nil},
		{zk.PartitionStatePath("gone", 0), zk.EncodePartitionState(zk.PartitionState{Leader: 1, ISR: []int32{1, 2}})},
		{zk.TopicPath("half"), zk.EncodeTopic(zk.TopicZNode{TopicID: metadata.RandomUuid(), Partitions: map[int32][]int32{0: {2}}})},
		{FinalizedPath, encodeFinalized(FinalizedZNode{KRaftControllerID: 3000, KRaftMetadataOffset: 1})},
	} {
		if _, err := conn.Create(chroot+op.path, op.data, 0, acl); err != nil {
			t.Fatalf("create %s: %v", op.path, err)
		}
	}
	if _, err := conn.Set(chroot+zk.PartitionStatePath("a", 1), zk.EncodePartitionState(zk.PartitionState{Leader: 3, LeaderEpoch: 9, ISR: []int32{3}}), -1); err != nil {
		t.Fatal(err)
	}
	// The log moves on: b deleted, c created.
	if errs := node.DeleteTopics(ctx, []string{"b"}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if errs := node.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "c", NumPartitions: 2, ReplicationFactor: 3}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	img := node.Image()
	second, err := Export(ctx, conn, cfg, img, int32(term), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if second.ZkControllerEpoch != first.ZkControllerEpoch+1 {
		t.Fatalf("controller epochs %d then %d", first.ZkControllerEpoch, second.ZkControllerEpoch)
	}
	if err := sameAsLog(conn, chroot, img); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{zk.TopicPath("gone"), zk.TopicPath("half"), zk.TopicPath("b"), FinalizedPath} {
		if ok, _, _ := conn.Exists(chroot + p); ok {
			t.Fatalf("%s still in ZooKeeper after the export", p)
		}
	}
	// A write behind the first export's fence is refused.
	if _, err := conn.Multi(&gozk.CheckVersionRequest{Path: chroot + zk.ControllerEpochPath, Version: oldEpoch.Version},
		&gozk.CreateRequest{Path: chroot + "/zombie", Data: []byte("x"), Acl: acl}); err == nil {
		t.Fatal("a write behind the first export's /controller_epoch version succeeded")
	}
	// Nothing is exported under a newer controller's /controller.
	if _, err := Export(ctx, conn, cfg, img, int32(term)-1, zaptest.NewLogger(t)); !errors.Is(err, ErrControllerMoved) {
		t.Fatalf("export with an older kraft controller epoch: %v, want ErrControllerMoved", err)
	}
	// Nor into another cluster's tree.
	other := node.Image()
	d := metadata.NewDelta(other)
	d.SetClusterID("AAAAAAAAAAAAAAAAAAAAAA")
	if _, err := Export(ctx, conn, cfg, d.Apply(), int32(term), zaptest.NewLogger(t)); !errors.Is(err, ErrWrongState) {
		t.Fatalf("export into another cluster's tree: %v, want ErrWrongState", err)
	}
}

// TestReverseMigration (issue 13 part 3): a driver with Config.Reverse on
// a log born in quorum mode exports the image, records REVERSE_MIGRATION
// in the log and dual-writes: a topic created afterwards reaches
// ZooKeeper. An export left unrecorded by a controller that died after it
// (Export alone here) is simply done again, behind a newer
// /controller_epoch. Rollback then hands /controller to the ZooKeeper-mode
// brokers, which see every topic.
func TestReverseMigration(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node := quorumCluster(t, ctx)
	conn := rawConn(t, srv)
	cfg := exportConfig(srv.Addr, chroot)
	cfg.Reverse = true
	term, _ := node.LeaderTerm()
	dead, err := Export(ctx, conn, cfg, node.Image(), int32(term), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	drv := startDriver(t, ctx, cfg, node)
	wait.For(t, 20*time.Second, "REVERSE_MIGRATION, dual-writing", func() error {
		if s := node.Image().ZkMigrationState(); s != metadata.ZkMigrationReverse || drv.State() != DualWrite {
			return fmt.Errorf("log %s, driver %s", StateName(s), drv.State())
		}
		return nil
	})
	if st := drv.Status(); st.ZkControllerEpoch <= dead.ZkControllerEpoch {
		t.Fatalf("controller epoch %d after the export of a dead controller at %d", st.ZkControllerEpoch, dead.ZkControllerEpoch)
	}
	b1 := zkBroker(t, srv.Addr, chroot, 1)
	if errs := node.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "during-reverse", NumPartitions: 2, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.For(t, 20*time.Second, "ZooKeeper holds the log", func() error { return sameAsLog(conn, chroot, node.Image()) })
	wait.For(t, 20*time.Second, "the ZooKeeper-mode broker sees the new topic", func() error {
		if _, ok := b1.Image().Topic("during-reverse"); !ok {
			return errors.New("no during-reverse")
		}
		return nil
	})
	if b1.IsController() {
		t.Fatal("a ZooKeeper-mode broker elected itself during the reverse migration")
	}
	img := node.Image()
	drv.Close()
	if _, err := Rollback(ctx, conn, chroot, 4); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, "the ZooKeeper-mode broker is controller", func() error {
		if !b1.IsController() {
			return errors.New("not controller")
		}
		return nil
	})
	for _, lt := range img.Topics() {
		zt, ok := b1.Image().Topic(lt.Name)
		if !ok || zt.ID != lt.ID {
			t.Fatalf("after the hand-over, %s: %v %+v (log id %v)", lt.Name, ok, zt, lt.ID)
		}
	}
	// A reverse controller started again on the log after the hand-over
	// leaves ZooKeeper alone.
	again := startDriver(t, ctx, cfg, node)
	wait.For(t, 20*time.Second, "the driver sees the hand-over", func() error {
		if !again.Status().HandedOver {
			return errors.New("not yet")
		}
		return nil
	})
	if c, _ := readController(t, conn, chroot); c.IsKRaft() || !b1.IsController() {
		t.Fatalf("/controller after the hand-over and a restarted reverse controller: %+v", c)
	}
}

// startDriver starts a driver on node, closed when the test ends.
func startDriver(t *testing.T, ctx context.Context, cfg Config, node Quorum) *Driver {
	t.Helper()
	drv, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := drv.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drv.Close() })
	return drv
}
