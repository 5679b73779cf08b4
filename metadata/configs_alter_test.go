package metadata

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// alterImage is a 3-broker image with topic "t" holding
// retention.ms=5 and broker 1 holding message.max.bytes=1000.
func alterImage(t *testing.T) *Image {
	t.Helper()
	img := cluster(t, 3)
	recs, err := CreateTopic(img, CreateTopicSpec{Name: "t", NumPartitions: 1, ReplicationFactor: 1,
		Configs: map[string]string{"retention.ms": "5"}}, ControllerConfig{NewUuid: fixedIDs()})
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, &ConfigRecord{ResourceType: BrokerResource, ResourceName: "1", Name: "message.max.bytes", Value: strp("1000")})
	return replayAll(t, img, recs...)
}

func set(k, v string) ConfigOp { return ConfigOp{Op: ConfigOpSet, Name: k, Value: &v} }
func del(k string) ConfigOp    { return ConfigOp{Op: ConfigOpDelete, Name: k} }
func appendOp(k, v string) ConfigOp {
	return ConfigOp{Op: ConfigOpAppend, Name: k, Value: &v}
}
func subtract(k, v string) ConfigOp { return ConfigOp{Op: ConfigOpSubtract, Name: k, Value: &v} }

// TestAlterConfigs checks IncrementalAlterConfigs' operations and
// AlterConfigs' replace semantics (KIP-339) on topic and broker
// resources: the resulting config sets, and that ConfigsAltered sees them.
func TestAlterConfigs(t *testing.T) {
	topic := func(ops ...ConfigOp) ConfigAlteration {
		return ConfigAlteration{ResourceType: TopicResource, ResourceName: "t", Ops: ops}
	}
	for _, tc := range []struct {
		name string
		alt  ConfigAlteration
		want map[string]string
	}{
		{"set keeps others", topic(set("segment.bytes", "1024")), map[string]string{"retention.ms": "5", "segment.bytes": "1024"}},
		{"set overwrites", topic(set("retention.ms", "7")), map[string]string{"retention.ms": "7"}},
		{"delete", topic(del("retention.ms")), map[string]string{}},
		{"delete absent", topic(del("segment.bytes")), map[string]string{"retention.ms": "5"}},
		{"append from default", topic(appendOp("cleanup.policy", "compact")), map[string]string{"retention.ms": "5", "cleanup.policy": "delete,compact"}},
		{"subtract from default", topic(subtract(FollowerThrottledReplicasKey, "0:1")), map[string]string{"retention.ms": "5", FollowerThrottledReplicasKey: ""}},
		{"append replicas", topic(appendOp(LeaderThrottledReplicasKey, "0:1,0:2")), map[string]string{"retention.ms": "5", LeaderThrottledReplicasKey: "0:1,0:2"}},
		{"replace", ConfigAlteration{ResourceType: TopicResource, ResourceName: "t", Replace: true,
			Ops: []ConfigOp{set("segment.bytes", "2048")}}, map[string]string{"segment.bytes": "2048"}},
		{"replace with nothing", ConfigAlteration{ResourceType: TopicResource, ResourceName: "t", Replace: true}, map[string]string{}},
		{"broker set", ConfigAlteration{ResourceType: BrokerResource, ResourceName: "1", Ops: []ConfigOp{set(LeaderReplicationThrottledRateKey, "100")}},
			map[string]string{"message.max.bytes": "1000", LeaderReplicationThrottledRateKey: "100"}},
		{"broker default", ConfigAlteration{ResourceType: BrokerResource, Ops: []ConfigOp{set("log.retention.ms", "60000")}},
			map[string]string{"log.retention.ms": "60000"}},
		{"broker replace", ConfigAlteration{ResourceType: BrokerResource, ResourceName: "1", Replace: true}, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := alterImage(t)
			alts := []ConfigAlteration{tc.alt}
			recs, errs := AlterConfigs(img, alts)
			if errs[0] != nil {
				t.Fatal(errs[0])
			}
			next := replayAll(t, img, recs...)
			if got := next.Configs(tc.alt.ResourceType, tc.alt.ResourceName); !maps.Equal(got, tc.want) {
				t.Fatalf("configs %v, want %v", got, tc.want)
			}
			if !ConfigsAltered(next, alts, errs) {
				t.Fatal("ConfigsAltered false on the altered image")
			}
			// (A subtraction from an unset key is already "altered".)
			if len(recs) > 0 && tc.alt.Ops != nil && tc.alt.Ops[0].Op != ConfigOpSubtract && ConfigsAltered(img, alts, errs) {
				t.Fatal("ConfigsAltered true on the image before")
			}
		})
	}
}

// TestAlterConfigsErrors checks the refusals and that they name what was
// wrong, as CreateTopics' config errors do.
func TestAlterConfigsErrors(t *testing.T) {
	topic := func(name string, ops ...ConfigOp) ConfigAlteration {
		return ConfigAlteration{ResourceType: TopicResource, ResourceName: name, Ops: ops}
	}
	broker := func(name string, ops ...ConfigOp) ConfigAlteration {
		return ConfigAlteration{ResourceType: BrokerResource, ResourceName: name, Ops: ops}
	}
	for _, tc := range []struct {
		name  string
		alt   ConfigAlteration
		want  error
		words []string
	}{
		{"unknown topic", topic("nope", set("retention.ms", "1")), ErrUnknownTopic, []string{"nope"}},
		{"bad topic name", topic("a/b", set("retention.ms", "1")), ErrInvalidTopic, nil},
		{"unknown topic key", topic("t", set("retention.msx", "1")), ErrInvalidConfig, []string{"retention.msx"}},
		{"bad topic value", topic("t", set("retention.ms", "soon")), ErrInvalidConfig, []string{"retention.ms", "soon"}},
		{"bad throttled replicas", topic("t", set(LeaderThrottledReplicasKey, "0-1")), ErrInvalidConfig, []string{"0-1", "[partitionId]:[brokerId]"}},
		{"subtract to an empty policy", topic("t", subtract("cleanup.policy", "delete")), ErrInvalidConfig, []string{"cleanup.policy"}},
		{"append non-list", topic("t", appendOp("retention.ms", "1")), ErrInvalidRequest, []string{"retention.ms", "append"}},
		{"null set", topic("t", ConfigOp{Op: ConfigOpSet, Name: "retention.ms"}), ErrInvalidRequest, []string{"retention.ms"}},
		{"twice", topic("t", set("retention.ms", "1"), del("retention.ms")), ErrInvalidRequest, []string{"retention.ms"}},
		{"unknown op", topic("t", ConfigOp{Op: 9, Name: "retention.ms", Value: strp("1")}), ErrInvalidRequest, nil},
		{"read-only broker key", broker("1", set("broker.id", "3")), ErrInvalidConfig, []string{"broker.id", "read-only"}},
		{"log.cleaner.threads read-only", broker("", set("log.cleaner.threads", "3")), ErrInvalidConfig, []string{"log.cleaner.threads"}},
		{"unknown broker key", broker("1", set("foo.bar", "3")), ErrInvalidConfig, []string{"foo.bar"}},
		{"bad broker value", broker("", set("message.max.bytes", "big")), ErrInvalidConfig, []string{"message.max.bytes", "big"}},
		{"bad broker name", broker("x", set("message.max.bytes", "1")), ErrInvalidRequest, []string{"x"}},
		{"broker logger", ConfigAlteration{ResourceType: BrokerLoggerResource, ResourceName: "1"}, ErrInvalidRequest, []string{"BROKER_LOGGER"}},
		{"replace with delete", ConfigAlteration{ResourceType: TopicResource, ResourceName: "t", Replace: true, Ops: []ConfigOp{del("retention.ms")}}, ErrInvalidRequest, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := alterImage(t)
			recs, errs := AlterConfigs(img, []ConfigAlteration{tc.alt})
			if !errors.Is(errs[0], tc.want) {
				t.Fatalf("err %v, want %v", errs[0], tc.want)
			}
			for _, w := range tc.words {
				if !strings.Contains(errs[0].Error(), w) {
					t.Fatalf("error %q does not name %q", errs[0], w)
				}
			}
			if len(recs) != 0 {
				t.Fatalf("records for a refused alteration: %v", recs)
			}
		})
	}

	// A resource named twice fails both times; the other one succeeds.
	img := alterImage(t)
	recs, errs := AlterConfigs(img, []ConfigAlteration{topic("t", set("retention.ms", "1")), broker("1", set("min.insync.replicas", "2")),
		topic("t", set("segment.bytes", "100"))})
	if !errors.Is(errs[0], ErrInvalidRequest) || errs[1] != nil || !errors.Is(errs[2], ErrInvalidRequest) {
		t.Fatalf("errs %v", errs)
	}
	if len(recs) != 1 {
		t.Fatalf("records %v", recs)
	}
}

func TestBrokerConfigValue(t *testing.T) {
	img := replayAll(t, alterImage(t),
		&ConfigRecord{ResourceType: BrokerResource, Name: "message.max.bytes", Value: strp("2000")},
		&ConfigRecord{ResourceType: BrokerResource, Name: "min.insync.replicas", Value: strp("2")})
	for _, tc := range []struct {
		id          int32
		key, value  string
		fromDefault bool
		ok          bool
	}{
		{1, "message.max.bytes", "1000", false, true},
		{2, "message.max.bytes", "2000", true, true},
		{1, "min.insync.replicas", "2", true, true},
		{1, "log.retention.ms", "", false, false},
	} {
		v, def, ok := BrokerConfigValue(img, tc.id, tc.key)
		if v != tc.value || def != tc.fromDefault || ok != tc.ok {
			t.Errorf("broker %d %s: %q %v %v, want %q %v %v", tc.id, tc.key, v, def, ok, tc.value, tc.fromDefault, tc.ok)
		}
	}
}

func TestUncleanEnabledDynamicDefault(t *testing.T) {
	img := alterImage(t)
	if UncleanEnabled(img, "t", false) {
		t.Fatal("enabled without any config")
	}
	img = replayAll(t, img, &ConfigRecord{ResourceType: BrokerResource, Name: UncleanLeaderElectionKey, Value: strp("true")})
	if !UncleanEnabled(img, "t", false) {
		t.Fatal("cluster default true not honoured")
	}
	img = replayAll(t, img, &ConfigRecord{ResourceType: TopicResource, ResourceName: "t", Name: UncleanLeaderElectionKey, Value: strp("false")})
	if UncleanEnabled(img, "t", true) {
		t.Fatal("topic false must win over the default")
	}
}
