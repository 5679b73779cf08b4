package broker

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/metadata/wait"
)

// edgeTopic creates topic with 1 KiB segments and n one-record batches
// "v000".."v<n-1>" (about 80 bytes each), so it spans many segments.
func edgeTopic(t *testing.T, h *harness, cl *kgo.Client, topic string, n int) {
	t.Helper()
	h.createTopic(cl, topic, 1, map[string]string{"segment.bytes": "1024"})
	for i := 0; i < n; i++ {
		h.produceBatches(topic, plain(int64(i+1), fmt.Sprintf("v%03d", i)))
	}
	l, ok := h.logs.Get(topic, 0)
	if !ok || l.NumSegments() < 4 {
		t.Fatalf("%s: want several segments", topic)
	}
}

// fetchParts builds one fetch of several (topic, offset, partition max
// bytes) partitions at v12.
func fetchParts(maxBytes int32, parts ...struct {
	topic  string
	offset int64
	max    int32
}) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes, req.SessionEpoch = 12, -1, maxBytes, -1
	for _, p := range parts {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = p.topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes = p.offset, p.max
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

type part = struct {
	topic  string
	offset int64
	max    int32
}

// fileFetch calls the handler and returns the un-materialized answer.
func fileFetch(t *testing.T, h *harness, req *kmsg.FetchRequest) *network.FileResponse {
	t.Helper()
	resp, err := h.b.Handle(ctxT(t), &network.Request{APIKey: req.Key(), Version: req.Version, Body: req, Listener: "PLAINTEXT"})
	if err != nil {
		t.Fatal(err)
	}
	fr, ok := resp.(*network.FileResponse)
	if !ok {
		t.Fatalf("fetch answered with %T, want a *network.FileResponse", resp)
	}
	return fr
}

// TestFetchEdges: max_bytes and partition_max_bytes, KIP-74's first batch
// over the limit, a fetch spanning segments, a topic deleted while an
// answer holds its segments, and a log truncated under a held answer.
func TestFetchEdges(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	edgeTopic(t, h, cl, "edge", 60)
	h.createTopic(cl, "big", 1, nil)
	h.produceBatches("big", plain(1, strings.Repeat("x", 5000)))
	fetch := func(req *kmsg.FetchRequest) *kmsg.FetchResponse { return h.handle(req).(*kmsg.FetchResponse) }

	// One fetch spans every segment.
	r := fetch(fetchParts(1<<20, part{"edge", 0, 1 << 20}))
	if n := countRecords(t, r.Topics[0].Partitions[0].RecordBatches); n != 60 {
		t.Fatalf("spanning fetch: %d records, want 60", n)
	}
	// Partition max bytes bounds each partition; max_bytes the whole; the
	// second partition's batch does not fit what is left: it comes empty.
	r = fetch(fetchParts(1000, part{"edge", 0, 300}, part{"big", 0, 1 << 20}))
	e, b := r.Topics[0].Partitions[0], r.Topics[1].Partitions[0]
	if len(e.RecordBatches) == 0 || len(e.RecordBatches) > 300 || countRecords(t, e.RecordBatches) < 2 {
		t.Fatalf("partition max 300: %d bytes", len(e.RecordBatches))
	}
	if len(b.RecordBatches) != 0 || b.ErrorCode != 0 {
		t.Fatalf("a batch over what max_bytes leaves: %d bytes, code %d", len(b.RecordBatches), b.ErrorCode)
	}
	// KIP-74: the first partition with data returns its first batch whole,
	// whatever the limits.
	r = fetch(fetchParts(10, part{"big", 0, 10}, part{"edge", 0, 1 << 20}))
	if b := r.Topics[0].Partitions[0]; countRecords(t, b.RecordBatches) != 1 || len(b.RecordBatches) < 5000 {
		t.Fatalf("KIP-74: %d bytes", len(b.RecordBatches))
	}
	if e := r.Topics[1].Partitions[0]; len(e.RecordBatches) != 0 {
		t.Fatalf("past max_bytes after the first batch: %d bytes", len(e.RecordBatches))
	}

	// kgo (fetch sessions, sendfile) with small limits reads every record in
	// order across the segments.
	cons := h.client(kgo.ConsumeTopics("edge"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(400), kgo.FetchMaxPartitionBytes(250))
	var got []string
	ctx, cancel := context.WithTimeout(ctxT(t), 30*time.Second)
	for len(got) < 60 && ctx.Err() == nil {
		cons.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	cancel()
	for i := 0; i < 60; i++ {
		if i >= len(got) || got[i] != fmt.Sprintf("v%03d", i) {
			t.Fatalf("kgo read %d records; record %d wrong: %v", len(got), i, got)
		}
	}

	// The topic is deleted while an answer holds its segments: the answer
	// still sends what it read.
	held := fileFetch(t, h, fetchParts(1<<20, part{"edge", 0, 1 << 20}))
	if errs := h.ctrl.DeleteTopics(ctxT(t), []string{"edge"}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.Until(t, 10*time.Second, "edge log deleted", func() bool { _, ok := h.logs.Get("edge", 0); return !ok })
	m, err := held.Materialize()
	if err != nil {
		t.Fatalf("held answer after delete: %v", err)
	}
	if n := countRecords(t, m.(*kmsg.FetchResponse).Topics[0].Partitions[0].RecordBatches); n != 60 {
		t.Fatalf("held answer after delete: %d records", n)
	}

	// Truncation (a follower cutting to its leader's epoch end) under a held
	// answer: it reads short and fails rather than sending other bytes; a
	// new fetch sees the cut log, and past its end OFFSET_OUT_OF_RANGE.
	edgeTopic(t, h, cl, "trunc", 60)
	held = fileFetch(t, h, fetchParts(1<<20, part{"trunc", 0, 1 << 20}))
	l, _ := h.logs.Get("trunc", 0)
	if err := l.TruncateTo(45); err != nil {
		t.Fatal(err)
	}
	if _, err := held.Materialize(); !errors.Is(err, network.ErrShortRegion) {
		t.Fatalf("held answer after truncation: %v, want ErrShortRegion", err)
	}
	if n := countRecords(t, fetch(fetchParts(1<<20, part{"trunc", 0, 1 << 20})).Topics[0].Partitions[0].RecordBatches); n != 45 {
		t.Fatalf("after truncation: %d records, want 45", n)
	}
	if p := fetch(fetchParts(1<<20, part{"trunc", 50, 1 << 20})).Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("past the cut: code %d", p.ErrorCode)
	}
}

// TestKcatFetchEdges: librdkafka (kcat) reads a topic spanning many
// segments from the beginning with a partition limit below one fetch.
func TestKcatFetchEdges(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed")
	}
	h := newHarness(t, nil)
	cl := h.client()
	edgeTopic(t, h, cl, "kedge", 60)
	h.createTopic(cl, "kbig", 1, nil)
	big := strings.Repeat("y", 20000)
	h.produceBatches("kbig", plain(1, big), plain(2, "after"))
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, kcat, append([]string{"-b", h.addr.String()}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kcat %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("-C", "-t", "kedge", "-o", "beginning", "-e", "-f", "%o:%s\n", "-X", "fetch.message.max.bytes=200")
	var want strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&want, "%d:v%03d\n", i, i)
	}
	if !strings.Contains(out, want.String()) {
		t.Fatalf("kcat across segments:\n%s", out)
	}
	// KIP-74: a batch larger than fetch.message.max.bytes still arrives.
	out = run("-C", "-t", "kbig", "-o", "beginning", "-e", "-f", "%o:%S\n", "-X", "fetch.message.max.bytes=1000")
	if !strings.Contains(out, "0:20000\n1:5\n") {
		t.Fatalf("kcat with a batch over the partition limit:\n%s", out)
	}
}
