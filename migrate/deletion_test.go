package migrate

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestMigrationFinishesPendingDeletions (KAFKA-15605) against a real
// ZooKeeper: topics queued in /admin/delete_topics that the fenced
// ZooKeeper controller never deleted are not resurrected by the load. The
// complete one is loaded and removed in the same transaction, the
// incomplete one is not loaded; their znodes, config and queue entries are
// deleted with the load's /migration offset, so the ZooKeeper-mode brokers
// drop them too, and the name can be created again through the quorum.
//
// In the second case that write fails (a stray znode under the topic makes
// its delete fail with NotEmpty): the driver holds its fence but has
// mirrored nothing, and resyncs (SYNC_KRAFT_TO_ZK, SyncOps) until it works.
func TestMigrationFinishesPendingDeletions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stray bool
	}{
		{"with the load's offset", false},
		{"by the resync after a failed write", true},
	} {
		t.Run(tc.name, func(t *testing.T) { testPendingDeletions(t, tc.stray) })
	}
}

func testPendingDeletions(t *testing.T, stray bool) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	b1 := zkBroker(t, srv.Addr, chroot, 1)
	b2 := zkBroker(t, srv.Addr, chroot, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wait.For(t, 20*time.Second, "both brokers in broker 1's image", func() error {
		if n := b1.Image().BrokerCount(); n != 2 {
			return fmt.Errorf("%d brokers", n)
		}
		return nil
	})
	for _, spec := range []metadata.CreateTopicSpec{
		{Name: "keep", NumPartitions: 2, ReplicationFactor: 2},
		{Name: "doomed", NumPartitions: 2, ReplicationFactor: 2, Configs: map[string]string{"retention.ms": "60000"}},
	} {
		if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{spec}, false); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	wait.For(t, 20*time.Second, "topics in broker 2's image", func() error {
		for _, name := range []string{"keep", "doomed"} {
			if _, ok := b2.Image().Topic(name); !ok {
				return fmt.Errorf("no %s", name)
			}
		}
		return nil
	})
	keep, _ := b2.Image().Topic("keep")
	doomed, _ := b2.Image().Topic("doomed")
	conn := rawConn(t, srv)

	// Right after the takeover, the ZooKeeper controller is fenced: a
	// deletion queued now is never carried out by it. "half" is a topic a
	// broker wrote without an id or states, also queued; "ghost" is a
	// queue entry for a topic that is already gone.
	cfg := testDriverConfig(srv.Addr, chroot)
	cfg.AfterTakeover = func(context.Context) {
		for _, p := range []string{zk.DeleteTopicPath("doomed"), zk.DeleteTopicPath("half"), zk.DeleteTopicPath("ghost")} {
			if _, err := conn.Create(chroot+p, nil, 0, newSession(conn, chroot).acl); err != nil {
				t.Errorf("create %s: %v", p, err)
			}
		}
		half := []byte(`{"version":1,"partitions":{"0":[1,2]}}`) // as an old tool writes it
		if _, err := conn.Create(chroot+zk.TopicPath("half"), half, 0, newSession(conn, chroot).acl); err != nil {
			t.Errorf("create half: %v", err)
		}
		if stray {
			if _, err := conn.Create(chroot+zk.PartitionPath("doomed", 7), nil, 0, newSession(conn, chroot).acl); err != nil {
				t.Errorf("create the stray partition znode: %v", err)
			}
		}
	}
	drv, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	node := controllerNode(t, b1.ClusterID(), drv)
	if err := drv.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	for _, id := range []int32{1, 2} {
		if _, err := node.RegisterBroker(ctx, metadata.BrokerRegistration{ID: id, IncarnationID: metadata.RandomUuid(),
			IsMigratingZkBroker: true, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if stray {
		wait.For(t, 30*time.Second, "resyncing after the failed write", func() error {
			if s := drv.State(); s != SyncKRaftToZk || node.Image().ZkMigrationState() != metadata.ZkMigrationMigration {
				return fmt.Errorf("driver %s, log %s", s, StateName(node.Image().ZkMigrationState()))
			}
			return nil
		})
		if err := conn.Delete(chroot+zk.PartitionPath("doomed", 7), -1); err != nil {
			t.Fatal(err)
		}
	}
	wait.For(t, 30*time.Second, "dual-write", func() error {
		if s := drv.State(); s != DualWrite {
			return fmt.Errorf("driver %s", s)
		}
		return nil
	})

	img := node.Image()
	if k, ok := img.Topic("keep"); !ok || k.ID != keep.ID {
		t.Fatalf("keep after the load: %v %+v", ok, k)
	}
	for _, name := range []string{"doomed", "half", "ghost"} {
		if _, ok := img.Topic(name); ok {
			t.Fatalf("%s, queued for deletion, is live in the log after the load", name)
		}
	}
	if _, ok := img.TopicByID(doomed.ID); ok {
		t.Fatal("doomed's topic id is live in the log")
	}
	if len(img.Configs(metadata.TopicResource, "doomed")) != 0 {
		t.Fatal("doomed's configs are in the log")
	}
	// ZooKeeper: the deletions are finished, the queue is empty, and the
	// ZooKeeper-mode brokers (which follow the tree) dropped the topic.
	for _, p := range []string{zk.TopicPath("doomed"), zk.TopicConfigPath("doomed"), zk.TopicPath("half"), zk.TopicPath("keep")} {
		ok, _, err := conn.Exists(chroot + p)
		if err != nil {
			t.Fatal(err)
		}
		if want := p == zk.TopicPath("keep"); ok != want {
			t.Fatalf("%s exists = %v after the migration, want %v", p, ok, want)
		}
	}
	if queued, _, err := conn.Children(chroot + zk.DeleteTopicsPath); err != nil || len(queued) != 0 {
		t.Fatalf("/admin/delete_topics after the migration: %v (%v)", queued, err)
	}
	wait.For(t, 20*time.Second, "doomed gone from the ZooKeeper brokers", func() error {
		if _, ok := b2.Image().Topic("doomed"); ok {
			return errors.New("broker 2 still has doomed")
		}
		return nil
	})
	m, _, _, err := newSession(conn, chroot).readMigration()
	if err != nil || m.KRaftMetadataOffset != img.Offset() {
		t.Fatalf("/migration %+v (%v): want the load's offset %d", m, err, img.Offset())
	}

	// The name is free: created again through the quorum, it gets a new id
	// and is dual-written.
	for _, id := range []int32{1, 2} {
		if err := node.UnfenceBroker(ctx, id, mustBroker(t, node.Image(), id).Epoch); err != nil {
			t.Fatal(err)
		}
	}
	if errs := node.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "doomed", NumPartitions: 1, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	again, _ := node.Image().Topic("doomed")
	if again.ID == doomed.ID {
		t.Fatal("the re-created topic has the deleted topic's id")
	}
	wait.For(t, 20*time.Second, "the new doomed in the ZooKeeper brokers' image", func() error {
		zt, ok := b2.Image().Topic("doomed")
		if !ok || zt.ID != again.ID || zt.NumPartitions() != 1 {
			return fmt.Errorf("broker 2: %v %+v", ok, zt)
		}
		return nil
	})
}
