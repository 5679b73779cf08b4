package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// configsChecks runs the config-alteration checks (issue 14) against one
// broker with id 1 at n: kadm's IncrementalAlterConfigs and AlterConfigs
// (and their ValidateOnly), `zkraft configs --alter` then `--describe`
// for a topic, the broker and the cluster default, refusals naming the
// key, and changes that take effect without a restart: a default
// message.max.bytes refusing a record, and a topic's segment.bytes and
// retention.bytes deleting segments. onZk, when set, checks the znodes.
func configsChecks(t *testing.T, n *node, onZk func(t *testing.T)) {
	cl := n.client(t, kgo.ProducerBatchCompression(kgo.NoCompression()))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	zkCreateTopic(ctx, t, cl, "cfg-a", 1, 1, nil)
	zkCreateTopic(ctx, t, cl, "cfg-b", 1, 1, nil)

	tool := func(args ...string) (string, error) {
		out, err := exec.Command(zkraftBinary(t), append([]string{"configs", "--bootstrap-server", n.addr}, args...)...).CombinedOutput()
		return string(out), err
	}
	mustTool := func(want string, args ...string) string {
		t.Helper()
		out, err := tool(args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("configs %v: %v, want %q in\n%s", args, err, want, out)
		}
		return out
	}
	mustAlter := func(res kadm.AlterConfigsResponses, err error) {
		t.Helper()
		if err == nil {
			for _, r := range res {
				if r.Err != nil {
					err = fmt.Errorf("%s: %w %s", r.Name, r.Err, r.ErrMessage)
				}
			}
		}
		if err != nil {
			t.Fatalf("alter: %v", err)
		}
	}
	topicConfig := func(topic, key string) (kadm.Config, error) {
		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			return kadm.Config{}, err
		}
		rc, err := rcs.On(topic, nil)
		if err != nil {
			return kadm.Config{}, err
		}
		for _, c := range rc.Configs {
			if c.Key == key {
				return c, nil
			}
		}
		return kadm.Config{}, fmt.Errorf("%s not described", key)
	}

	t.Run("kadm", func(t *testing.T) {
		mustAlter(adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
			{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("86400000")},
			{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
		}, "cfg-a"))
		if c, err := topicConfig("cfg-a", "cleanup.policy"); err != nil || c.MaybeValue() != "delete,compact" || c.Source.String() != "DYNAMIC_TOPIC_CONFIG" {
			t.Fatalf("cleanup.policy %+v %v", c, err)
		}
		mustAlter(adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("2048")}}, "cfg-a"))
		if c, err := topicConfig("cfg-a", "segment.bytes"); err != nil || c.Source.String() == "DYNAMIC_TOPIC_CONFIG" {
			t.Fatalf("validate only wrote segment.bytes: %+v %v", c, err)
		}
		// AlterConfigs replaces the whole set.
		mustAlter(adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("3600000")}}, "cfg-a"))
		if c, err := topicConfig("cfg-a", "cleanup.policy"); err != nil || c.Source.String() == "DYNAMIC_TOPIC_CONFIG" {
			t.Fatalf("cleanup.policy survived AlterConfigs: %+v %v", c, err)
		}
		mustAlter(adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "leader.replication.throttled.rate", Value: kadm.StringPtr("1048576")}}, 1))
		mustAlter(adm.AlterBrokerConfigsState(ctx, []kadm.AlterConfig{{Name: "follower.replication.throttled.rate", Value: kadm.StringPtr("2097152")}}, 1))
		res, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.msx", Value: kadm.StringPtr("1")}}, "cfg-a")
		if err != nil || len(res) != 1 || !errors.Is(res[0].Err, kerr.InvalidConfig) || !strings.Contains(res[0].ErrMessage, "retention.msx") {
			t.Fatalf("unknown key: %+v %v", res, err)
		}
	})

	t.Run("tool", func(t *testing.T) {
		mustTool("Completed updating config for topic cfg-b.", "--entity-type", "topics", "--entity-name", "cfg-b", "--alter",
			"--add-config", "segment.bytes=1024,retention.bytes=2048,cleanup.policy=[delete]")
		out := mustTool("Dynamic configs for topic cfg-b are:", "--entity-type", "topics", "--entity-name", "cfg-b", "--describe")
		mustContain(t, "cfg-b describe", out, "  segment.bytes=1024 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:segment.bytes=1024",
			"retention.bytes=2048", "cleanup.policy=delete")
		mustTool("Completed updating config for topic cfg-b.", "--entity-type", "topics", "--entity-name", "cfg-b", "--alter", "--delete-config", "cleanup.policy")
		if out := mustTool("Dynamic configs for topic cfg-b are:", "--entity-type", "topics", "--entity-name", "cfg-b", "--describe"); strings.Contains(out, "cleanup.policy") {
			t.Fatalf("cleanup.policy after --delete-config:\n%s", out)
		}

		mustTool("Completed updating config for broker 1.", "--entity-type", "brokers", "--entity-name", "1", "--alter",
			"--add-config", "leader.replication.throttled.rate=4096")
		mustTool("Completed updating default config for brokers in the cluster.", "--entity-type", "brokers", "--entity-default", "--alter",
			"--add-config", "message.max.bytes=2000,log.retention.ms=86400000")
		out = mustTool("Dynamic configs for broker 1 are:", "--entity-type", "brokers", "--entity-name", "1", "--describe")
		mustContain(t, "broker 1 describe", out,
			"  leader.replication.throttled.rate=4096 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:leader.replication.throttled.rate=4096",
			"  message.max.bytes=2000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2000, "+
				"STATIC_BROKER_CONFIG:message.max.bytes=1000000, DEFAULT_CONFIG:message.max.bytes=1048588}")
		out = mustTool("Default configs for brokers in the cluster are:", "--entity-type", "brokers", "--entity-default", "--describe")
		mustContain(t, "default describe", out, "  log.retention.ms=86400000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=86400000}")

		// Refusals exit non-zero naming the key.
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--entity-type", "brokers", "--entity-name", "1", "--alter", "--add-config", "broker.id=5"}, "broker.id cannot be updated dynamically"},
			{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "no.such.key=1"}, `unknown broker config "no.such.key"`},
			{[]string{"--entity-type", "topics", "--entity-name", "cfg-b", "--alter", "--add-config", "segment.bytes=huge"}, `segment.bytes="huge"`},
			{[]string{"--entity-type", "topics", "--entity-name", "nope", "--alter", "--add-config", "segment.bytes=2048"}, "UNKNOWN_TOPIC_OR_PARTITION"},
		} {
			out, err := tool(c.args...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Fatalf("configs %v: %v, want a failure naming %q:\n%s", c.args, err, c.want, out)
			}
		}
	})

	t.Run("without restart", func(t *testing.T) {
		// message.max.bytes=2000 (the cluster default set above) refuses a
		// 5000-byte record at once.
		big := &kgo.Record{Topic: "cfg-a", Value: []byte(strings.Repeat("z", 5000))}
		if err := cl.ProduceSync(ctx, big).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("5000-byte record with message.max.bytes=2000: %v", err)
		}
		mustTool("Completed updating default config for brokers in the cluster.", "--entity-type", "brokers", "--entity-default", "--alter",
			"--delete-config", "message.max.bytes")
		wait.For(t, 20*time.Second, "the big record accepted again", func() error {
			return cl.ProduceSync(ctx, &kgo.Record{Topic: "cfg-a", Value: []byte(strings.Repeat("z", 5000))}).FirstErr()
		})
		// cfg-b holds segment.bytes=1024 and retention.bytes=2048: records
		// roll segments and the retention check deletes the oldest.
		for i := 0; i < 40; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "cfg-b", Value: []byte(strings.Repeat("r", 300))}).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v", i, err)
			}
		}
		wait.For(t, 30*time.Second, "cfg-b's oldest segments deleted by retention.bytes", func() error {
			so, err := adm.ListStartOffsets(ctx, "cfg-b")
			if err != nil {
				return err
			}
			o, ok := so.Lookup("cfg-b", 0)
			if !ok || o.Err != nil || o.Offset == 0 {
				return fmt.Errorf("start offset %+v", o)
			}
			return nil
		})
	})

	t.Run("static", func(t *testing.T) {
		// compression.type=gzip and message.max.bytes=1000000 from the
		// node's server.properties: the defaults of a topic without
		// overrides, described as STATIC_BROKER_CONFIG; an lz4 producer's
		// batch is stored as gzip (read back with a Fetch).
		c, err := topicConfig("cfg-a", "compression.type")
		if err != nil || c.MaybeValue() != "gzip" || c.Source.String() != "STATIC_BROKER_CONFIG" {
			t.Fatalf("compression.type %+v %v", c, err)
		}
		if c, err := topicConfig("cfg-a", "max.message.bytes"); err != nil || c.MaybeValue() != "1000000" || c.Source.String() != "STATIC_BROKER_CONFIG" {
			t.Fatalf("max.message.bytes %+v %v", c, err)
		}
		lz4 := n.client(t, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
		zkCreateTopic(ctx, t, lz4, "cfg-gz", 1, 1, nil)
		if err := lz4.ProduceSync(ctx, &kgo.Record{Topic: "cfg-gz", Value: []byte(strings.Repeat("lz4 ", 100))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if got := fetchBatchCodecs(ctx, t, lz4, "cfg-gz"); len(got) != 1 || got[0] != int16(kgo.CodecGzip) {
			t.Fatalf("stored codecs %v, want [gzip (1)]", got)
		}
	})

	t.Run("broker logger", func(t *testing.T) {
		// zkraft configs --entity-type broker-loggers (kafka-configs.sh's
		// BROKER_LOGGER, KIP-412): SET, describe, DELETE.
		loggers := func(args ...string) []string {
			return append([]string{"--entity-type", "broker-loggers", "--entity-name", "1"}, args...)
		}
		mustTool("Completed updating config for broker-logger 1.", loggers("--alter", "--add-config", "broker=DEBUG")...)
		out := mustTool("Dynamic configs for broker-logger 1 are:", loggers("--describe")...)
		mustContain(t, "loggers describe", out, "\n  broker=DEBUG sensitive=false synonyms={", "\n  root=INFO sensitive=false")
		// The broker itself says so (DescribeConfigs on resource type 8).
		dreq := kmsg.NewPtrDescribeConfigsRequest()
		dr := kmsg.NewDescribeConfigsRequestResource()
		dr.ResourceType, dr.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, "1"
		dreq.Resources = append(dreq.Resources, dr)
		dresp, err := dreq.RequestWith(ctx, cl)
		if err != nil || len(dresp.Resources) != 1 || dresp.Resources[0].ErrorCode != 0 {
			t.Fatalf("describe loggers: %v %+v", err, dresp)
		}
		got := map[string]string{}
		for _, e := range dresp.Resources[0].Configs {
			if e.Value != nil {
				got[e.Name] = *e.Value
			}
		}
		if got["broker"] != "DEBUG" || got["root"] != "INFO" {
			t.Fatalf("logger levels %v", got)
		}
		mustTool("Completed updating config for broker-logger 1.", loggers("--alter", "--delete-config", "broker")...)
		out = mustTool("Dynamic configs for broker-logger 1 are:", loggers("--describe")...)
		mustContain(t, "loggers after --delete-config", out, "\n  broker=INFO sensitive=false")

		for _, c := range []struct {
			args []string
			want string
		}{
			{loggers("--alter", "--add-config", "no.such.logger=DEBUG"), "Invalid broker logger(s): no.such.logger"},
			{loggers("--alter", "--add-config", "broker=LOUD"), "LOUD"},
			{loggers("--alter", "--delete-config", "root"), "root"},
			{[]string{"--entity-type", "broker-loggers", "--entity-name", "one", "--describe"}, "must be a valid integer broker id"},
			{[]string{"--entity-type", "broker-loggers", "--entity-default", "--describe"}, "--entity-default is not valid for broker-loggers"},
		} {
			out, err := tool(c.args...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Fatalf("configs %v: %v, want a failure naming %q:\n%s", c.args, err, c.want, out)
			}
		}
	})

	if onZk != nil {
		t.Run("znodes", onZk)
	}
}

// configsStatic are the static broker keys configsChecks' "static" part
// expects in the node's server.properties.
var configsStatic = []string{"compression.type=gzip", "message.max.bytes=1000000"}

// fetchBatchCodecs fetches partition 0 of topic from offset 0 (by topic
// id, Fetch v13+) and returns each stored batch's compression codec.
func fetchBatchCodecs(ctx context.Context, t *testing.T, cl *kgo.Client, topic string) []int16 {
	t.Helper()
	tds, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil || tds[topic].Err != nil {
		t.Fatalf("list %s: %v %v", topic, err, tds[topic].Err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 100, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, tds[topic].ID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("fetch %s: %v %+v", topic, err, resp)
	}
	var codecs []int16
	for b := resp.Topics[0].Partitions[0].RecordBatches; len(b) > 0; {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatalf("fetch %s: %v", topic, err)
		}
		codecs = append(codecs, rb.Attributes&0x07)
		b = b[int(rb.Length)+12:]
	}
	return codecs
}

// TestE2EConfigsQuorum: the config checks on a combined quorum-mode node.
func TestE2EConfigsQuorum(t *testing.T) {
	n := startNode(t, t.TempDir(), append([]string{"log.retention.check.interval.ms=200"}, configsStatic...)...)
	configsChecks(t, n, nil)
}

// TestE2EConfigsZooKeeper: the config checks on a ZooKeeper-mode broker,
// then the znodes as Kafka writes them: /config/topics/<t>,
// /config/brokers/1 and /config/brokers/<default> holding
// {"version":1,"config":{...}}, and /config/changes notifications naming
// each entity.
func TestE2EConfigsZooKeeper(t *testing.T) {
	s := zktest.Start(t)
	n := startZkNode(t, s.Addr, 1, append([]string{"log.retention.check.interval.ms=200"}, configsStatic...)...)
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	configsChecks(t, n, func(t *testing.T) {
		type entityConfig struct {
			Version int               `json:"version"`
			Config  map[string]string `json:"config"`
		}
		for path, want := range map[string]map[string]string{
			"/config/topics/cfg-a":      {"retention.ms": "3600000"},
			"/config/topics/cfg-b":      {"segment.bytes": "1024", "retention.bytes": "2048"},
			"/config/brokers/1":         {"follower.replication.throttled.rate": "2097152", "leader.replication.throttled.rate": "4096"},
			"/config/brokers/<default>": {"log.retention.ms": "86400000"},
		} {
			var cfg entityConfig
			if err := json.Unmarshal([]byte(zkGet(t, raw, path)), &cfg); err != nil || cfg.Version != 1 || fmt.Sprint(cfg.Config) != fmt.Sprint(want) {
				t.Fatalf("%s = %s (%v), want config %v", path, zkGet(t, raw, path), err, want)
			}
		}
		changes, _, err := raw.Children("/config/changes")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, c := range changes {
			if !strings.HasPrefix(c, "config_change_") {
				t.Fatalf("notification %s", c)
			}
			seen[zkGet(t, raw, "/config/changes/"+c)] = true
		}
		for _, ep := range []string{"topics/cfg-a", "topics/cfg-b", "brokers/1", "brokers/<default>"} {
			if !seen[`{"version":2,"entity_path":"`+ep+`"}`] {
				t.Fatalf("no notification for %s among %v", ep, seen)
			}
		}
	})
}
