package broker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

// sessionFetch builds a fetch of partitions 0..n-1 of topic at offsets.
func sessionFetch(version int16, topic string, id [16]byte, sessionID, epoch int32, offsets map[int32]int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes = version, -1, 1<<20
	req.SessionID, req.SessionEpoch = sessionID, epoch
	if len(offsets) > 0 {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, id
		for p := int32(0); p < 64; p++ {
			off, ok := offsets[p]
			if !ok {
				continue
			}
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// partitionsOf lists the partitions a fetch answer holds, with their codes.
func partitionsOf(resp *kmsg.FetchResponse) map[int32]kmsg.FetchResponseTopicPartition {
	out := map[int32]kmsg.FetchResponseTopicPartition{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[p.Partition] = p
		}
	}
	return out
}

// TestFetchSessions walks KIP-227 at v12 (names) and v13 (ids): a full
// fetch with epoch 0 creates a session; incremental fetches carry only
// changes and answer only partitions with news; wrong epochs and unknown
// ids get their codes; forgotten partitions leave; epoch -1 closes it.
func TestFetchSessions(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	h.createTopic(cl, "s", 3, nil)
	ti, _ := h.b.Image().Topic("s")
	for _, version := range []int16{12, 13} {
		name := "s"
		if version >= 13 {
			name = ""
		}
		fetch := func(req *kmsg.FetchRequest) *kmsg.FetchResponse { return h.handle(req).(*kmsg.FetchResponse) }
		offs := map[int32]int64{}
		for p := int32(0); p < 3; p++ {
			l, _ := h.logs.Get("s", p)
			offs[p] = l.LogEndOffset()
		}
		full := fetch(sessionFetch(version, name, ti.ID, 0, 0, offs))
		if full.ErrorCode != 0 || full.SessionID == 0 || len(partitionsOf(full)) != 3 {
			t.Fatalf("v%d full: code %d session %d, %d partitions", version, full.ErrorCode, full.SessionID, len(partitionsOf(full)))
		}
		id := full.SessionID
		// Nothing changed: an empty answer.
		if r := fetch(sessionFetch(version, name, ti.ID, id, 1, nil)); r.ErrorCode != 0 || r.SessionID != id || len(r.Topics) != 0 {
			t.Fatalf("v%d incremental, no news: code %d session %d topics %d", version, r.ErrorCode, r.SessionID, len(r.Topics))
		}
		// The same epoch again is refused; an unknown id too.
		if r := fetch(sessionFetch(version, name, ti.ID, id, 1, nil)); r.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
			t.Fatalf("v%d replayed epoch: code %d", version, r.ErrorCode)
		}
		if r := fetch(sessionFetch(version, name, ti.ID, id+1, 1, nil)); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
			t.Fatalf("v%d unknown session: code %d", version, r.ErrorCode)
		}
		// Records on partition 1: only it answers, with its records, though
		// the request names no partition (the session has its offset).
		produceTo(t, cl, "s", 1, "x", "y")
		r := fetch(sessionFetch(version, name, ti.ID, id, 2, nil))
		ps := partitionsOf(r)
		if p, ok := ps[1]; len(ps) != 1 || !ok || countRecords(t, p.RecordBatches) != 2 || p.HighWatermark != offs[1]+2 {
			t.Fatalf("v%d incremental with records: %+v", version, ps)
		}
		// The client moves partition 1 on and forgets partition 2.
		req := sessionFetch(version, name, ti.ID, id, 3, map[int32]int64{1: offs[1] + 2})
		fg := kmsg.NewFetchRequestForgottenTopic()
		fg.Topic, fg.TopicID, fg.Partitions = name, ti.ID, []int32{2}
		req.ForgottenTopics = append(req.ForgottenTopics, fg)
		if r := fetch(req); r.ErrorCode != 0 || len(r.Topics) != 0 {
			t.Fatalf("v%d after moving on: %d topics", version, len(r.Topics))
		}
		produceTo(t, cl, "s", 2, "z")
		produceTo(t, cl, "s", 0, "w")
		ps = partitionsOf(fetch(sessionFetch(version, name, ti.ID, id, 4, nil)))
		if _, ok := ps[2]; ok || len(ps) != 1 || countRecords(t, ps[0].RecordBatches) != 1 {
			t.Fatalf("v%d forgotten partition answered, or partition 0 missing: %+v", version, ps)
		}
		// Epoch -1 closes the session and fetches in full, sessionless.
		if r := fetch(sessionFetch(version, name, ti.ID, id, -1, offs)); r.SessionID != 0 || len(partitionsOf(r)) != 3 {
			t.Fatalf("v%d close: session %d", version, r.SessionID)
		}
		if r := fetch(sessionFetch(version, name, ti.ID, id, 5, nil)); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
			t.Fatalf("v%d closed session still answers: %d", version, r.ErrorCode)
		}
	}
}

// produceTo writes values to one partition (cl must use kgo.ManualPartitioner).
func produceTo(t *testing.T, cl *kgo.Client, topic string, partition int32, values ...string) {
	t.Helper()
	for _, v := range values {
		r := &kgo.Record{Topic: topic, Partition: partition, Value: []byte(v)}
		if err := cl.ProduceSync(ctxT(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFetchSessionEviction: with max.incremental.fetch.session.cache.slots
// = 1 a smaller session gets none, a larger one evicts, a follower's
// session evicts a consumer's and a consumer's never a follower's.
func TestFetchSessionEviction(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.FetchSessionCacheSlots = 1 })
	cl := h.client()
	h.createTopic(cl, "ev", 3, nil)
	fetch := func(req *kmsg.FetchRequest) *kmsg.FetchResponse { return h.handle(req).(*kmsg.FetchResponse) }
	two := fetch(sessionFetch(12, "ev", [16]byte{}, 0, 0, map[int32]int64{0: 0, 1: 0}))
	if two.SessionID == 0 {
		t.Fatal("no session with a free slot")
	}
	if one := fetch(sessionFetch(12, "ev", [16]byte{}, 0, 0, map[int32]int64{0: 0})); one.SessionID != 0 {
		t.Fatal("a smaller session evicted a larger one")
	}
	three := fetch(sessionFetch(12, "ev", [16]byte{}, 0, 0, map[int32]int64{0: 0, 1: 0, 2: 0}))
	if three.SessionID == 0 {
		t.Fatal("a larger session did not evict a smaller one")
	}
	if r := fetch(sessionFetch(12, "ev", [16]byte{}, two.SessionID, 1, nil)); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("evicted session answers: %d", r.ErrorCode)
	}
	freq := sessionFetch(12, "ev", [16]byte{}, 0, 0, map[int32]int64{0: 0})
	freq.ReplicaID = 2
	follower := fetch(freq)
	if follower.SessionID == 0 {
		t.Fatal("a follower's session did not evict a consumer's")
	}
	if c := fetch(sessionFetch(12, "ev", [16]byte{}, 0, 0, map[int32]int64{0: 0, 1: 0, 2: 0})); c.SessionID != 0 {
		t.Fatal("a consumer's session evicted a follower's")
	}
	// Idle past min.incremental.fetch.session.eviction.ms, anyone may evict it.
	h.b.fetchSessions.mu.Lock()
	h.b.fetchSessions.now = func() time.Time { return time.Now().Add(fetchSessionEvictionAge + time.Minute) }
	h.b.fetchSessions.mu.Unlock()
	if c := fetch(sessionFetch(12, "ev", [16]byte{}, 0, 0, map[int32]int64{0: 0})); c.SessionID == 0 {
		t.Fatal("a stale session was not evicted")
	}
	if n := h.b.fetchSessions.len(); n != 1 {
		t.Fatalf("%d sessions cached, slots 1", n)
	}
}

// TestFetchSessionLeadershipChange: a partition that moves away while in a
// session answers NOT_LEADER_OR_FOLLOWER in the next incremental fetch,
// the others keep answering, and it stops once the client forgets it.
func TestFetchSessionLeadershipChange(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	h.ctrl.register(t, 2, nil)
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "moving", -1, -1
	for p := int32(0); p < 2; p++ {
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = p, []int32{1, 2}
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	}
	req.Topics = append(req.Topics, rt)
	if resp, err := req.RequestWith(ctxT(t), cl); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, resp)
	}
	ti, _ := h.b.Image().Topic("moving")
	fetch := func(req *kmsg.FetchRequest) *kmsg.FetchResponse { return h.handle(req).(*kmsg.FetchResponse) }
	full := fetch(sessionFetch(13, "", ti.ID, 0, 0, map[int32]int64{0: 0, 1: 0}))
	if full.SessionID == 0 || len(partitionsOf(full)) != 2 {
		t.Fatalf("full: %+v", full)
	}
	ch := metadata.NewPartitionChangeRecord(ti.ID, 1)
	ch.Leader, ch.ISR = 2, []int32{2}
	h.ctrl.mu.Lock()
	err := h.ctrl.applyLocked([]metadata.Record{ch})
	h.ctrl.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	ps := partitionsOf(fetch(sessionFetch(13, "", ti.ID, full.SessionID, 1, nil)))
	if p, ok := ps[1]; len(ps) != 1 || !ok || p.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("after the move: %+v", ps)
	}
	h.produceBatches("moving", plain(1, "a")) // partition 0, through the handler
	forget := sessionFetch(13, "", ti.ID, full.SessionID, 2, nil)
	fg := kmsg.NewFetchRequestForgottenTopic()
	fg.TopicID, fg.Partitions = ti.ID, []int32{1}
	forget.ForgottenTopics = append(forget.ForgottenTopics, fg)
	ps = partitionsOf(fetch(forget))
	if p, ok := ps[0]; len(ps) != 1 || !ok || p.ErrorCode != 0 || countRecords(t, p.RecordBatches) != 1 {
		t.Fatalf("after forgetting the moved partition: %+v", ps)
	}
}

// TestFetchSessionsWithKgo: franz-go consumers use sessions by default;
// several consumers read every record of many partitions through
// incremental fetches while producing continues.
func TestFetchSessionsWithKgo(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "kgo-sess", 8, nil)
	const n = 400
	for i := 0; i < n; i++ {
		cl.Produce(ctxT(t), &kgo.Record{Topic: "kgo-sess", Partition: int32(i % 8), Value: []byte{byte(i)}}, nil)
	}
	if err := cl.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 2; c++ {
		cons := h.client(kgo.ConsumeTopics("kgo-sess"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxBytes(2000), kgo.FetchMaxPartitionBytes(500))
		seen := map[[2]int64]bool{}
		ctx, cancel := context.WithTimeout(ctxT(t), 60*time.Second)
		for len(seen) < n && ctx.Err() == nil {
			fs := cons.PollFetches(ctx)
			fs.EachError(func(_ string, _ int32, err error) {
				if ctx.Err() == nil {
					t.Errorf("consumer %d: %v", c, err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) { seen[[2]int64{int64(r.Partition), r.Offset}] = true })
		}
		cancel()
		if len(seen) != n {
			t.Fatalf("consumer %d read %d distinct records, want %d", c, len(seen), n)
		}
	}
	if h.b.fetchSessions.len() == 0 {
		t.Fatal("kgo consumers made no fetch session")
	}
}

// notifiedReplication is localReplication with its HighWatermarkNotifier
// counted, so a test can see a long poll parked on the shared channel.
type notifiedReplication struct {
	localReplication
	waits atomic.Int64
}

func (r *notifiedReplication) NotifyHighWatermark(topic string, partition int32, l *storage.Log, past int64, ch chan<- struct{}) func() {
	r.waits.Add(1)
	return r.localReplication.NotifyHighWatermark(topic, partition, l, past, ch)
}

// TestFetchLongPollNotify: a long poll over many partitions parks on one
// shared channel (HighWatermarkNotifier) and wakes when any of them gets
// records, long before max_wait_ms.
func TestFetchLongPollNotify(t *testing.T) {
	repl := &notifiedReplication{localReplication: localReplication{nodeID: 1}}
	h := newHarness(t, nil, WithReplication(repl))
	cl := h.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	h.createTopic(cl, "lpn", 50, nil)
	offs := map[int32]int64{}
	for p := int32(0); p < 50; p++ {
		offs[p] = 0
	}
	ti, _ := h.b.Image().Topic("lpn")
	req := sessionFetch(13, "", ti.ID, 0, -1, offs) // kgo sends its newest version: topics by id
	req.MinBytes, req.MaxWaitMillis = 1, 600_000
	done := make(chan *kmsg.FetchResponse, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl.Broker(1))
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	wait.Until(t, 20*time.Second, "fetch parked on 50 partitions", func() bool {
		select {
		case r := <-done:
			t.Fatalf("fetch returned before data: %+v", r)
		default:
		}
		return repl.waits.Load() >= 50
	})
	produceTo(t, cl, "lpn", 37, "wake")
	resp := <-done
	if resp == nil {
		t.Fatal("no answer")
	}
	if p := partitionsOf(resp)[37]; countRecords(t, p.RecordBatches) != 1 {
		t.Fatalf("partition 37: %+v", p)
	}
}
