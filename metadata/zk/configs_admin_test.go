package zk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"

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

// TestAlterConfigsConditional: a config znode written by someone else
// between a broker's read and its write (here: by a raw client, from the
// write hook, before the first try) makes the conditional SetData fail
// with BadVersion; the broker reads again and re-applies its alteration
// on top, so neither write is lost. Same for a Create racing another
// Create of a new entity.
func TestAlterConfigsConditional(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	b1 := testBackend(t, s.Addr, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1,
		Configs: map[string]string{"retention.ms": "1000"}}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.For(t, 10*time.Second, "topic config in the image", func() error {
		if b1.Image().Configs(metadata.TopicResource, "t")["retention.ms"] != "1000" {
			return errors.New("not yet")
		}
		return nil
	})
	// The interfering writes: the znode as another broker would leave it.
	interfere := map[string]string{
		"/config/topics/t":  `{"version":1,"config":{"retention.ms":"1000","segment.bytes":"4096"}}`,
		"/config/brokers/7": `{"version":1,"config":{"log.retention.ms":"5000"}}`,
	}
	tries := map[string]int{}
	b1.beforeZnodeWrite = func(path string) {
		tries[path]++
		if tries[path] > 1 {
			return
		}
		data := []byte(interfere[path])
		if _, err := raw.Set(path, data, -1); errors.Is(err, gozk.ErrNoNode) {
			_, err = raw.Create(path, data, 0, gozk.WorldACL(gozk.PermAll))
			if err != nil {
				t.Error(err)
			}
		} else if err != nil {
			t.Error(err)
		}
	}
	v := func(s string) *string { return &s }
	errs := b1.AlterConfigs(ctx, []metadata.ConfigAlteration{
		{ResourceType: metadata.TopicResource, ResourceName: "t", Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: "retention.bytes", Value: v("2048")}}},
		{ResourceType: metadata.BrokerResource, ResourceName: "7", Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: "log.segment.bytes", Value: v("1048576")}}},
	}, false)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errs %v", errs)
	}
	for path, want := range map[string]string{
		"/config/topics/t":  `{"version":1,"config":{"retention.bytes":"2048","retention.ms":"1000","segment.bytes":"4096"}}`,
		"/config/brokers/7": `{"version":1,"config":{"log.retention.ms":"5000","log.segment.bytes":"1048576"}}`,
	} {
		if data, _, err := raw.Get(path); err != nil || string(data) != want {
			t.Fatalf("%s = %s (%v), want %s", path, data, err, want)
		}
		if tries[path] != 2 {
			t.Fatalf("%s written in %d tries, want 2 (a BadVersion / NodeExists retry)", path, tries[path])
		}
	}
}

// TestAlterConfigsConcurrentBrokers: two brokers altering different keys
// of the same topic and broker-default znodes at once, each write
// validated against its own (lagging) image, lose none of them.
func TestAlterConfigsConcurrentBrokers(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	b1 := testBackend(t, s.Addr, 1)
	b2 := testBackend(t, s.Addr, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	wait.For(t, 10*time.Second, "broker 2 sees the topic", func() error {
		if _, ok := b2.Image().Topic("t"); !ok {
			return errors.New("not yet")
		}
		return nil
	})
	// Each broker sets its own keys, one alteration per key, in turn on
	// the topic and on the cluster-default broker entity.
	topicKeys := [][]string{
		{"retention.ms", "segment.bytes", "retention.bytes", "segment.ms", "flush.ms", "flush.messages"},
		{"delete.retention.ms", "min.compaction.lag.ms", "max.compaction.lag.ms", "file.delete.delay.ms", "index.interval.bytes", "segment.jitter.ms"},
	}
	brokerKeys := [][]string{
		{"log.retention.ms", "log.segment.bytes", "message.max.bytes"},
		{"log.retention.bytes", "log.cleaner.delete.retention.ms", metadata.LeaderReplicationThrottledRateKey},
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range []*Backend{b1, b2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range topicKeys[i] {
				val := fmt.Sprint(100000 + j)
				alts := []metadata.ConfigAlteration{{ResourceType: metadata.TopicResource, ResourceName: "t",
					Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: topicKeys[i][j], Value: &val}}}}
				if j < len(brokerKeys[i]) {
					alts = append(alts, metadata.ConfigAlteration{ResourceType: metadata.BrokerResource,
						Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: brokerKeys[i][j], Value: &val}}})
				}
				for k, err := range b.AlterConfigs(ctx, alts, false) {
					if err != nil {
						t.Errorf("broker %d alteration %d: %v", i+1, k, err)
					}
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	for path, keys := range map[string][][]string{"/config/topics/t": topicKeys, "/config/brokers/<default>": brokerKeys} {
		data, _, err := raw.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := DecodeEntityConfig(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, ks := range keys {
			for j, k := range ks {
				if cfg[k] != fmt.Sprint(100000+j) {
					t.Errorf("%s lost %s: %s", path, k, data)
				}
			}
		}
	}
}

// TestEntityConfigWriteMerges: the quota and SCRAM writes to
// /config/users/<u> (one znode for both) are merged at the znode's
// version too: a key written by someone else between the read and the
// write is kept, after a BadVersion retry.
func TestEntityConfigWriteMerges(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	b1 := testBackend(t, s.Addr, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := metadata.NewQuotaEntity(qp("user", sp("alice")))
	set := func(key string, v float64) []error {
		return b1.AlterClientQuotas(ctx, []metadata.QuotaAlteration{{Entity: alice, Ops: []metadata.QuotaOp{{Key: key, Value: v}}}}, false)
	}
	if errs := set("producer_byte_rate", 1000); errs[0] != nil {
		t.Fatal(errs[0])
	}
	tries := 0
	b1.beforeZnodeWrite = func(path string) {
		if path != "/config/users/alice" {
			return
		}
		if tries++; tries == 1 {
			if _, err := raw.Set(path, []byte(`{"version":1,"config":{"producer_byte_rate":"1000","request_percentage":"50.0"}}`), -1); err != nil {
				t.Error(err)
			}
		}
	}
	if errs := set("consumer_byte_rate", 2000); errs[0] != nil {
		t.Fatal(errs[0])
	}
	data, _, err := raw.Get("/config/users/alice")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeEntityConfig(data)
	if err != nil || cfg["producer_byte_rate"] != "1000" || cfg["consumer_byte_rate"] != "2000" || cfg["request_percentage"] != "50.0" || tries != 2 {
		t.Fatalf("/config/users/alice = %s (%v), %d tries", data, err, tries)
	}
}
