package broker

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeController runs the pure metadata controller logic on an in-memory
// image and publishes every result to the broker, as the quorum would after
// committing the records — without a quorum.
type fakeController struct {
	mu     sync.Mutex
	img    *metadata.Image
	offset int64
	pub    func(*metadata.Delta, *metadata.Image)
	cfg    metadata.ControllerConfig
	epochs map[int32]int64
}

func newFakeController() *fakeController {
	return &fakeController{img: metadata.EmptyImage(), cfg: metadata.DefaultControllerConfig(), epochs: map[int32]int64{}}
}

// apply replays recs onto the image and publishes the result. mu held.
func (c *fakeController) applyLocked(recs []metadata.Record) error {
	d := metadata.NewDelta(c.img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			return err
		}
	}
	c.offset += int64(len(recs))
	d.SetProvenance(c.offset, 1)
	if c.img.ClusterID() == "" {
		d.SetClusterID("zkraft-test-cluster")
	}
	c.img = d.Apply()
	if c.pub != nil {
		c.pub(d, c.img)
	}
	return nil
}

func (c *fakeController) CreateTopics(_ context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(specs))
	for i, s := range specs {
		recs, err := metadata.CreateTopic(c.img, s, c.cfg)
		if err == nil && !validateOnly {
			err = c.applyLocked(recs)
		}
		errs[i] = err
	}
	return errs
}

func (c *fakeController) DeleteTopics(_ context.Context, names []string) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(names))
	for i, n := range names {
		recs, err := metadata.DeleteTopic(c.img, n)
		if err == nil {
			err = c.applyLocked(recs)
		}
		errs[i] = err
	}
	return errs
}

func (c *fakeController) AllocateProducerIDs(_ context.Context, brokerID int32) (int64, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	first, count, recs := metadata.AllocateProducerIDs(c.img, brokerID, c.epochs[brokerID])
	return first, count, c.applyLocked(recs)
}

// register registers and unfences a broker with one PLAINTEXT endpoint.
func (c *fakeController) register(t testing.TB, id int32, addr net.Addr) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var eps []metadata.Endpoint
	if addr != nil {
		host, port, _ := net.SplitHostPort(addr.String())
		p, _ := strconv.Atoi(port)
		eps = append(eps, metadata.Endpoint{Name: "PLAINTEXT", Host: host, Port: uint16(p)})
	}
	epoch := c.offset + 1
	recs, err := metadata.RegisterBroker(c.img, metadata.BrokerRegistration{ID: id, Epoch: epoch,
		IncarnationID: metadata.RandomUuid(), Endpoints: eps}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.applyLocked(recs); err != nil {
		t.Fatal(err)
	}
	c.epochs[id] = epoch
	if recs, err = metadata.UnfenceBroker(c.img, id, epoch); err != nil {
		t.Fatal(err)
	}
	if err := c.applyLocked(recs); err != nil {
		t.Fatal(err)
	}
}

// setTopicConfig writes one topic config override.
func (c *fakeController) setTopicConfig(t testing.TB, topic, key string, value *string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := &metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: topic, Name: key, Value: value}
	if err := c.applyLocked([]metadata.Record{rec}); err != nil {
		t.Fatal(err)
	}
}

// bumpLeaderEpoch re-elects the partition's leader, bumping its leader
// epoch, as a leader change and back would.
func (c *fakeController) bumpLeaderEpoch(t testing.TB, topic string, partition int32) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	ti, ok := c.img.Topic(topic)
	if !ok {
		t.Fatalf("no topic %s", topic)
	}
	rec := metadata.NewPartitionChangeRecord(ti.ID, partition)
	rec.Leader = ti.Partitions[partition].Leader
	if err := c.applyLocked([]metadata.Record{rec}); err != nil {
		t.Fatal(err)
	}
}

// harness is one broker (id 1) behind a real network server, with its logs
// in a temp dir and a fake controller.
type harness struct {
	t    testing.TB
	b    *Broker
	ctrl *fakeController
	logs *storage.Manager
	srv  *network.Server
	addr net.Addr
}

func newHarness(t testing.TB, mut func(*Config), opts ...Option) *harness {
	t.Helper()
	logger := zaptest.NewLogger(t)
	scfg := storage.DefaultConfig()
	scfg.Dirs = []string{t.TempDir()}
	logs, err := storage.Open(scfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.AutoCreateTopics = false
	if mut != nil {
		mut(&cfg)
	}
	ctrl := newFakeController()
	b, err := New(cfg, logs, ctrl, logger, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctrl.pub = b.Publish
	srv := network.NewServer(network.DefaultConfig(), b, logger)
	addr, err := srv.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	h := &harness{t: t, b: b, ctrl: ctrl, logs: logs, srv: srv, addr: addr}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if err := logs.Close(); err != nil {
			t.Error(err)
		}
	})
	ctrl.register(t, cfg.NodeID, addr)
	return h
}

// client returns a franz-go client for the harness, closed at cleanup.
func (h *harness) client(opts ...kgo.Opt) *kgo.Client {
	h.t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(h.addr.String()), kgo.MetadataMinAge(10 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond })}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(cl.Close)
	return cl
}

// createTopic creates a topic through the CreateTopics API and fails the
// test on any error.
func (h *harness) createTopic(cl *kgo.Client, name string, partitions int32, configs map[string]string) {
	h.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, strPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(h.t), cl)
	if err != nil {
		h.t.Fatal(err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 {
		h.t.Fatalf("create topic %s: code %d %v", name, code, deref(resp.Topics[0].ErrorMessage))
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// ctxT is a context bounded generously: a request that would hang fails
// the test instead of the test binary.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// batchSpec describes a v2 record batch to build by hand.
type batchSpec struct {
	producerID    int64
	producerEpoch int16
	baseSequence  int32
	timestamp     int64 // first record's; each next one +1
	values        []string
	attrs         int16 // batch attributes (0x10 transactional)
}

// buildBatch encodes a valid (uncompressed, CRC-32C) v2 record batch.
func buildBatch(s batchSpec) []byte {
	var recs []byte
	for i, v := range s.values {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, int64(i)) // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, -1)       // null key
		body = binary.AppendVarint(body, int64(len(v)))
		body = append(body, v...)
		body = binary.AppendVarint(body, 0) // no headers
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	n := int32(len(s.values))
	rb := kmsg.RecordBatch{
		Magic: 2, Attributes: s.attrs, LastOffsetDelta: n - 1, FirstTimestamp: s.timestamp, MaxTimestamp: s.timestamp + int64(n) - 1,
		ProducerID: s.producerID, ProducerEpoch: s.producerEpoch, FirstSequence: s.baseSequence,
		NumRecords: n, Records: recs,
	}
	out := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// produceRaw sends one ProduceRequest for a single partition straight to
// broker 1 and returns that partition's answer.
func (h *harness) produceRaw(cl *kgo.Client, topic string, partition int32, acks int16, batch []byte) kmsg.ProduceResponseTopicPartition {
	h.t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(h.t), cl.Broker(int(h.b.cfg.NodeID)))
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

// handle calls the handler directly, bypassing the network.
func (h *harness) handle(req kmsg.Request) kmsg.Response {
	h.t.Helper()
	resp, err := h.b.Handle(ctxT(h.t), &network.Request{APIKey: req.Key(), Version: req.GetVersion(), Body: req, Listener: "PLAINTEXT"})
	if err != nil {
		h.t.Fatal(err)
	}
	if fr, ok := resp.(*network.FileResponse); ok { // record bytes still in segment files
		if resp, err = fr.Materialize(); err != nil {
			h.t.Fatal(err)
		}
	}
	return resp
}

// networkRequest builds a network.Request for a direct Handle call.
type networkRequest struct {
	req      kmsg.Request
	listener string
}

func (n networkRequest) build() *network.Request {
	return &network.Request{APIKey: n.req.Key(), Version: n.req.GetVersion(), Body: n.req, Listener: n.listener}
}
