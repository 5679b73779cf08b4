package broker

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

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

// TestCompactCompressedBatchesFetch: a compacted topic written by lz4 and
// zstd producers is cleaned inside its batches; a consumer reading from
// offset 0 then sees exactly the latest value of each key, at the offset
// it was produced at.
func TestCompactCompressedBatchesFetch(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.client()
	h.createTopic(admin, "cz", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "4096"})
	type pos struct {
		off   int64
		value string
	}
	latest := map[string]pos{}
	produced := 0
	for round := 0; round < 6; round++ {
		codec := kgo.Lz4Compression()
		if round == 3 {
			codec = kgo.ZstdCompression()
		}
		cl := h.client(kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic("cz"))
		var recs []*kgo.Record
		for k := 0; k < 8; k++ {
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", k)), Value: []byte(strings.Repeat(fmt.Sprintf("v%d-%d ", k, round), 20))})
		}
		if round%2 == 1 { // half the keys in odd rounds only
			recs = recs[:4]
		}
		res := cl.ProduceSync(ctxT(t), recs...)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			latest[string(r.Record.Key)] = pos{r.Record.Offset, string(r.Record.Value)}
			produced++
		}
	}
	// A record no lz4 can shrink, too big to share the segment: the last
	// segment before it is below the active one and cleanable.
	big := make([]byte, 3500)
	rand.New(rand.NewSource(1)).Read(big)
	cl := h.client(kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.DefaultProduceTopic("cz"))
	res := cl.ProduceSync(ctxT(t), &kgo.Record{Key: []byte("end"), Value: big})
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	latest["end"] = pos{res[0].Record.Offset, string(big)}
	produced++

	l, ok := h.logs.Get("cz", 0)
	if !ok {
		t.Fatal("no log")
	}
	if l.NumSegments() < 2 {
		t.Fatalf("%d segments, want the big record in its own", l.NumSegments())
	}
	l.SetHighWatermark(l.LogEndOffset()) // the harness has no replica manager to move it
	first, err := l.Read(0, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	if fh, err := storage.ParseBatchHeader(first); err != nil || kgo.CompressionCodecType(fh.Attributes&7) != kgo.CodecLz4 {
		t.Fatalf("first stored batch %+v (%v), want lz4", fh, err)
	}
	st, err := l.Compact(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != int64(produced-1) || st.Kept != int64(len(latest)-1) {
		t.Fatalf("cleaning %+v, want %d records read and %d kept", st, produced-1, len(latest)-1)
	}

	cons := h.client(kgo.ConsumeTopics("cz"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]pos{}
	for seen["end"].value == "" {
		fs := cons.PollFetches(ctxT(t))
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := string(r.Key)
			if _, dup := seen[k]; dup {
				t.Errorf("key %s read twice (offsets %d and %d)", k, seen[k].off, r.Offset)
			}
			seen[k] = pos{r.Offset, string(r.Value)}
		})
	}
	if !reflect.DeepEqual(seen, latest) {
		t.Fatalf("consumed %v, want %v", seen, latest)
	}
}
