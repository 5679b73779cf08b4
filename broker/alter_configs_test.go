package broker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// AlterConfigs is the fake controller's ConfigController: metadata's
// pure logic applied to its image, as the quorum's Node does.
func (c *fakeController) AlterConfigs(_ context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, errs := metadata.AlterConfigs(c.img, alts)
	if len(recs) > 0 && !validateOnly {
		if err := c.applyLocked(recs); err != nil {
			for i := range errs {
				errs[i] = err
			}
		}
	}
	return errs
}

// describeOne describes one resource at v4 with synonyms.
func describeOne(t *testing.T, h *harness, typ kmsg.ConfigResourceType, name string, names ...string) kmsg.DescribeConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version, req.IncludeSynonyms = 4, true
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = typ, name, names
	req.Resources = append(req.Resources, r)
	return h.handle(req).(*kmsg.DescribeConfigsResponse).Resources[0]
}

func configOf(t *testing.T, r kmsg.DescribeConfigsResponseResource, name string) kmsg.DescribeConfigsResponseResourceConfig {
	t.Helper()
	for _, c := range r.Configs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s not described in %+v", name, r)
	return kmsg.DescribeConfigsResponseResourceConfig{}
}

// TestAlterConfigsAPIs drives IncrementalAlterConfigs and AlterConfigs
// with kadm (KIP-339), and checks that the changes take effect without a
// restart: topic overrides and dynamic broker defaults reach the logs,
// message.max.bytes refuses a batch, DescribeConfigs names each source.
func TestAlterConfigsAPIs(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client(kgo.ProducerBatchCompression(kgo.NoCompression()))
	adm := kadm.NewClient(cl)
	ctx := ctxT(t)
	h.createTopic(cl, "a", 1, nil)
	h.createTopic(cl, "b", 1, map[string]string{"retention.ms": "5000"})

	vs, err := adm.ApiVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vs.Each(func(v kadm.BrokerApiVersions) {
		for _, key := range []int16{33, 44} {
			if _, _, ok := v.KeyVersions(key); !ok {
				t.Errorf("key %d not advertised", key)
			}
		}
	})

	mustAlter := func(res kadm.AlterConfigsResponses, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("%s: %v %s", r.Name, r.Err, r.ErrMessage)
			}
		}
	}

	// Incremental topic SET and APPEND.
	mustAlter(adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("4096")},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
	}, "a"))
	if got := h.b.Image().Configs(metadata.TopicResource, "a"); got["segment.bytes"] != "4096" || got["cleanup.policy"] != "delete,compact" {
		t.Fatalf("topic a configs %v", got)
	}
	if l, _ := h.logs.Get("a", 0); l.Config().SegmentBytes != 4096 || l.Config().CleanupPolicy != "delete,compact" {
		t.Fatalf("log config %+v", l.Config())
	}
	if c := configOf(t, describeOne(t, h, kmsg.ConfigResourceTypeTopic, "a"), "segment.bytes"); c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("segment.bytes %+v", c)
	}

	// ValidateOnly writes nothing.
	mustAlter(adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}}, "a"))
	if _, ok := h.b.Image().Configs(metadata.TopicResource, "a")["retention.ms"]; ok {
		t.Fatal("validate-only wrote retention.ms")
	}

	// AlterConfigs replaces the set: cleanup.policy and segment.bytes go.
	mustAlter(adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.bytes", Value: kadm.StringPtr("10000")}}, "a"))
	if got := h.b.Image().Configs(metadata.TopicResource, "a"); len(got) != 1 || got["retention.bytes"] != "10000" {
		t.Fatalf("after AlterConfigs %v", got)
	}

	// A dynamic default reaches topics without an override, not "b".
	mustAlter(adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("60000")}}))
	if l, _ := h.logs.Get("a", 0); l.Config().RetentionMs != 60000 {
		t.Fatalf("a: %+v", l.Config())
	}
	if l, _ := h.logs.Get("b", 0); l.Config().RetentionMs != 5000 {
		t.Fatalf("b: %+v", l.Config())
	}
	c := configOf(t, describeOne(t, h, kmsg.ConfigResourceTypeTopic, "a"), "retention.ms")
	if c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig || deref(c.Value) != "60000" || len(c.ConfigSynonyms) != 2 ||
		c.ConfigSynonyms[1].Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("retention.ms of a %+v", c)
	}
	def := describeOne(t, h, kmsg.ConfigResourceTypeBroker, "")
	if len(def.Configs) != 1 || def.Configs[0].Name != "log.retention.ms" || def.Configs[0].Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("default broker resource %+v", def)
	}

	// This broker's own value wins over the default; message.max.bytes
	// refuses a larger batch at once.
	mustAlter(adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "message.max.bytes", Value: kadm.StringPtr("1000")},
		{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("70000")},
	}, 1))
	if l, _ := h.logs.Get("a", 0); l.Config().RetentionMs != 70000 {
		t.Fatalf("a after per-broker: %+v", l.Config())
	}
	br := describeOne(t, h, kmsg.ConfigResourceTypeBroker, "1")
	if c := configOf(t, br, "log.retention.ms"); c.Source != kmsg.ConfigSourceDynamicBrokerConfig || c.ReadOnly || len(c.ConfigSynonyms) != 3 {
		t.Fatalf("log.retention.ms %+v", c)
	}
	if c := configOf(t, br, "broker.id"); !c.ReadOnly || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("broker.id %+v", c)
	}
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: "b", Value: []byte(strings.Repeat("x", 2000))}).FirstErr()
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("2000-byte record with message.max.bytes=1000: %v", err)
	}
	mustAlter(adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "message.max.bytes"}}, 1))
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "b", Value: []byte(strings.Repeat("x", 2000))}).FirstErr(); err != nil {
		t.Fatalf("after deleting message.max.bytes: %v", err)
	}

	// Refusals.
	for _, tc := range []struct {
		name  string
		alter func() (kadm.AlterConfigsResponses, error)
		want  *kerr.Error
		word  string
	}{
		{"unknown topic key", func() (kadm.AlterConfigsResponses, error) {
			return adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.msx", Value: kadm.StringPtr("1")}}, "a")
		}, kerr.InvalidConfig, "retention.msx"},
		{"bad topic value", func() (kadm.AlterConfigsResponses, error) {
			return adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("big")}}, "a")
		}, kerr.InvalidConfig, "big"},
		{"unknown topic", func() (kadm.AlterConfigsResponses, error) {
			return adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("1000")}}, "nope")
		}, kerr.UnknownTopicOrPartition, "nope"},
		{"append to a non-list", func() (kadm.AlterConfigsResponses, error) {
			return adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "segment.bytes", Value: kadm.StringPtr("1000")}}, "a")
		}, kerr.InvalidRequest, "segment.bytes"},
		{"read-only broker key", func() (kadm.AlterConfigsResponses, error) {
			return adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.dirs", Value: kadm.StringPtr("/x")}}, 1)
		}, kerr.InvalidConfig, "log.dirs"},
		{"unknown broker key", func() (kadm.AlterConfigsResponses, error) {
			return adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "no.such.key", Value: kadm.StringPtr("1")}})
		}, kerr.InvalidConfig, "no.such.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.alter()
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || !errors.Is(res[0].Err, tc.want) || !strings.Contains(res[0].ErrMessage, tc.word) {
				t.Fatalf("%+v, want %v naming %q", res, tc.want, tc.word)
			}
		})
	}

	// Another broker's id and BROKER_LOGGER: INVALID_REQUEST, raw.
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for _, r := range []struct {
		typ  kmsg.ConfigResourceType
		name string
	}{{kmsg.ConfigResourceTypeBroker, "7"}, {kmsg.ConfigResourceTypeBrokerLogger, "1"}} {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.typ, r.name
		req.Resources = append(req.Resources, rr)
	}
	for _, r := range h.handle(req).(*kmsg.IncrementalAlterConfigsResponse).Resources {
		if r.ErrorCode != kerr.InvalidRequest.Code || r.ErrorMessage == nil {
			t.Fatalf("%+v", r)
		}
	}
}

// fakeLoggers is a LoggerLevels for the BROKER_LOGGER test.
type fakeLoggers struct{ levels map[string]string }

func (f *fakeLoggers) Levels() map[string]string { return f.levels }
func (f *fakeLoggers) ValidLevel(l string) error {
	if l != "DEBUG" && l != "INFO" {
		return errors.New("not a level")
	}
	return nil
}
func (f *fakeLoggers) SetLevel(n, l string) error { f.levels[n] = l; return nil }
func (f *fakeLoggers) UnsetLevel(n string) error  { delete(f.levels, n); return nil }

// TestBrokerLoggerConfigs: BROKER_LOGGER resources (KIP-412) are this
// broker's log levels: described, set and deleted locally, the root not
// deletable, bad levels INVALID_CONFIG, AlterConfigs refused.
func TestBrokerLoggerConfigs(t *testing.T) {
	fl := &fakeLoggers{levels: map[string]string{"root": "INFO"}}
	h := newHarness(t, nil, WithLoggerLevels(fl))
	incr := func(validate bool, name string, ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) kmsg.IncrementalAlterConfigsResponseResource {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.ValidateOnly = validate
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName, rr.Configs = kmsg.ConfigResourceTypeBrokerLogger, name, ops
		req.Resources = append(req.Resources, rr)
		return h.handle(req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
	}
	op := func(o kmsg.IncrementalAlterConfigOp, name string, v *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Op, c.Name, c.Value = o, name, v
		return c
	}
	if r := incr(true, "1", op(kmsg.IncrementalAlterConfigOpSet, "replica", strPtr("DEBUG"))); r.ErrorCode != 0 || fl.levels["replica"] != "" {
		t.Fatalf("validate only: %+v %v", r, fl.levels)
	}
	if r := incr(false, "1", op(kmsg.IncrementalAlterConfigOpSet, "replica", strPtr("DEBUG"))); r.ErrorCode != 0 || fl.levels["replica"] != "DEBUG" {
		t.Fatalf("set: %+v %v", r, fl.levels)
	}
	d := describeOne(t, h, kmsg.ConfigResourceTypeBrokerLogger, "1")
	if c := configOf(t, d, "replica"); deref(c.Value) != "DEBUG" || c.Source != kmsg.ConfigSourceDynamicBrokerLoggerConfig {
		t.Fatalf("described %+v", c)
	}
	for _, c := range []struct {
		name string
		op   kmsg.IncrementalAlterConfigsRequestResourceConfig
		code int16
	}{
		{"1", op(kmsg.IncrementalAlterConfigOpSet, "replica", strPtr("LOUD")), kerr.InvalidConfig.Code},
		{"1", op(kmsg.IncrementalAlterConfigOpDelete, "root", nil), kerr.InvalidRequest.Code},
		{"1", op(kmsg.IncrementalAlterConfigOpAppend, "replica", strPtr("INFO")), kerr.InvalidRequest.Code},
		{"2", op(kmsg.IncrementalAlterConfigOpSet, "replica", strPtr("INFO")), kerr.InvalidRequest.Code},
	} {
		if r := incr(false, c.name, c.op); r.ErrorCode != c.code || r.ErrorMessage == nil {
			t.Fatalf("%+v: %+v, want code %d", c, r, c.code)
		}
	}
	if r := incr(false, "1", op(kmsg.IncrementalAlterConfigOpDelete, "replica", nil)); r.ErrorCode != 0 || fl.levels["replica"] != "" {
		t.Fatalf("delete: %+v %v", r, fl.levels)
	}
	req := kmsg.NewPtrAlterConfigsRequest()
	rr := kmsg.NewAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, "1"
	req.Resources = append(req.Resources, rr)
	if r := h.handle(req).(*kmsg.AlterConfigsResponse).Resources[0]; r.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("AlterConfigs of a logger: %+v", r)
	}
}
