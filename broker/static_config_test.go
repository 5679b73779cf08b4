package broker

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// fetchCodecs fetches topic's partition 0 from offset 0 with kmsg and
// returns the compression codec (attributes & 7) of every batch.
func fetchCodecs(t *testing.T, h *harness, cl *kgo.Client, topic string) []int16 {
	t.Helper()
	ti, ok := h.b.Image().Topic(topic)
	if !ok {
		t.Fatalf("no topic %s", topic)
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 100, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, ti.ID // v13+ name the topic by id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch %s: code %d", topic, p.ErrorCode)
	}
	var codecs []int16
	for b := p.RecordBatches; len(b) > 0; {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatalf("fetch %s: %v", topic, err)
		}
		codecs = append(codecs, rb.Attributes&0x07)
		b = b[int(rb.Length)+12:]
	}
	return codecs
}

// TestStaticTopicDefaults: the broker-level keys of server.properties are
// the defaults of topics without overrides — log.cleanup.policy,
// log.cleaner.delete.retention.ms, log.cleaner.min.cleanable.ratio and
// compression.type on the logs, message.max.bytes on Produce — and
// DescribeConfigs names them STATIC_BROKER_CONFIG with Kafka's synonym
// chain (static, then DEFAULT_CONFIG), a key the file set to Kafka's
// default included.
func TestStaticTopicDefaults(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.MessageMaxBytes = 4000
		c.LogCleanupPolicy = "compact,delete"
		c.CompressionType = storage.CompressionGzip
		c.LogCleanerDeleteRetentionMs = 5000
		c.LogCleanerMinCleanableRatio = 0.2
		c.UncleanLeaderElection = true
		c.StaticKeys = map[string]bool{"min.insync.replicas": true}
	})
	cl := h.client(kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.ProducerLinger(0))
	h.createTopic(cl, "plain", 1, nil)

	l, _ := h.logs.Get("plain", 0)
	if c := l.Config(); !c.Compacts() || !c.Deletes() || c.DeleteRetentionMs != 5000 ||
		c.MinCleanableDirtyRatio != 0.2 || c.Compression != storage.CompressionGzip {
		t.Fatalf("log config %+v", c)
	}

	r := describeOne(t, h, kmsg.ConfigResourceTypeTopic, "plain")
	for _, want := range []struct{ name, value, brokerKey, def string }{
		{"cleanup.policy", "compact,delete", "log.cleanup.policy", "delete"},
		{"compression.type", "gzip", "compression.type", "producer"},
		{"delete.retention.ms", "5000", "log.cleaner.delete.retention.ms", "86400000"},
		{"min.cleanable.dirty.ratio", "0.2", "log.cleaner.min.cleanable.ratio", "0.5"},
		{"max.message.bytes", "4000", "message.max.bytes", "1048588"},
		{"min.insync.replicas", "1", "min.insync.replicas", "1"}, // set in the file, to the default
		{"unclean.leader.election.enable", "true", "unclean.leader.election.enable", "false"},
	} {
		c := configOf(t, r, want.name)
		syn := c.ConfigSynonyms
		if deref(c.Value) != want.value || c.Source != kmsg.ConfigSourceStaticBrokerConfig || c.IsDefault || len(syn) != 2 ||
			syn[0].Name != want.brokerKey || deref(syn[0].Value) != want.value || syn[0].Source != kmsg.ConfigSourceStaticBrokerConfig ||
			syn[1].Name != want.brokerKey || deref(syn[1].Value) != want.def || syn[1].Source != kmsg.ConfigSourceDefaultConfig {
			t.Errorf("%s: %s=%s source %d synonyms %+v", want.name, c.Name, deref(c.Value), c.Source, syn)
		}
	}
	// A key nowhere set: Kafka's default, whose synonym for retention.ms is
	// log.retention.hours.
	if c := configOf(t, r, "retention.ms"); deref(c.Value) != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig ||
		len(c.ConfigSynonyms) != 1 || c.ConfigSynonyms[0].Name != "log.retention.hours" || deref(c.ConfigSynonyms[0].Value) != "168" {
		t.Errorf("retention.ms: %+v", c)
	}
	// The broker resource says the same.
	br := describeOne(t, h, kmsg.ConfigResourceTypeBroker, "1", "compression.type", "message.max.bytes")
	if c := configOf(t, br, "compression.type"); deref(c.Value) != "gzip" || c.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Errorf("broker compression.type: %+v", c)
	}

	// message.max.bytes from the file bounds a produce.
	big := &kgo.Record{Topic: "plain", Key: []byte("k"), Value: []byte(strings.Repeat("x", 5000))}
	noCompress := h.client(kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err := noCompress.ProduceSync(ctxT(t), big).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("5000-byte record with message.max.bytes=4000: %v", err)
	}
}

// TestCompressionTypeRecompresses: a topic with compression.type=gzip
// stores an lz4 producer's batches as gzip (Kafka's LogValidator), read
// back with a Fetch; "producer" keeps lz4; the broker-wide default applies
// to a topic without an override, and a dynamic broker default changes it
// at once. Consumers read the same records either way.
func TestCompressionTypeRecompresses(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client(kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.ProducerLinger(0))
	h.createTopic(cl, "gz", 1, map[string]string{"compression.type": "gzip"})
	h.createTopic(cl, "asis", 1, map[string]string{"compression.type": "producer"})
	h.createTopic(cl, "dflt", 1, nil)

	value := strings.Repeat("compress me ", 50)
	produce := func(topic string) {
		t.Helper()
		if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", topic, err)
		}
	}
	for _, topic := range []string{"gz", "asis", "dflt"} {
		produce(topic)
	}
	lz4, gzip, zstd := int16(kgo.CodecLz4), int16(kgo.CodecGzip), int16(kgo.CodecZstd)
	for topic, want := range map[string][]int16{"gz": {gzip}, "asis": {lz4}, "dflt": {lz4}} {
		if got := fetchCodecs(t, h, cl, topic); len(got) != len(want) || got[0] != want[0] {
			t.Errorf("%s: stored codecs %v, want %v", topic, got, want)
		}
	}

	// A dynamic cluster default reaches the topic without an override only.
	h.ctrl.mu.Lock()
	err := h.ctrl.applyLocked([]metadata.Record{&metadata.ConfigRecord{ResourceType: metadata.BrokerResource,
		Name: "compression.type", Value: strPtr("zstd")}})
	h.ctrl.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	produce("dflt")
	produce("gz")
	if got := fetchCodecs(t, h, cl, "dflt"); len(got) != 2 || got[0] != lz4 || got[1] != zstd {
		t.Errorf("dflt after the dynamic default: %v, want [lz4 zstd]", got)
	}
	if got := fetchCodecs(t, h, cl, "gz"); len(got) != 2 || got[1] != gzip {
		t.Errorf("gz after the dynamic default: %v, want gzip", got)
	}

	// A consumer decompresses every codec to the same records.
	consumer := h.client(kgo.ConsumeTopics("gz", "asis", "dflt"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for n := 0; n < 5; {
		fs := consumer.PollFetches(ctxT(t))
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatal(errs)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) != value {
				t.Errorf("%s@%d: value %q", r.Topic, r.Offset, r.Value)
			}
			n++
		})
	}
}
