package migrate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestTakeoverFencesOlderController: a second takeover (a new raft leader)
// fences the first: its dual-write fails with ErrControllerMoved and
// writes nothing; a takeover with a lower kraftControllerEpoch than the
// one in /controller is refused; rollback fences a live writer too.
func TestTakeoverFencesOlderController(t *testing.T) {
	srv := zktest.Start(t)
	conn := rawConn(t, srv)
	s := newSession(conn, "")
	if err := s.createTopLevelPaths(); err != nil {
		t.Fatal(err)
	}
	old, err := s.takeover(1, 5, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	op := func(path string) []zk.Op {
		return []zk.Op{{Kind: zk.OpCreate, Path: path, Data: []byte("x"), Tolerant: true}}
	}
	if err := s.writeFenced(old, op("/a"), 10, 5, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := s.takeover(2, 4, time.Now()); !errors.Is(err, ErrControllerMoved) {
		t.Fatalf("takeover with a lower epoch: %v", err)
	}
	cur, err := s.takeover(2, 6, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cur.zkEpoch != old.zkEpoch+1 {
		t.Fatalf("zk epochs %d then %d", old.zkEpoch, cur.zkEpoch)
	}
	if err := s.writeFenced(old, op("/b"), 11, 5, 1000); !errors.Is(err, ErrControllerMoved) {
		t.Fatalf("zombie write: %v", err)
	}
	if ok, _, _ := conn.Exists("/b"); ok {
		t.Fatal("the fenced controller wrote /b")
	}
	// Many ops: several multis, replay-tolerant, /migration carries the offset.
	var ops []zk.Op
	for i := 0; i < 25; i++ {
		ops = append(ops, zk.Op{Kind: zk.OpCreate, Path: "/c" + string(rune('a'+i)), Data: []byte("y"), Tolerant: true})
	}
	ops = append(ops, op("/a")...) // exists: becomes a set
	if err := s.writeFenced(cur, ops, 12, 6, 5); err != nil {
		t.Fatal(err)
	}
	m, _, _, err := s.readMigration()
	if err != nil || m.KRaftMetadataOffset != 12 || m.KRaftControllerID != 2 || m.KRaftControllerEpoch != 6 {
		t.Fatalf("/migration %+v: %v", m, err)
	}
	// Rollback fences the live writer.
	if _, err := Rollback(context.Background(), conn, "", 4); err != nil {
		t.Fatal(err)
	}
	if err := s.writeFenced(cur, op("/d"), 13, 6, 1000); !errors.Is(err, ErrControllerMoved) {
		t.Fatalf("write after rollback: %v", err)
	}
}

// TestAppendTransactionAllOrNothing: a load whose records do not replay
// leaves the image untouched and no transaction open; the next load works.
func TestAppendTransactionAllOrNothing(t *testing.T) {
	node := controllerNode(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	foo := metadata.RandomUuid()
	bad := [][]metadata.Record{{&metadata.TopicRecord{Name: "foo", TopicID: foo}},
		{&metadata.PartitionRecord{TopicID: metadata.RandomUuid(), Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}}
	before := node.Image()
	if _, err := node.AppendTransaction(ctx, MigrationTransactionName, nil, bad, nil); err == nil {
		t.Fatal("a transaction with a partition of an unknown topic committed")
	}
	if node.Image().TopicCount() != before.TopicCount() {
		t.Fatal("part of a failed transaction was applied")
	}
	if _, err := node.AppendTransaction(ctx, "refused", func(*metadata.Image) error { return ErrWrongState }, bad, nil); !errors.Is(err, ErrWrongState) {
		t.Fatalf("check: %v", err)
	}
	var progress []int
	good := [][]metadata.Record{{&metadata.TopicRecord{Name: "foo", TopicID: foo}},
		{&metadata.PartitionRecord{TopicID: foo, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}},
		{&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationMigration}}}
	img, err := node.AppendTransaction(ctx, MigrationTransactionName, nil, good, func(done, _ int) { progress = append(progress, done) })
	if err != nil {
		t.Fatal(err)
	}
	if img.PartitionCount() != 1 || img.ZkMigrationState() != metadata.ZkMigrationMigration {
		t.Fatalf("image after the load: %d partitions, state %s", img.PartitionCount(), StateName(img.ZkMigrationState()))
	}
	if len(progress) == 0 || progress[len(progress)-1] != 3 {
		t.Fatalf("progress %v", progress)
	}
	// Finalize: only from MIGRATION, once.
	if err := Finalize(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := Finalize(ctx, node); !errors.Is(err, ErrWrongState) {
		t.Fatalf("second finalize: %v", err)
	}
}
