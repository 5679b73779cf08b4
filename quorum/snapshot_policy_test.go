package quorum

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

// lastSnapshotIndex is raft's index of node n's latest snapshot (0: none).
func lastSnapshotIndex(t testing.TB, n *Node) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(n.raft.Load().Stats()["last_snapshot_index"], 10, 64)
	if err != nil {
		t.Fatalf("last_snapshot_index: %v", err)
	}
	return v
}

// TestSnapshotPolicy: the decision alone, on a fake clock. Kafka's
// SnapshotGenerator: bytes since the last snapshot reach the maximum, or
// the interval passed and there are new records; 0 disables the interval.
func TestSnapshotPolicy(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name     string
		maxBytes int64
		interval time.Duration
		applied  []int
		after    time.Duration
		want     bool
	}{
		{"nothing applied", 100, time.Hour, nil, 2 * time.Hour, false},
		{"below the bytes", 100, time.Hour, []int{40, 59}, time.Minute, false},
		{"reaches the bytes", 100, time.Hour, []int{40, 60}, time.Minute, true},
		{"interval with records", 100, time.Hour, []int{1}, time.Hour, true},
		{"interval disabled", 100, 0, []int{1}, 100 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			cfg := DefaultConfig()
			cfg.SnapshotMaxBytes, cfg.SnapshotMaxInterval = tc.maxBytes, tc.interval
			p := newSnapshotPolicy(cfg)
			p.now = func() time.Time { return now }
			p.taken() // at t0
			for _, n := range tc.applied {
				p.add(n)
			}
			now = now.Add(tc.after)
			if got := p.shouldSnapshot(now); got != tc.want {
				t.Fatalf("shouldSnapshot = %v, want %v", got, tc.want)
			}
			if tc.want {
				p.taken()
				if p.shouldSnapshot(now) {
					t.Fatal("still due right after a snapshot")
				}
			}
		})
	}
}

// commandBytes sums the data of node n's raft log commands at indexes
// 1..upTo: the record bytes its FSM applied up to there.
func commandBytes(t testing.TB, n *Node, upTo uint64) int64 {
	t.Helper()
	var sum int64
	for i := uint64(1); i <= upTo; i++ {
		var l raft.Log
		if err := n.store.GetLog(i, &l); err != nil {
			t.Fatalf("node %d: log entry %d: %v", n.cfg.NodeID, i, err)
		}
		if l.Type == raft.LogCommand {
			sum += int64(len(l.Data))
		}
	}
	return sum
}

// TestSnapshotAfterRecordBytes: with metadata.log.max.record.bytes.between.snapshots
// small, every voter of an in-memory cluster snapshots its image once the
// records applied since the last snapshot reach it, and not before (raft's
// own entry threshold and the interval are out of the way).
func TestSnapshotAfterRecordBytes(t *testing.T) {
	const maxBytes = 4096
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.SnapshotMaxBytes = maxBytes
		cfg.SnapshotMaxInterval = 0
	})
	c.registerBrokers(1, 2, 3)
	l := c.nodes[c.leader()]
	i := 0
	for ; commandBytes(t, l, l.raft.Load().LastIndex()) < maxBytes; i++ {
		c.createTopic(fmt.Sprintf("topic-%03d", i), 3)
	}
	for j, n := range c.nodes {
		var at uint64
		wait.Until(t, 20*time.Second, fmt.Sprintf("node %d to snapshot after %d topics", j+1, i), func() bool {
			at = lastSnapshotIndex(t, n)
			return at > 0
		})
		if b := commandBytes(t, n, at); b < maxBytes {
			t.Errorf("node %d snapshotted at index %d after %d bytes of records, want at least %d", j+1, at, b, maxBytes)
		}
	}
}

// TestSnapshotAfterInterval: metadata.log.max.snapshot.interval.ms snapshots
// records applied since the last snapshot once the interval has passed,
// however few bytes they are.
func TestSnapshotAfterInterval(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) { cfg.SnapshotMaxInterval = 50 * time.Millisecond })
	c.registerBrokers(1)
	c.createTopic("one", 1)
	n := c.nodes[0]
	wait.Until(t, 20*time.Second, "a snapshot after the interval", func() bool { return lastSnapshotIndex(t, n) > 0 })
}

// TestSnapshotWaitsForTransaction: records of an open metadata transaction
// (KIP-868) count toward the threshold, but the snapshot waits for the
// transaction to end (its records are not in the image before), and the
// entry that ends it brings the snapshot.
func TestSnapshotWaitsForTransaction(t *testing.T) {
	c := newCluster(t, 1, func(cfg *Config) {
		cfg.SnapshotMaxBytes = 256
		cfg.SnapshotMaxInterval = 0
	})
	n := c.nodes[c.leader()]
	id := metadata.RandomUuid()
	batch := func(recs ...metadata.Record) []byte { return metadata.AppendBatch(nil, recs) }
	applyRaw(t, n, batch(&metadata.BeginTransactionRecord{}, &metadata.TopicRecord{Name: "tx", TopicID: id}))
	for p := int32(0); n.snapPolicy.applied.Load() < 256; p++ {
		if got := lastSnapshotIndex(t, n); got != 0 {
			t.Fatalf("snapshot at index %d inside the open transaction", got)
		}
		applyRaw(t, n, batch(&metadata.PartitionRecord{PartitionID: p, TopicID: id, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}))
	}
	if !n.fsm.txIsOpen() {
		t.Fatal("transaction closed early")
	}
	end := applyRaw(t, n, batch(&metadata.EndTransactionRecord{}))
	if end.Err != nil {
		t.Fatal(end.Err)
	}
	wait.Until(t, 20*time.Second, "a snapshot after the transaction ended", func() bool { return lastSnapshotIndex(t, n) > 0 })
	if _, ok := n.Image().Topic("tx"); !ok {
		t.Fatal("topic of the transaction missing")
	}
}
