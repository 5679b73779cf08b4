package main

import (
	"testing"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
)

// TestSnapshotRetainKey: zkraft.metadata.snapshot.retain keeps that many
// snapshots and the log back to the oldest of them (issue 18: time travel
// across snapshots).
func TestSnapshotRetainKey(t *testing.T) {
	for _, tc := range []struct {
		overrides   []string
		retain      int
		minTrailing uint64
	}{
		{nil, 2, 10240},
		{[]string{"zkraft.metadata.snapshot.retain=5"}, 5, 5 * 8192},
	} {
		cfg, err := config.Load("", tc.overrides) // the embedded default + overrides
		if err != nil {
			t.Fatal(err)
		}
		ctrl, _ := cfg.ControllerListener()
		q := quorumConfig(cfg, ctrl)
		if q.SnapshotRetain != tc.retain || q.TrailingLogs < tc.minTrailing || q.TrailingLogs < uint64(q.SnapshotRetain)*q.SnapshotThreshold {
			t.Errorf("%v: retain %d, trailing logs %d (threshold %d); want retain %d and the log behind all of them",
				tc.overrides, q.SnapshotRetain, q.TrailingLogs, q.SnapshotThreshold, tc.retain)
		}
	}
	if _, err := config.Load("", []string{"zkraft.metadata.snapshot.retain=0"}); err == nil {
		t.Error("zkraft.metadata.snapshot.retain=0 accepted")
	}
}
