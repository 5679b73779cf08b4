package metadata

import (
	"fmt"
	"runtime"
	"testing"
)

// bigImage builds an image with the given number of topics of perTopic
// partitions each (RF 3 over 6 brokers), replaying records directly.
func bigImage(tb testing.TB, topics, perTopic int) *Image {
	tb.Helper()
	d := NewDelta(EmptyImage())
	for id := int32(0); id < 6; id++ {
		if err := d.Replay(broker(id, false)); err != nil {
			tb.Fatal(err)
		}
	}
	brokers := []int32{0, 1, 2, 3, 4, 5}
	for t := 0; t < topics; t++ {
		var id Uuid
		id[0], id[1], id[2], id[15] = byte(t>>16), byte(t>>8), byte(t), 1
		if err := d.Replay(&TopicRecord{Name: fmt.Sprintf("topic-%06d", t), TopicID: id}); err != nil {
			tb.Fatal(err)
		}
		for p, replicas := range AssignReplicas(brokers, perTopic, 3, t%6, t%5) {
			if err := d.Replay(&PartitionRecord{PartitionID: int32(p), TopicID: id, Replicas: replicas,
				ISR: replicas, Leader: replicas[0]}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return d.Apply()
}

// BenchmarkCreateTopicAt100kPartitions measures one CreateTopics round
// (controller logic, replay, Apply) for a 10-partition topic in an image that
// already holds 100k partitions (1000 topics x 100). Copy-on-write keeps this
// independent of the cluster size.
func BenchmarkCreateTopicAt100kPartitions(b *testing.B) {
	img := bigImage(b, 1000, 100)
	cfg := DefaultControllerConfig()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		recs, err := CreateTopic(img, CreateTopicSpec{Name: fmt.Sprintf("new-%d", i), NumPartitions: 10,
			ReplicationFactor: 3}, cfg)
		if err != nil {
			b.Fatal(err)
		}
		d := NewDelta(img)
		for _, r := range recs {
			if err := d.Replay(r); err != nil {
				b.Fatal(err)
			}
		}
		if next := d.Apply(); next.PartitionCount() != 100_010 {
			b.Fatalf("partitions %d", next.PartitionCount())
		}
	}
}

// BenchmarkPartitionChangeAt100kPartitions measures one ISR change (replay +
// Apply) in a 100-partition topic of a 100k-partition image.
func BenchmarkPartitionChangeAt100kPartitions(b *testing.B) {
	img := bigImage(b, 1000, 100)
	t, _ := img.Topic("topic-000500")
	p := t.Partitions[7]
	rec := NewPartitionChangeRecord(t.ID, 7)
	rec.ISR = p.ISR[:2]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := NewDelta(img)
		if err := d.Replay(rec); err != nil {
			b.Fatal(err)
		}
		_ = d.Apply()
	}
}

// BenchmarkImageMemoryPerPartition reports the retained heap of an image per
// partition (100k partitions, RF 3).
func BenchmarkImageMemoryPerPartition(b *testing.B) {
	const topics, perTopic = 1000, 100
	var perPartition float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		img := bigImage(b, topics, perTopic)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if img.PartitionCount() != topics*perTopic {
			b.Fatal("partition count")
		}
		perPartition = float64(after.HeapAlloc-before.HeapAlloc) / float64(topics*perTopic)
		runtime.KeepAlive(img)
	}
	b.ReportMetric(perPartition, "bytes/partition")
}

func BenchmarkAppendDecodeBatch(b *testing.B) {
	recs := WriteImage(bigImage(b, 10, 100))
	b.ReportAllocs()
	b.ResetTimer()
	var buf []byte
	for i := 0; i < b.N; i++ {
		buf = AppendBatch(buf[:0], recs)
		if _, err := DecodeBatch(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
