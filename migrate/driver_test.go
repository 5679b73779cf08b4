package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestMigrationLifecycle walks the whole procedure against a real
// ZooKeeper and a real single-voter quorum: ZooKeeper-mode brokers with a
// topic, a controller in PRE_MIGRATION waiting for them, the load as one
// transaction, the takeover, dual-write of a topic created in the quorum,
// and a rollback after which the ZooKeeper brokers elect a controller.
func TestMigrationLifecycle(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	b1 := zkBroker(t, srv.Addr, chroot, 1)
	b2 := zkBroker(t, srv.Addr, chroot, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wait.For(t, 20*time.Second, "both brokers in broker 1's image", func() error {
		if b1.Image().BrokerCount() != 2 {
			return fmt.Errorf("%d brokers", b1.Image().BrokerCount())
		}
		return nil
	})
	if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "foo", NumPartitions: 3, ReplicationFactor: 2,
		Configs: map[string]string{"retention.ms": "3600000"}}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.For(t, 20*time.Second, "foo in the ZooKeeper image", func() error {
		if _, ok := b2.Image().Topic("foo"); !ok {
			return errors.New("no foo")
		}
		return nil
	})
	zkImg := b2.Image()
	zkFoo, _ := zkImg.Topic("foo")
	conn := rawConn(t, srv)
	epochBefore := readEpoch(t, conn, chroot)

	drv, err := New(testDriverConfig(srv.Addr, chroot), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	node := controllerNode(t, b1.ClusterID(), drv)
	if err := drv.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	defer drv.Close()

	wait.For(t, 20*time.Second, "PRE_MIGRATION, waiting for brokers", func() error {
		if s := node.Image().ZkMigrationState(); s != metadata.ZkMigrationPreMigration {
			return fmt.Errorf("state %s", StateName(s))
		}
		if drv.State() != WaitForBrokers {
			return fmt.Errorf("driver %s", drv.State())
		}
		return nil
	})
	// Only broker 1 registers: the driver keeps waiting.
	register := func(id int32) {
		t.Helper()
		if _, err := node.RegisterBroker(ctx, metadata.BrokerRegistration{ID: id, IncarnationID: metadata.RandomUuid(),
			IsMigratingZkBroker: true, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}}); err != nil {
			t.Fatal(err)
		}
	}
	register(1)
	wait.For(t, 10*time.Second, "broker 2 reported missing", func() error {
		st := drv.Status()
		if !slices.Equal(st.ExpectedBrokers, []int32{1, 2}) || !slices.Equal(st.RegisteredBrokers, []int32{1}) {
			return fmt.Errorf("expected %v registered %v", st.ExpectedBrokers, st.RegisteredBrokers)
		}
		return nil
	})
	if node.Image().TopicCount() != 0 || drv.State() != WaitForBrokers {
		t.Fatalf("migrated with broker 2 missing: %d topics, driver %s", node.Image().TopicCount(), drv.State())
	}
	register(2)
	wait.For(t, 30*time.Second, "dual-write", func() error {
		if drv.State() != DualWrite {
			return fmt.Errorf("driver %s", drv.State())
		}
		return nil
	})

	// The log holds ZooKeeper's topic: same id, leaders, ISRs and epochs.
	img := node.Image()
	if img.ZkMigrationState() != metadata.ZkMigrationMigration {
		t.Fatalf("state %s", StateName(img.ZkMigrationState()))
	}
	foo, ok := img.Topic("foo")
	if !ok || foo.ID != zkFoo.ID {
		t.Fatalf("foo in the log: %v (id %v, ZooKeeper %v)", ok, foo, zkFoo.ID)
	}
	for p, reg := range zkFoo.Partitions {
		if got := foo.Partitions[p]; !got.Equal(reg) {
			t.Fatalf("partition %d: log %+v, ZooKeeper %+v", p, got, reg)
		}
	}
	if got := img.Configs(metadata.TopicResource, "foo")["retention.ms"]; got != "3600000" {
		t.Fatalf("retention.ms of foo in the log = %q", got)
	}
	st := drv.Status()
	if st.RecordsLoaded < 5 || st.BatchesLoaded != st.Batches || st.Batches < 2 {
		t.Fatalf("status after load: %+v", st)
	}

	// Takeover: persistent /controller with kraftControllerEpoch, epoch bumped.
	c, cstat := readController(t, conn, chroot)
	if !c.IsKRaft() || c.BrokerID != 3000 || cstat.EphemeralOwner != 0 {
		t.Fatalf("/controller after takeover: %+v owner %d", c, cstat.EphemeralOwner)
	}
	if e := readEpoch(t, conn, chroot); e != epochBefore+1 {
		t.Fatalf("/controller_epoch %d, want %d", e, epochBefore+1)
	}
	wait.For(t, 10*time.Second, "ZooKeeper controller resigned", func() error {
		if b1.IsController() || b2.IsController() {
			return errors.New("a ZooKeeper broker is still controller")
		}
		return nil
	})

	// Dual-write: a topic created in the quorum appears in ZooKeeper and
	// in the ZooKeeper brokers' images; /migration records the offset.
	for _, id := range []int32{1, 2} {
		if err := node.UnfenceBroker(ctx, id, mustBroker(t, node.Image(), id).Epoch); err != nil {
			t.Fatal(err)
		}
	}
	if errs := node.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "bar", NumPartitions: 2, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	bar, _ := node.Image().Topic("bar")
	wait.For(t, 20*time.Second, "bar mirrored to ZooKeeper", func() error {
		zt, ok := b2.Image().Topic("bar")
		if !ok {
			return errors.New("bar not in the ZooKeeper image")
		}
		if zt.ID != bar.ID || zt.NumPartitions() != 2 {
			return fmt.Errorf("bar in ZooKeeper: %+v", zt)
		}
		return nil
	})
	wait.For(t, 10*time.Second, "/migration offset", func() error {
		m, _, _, err := newSession(conn, chroot).readMigration()
		if err != nil {
			return err
		}
		if m.KRaftMetadataOffset < 1 {
			return fmt.Errorf("offset %d", m.KRaftMetadataOffset)
		}
		if m.KRaftControllerID != 3000 {
			return fmt.Errorf("/migration %+v", m)
		}
		return nil
	})
	// A leader change in the log reaches the state znodes, stamped with the
	// ZooKeeper controller epoch of the takeover.
	fooBefore, _ := node.Image().Topic("foo")
	if _, err := node.AppendRecords(ctx, "test: move leadership", nil, []metadata.Record{leaderChange(fooBefore, 0)}); err != nil {
		t.Fatal(err)
	}
	want := leaderChange(fooBefore, 0).Leader
	wait.For(t, 10*time.Second, "leader change mirrored", func() error {
		st := readState(t, conn, chroot, "foo", 0)
		if st.Leader != want || st.ControllerEpoch != epochBefore+1 || st.LeaderEpoch != fooBefore.Partitions[0].LeaderEpoch+1 {
			return fmt.Errorf("state %+v, want leader %d", st, want)
		}
		return nil
	})
	zs, err := ReadZkStatus(conn, chroot)
	if err != nil {
		t.Fatal(err)
	}
	if zs.Migration == nil || zs.Controller == nil || !slices.Equal(zs.Brokers, []int32{1, 2}) {
		t.Fatalf("zk status: %+v", zs)
	}

	// Rollback: stop the controller side first, as the runbook says.
	drv.Close()
	stamp := readState(t, conn, chroot, "bar", 0).ControllerEpoch
	// Raise a state's stamp above /controller_epoch (what Kafka's dual-write
	// does with kraftControllerEpoch): rollback must cover it (KAFKA-20488).
	st0 := readState(t, conn, chroot, "foo", 0)
	st0.ControllerEpoch = readEpoch(t, conn, chroot) + 5
	if _, err := conn.Set(chroot+zk.PartitionStatePath("foo", 0), zk.EncodePartitionState(st0), -1); err != nil {
		t.Fatal(err)
	}
	res, err := Rollback(ctx, conn, chroot, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Controller == nil || !res.Controller.IsKRaft() || res.Migration == nil || res.EpochAfter < st0.ControllerEpoch || stamp > res.EpochAfter {
		t.Fatalf("rollback: %+v", res)
	}
	if ok, _, _ := conn.Exists(chroot + zk.MigrationPath); ok {
		t.Fatal("/migration still there")
	}
	wait.For(t, 20*time.Second, "a ZooKeeper broker is controller again", func() error {
		if !b1.IsController() && !b2.IsController() {
			return errors.New("no ZooKeeper controller")
		}
		return nil
	})
	if e := readEpoch(t, conn, chroot); e <= st0.ControllerEpoch {
		t.Fatalf("/controller_epoch %d after the ZooKeeper election, stamp %d", e, st0.ControllerEpoch)
	}
	for _, name := range []string{"foo", "bar"} {
		if _, ok := b1.Image().Topic(name); !ok {
			t.Fatalf("%s lost after rollback", name)
		}
	}
}

// leaderChange moves partition p's leadership to its other replica.
func leaderChange(t *metadata.TopicImage, p int32) *metadata.PartitionChangeRecord {
	reg := t.Partitions[p]
	r := metadata.NewPartitionChangeRecord(t.ID, p)
	for _, b := range reg.ISR {
		if b != reg.Leader {
			r.Leader = b
			break
		}
	}
	return r
}

func mustBroker(t testing.TB, img *metadata.Image, id int32) *metadata.BrokerRegistration {
	t.Helper()
	b, ok := img.Broker(id)
	if !ok {
		t.Fatalf("broker %d not registered", id)
	}
	return b
}

func readEpoch(t testing.TB, conn *gozk.Conn, chroot string) int32 {
	t.Helper()
	data, _, err := conn.Get(chroot + zk.ControllerEpochPath)
	if err != nil {
		t.Fatal(err)
	}
	e, err := zk.DecodeControllerEpoch(data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func readController(t testing.TB, conn *gozk.Conn, chroot string) (zk.ControllerZNode, *gozk.Stat) {
	t.Helper()
	data, stat, err := conn.Get(chroot + zk.ControllerPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := zk.DecodeController(data)
	if err != nil {
		t.Fatal(err)
	}
	return c, stat
}

func readState(t testing.TB, conn *gozk.Conn, chroot, topic string, p int32) zk.PartitionState {
	t.Helper()
	data, _, err := conn.Get(chroot + zk.PartitionStatePath(topic, p))
	if err != nil {
		t.Fatal(err)
	}
	s, err := zk.DecodePartitionState(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
