package zk

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/zkraft/zkraft/metadata"
)

// sameJSON compares two JSON documents ignoring key order (Jackson writes
// no fixed order).
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("ours is not JSON: %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad fixture %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON differs\n got: %s\nwant: %s", got, want)
	}
}

// Kafka's sample znodes (KAFKA-REFERENCE §1.1, ZkData.scala).
func TestKafkaSampleZNodes(t *testing.T) {
	id := "fMCL8kv1SWm87L_Md-I2hg"
	tid, _ := metadata.ParseUuid("5zoAlv-xEh9xRANKXt1Lbg")
	tests := []struct {
		name string
		enc  func() []byte
		want string
		dec  func([]byte) (any, error)
	}{
		{"cluster id", func() []byte { return EncodeClusterID(id) }, `{"version":"1","id":"fMCL8kv1SWm87L_Md-I2hg"}`,
			func(b []byte) (any, error) { return DecodeClusterID(b) }},
		{"controller v2", func() []byte {
			return EncodeController(ControllerZNode{BrokerID: 1, Timestamp: 1700000000000, KRaftControllerEpoch: -1})
		}, `{"version":2,"brokerid":1,"timestamp":"1700000000000","kraftControllerEpoch":-1}`,
			func(b []byte) (any, error) { return DecodeController(b) }},
		{"controller epoch", func() []byte { return EncodeControllerEpoch(7) }, `7`,
			func(b []byte) (any, error) { return DecodeControllerEpoch(b) }},
		{"broker v5", func() []byte {
			b, err := EncodeBroker(BrokerZNode{Host: "b1", Port: 9092, JmxPort: -1, Timestamp: 1700000000000, Rack: "r1",
				Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "b1", Port: 9092}, {Name: "SSL", Host: "b1", Port: 9093, SecurityProtocol: 1}},
				Features:  map[string]FeatureRange{"metadata.version": {MinVersion: 1, MaxVersion: 21}}})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, `{"version":5,"host":"b1","port":9092,"jmx_port":-1,"timestamp":"1700000000000","endpoints":["PLAINTEXT://b1:9092","SSL://b1:9093"],"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","SSL":"SSL"},"rack":"r1","features":{"metadata.version":{"min_version":1,"max_version":21}}}`,
			func(b []byte) (any, error) { return DecodeBroker(b) }},
		{"topic v3", func() []byte {
			return EncodeTopic(TopicZNode{TopicID: tid, Partitions: map[int32][]int32{0: {1, 2, 3}, 1: {2, 3, 1}}})
		}, `{"version":3,"partitions":{"0":[1,2,3],"1":[2,3,1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"5zoAlv-xEh9xRANKXt1Lbg"}`,
			func(b []byte) (any, error) { return DecodeTopic(b) }},
		{"partition state", func() []byte {
			return EncodePartitionState(PartitionState{Leader: 1, LeaderEpoch: 4, ControllerEpoch: 7, ISR: []int32{1, 2, 3}})
		}, `{"version":1,"leader":1,"leader_epoch":4,"controller_epoch":7,"isr":[1,2,3]}`,
			func(b []byte) (any, error) { return DecodePartitionState(b) }},
		{"partition state recovering", func() []byte {
			return EncodePartitionState(PartitionState{Leader: 1, ISR: []int32{1}, LeaderRecoveryState: metadata.LeaderRecovering})
		}, `{"version":1,"leader":1,"leader_epoch":0,"controller_epoch":0,"isr":[1],"leader_recovery_state":1}`,
			func(b []byte) (any, error) { return DecodePartitionState(b) }},
		{"entity config", func() []byte {
			return EncodeEntityConfig(map[string]string{"retention.ms": "86400000", "cleanup.policy": "compact"})
		}, `{"version":1,"config":{"retention.ms":"86400000","cleanup.policy":"compact"}}`,
			func(b []byte) (any, error) { return DecodeEntityConfig(b) }},
		{"config change v2", func() []byte { return EncodeConfigChange("topics", "foo") }, `{"version":2,"entity_path":"topics/foo"}`,
			func(b []byte) (any, error) { return DecodeConfigChange(b) }},
		{"producer id block", func() []byte { return EncodeProducerIDBlock(ProducerIDBlock{Broker: 0, BlockStart: 0, BlockEnd: 999}) },
			`{"version":1,"broker":0,"block_start":"0","block_end":"999"}`,
			func(b []byte) (any, error) { return DecodeProducerIDBlock(b) }},
		{"feature v2", func() []byte {
			return EncodeFeature(FeatureZNode{Enabled: true, Features: map[string]int16{"metadata.version": 21}})
		},
			`{"version":2,"status":1,"features":{"metadata.version":{"max_version_level":21}}}`,
			func(b []byte) (any, error) { return DecodeFeature(b) }},
		{"migration", func() []byte {
			return EncodeMigration(MigrationZNode{KRaftControllerID: 3000, KRaftControllerEpoch: 5, KRaftMetadataOffset: 12345, KRaftMetadataEpoch: 5})
		}, `{"version":0,"kraft_controller_id":3000,"kraft_controller_epoch":5,"kraft_metadata_offset":12345,"kraft_metadata_epoch":5}`,
			func(b []byte) (any, error) { return DecodeMigration(b) }},
		{"isr change", func() []byte { return EncodePartitionList([]TopicPartition{{Topic: "foo", Partition: 0}}) },
			`{"version":1,"partitions":[{"topic":"foo","partition":0}]}`,
			func(b []byte) (any, error) { return DecodePartitionList(b) }},
		{"reassignment", func() []byte {
			return EncodePartitionList([]TopicPartition{{Topic: "foo", Partition: 0, Replicas: []int32{1, 2, 3}}})
		}, `{"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[1,2,3]}]}`,
			func(b []byte) (any, error) { return DecodePartitionList(b) }},
		{"log dir event", func() []byte { return EncodeLogDirEvent(LogDirEvent{Broker: 1, Event: 1}) }, `{"version":1,"broker":1,"event":1}`,
			func(b []byte) (any, error) { return DecodeLogDirEvent(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.enc()
			sameJSON(t, got, tt.want)
			fromKafka, err := tt.dec([]byte(tt.want))
			if err != nil {
				t.Fatalf("decode Kafka's sample: %v", err)
			}
			fromOurs, err := tt.dec(got)
			if err != nil {
				t.Fatalf("decode ours: %v", err)
			}
			if !reflect.DeepEqual(fromKafka, fromOurs) {
				t.Fatalf("round trip differs: %+v vs %+v", fromKafka, fromOurs)
			}
		})
	}
}

// Older versions Kafka wrote still decode.
func TestDecodeOlderVersions(t *testing.T) {
	c, err := DecodeController([]byte(`{"version":1,"brokerid":3,"timestamp":"5"}`))
	if err != nil || c.BrokerID != 3 || c.KRaftControllerEpoch != -1 || c.IsKRaft() {
		t.Fatalf("controller v1: %+v %v", c, err)
	}
	b, err := DecodeBroker([]byte(`{"version":1,"host":"h","port":9092,"jmx_port":-1,"timestamp":"1"}`))
	if err != nil || len(b.Endpoints) != 1 || b.Endpoints[0] != (metadata.Endpoint{Name: "PLAINTEXT", Host: "h", Port: 9092}) {
		t.Fatalf("broker v1: %+v %v", b, err)
	}
	b, err = DecodeBroker([]byte(`{"version":4,"host":null,"port":-1,"jmx_port":-1,"timestamp":"1","endpoints":["CLIENT://[::1]:9094"],"listener_security_protocol_map":{"CLIENT":"SASL_SSL"}}`))
	if err != nil || b.Endpoints[0] != (metadata.Endpoint{Name: "CLIENT", Host: "::1", Port: 9094, SecurityProtocol: 3}) || b.Host != "" {
		t.Fatalf("broker v4: %+v %v", b, err)
	}
	tp, err := DecodeTopic([]byte(`{"version":1,"partitions":{"0":[1]}}`))
	if err != nil || tp.TopicID != metadata.ZeroUuid || len(tp.Partitions[0]) != 1 {
		t.Fatalf("topic v1: %+v %v", tp, err)
	}
	ep, err := DecodeConfigChange([]byte(`{"version":1,"entity_type":"topics","entity_name":"foo"}`))
	if err != nil || ep != "topics/foo" {
		t.Fatalf("config change v1: %q %v", ep, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	bad := []struct {
		name string
		dec  func([]byte) error
		data string
	}{
		{"cluster id without id", func(b []byte) error { _, e := DecodeClusterID(b); return e }, `{"version":"1"}`},
		{"controller v3", func(b []byte) error { _, e := DecodeController(b); return e }, `{"version":3,"brokerid":1}`},
		{"controller no id", func(b []byte) error { _, e := DecodeController(b); return e }, `{"version":2}`},
		{"epoch text", func(b []byte) error { _, e := DecodeControllerEpoch(b); return e }, `seven`},
		{"broker bad endpoint", func(b []byte) error { _, e := DecodeBroker(b); return e }, `{"version":5,"endpoints":["nohost"]}`},
		{"broker unknown protocol", func(b []byte) error { _, e := DecodeBroker(b); return e }, `{"version":5,"endpoints":["X://h:1"]}`},
		{"topic no partitions", func(b []byte) error { _, e := DecodeTopic(b); return e }, `{"version":3}`},
		{"topic empty replicas", func(b []byte) error { _, e := DecodeTopic(b); return e }, `{"version":3,"partitions":{"0":[]}}`},
		{"topic bad key", func(b []byte) error { _, e := DecodeTopic(b); return e }, `{"version":3,"partitions":{"x":[1]}}`},
		{"topic bad id", func(b []byte) error { _, e := DecodeTopic(b); return e }, `{"version":3,"partitions":{"0":[1]},"topic_id":"zz"}`},
		{"state no isr", func(b []byte) error { _, e := DecodePartitionState(b); return e }, `{"version":1,"leader":1,"leader_epoch":0,"controller_epoch":1}`},
		{"state bad lrs", func(b []byte) error { _, e := DecodePartitionState(b); return e }, `{"version":1,"leader":1,"leader_epoch":0,"controller_epoch":1,"isr":[1],"leader_recovery_state":7}`},
		{"pid block backwards", func(b []byte) error { _, e := DecodeProducerIDBlock(b); return e }, `{"version":1,"broker":0,"block_start":"10","block_end":"9"}`},
		{"migration v1", func(b []byte) error { _, e := DecodeMigration(b); return e }, `{"version":1}`},
		{"truncated", func(b []byte) error { _, e := DecodeBroker(b); return e }, `{"version":5,`},
		{"empty", func(b []byte) error { _, e := DecodeTopic(b); return e }, ``},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.dec([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), "corrupt znode") {
				t.Fatalf("want ErrCorruptZNode, got %v", err)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	if got := PartitionStatePath("foo", 3); got != "/brokers/topics/foo/partitions/3/state" {
		t.Fatal(got)
	}
	if tp, p, ok := ParseStatePath("/brokers/topics/foo/partitions/3/state"); !ok || tp != "foo" || p != 3 {
		t.Fatal(tp, p, ok)
	}
	for _, bad := range []string{"/brokers/topics/foo/partitions/x/state", "/brokers/topics/foo", "/brokers/topics/foo/partitions/3"} {
		if _, _, ok := ParseStatePath(bad); ok {
			t.Fatalf("%s parsed as a state path", bad)
		}
	}
	if id, ok := ParseBrokerPath("/brokers/ids/12"); !ok || id != 12 {
		t.Fatal(id, ok)
	}
	if _, ok := ParseBrokerPath("/brokers/ids/-1"); ok {
		t.Fatal("negative broker id parsed")
	}
	if tp, ok := ParseTopicPath("/brokers/topics/foo"); !ok || tp != "foo" {
		t.Fatal(tp, ok)
	}
	if typ, name, ok := ParseEntityConfigPath("/config/topics/foo"); !ok || typ != "topics" || name != "foo" {
		t.Fatal(typ, name, ok)
	}
}
