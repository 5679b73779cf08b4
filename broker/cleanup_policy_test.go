package broker

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/broker/storage"
)

// TestCleanupPolicyReachesLogs checks that cleanup.policy,
// delete.retention.ms and min.cleanable.dirty.ratio overrides reach the
// partition logs, and that a compacted topic refuses keyless records.
func TestCleanupPolicyReachesLogs(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "compacted", 1, map[string]string{
		"cleanup.policy": "compact", "delete.retention.ms": "5000", "min.cleanable.dirty.ratio": "0.25",
	})
	l, ok := h.logs.Get("compacted", 0)
	if !ok {
		t.Fatal("no log")
	}
	if c := l.Config(); !c.Compacts() || c.Deletes() || c.DeleteRetentionMs != 5000 || c.MinCleanableDirtyRatio != 0.25 {
		t.Fatalf("log config %+v", c)
	}
	err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "compacted", Value: []byte("no key")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("keyless produce to a compacted topic: %v, want INVALID_RECORD", err)
	}
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "compacted", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("keyed produce: %v", err)
	}

	// Removing the override restores the defaults.
	h.ctrl.setTopicConfig(t, "compacted", "cleanup.policy", nil)
	if c := l.Config(); c.Compacts() || !c.Deletes() || c.CleanupPolicy != storage.PolicyDelete {
		t.Fatalf("after override removal: %+v", c)
	}
}
