package broker

import (
	"errors"
	"sort"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// TestMetadata checks brokers (listener-filtered, unfenced only), cluster
// and controller ids, and a topic's partitions.
func TestMetadata(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()
	h.createTopic(cl, "m", 3, nil)
	h.ctrl.register(t, 2, nil) // no PLAINTEXT endpoint: not listed

	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = strPtr("m")
	req.Topics = append(req.Topics, rt)
	resp := h.handle(req).(*kmsg.MetadataResponse)

	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 || resp.Brokers[0].Host != "127.0.0.1" {
		t.Fatalf("brokers %+v", resp.Brokers)
	}
	if resp.ClusterID == nil || *resp.ClusterID != "zkraft-test-cluster" || resp.ControllerID != 1 {
		t.Fatalf("cluster %v controller %d", resp.ClusterID, resp.ControllerID)
	}
	ti, _ := h.b.Image().Topic("m")
	mt := resp.Topics[0]
	if mt.ErrorCode != 0 || *mt.Topic != "m" || mt.TopicID != ti.ID || len(mt.Partitions) != 3 {
		t.Fatalf("topic %+v", mt)
	}
	for i, p := range mt.Partitions {
		if p.Partition != int32(i) || p.Leader != 1 || len(p.Replicas) != 1 || len(p.ISR) != 1 || len(p.OfflineReplicas) != 0 {
			t.Fatalf("partition %+v", p)
		}
	}

	// Another listener name sees no brokers.
	other, err := h.b.Handle(ctxT(t), networkRequest{req: req, listener: "INTERNAL"}.build())
	if err != nil || len(other.(*kmsg.MetadataResponse).Brokers) != 0 {
		t.Fatalf("INTERNAL listener: %v %+v", err, other)
	}

	// null topics = all, empty = none
	all := kmsg.NewPtrMetadataRequest()
	all.Version = 12
	if n := len(h.handle(all).(*kmsg.MetadataResponse).Topics); n != 1 {
		t.Fatalf("null topic list gave %d topics", n)
	}
	none := kmsg.NewPtrMetadataRequest()
	none.Version, none.Topics = 12, []kmsg.MetadataRequestTopic{}
	if n := len(h.handle(none).(*kmsg.MetadataResponse).Topics); n != 0 {
		t.Fatalf("empty topic list gave %d topics", n)
	}

	// by id (v10+)
	byID := kmsg.NewPtrMetadataRequest()
	byID.Version = 12
	rid := kmsg.NewMetadataRequestTopic()
	rid.TopicID = ti.ID
	byID.Topics = append(byID.Topics, rid)
	if got := h.handle(byID).(*kmsg.MetadataResponse).Topics[0]; got.Topic == nil || *got.Topic != "m" {
		t.Fatalf("by id: %+v", got)
	}
}

// TestMetadataUnknownAndAutoCreate covers unknown topics with auto-create
// off, on, and on but refused by the request.
func TestMetadataUnknownAndAutoCreate(t *testing.T) {
	cases := []struct {
		name       string
		autoCreate bool
		allow      bool
		version    int16
		topic      string
		want       int16
		created    bool
	}{
		{"auto-create off", false, true, 12, "a", kerr.UnknownTopicOrPartition.Code, false},
		{"request forbids", true, false, 12, "b", kerr.UnknownTopicOrPartition.Code, false},
		{"request allows", true, true, 12, "c", 0, true},
		{"v3 always allows", true, false, 3, "d", 0, true},
		{"invalid name", true, true, 12, "bad/name", kerr.InvalidTopicException.Code, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, func(cfg *Config) { cfg.AutoCreateTopics = c.autoCreate; cfg.NumPartitions = 2 })
			req := kmsg.NewPtrMetadataRequest()
			req.Version, req.AllowAutoTopicCreation = c.version, c.allow
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = strPtr(c.topic)
			req.Topics = append(req.Topics, rt)
			mt := h.handle(req).(*kmsg.MetadataResponse).Topics[0]
			if mt.ErrorCode != c.want {
				t.Fatalf("code %d, want %d", mt.ErrorCode, c.want)
			}
			_, ok := h.b.Image().Topic(c.topic)
			if ok != c.created {
				t.Fatalf("created = %v, want %v", ok, c.created)
			}
			if c.created && (len(mt.Partitions) != 2 || mt.Partitions[0].Leader != 1) {
				t.Fatalf("auto-created topic answered as %+v", mt)
			}
			if c.created {
				if _, ok := h.logs.Get(c.topic, 1); !ok {
					t.Fatal("auto-created partition has no log")
				}
			}
		})
	}
}

// TestCreateDeleteTopics drives CreateTopics and DeleteTopics through
// franz-go and checks the image and the logs on disk follow.
func TestCreateDeleteTopics(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client()

	create := func(validateOnly bool, names ...string) []kmsg.CreateTopicsResponseTopic {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.ValidateOnly, req.TimeoutMillis = validateOnly, 5000
		for _, n := range names {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = n, 2, 1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctxT(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics
	}
	got := create(false, "one", "two")
	for _, r := range got {
		if r.ErrorCode != 0 || r.NumPartitions != 2 || r.ReplicationFactor != 1 || r.TopicID == [16]byte{} || len(r.Configs) == 0 {
			t.Fatalf("create answer %+v", r)
		}
	}
	for _, n := range []string{"one", "two"} {
		for p := int32(0); p < 2; p++ {
			if _, ok := h.logs.Get(n, p); !ok {
				t.Fatalf("no log for %s-%d", n, p)
			}
		}
	}
	codes := func(ts []kmsg.CreateTopicsResponseTopic) []int16 {
		var out []int16
		for _, r := range ts {
			out = append(out, r.ErrorCode)
		}
		return out
	}
	if c := codes(create(false, "one")); c[0] != kerr.TopicAlreadyExists.Code {
		t.Fatalf("existing: %v", c)
	}
	if c := codes(create(false, "dup", "dup")); c[0] != kerr.InvalidRequest.Code || c[1] != kerr.InvalidRequest.Code {
		t.Fatalf("duplicate names: %v", c)
	}
	if c := codes(create(false, "bad name!")); c[0] != kerr.InvalidTopicException.Code {
		t.Fatalf("invalid name: %v", c)
	}
	if c := codes(create(true, "dry")); c[0] != 0 {
		t.Fatalf("validate only: %v", c)
	}
	if _, ok := h.b.Image().Topic("dry"); ok {
		t.Fatal("validate_only created the topic")
	}

	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TimeoutMillis = 5000
	ti, _ := h.b.Image().Topic("two")
	for _, tp := range []kmsg.DeleteTopicsRequestTopic{{Topic: strPtr("one")}, {TopicID: ti.ID}, {Topic: strPtr("ghost")}} {
		del.Topics = append(del.Topics, tp)
		del.TopicNames = append(del.TopicNames, deref(tp.Topic))
	}
	del.TopicNames[1] = "two"
	dresp, err := del.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	want := []int16{0, 0, kerr.UnknownTopicOrPartition.Code}
	for i, r := range dresp.Topics {
		if r.ErrorCode != want[i] {
			t.Fatalf("delete %d (%v): code %d, want %d", i, deref(r.Topic), r.ErrorCode, want[i])
		}
	}
	if h.b.Image().TopicCount() != 0 {
		t.Fatalf("topics left: %d", h.b.Image().TopicCount())
	}
	if ps := h.logs.Partitions(); len(ps) != 0 {
		t.Fatalf("logs left after delete: %v", ps)
	}
}

// TestDeleteTopicsV6UnknownID: an unknown topic id is UNKNOWN_TOPIC_ID.
func TestDeleteTopicsV6UnknownID(t *testing.T) {
	h := newHarness(t, nil)
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = 6
	req.Topics = []kmsg.DeleteTopicsRequestTopic{{TopicID: metadata.RandomUuid()}, {}}
	resp := h.handle(req).(*kmsg.DeleteTopicsResponse)
	if resp.Topics[0].ErrorCode != kerr.UnknownTopicID.Code || resp.Topics[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("%+v", resp.Topics)
	}
}

// TestDescribeConfigs checks sources, synonyms, read-only flags, the
// config_names filter, and that an override reaches the partition logs.
func TestDescribeConfigs(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.LogRetentionMs = 3600000 })
	cl := h.client()
	h.createTopic(cl, "cfg", 2, map[string]string{"retention.ms": "1000", "segment.bytes": "1048576"})

	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = true
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, "cfg"
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctxT(t), cl.Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
	for _, c := range resp.Resources[0].Configs {
		byName[c.Name] = c
	}
	rms := byName["retention.ms"]
	if deref(rms.Value) != "1000" || rms.Source != kmsg.ConfigSourceDynamicTopicConfig || rms.ReadOnly ||
		len(rms.ConfigSynonyms) != 3 || rms.ConfigSynonyms[1].Name != "log.retention.ms" ||
		deref(rms.ConfigSynonyms[1].Value) != "3600000" || rms.ConfigSynonyms[1].Source != kmsg.ConfigSourceStaticBrokerConfig ||
		rms.ConfigSynonyms[2].Name != "log.retention.hours" || deref(rms.ConfigSynonyms[2].Value) != "168" ||
		rms.ConfigSynonyms[2].Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("retention.ms: %+v", rms)
	}
	if mib := byName["min.insync.replicas"]; deref(mib.Value) != "1" || mib.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("min.insync.replicas: %+v", mib)
	}
	for p := int32(0); p < 2; p++ {
		l, _ := h.logs.Get("cfg", p)
		if c := l.Config(); c.RetentionMs != 1000 || c.SegmentBytes != 1048576 {
			t.Fatalf("log %d config %+v", p, c)
		}
	}

	// Removing an override restores the broker default on the logs.
	h.ctrl.setTopicConfig(t, "cfg", "retention.ms", nil)
	if l, _ := h.logs.Get("cfg", 0); l.Config().RetentionMs != 3600000 {
		t.Fatalf("after override removal: %+v", l.Config())
	}
	// A later change reaches existing logs too.
	h.ctrl.setTopicConfig(t, "cfg", "retention.bytes", strPtr("4096"))
	if l, _ := h.logs.Get("cfg", 1); l.Config().RetentionBytes != 4096 {
		t.Fatalf("after override add: %+v", l.Config())
	}

	cases := []struct {
		name    string
		typ     kmsg.ConfigResourceType
		res     string
		names   []string
		code    int16
		entries int
	}{
		{"unknown topic", kmsg.ConfigResourceTypeTopic, "nope", nil, kerr.UnknownTopicOrPartition.Code, 0},
		{"filtered", kmsg.ConfigResourceTypeTopic, "cfg", []string{"segment.bytes", "no.such"}, 0, 1},
		{"this broker", kmsg.ConfigResourceTypeBroker, "1", nil, 0, len(brokerConfigDefs)},
		{"broker default (its dynamic configs only: none)", kmsg.ConfigResourceTypeBroker, "", []string{"num.partitions"}, 0, 0},
		{"other broker", kmsg.ConfigResourceTypeBroker, "7", nil, kerr.InvalidRequest.Code, 0},
		{"logger", kmsg.ConfigResourceTypeBrokerLogger, "1", nil, kerr.InvalidRequest.Code, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := kmsg.NewPtrDescribeConfigsRequest()
			req.Version = 4
			r := kmsg.NewDescribeConfigsRequestResource()
			r.ResourceType, r.ResourceName, r.ConfigNames = c.typ, c.res, c.names
			req.Resources = append(req.Resources, r)
			got := h.handle(req).(*kmsg.DescribeConfigsResponse).Resources[0]
			if got.ErrorCode != c.code || len(got.Configs) != c.entries {
				t.Fatalf("code %d with %d entries, want %d with %d", got.ErrorCode, len(got.Configs), c.code, c.entries)
			}
			if c.typ == kmsg.ConfigResourceTypeBroker {
				for _, e := range got.Configs {
					if e.ReadOnly == metadata.IsDynamicBrokerConfig(e.Name) || e.ConfigType == kmsg.ConfigTypeUnknown {
						t.Fatalf("broker config %+v", e)
					}
				}
			}
		})
	}
}

// TestApiVersions: the advertised table is sorted, within kmsg's support,
// and identical to what Versions gives the network server. A controller
// without ControlledShutdowner (quorum mode, this fake) means no key 7.
func TestApiVersions(t *testing.T) {
	h := newHarness(t, nil)
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	resp := h.handle(req).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 || len(resp.ApiKeys) != len(apiRanges)-1 {
		t.Fatalf("%+v", resp)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == 7 {
			t.Fatal("ControlledShutdown advertised without a ControlledShutdowner")
		}
	}
	cs := kmsg.NewPtrControlledShutdownRequest()
	cs.Version = 3
	if _, err := h.b.Handle(ctxT(t), networkRequest{req: cs, listener: "PLAINTEXT"}.build()); !errors.Is(err, ErrUnsupportedAPI) {
		t.Fatalf("controlled shutdown without a ControlledShutdowner: %v", err)
	}
	if !sort.SliceIsSorted(resp.ApiKeys, func(i, j int) bool { return resp.ApiKeys[i].ApiKey < resp.ApiKeys[j].ApiKey }) {
		t.Fatal("keys not sorted")
	}
	vs := h.b.Versions()
	for _, k := range resp.ApiKeys {
		r := kmsg.RequestForKey(k.ApiKey)
		if r == nil || k.MaxVersion > r.MaxVersion() || k.MinVersion > k.MaxVersion {
			t.Fatalf("key %d range %d..%d not supported by kmsg", k.ApiKey, k.MinVersion, k.MaxVersion)
		}
		if vs[k.ApiKey] != [2]int16{k.MinVersion, k.MaxVersion} {
			t.Fatalf("Versions()[%d] = %v", k.ApiKey, vs[k.ApiKey])
		}
	}
	// A version outside the table never reaches a handler.
	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = 0
	if _, err := h.b.Handle(ctxT(t), networkRequest{req: meta, listener: "PLAINTEXT"}.build()); !errors.Is(err, ErrUnsupportedAPI) {
		t.Fatalf("metadata v0: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		key string
		mut func(*Config)
	}{
		{"", func(*Config) {}},
		{"node.id", func(c *Config) { c.NodeID = -1 }},
		{"num.partitions", func(c *Config) { c.NumPartitions = 0 }},
		{"default.replication.factor", func(c *Config) { c.DefaultReplicationFactor = 0 }},
		{"min.insync.replicas", func(c *Config) { c.MinInsyncReplicas = 0 }},
		{"message.max.bytes", func(c *Config) { c.MessageMaxBytes = 0 }},
		{"log.segment.bytes", func(c *Config) { c.LogSegmentBytes = 1 }},
		{"log.retention.ms", func(c *Config) { c.LogRetentionMs = -2 }},
		{"log.retention.bytes", func(c *Config) { c.LogRetentionBytes = -2 }},
		{"MaxFetchWait", func(c *Config) { c.MaxFetchWait = 0 }},
		{"ControllerTimeout", func(c *Config) { c.ControllerTimeout = 0 }},
		{"advertised.listeners[0]", func(c *Config) { c.Listeners = []metadata.Endpoint{{Name: "PLAINTEXT"}} }},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mut(&cfg)
		err := cfg.Validate()
		if c.key == "" {
			if err != nil {
				t.Fatalf("default config: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) || !containsStr(err.Error(), c.key) {
			t.Fatalf("%s: got %v", c.key, err)
		}
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestErrorCode(t *testing.T) {
	cases := []struct {
		err  error
		want *kerr.Error
	}{
		{wrap(ErrNotLeader), kerr.NotLeaderForPartition},
		{wrap(metadata.ErrTopicExists), kerr.TopicAlreadyExists},
		{wrap(metadata.ErrInvalidConfig), kerr.InvalidConfig},
		{wrap(kerr.NotController), kerr.NotController},
		{wrap(errors.New("disk on fire")), kerr.UnknownServerError},
		{wrap(ErrProducerIDsUnavailable), kerr.CoordinatorLoadInProgress},
	}
	for _, c := range cases {
		if got := errorCode(c.err); got != c.want.Code {
			t.Errorf("%v: code %d, want %d", c.err, got, c.want.Code)
		}
	}
	if errorCode(nil) != 0 || errorMessage(nil) != nil {
		t.Fatal("nil error must map to 0 / nil")
	}
}

func wrap(err error) error { return errors.Join(errors.New("ctx "+strconv.Itoa(1)), err) }
