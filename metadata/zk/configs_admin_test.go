package zk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestBackendAlterConfigs: a ZooKeeper-mode broker's config writes land
// in Kafka's znodes (/config/topics/<t>, /config/brokers/<id> and
// /config/brokers/<default>, {"version":1,"config":{...}}) with a
// /config/changes notification naming the entity, another broker follows
// them into its image, validate-only writes nothing, and refusals name
// the key.
func TestBackendAlterConfigs(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	b1 := testBackend(t, s.Addr, 1)
	b2 := testBackend(t, s.Addr, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	v := func(s string) *string { return &s }
	set := func(k, val string) metadata.ConfigOp {
		return metadata.ConfigOp{Op: metadata.ConfigOpSet, Name: k, Value: v(val)}
	}
	changesBefore, _, err := raw.Children(ConfigChangesPath)
	if err != nil {
		t.Fatal(err)
	}

	alts := []metadata.ConfigAlteration{
		{ResourceType: metadata.TopicResource, ResourceName: "t", Ops: []metadata.ConfigOp{set("retention.ms", "1000")}},
		{ResourceType: metadata.BrokerResource, ResourceName: "1", Ops: []metadata.ConfigOp{set(metadata.LeaderReplicationThrottledRateKey, "500")}},
		{ResourceType: metadata.BrokerResource, Ops: []metadata.ConfigOp{set("log.retention.ms", "60000")}},
		{ResourceType: metadata.BrokerResource, ResourceName: "2", Ops: []metadata.ConfigOp{set("listeners", "PLAINTEXT://:1")}},
	}
	errs := b1.AlterConfigs(ctx, alts, false)
	if errs[0] != nil || errs[1] != nil || errs[2] != nil || !errors.Is(errs[3], metadata.ErrInvalidConfig) || !strings.Contains(errs[3].Error(), "listeners") {
		t.Fatalf("errs %v", errs)
	}
	for path, want := range map[string]string{
		"/config/topics/t":          `{"version":1,"config":{"retention.ms":"1000"}}`,
		"/config/brokers/1":         `{"version":1,"config":{"leader.replication.throttled.rate":"500"}}`,
		"/config/brokers/<default>": `{"version":1,"config":{"log.retention.ms":"60000"}}`,
	} {
		data, _, err := raw.Get(path)
		if err != nil || string(data) != want {
			t.Fatalf("%s = %s (%v), want %s", path, data, err, want)
		}
	}
	if ok, _, _ := raw.Exists("/config/brokers/2"); ok {
		t.Fatal("refused alteration wrote /config/brokers/2")
	}
	changes, _, err := raw.Children(ConfigChangesPath)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range changes {
		if slices.Contains(changesBefore, c) {
			continue
		}
		data, _, err := raw.Get(ConfigChangesPath + "/" + c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c, ConfigChangePrefix) {
			t.Fatalf("notification %s", c)
		}
		paths = append(paths, string(data))
	}
	slices.Sort(paths)
	want := []string{`{"version":2,"entity_path":"brokers/1"}`, `{"version":2,"entity_path":"brokers/<default>"}`, `{"version":2,"entity_path":"topics/t"}`}
	if !slices.Equal(paths, want) {
		t.Fatalf("notifications %v, want %v", paths, want)
	}
	wait.For(t, 20*time.Second, "broker 2 follows the config notifications", func() error {
		img := b2.Image()
		if img.Configs(metadata.TopicResource, "t")["retention.ms"] != "1000" ||
			img.Configs(metadata.BrokerResource, "1")[metadata.LeaderReplicationThrottledRateKey] != "500" ||
			img.Configs(metadata.BrokerResource, "")["log.retention.ms"] != "60000" {
			return fmt.Errorf("not yet: %v", img.ConfigResources())
		}
		return nil
	})

	// Validate only: nothing written. Replace: the whole set.
	if errs := b1.AlterConfigs(ctx, []metadata.ConfigAlteration{{ResourceType: metadata.TopicResource, ResourceName: "t",
		Ops: []metadata.ConfigOp{set("segment.bytes", "2048")}}}, true); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if _, ok := b1.Image().Configs(metadata.TopicResource, "t")["segment.bytes"]; ok {
		t.Fatal("validate only wrote segment.bytes")
	}
	if errs := b1.AlterConfigs(ctx, []metadata.ConfigAlteration{{ResourceType: metadata.TopicResource, ResourceName: "t", Replace: true,
		Ops: []metadata.ConfigOp{set("segment.bytes", "2048")}}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if data, _, err := raw.Get("/config/topics/t"); err != nil || string(data) != `{"version":1,"config":{"segment.bytes":"2048"}}` {
		t.Fatalf("/config/topics/t after replace = %s (%v)", data, err)
	}
}
