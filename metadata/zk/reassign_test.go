package zk

import (
	"errors"
	"reflect"
	"testing"
)

// TestReassignPartitionsZNode: Kafka's /admin/reassign_partitions JSON
// (ReassignPartitionsZNode, version 1) round-trips; other versions and
// bad JSON are ErrCorruptZNode.
func TestReassignPartitionsZNode(t *testing.T) {
	z, err := DecodeReassignPartitions([]byte(`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[4,5,6],"log_dirs":["any","any","any"]}]}`))
	if err != nil || len(z.Partitions) != 1 || z.Partitions[0].Topic != "t" || !reflect.DeepEqual(z.Partitions[0].Replicas, []int32{4, 5, 6}) {
		t.Fatalf("%+v %v", z, err)
	}
	back, err := DecodeReassignPartitions(EncodeReassignPartitions(z))
	if err != nil || !reflect.DeepEqual(back, z) {
		t.Fatalf("round trip %+v %v", back, err)
	}
	for _, bad := range []string{`{"version":2,"partitions":[]}`, `{`, `[]`} {
		if _, err := DecodeReassignPartitions([]byte(bad)); !errors.Is(err, ErrCorruptZNode) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// FuzzDecodeReassignPartitions: no input panics, and what decodes encodes
// and decodes to the same value.
func FuzzDecodeReassignPartitions(f *testing.F) {
	f.Add([]byte(`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1]}]}`))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		z, err := DecodeReassignPartitions(data)
		if err != nil {
			return
		}
		back, err := DecodeReassignPartitions(EncodeReassignPartitions(z))
		if err != nil || !reflect.DeepEqual(back, z) {
			t.Fatalf("%q: %+v, again %+v (%v)", data, z, back, err)
		}
	})
}
