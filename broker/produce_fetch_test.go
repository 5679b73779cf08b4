package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata/wait"
)

// consumeN reads n records of topic from the start with a fresh consumer.
func (h *harness) consumeN(topic string, n int) []*kgo.Record {
	h.t.Helper()
	cl := h.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := ctxT(h.t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			h.t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(t string, p int32, err error) { h.t.Fatalf("fetch %s-%d: %v", t, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

// TestProduceConsumeAcks produces with every acks setting through franz-go
// and reads everything back in order.
func TestProduceConsumeAcks(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.client()
	h.createTopic(admin, "orders", 1, nil)

	cases := []struct {
		name string
		opts []kgo.Opt
	}{
		{"acks=all idempotent (default)", nil},
		{"acks=1", []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}},
		{"acks=0", []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}},
	}
	var want []string
	for _, c := range cases {
		cl := h.client(append([]kgo.Opt{kgo.DefaultProduceTopic("orders")}, c.opts...)...)
		for i := 0; i < 20; i++ {
			v := fmt.Sprintf("%s #%d", c.name, i)
			want = append(want, v)
			if err := cl.ProduceSync(ctxT(t), kgo.StringRecord(v)).FirstErr(); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
	}
	got := h.consumeN("orders", len(want))
	for i, r := range got {
		if string(r.Value) != want[i] || r.Offset != int64(i) {
			t.Fatalf("record %d: got %q at offset %d, want %q at %d", i, r.Value, r.Offset, want[i], i)
		}
	}
}

// TestProduceErrors checks the per-partition error codes of Produce.
func TestProduceErrors(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "t", 1, map[string]string{"min.insync.replicas": "2"})
	h.createTopic(cl, "small", 1, map[string]string{"max.message.bytes": "100"})
	h.ctrl.register(t, 2, nil) // a broker without a server
	createElsewhere(t, cl)

	good := buildBatch(batchSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, timestamp: 1, values: []string{"v"}})
	corrupt := append([]byte{}, good...)
	corrupt[len(corrupt)-1] ^= 0xff
	big := buildBatch(batchSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, timestamp: 1,
		values: []string{string(make([]byte, 200))}})

	cases := []struct {
		name      string
		topic     string
		partition int32
		acks      int16
		batch     []byte
		want      *kerr.Error
	}{
		{"unknown topic", "nope", 0, 1, good, kerr.UnknownTopicOrPartition},
		{"unknown partition", "t", 7, 1, good, kerr.UnknownTopicOrPartition},
		{"not leader", "elsewhere", 0, 1, good, kerr.NotLeaderForPartition},
		{"corrupt crc", "t", 0, 1, corrupt, kerr.CorruptMessage},
		{"bad acks", "t", 0, 2, good, kerr.InvalidRequiredAcks},
		{"isr below min.insync.replicas", "t", 0, -1, good, kerr.NotEnoughReplicas},
		{"acks=1 ignores min.insync.replicas", "t", 0, 1, good, nil},
		{"over max.message.bytes", "small", 0, 1, big, kerr.MessageTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := kmsg.NewPtrProduceRequest()
			req.Version, req.Acks, req.TimeoutMillis = 9, c.acks, 5000
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic = c.topic
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Partition, rp.Records = c.partition, append([]byte{}, c.batch...)
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			p := h.handle(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
			if err := kerr.ErrorForCode(p.ErrorCode); !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("got %v (%s), want %v", err, deref(p.ErrorMessage), c.want)
			}
			if c.want != nil && (p.BaseOffset != -1 || p.ErrorMessage == nil) {
				t.Fatalf("error answer with base offset %d, message %v", p.BaseOffset, p.ErrorMessage)
			}
		})
	}
}

// createElsewhere creates topic "elsewhere", one partition on broker 2 only.
func createElsewhere(t *testing.T, cl *kgo.Client) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "elsewhere", -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Partition, ra.Replicas = 0, []int32{2}
	rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	req.Topics = append(req.Topics, rt)
	if resp, err := req.RequestWith(ctxT(t), cl); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create elsewhere: %v %+v", err, resp)
	}
}

// TestProduceNotLeaderHint: from v10 a NOT_LEADER_OR_FOLLOWER answer names
// the current leader, its leader epoch and its endpoint (KIP-951), so a
// client moves at once; v9 has no such fields.
func TestProduceNotLeaderHint(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 19092}
	h.ctrl.register(t, 2, other) // a broker with an endpoint but no server
	createElsewhere(t, cl)
	et, _ := h.b.Image().Topic("elsewhere")
	reg := et.Partitions[0]
	good := buildBatch(batchSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, timestamp: 1, values: []string{"v"}})
	for _, version := range []int16{9, 10, 11} {
		preq := kmsg.NewPtrProduceRequest()
		preq.Version, preq.Acks, preq.TimeoutMillis = version, 1, 5000
		prt := kmsg.NewProduceRequestTopic()
		prt.Topic = "elsewhere"
		prp := kmsg.NewProduceRequestTopicPartition()
		prp.Records = append([]byte{}, good...)
		prt.Partitions = append(prt.Partitions, prp)
		preq.Topics = append(preq.Topics, prt)
		resp := h.handle(preq).(*kmsg.ProduceResponse)
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != kerr.NotLeaderForPartition.Code {
			t.Fatalf("v%d: code %d", version, p.ErrorCode)
		}
		if version < 10 {
			if len(resp.Brokers) != 0 {
				t.Fatalf("v%d: brokers %+v", version, resp.Brokers)
			}
			continue
		}
		if p.CurrentLeader.LeaderID != 2 || p.CurrentLeader.LeaderEpoch != reg.LeaderEpoch {
			t.Fatalf("v%d: current leader %+v, want 2 at epoch %d", version, p.CurrentLeader, reg.LeaderEpoch)
		}
		if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 2 || resp.Brokers[0].Host != "127.0.0.1" || resp.Brokers[0].Port != 19092 {
			t.Fatalf("v%d: brokers %+v", version, resp.Brokers)
		}
	}
}

// TestIdempotentDuplicateAndGap follows KIP-98: a batch sent twice is
// stored once and both answers carry the same base offset; a batch that
// skips sequences is OUT_OF_ORDER_SEQUENCE_NUMBER.
func TestIdempotentDuplicateAndGap(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "idem", 1, nil)

	ip := kmsg.NewPtrInitProducerIDRequest()
	ipResp, err := ip.RequestWith(ctxT(t), cl)
	if err != nil || ipResp.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %+v", err, ipResp)
	}
	pid, epoch := ipResp.ProducerID, ipResp.ProducerEpoch

	// An unrelated record first so the idempotent batch does not start at 0.
	if p := h.produceRaw(cl, "idem", 0, -1, buildBatch(batchSpec{producerID: -1, producerEpoch: -1,
		baseSequence: -1, values: []string{"first"}})); p.ErrorCode != 0 {
		t.Fatalf("plain produce: %d", p.ErrorCode)
	}
	batch := buildBatch(batchSpec{producerID: pid, producerEpoch: epoch, baseSequence: 0, values: []string{"a", "b", "c"}})
	p1 := h.produceRaw(cl, "idem", 0, -1, append([]byte{}, batch...))
	p2 := h.produceRaw(cl, "idem", 0, -1, append([]byte{}, batch...))
	if p1.ErrorCode != 0 || p2.ErrorCode != 0 {
		t.Fatalf("codes %d, %d", p1.ErrorCode, p2.ErrorCode)
	}
	if p1.BaseOffset != 1 || p2.BaseOffset != p1.BaseOffset {
		t.Fatalf("base offsets %d then %d, want 1 twice", p1.BaseOffset, p2.BaseOffset)
	}
	l, _ := h.logs.Get("idem", 0)
	if leo := l.LogEndOffset(); leo != 4 {
		t.Fatalf("log end %d after a duplicate, want 4", leo)
	}

	gap := buildBatch(batchSpec{producerID: pid, producerEpoch: epoch, baseSequence: 10, values: []string{"d"}})
	if p := h.produceRaw(cl, "idem", 0, -1, gap); p.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap: code %d (%s)", p.ErrorCode, deref(p.ErrorMessage))
	}
	next := buildBatch(batchSpec{producerID: pid, producerEpoch: epoch, baseSequence: 3, values: []string{"d"}})
	if p := h.produceRaw(cl, "idem", 0, -1, next); p.ErrorCode != 0 || p.BaseOffset != 4 {
		t.Fatalf("next in sequence: code %d offset %d", p.ErrorCode, p.BaseOffset)
	}
}

// TestProducerIDBlocks: ids are unique and a new block is fetched when one
// is used up.
func TestProducerIDBlocks(t *testing.T) {
	h := newHarness(t, nil)
	seen := map[int64]bool{}
	for i := 0; i < 1005; i++ {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version = 4
		resp := h.handle(req).(*kmsg.InitProducerIDResponse)
		if resp.ErrorCode != 0 || resp.ProducerEpoch != 0 {
			t.Fatalf("request %d: code %d epoch %d", i, resp.ErrorCode, resp.ProducerEpoch)
		}
		if seen[resp.ProducerID] {
			t.Fatalf("producer id %d handed out twice", resp.ProducerID)
		}
		seen[resp.ProducerID] = true
	}
	if next := h.b.Image().NextProducerID(); next < 2000 {
		t.Fatalf("image next producer id %d: second block not allocated", next)
	}
}

// TestAutoCreateOnProduce: producing to an unknown topic creates it when
// auto.create.topics.enable is on.
func TestAutoCreateOnProduce(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AutoCreateTopics = true; c.NumPartitions = 3 })
	// franz-go asks for auto-creation through Metadata (as Kafka clients do).
	cl := h.client(kgo.DefaultProduceTopic("fresh"), kgo.AllowAutoTopicCreation())
	if err := cl.ProduceSync(ctxT(t), kgo.StringRecord("hello")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ti, ok := h.b.Image().Topic("fresh")
	if !ok || ti.NumPartitions() != 3 {
		t.Fatalf("topic not auto-created with 3 partitions: %v %+v", ok, ti)
	}
	// A produce that names an unknown topic creates it too and is appended.
	raw := buildBatch(batchSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, values: []string{"x"}})
	if p := h.produceRaw(cl, "fresh2", 0, -1, raw); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("raw produce to unknown topic with auto-create: code %d offset %d", p.ErrorCode, p.BaseOffset)
	}
	if _, ok := h.b.Image().Topic("fresh2"); !ok {
		t.Fatal("fresh2 not created")
	}
}

// fetchReq builds a sessionless fetch of one partition.
func fetchReq(version int16, topic string, id [16]byte, offset int64, minBytes, maxWaitMs int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MinBytes, req.MaxWaitMillis, req.MaxBytes = version, -1, minBytes, maxWaitMs, 1<<20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// TestFetchLongPoll: a fetch parked on an empty partition returns the
// records produced while it waits, not after max_wait_ms. The wait is set
// far beyond the test's context deadline, so only a wake-up can pass.
func TestFetchLongPoll(t *testing.T) {
	repl := &watchedReplication{Replication: localReplication{nodeID: 1}}
	h := newHarness(t, nil, WithReplication(repl))
	cl := h.client()
	h.createTopic(cl, "lp", 1, nil)
	ti, _ := h.b.Image().Topic("lp")
	id := ti.ID

	type result struct {
		resp *kmsg.FetchResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := fetchReq(13, "lp", id, 0, 1, 600_000).RequestWith(ctx, cl.Broker(1))
		done <- result{resp, err}
	}()
	// Wait until the fetch is parked on the log, then produce.
	wait.Until(t, 20*time.Second, "fetch parked", func() bool {
		select {
		case r := <-done:
			t.Fatalf("fetch returned before data: %v %+v", r.err, r.resp)
		default:
		}
		return repl.waits.Load() > 0
	})
	if p := h.produceRaw(cl, "lp", 0, 1, buildBatch(batchSpec{producerID: -1, producerEpoch: -1,
		baseSequence: -1, values: []string{"wake"}})); p.ErrorCode != 0 {
		t.Fatal(p.ErrorCode)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	fp := r.resp.Topics[0].Partitions[0]
	if fp.ErrorCode != 0 || len(fp.RecordBatches) == 0 || fp.HighWatermark != 1 {
		t.Fatalf("code %d, %d bytes, hw %d", fp.ErrorCode, len(fp.RecordBatches), fp.HighWatermark)
	}
}

// watchedReplication counts long-poll waits and can pin the high watermark.
type watchedReplication struct {
	Replication
	waits atomic.Int64
	hw    atomic.Int64 // > 0: the high watermark to report
}

func (r *watchedReplication) HighWatermark(topic string, partition int32, l *storage.Log) int64 {
	if hw := r.hw.Load(); hw > 0 {
		return hw
	}
	return r.Replication.HighWatermark(topic, partition, l)
}

func (r *watchedReplication) WaitHighWatermark(ctx context.Context, topic string, partition int32, l *storage.Log, past int64) <-chan struct{} {
	r.waits.Add(1)
	return r.Replication.WaitHighWatermark(ctx, topic, partition, l, past)
}
