package topics

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestWriteDescribe checks Kafka's describe format (TopicCommand's
// TopicDescription and PartitionDescription printDescription).
func TestWriteDescribe(t *testing.T) {
	tests := []struct {
		name string
		in   []description
		want string
	}{
		{"none", nil, ""},
		{
			"rf3 with id and configs",
			[]description{{
				Name: "orders", TopicID: "q9zJ8vYdQ0W0sB8e4f1x2A", PartitionCount: 2, ReplicationFactor: 3,
				Configs: map[string]string{"retention.ms": "60000", "min.insync.replicas": "2"},
				Partitions: []partition{
					{Partition: 0, Leader: 1, Replicas: []int32{1, 2, 3}, Isr: []int32{1, 2, 3}},
					{Partition: 1, Leader: 2, Replicas: []int32{2, 3, 1}, Isr: []int32{2, 1}},
				},
			}},
			"Topic: orders\tTopicId: q9zJ8vYdQ0W0sB8e4f1x2A\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: min.insync.replicas=2,retention.ms=60000\n" +
				"\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\n" +
				"\tTopic: orders\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,1\n",
		},
		{
			"no id, no configs, offline partition, two topics",
			[]description{
				{Name: "a", PartitionCount: 1, ReplicationFactor: 1,
					Partitions: []partition{{Partition: 0, Leader: -1, Replicas: []int32{4}, Isr: []int32{4}}}},
				{Name: "b", PartitionCount: 1, ReplicationFactor: 2, Configs: map[string]string{},
					Partitions: []partition{{Partition: 0, Leader: 5, Replicas: []int32{5, 6}, Isr: []int32{}}}},
			},
			"Topic: a\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: \n" +
				"\tTopic: a\tPartition: 0\tLeader: none\tReplicas: 4\tIsr: 4\n" +
				"Topic: b\tPartitionCount: 1\tReplicationFactor: 2\tConfigs: \n" +
				"\tTopic: b\tPartition: 0\tLeader: 5\tReplicas: 5,6\tIsr: \n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeDescribe(&b, tc.in, false, false); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}

func TestWriteDescribeJSON(t *testing.T) {
	in := []description{{Name: "orders", TopicID: "x", PartitionCount: 1, ReplicationFactor: 1,
		Configs:    map[string]string{"retention.ms": "1"},
		Partitions: []partition{{Partition: 0, Leader: 1, Replicas: []int32{1}, Isr: []int32{1}}}}}
	var b bytes.Buffer
	if err := writeDescribe(&b, in, true, false); err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"orders","topicId":"x","internal":false,"partitionCount":1,"replicationFactor":1,` +
		`"configs":{"retention.ms":"1"},"partitions":[{"partition":0,"leader":1,"replicas":[1],"isr":[1]}]}]` + "\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
	var back []description
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || !reflect.DeepEqual(back, in) {
		t.Errorf("round trip: %v %+v", err, back)
	}
	b.Reset()
	if err := writeDescribe(&b, nil, true, false); err != nil || b.String() != "[]\n" {
		t.Errorf("empty: %q %v", b.String(), err)
	}
}

func TestWriteList(t *testing.T) {
	tests := []struct {
		names  []string
		asJSON bool
		want   string
	}{
		{nil, false, ""},
		{[]string{"__consumer_offsets", "a", "b"}, false, "__consumer_offsets\na\nb\n"},
		{nil, true, "[]\n"},
		{[]string{"a", "b"}, true, `["a","b"]` + "\n"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := writeList(&b, tc.names, tc.asJSON); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("writeList(%q, json=%v) = %q, want %q", tc.names, tc.asJSON, b.String(), tc.want)
		}
	}
}

// TestDescribeOne: partitions sorted, RF from partition 0, id in Kafka's
// base64url, nil lists become empty.
func TestDescribeOne(t *testing.T) {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = kmsg.StringPtr("t")
	for i := byte(0); i < 16; i++ {
		mt.TopicID[i] = i * 17
	}
	p1 := kmsg.NewMetadataResponseTopicPartition()
	p1.Partition, p1.Leader, p1.Replicas, p1.ISR = 1, 3, []int32{3, 1}, []int32{3}
	p0 := kmsg.NewMetadataResponseTopicPartition()
	p0.Partition, p0.Leader, p0.Replicas = 0, -1, []int32{1, 2}
	mt.Partitions = []kmsg.MetadataResponseTopicPartition{p1, p0}
	d := describeOne(topicMeta{name: "t", meta: mt}, nil)
	want := description{Name: "t", TopicID: "ABEiM0RVZneImaq7zN3u_w", PartitionCount: 2, ReplicationFactor: 2,
		Configs: map[string]string{},
		Partitions: []partition{
			{Partition: 0, Leader: -1, Replicas: []int32{1, 2}, Isr: []int32{}},
			{Partition: 1, Leader: 3, Replicas: []int32{3, 1}, Isr: []int32{3}},
		}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
	if d := describeOne(topicMeta{name: "z", meta: kmsg.NewMetadataResponseTopic()}, nil); d.TopicID != "" || d.ReplicationFactor != 0 {
		t.Errorf("zero id / no partitions: %+v", d)
	}
}

// TestNonDefault: Kafka's ConfigEntry.isDefault is source == DEFAULT_CONFIG,
// so static broker settings show; v0 answers (no source) use is_default.
func TestNonDefault(t *testing.T) {
	mk := func(name, value string, src kmsg.ConfigSource, isDefault bool) kmsg.DescribeConfigsResponseResourceConfig {
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.Source, c.IsDefault = name, kmsg.StringPtr(value), src, isDefault
		return c
	}
	sensitive := mk("secret", "", kmsg.ConfigSourceDynamicTopicConfig, false)
	sensitive.Value = nil
	in := []kmsg.DescribeConfigsResponseResourceConfig{
		mk("cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig, true),
		mk("retention.ms", "1000", kmsg.ConfigSourceDynamicTopicConfig, false),
		mk("min.insync.replicas", "2", kmsg.ConfigSourceStaticBrokerConfig, true), // kfake says default; Kafka shows it
		mk("segment.bytes", "5", kmsg.ConfigSourceDynamicDefaultBrokerConfig, false),
		mk("v0.default", "x", -1, true),
		mk("v0.set", "y", -1, false),
		sensitive,
	}
	want := map[string]string{"retention.ms": "1000", "min.insync.replicas": "2", "segment.bytes": "5", "v0.set": "y", "secret": "null"}
	if got := nonDefault(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestUnderReplicated: --describe --under-replicated-partitions prints, as
// Kafka does, only the partition lines whose ISR is smaller than their
// replicas, and nothing when every ISR is full.
func TestUnderReplicated(t *testing.T) {
	full := partition{Partition: 0, Leader: 1, Replicas: []int32{1, 2, 3}, Isr: []int32{3, 1, 2}}
	in := []description{
		{Name: "orders", PartitionCount: 2, ReplicationFactor: 3, Partitions: []partition{
			full, {Partition: 1, Leader: 2, Replicas: []int32{2, 3, 1}, Isr: []int32{2, 1}}}},
		{Name: "full", PartitionCount: 1, ReplicationFactor: 3, Partitions: []partition{full}},
		{Name: "b", PartitionCount: 1, ReplicationFactor: 2, Partitions: []partition{
			{Partition: 0, Leader: -1, Replicas: []int32{5, 6}, Isr: []int32{}}}},
	}
	var b bytes.Buffer
	if err := writeDescribe(&b, underReplicated(in), false, true); err != nil {
		t.Fatal(err)
	}
	want := "\tTopic: orders\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,1\n" +
		"\tTopic: b\tPartition: 0\tLeader: none\tReplicas: 5,6\tIsr: \n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if err := writeDescribe(&b, underReplicated(in[1:2]), false, true); err != nil || b.Len() != 0 {
		t.Errorf("every ISR full: %q, %v; want no output", b.String(), err)
	}
	b.Reset()
	if err := writeDescribe(&b, underReplicated(in[1:2]), true, true); err != nil || b.String() != "[]\n" {
		t.Errorf("every ISR full, --json: %q, %v; want []", b.String(), err)
	}
}
