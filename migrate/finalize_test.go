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

// TestRollbackRefusedAfterFinalize (issue 13 part 1): once the migration is
// finalized, ZooKeeper stops at the finalize while the log goes on, so a
// rollback would hand the cluster to ZooKeeper-mode brokers on a stale
// tree. Finalize records that in ZooKeeper (FinalizedPath, written behind
// the takeover's fence before POST_MIGRATION is appended), and Rollback
// refuses with ErrFinalized, leaving /controller, /migration and
// /controller_epoch as they were.
func TestRollbackRefusedAfterFinalize(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	zkBroker(t, srv.Addr, chroot, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := rawConn(t, srv)
	cid, _, err := conn.Get(chroot + zk.ClusterIDPath)
	if err != nil {
		t.Fatal(err)
	}
	clusterID, err := zk.DecodeClusterID(cid)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := New(testDriverConfig(srv.Addr, chroot), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	node := controllerNode(t, clusterID, drv)
	if err := drv.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	wait.For(t, 20*time.Second, "PRE_MIGRATION", func() error {
		if s := node.Image().ZkMigrationState(); s != metadata.ZkMigrationPreMigration {
			return fmt.Errorf("state %s", StateName(s))
		}
		return nil
	})
	if _, err := node.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 1, IncarnationID: metadata.RandomUuid(),
		IsMigratingZkBroker: true, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9001}}}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 30*time.Second, "dual-write", func() error {
		if drv.State() != DualWrite {
			return fmt.Errorf("driver %s", drv.State())
		}
		return nil
	})
	if fin, err := Finalized(conn, chroot); err != nil || fin != nil {
		t.Fatalf("finalized before finalize: %+v %v", fin, err)
	}
	if err := RequestFinalize(conn, chroot); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, "POST_MIGRATION", func() error {
		if s := node.Image().ZkMigrationState(); s != metadata.ZkMigrationPostMigration {
			return fmt.Errorf("state %s", StateName(s))
		}
		return nil
	})
	fin, err := Finalized(conn, chroot)
	if err != nil || fin == nil || fin.KRaftControllerID != 3000 {
		t.Fatalf("finalize marker: %+v %v", fin, err)
	}
	drv.Close()
	epoch := readEpoch(t, conn, chroot)
	_, err = Rollback(ctx, conn, chroot, 4)
	if !errors.Is(err, ErrFinalized) {
		t.Fatalf("rollback after finalize: %v, want ErrFinalized", err)
	}
	if c, _ := readController(t, conn, chroot); !c.IsKRaft() {
		t.Fatalf("/controller after the refused rollback: %+v", c)
	}
	if ok, _, _ := conn.Exists(chroot + zk.MigrationPath); !ok {
		t.Fatal("/migration deleted by the refused rollback")
	}
	if e := readEpoch(t, conn, chroot); e != epoch {
		t.Fatalf("/controller_epoch %d -> %d by the refused rollback", epoch, e)
	}
}

// TestDriverMarksFinalizedLog: a migrating controller that finds the log
// already in POST_MIGRATION (finalized by a controller restarted without
// the ZooKeeper keys) writes the marker too, leader or not, so a later
// rollback is refused.
func TestDriverMarksFinalizedLog(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	conn := rawConn(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	drv, err := New(testDriverConfig(srv.Addr, chroot), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	node := controllerNode(t, "vp10JlDESliyXcs4B4Tllw", drv)
	// The log as a finalized migration leaves it.
	for _, s := range []int8{metadata.ZkMigrationPreMigration, metadata.ZkMigrationMigration, metadata.ZkMigrationPostMigration} {
		if _, err := node.AppendRecords(ctx, "test", nil, []metadata.Record{&metadata.ZkMigrationStateRecord{ZkMigrationState: s}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := drv.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	wait.For(t, 20*time.Second, "finalize marker", func() error {
		fin, err := Finalized(conn, chroot)
		if err != nil || fin == nil {
			return fmt.Errorf("marker %+v: %v", fin, err)
		}
		return nil
	})
	if _, err := Rollback(ctx, conn, chroot, 4); !errors.Is(err, ErrFinalized) {
		t.Fatalf("rollback: %v, want ErrFinalized", err)
	}
}
