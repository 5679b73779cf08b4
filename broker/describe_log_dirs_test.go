package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDescribeLogDirs: every partition by default, only the named ones
// otherwise, sizes that grow with what was produced, and v4's byte counts.
func TestDescribeLogDirs(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	h.createTopic(cl, "ld", 2, nil)
	h.createTopic(cl, "other", 1, nil)
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "ld", Partition: 1, Value: make([]byte, 1000)}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Straight to the handler: kgo merges DescribeLogDirs responses of
	// several brokers and drops the byte counts on the way.
	all := kmsg.NewPtrDescribeLogDirsRequest()
	all.Version = 4
	resp := h.handle(all).(*kmsg.DescribeLogDirsResponse)
	dirs := h.b.logs.Dirs()
	if resp.Version != 4 || len(resp.Dirs) != len(dirs) || resp.Dirs[0].Dir != dirs[0] || resp.Dirs[0].ErrorCode != 0 {
		t.Fatalf("v%d dirs %+v, configured %v", resp.Version, resp.Dirs, dirs)
	}
	d := resp.Dirs[0]
	if d.TotalBytes <= 0 || d.UsableBytes <= 0 || d.UsableBytes > d.TotalBytes {
		t.Fatalf("total %d usable %d", d.TotalBytes, d.UsableBytes)
	}
	sizes := map[string]map[int32]int64{}
	for _, tp := range d.Topics {
		sizes[tp.Topic] = map[int32]int64{}
		for _, p := range tp.Partitions {
			sizes[tp.Topic][p.Partition] = p.Size
		}
	}
	if len(sizes["ld"]) != 2 || len(sizes["other"]) != 1 || sizes["ld"][1] < 1000 || sizes["ld"][0] != 0 {
		t.Fatalf("sizes %v", sizes)
	}

	one := kmsg.NewPtrDescribeLogDirsRequest()
	rt := kmsg.NewDescribeLogDirsRequestTopic()
	rt.Topic, rt.Partitions = "ld", []int32{1}
	one.Topics = append(one.Topics, rt)
	got, err := one.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if ts := got.Dirs[0].Topics; len(ts) != 1 || ts[0].Topic != "ld" || len(ts[0].Partitions) != 1 || ts[0].Partitions[0].Partition != 1 {
		t.Fatalf("named partitions: %+v", ts)
	}
}
