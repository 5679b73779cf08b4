package broker

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata"
)

func (c *fakeController) CreatePartitions(_ context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(specs))
	for i, s := range specs {
		recs, err := metadata.CreatePartitions(c.img, s)
		if err == nil && !validateOnly {
			err = c.applyLocked(recs)
		}
		errs[i] = err
	}
	return errs
}

func (c *fakeController) ElectLeaders(_ context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, res := metadata.ElectLeaders(c.img, typ, parts)
	if len(recs) > 0 {
		if err := c.applyLocked(recs); err != nil {
			for i := range res {
				res[i].Err = err
			}
		}
	}
	return res
}

// TestPartitionAdminAPIs drives CreatePartitions (37), DeleteRecords (21)
// and ElectLeaders (43) through kadm against one broker: new partitions
// take records, DeleteRecords moves ListOffsets earliest and a consumer's
// start, offsets past the high watermark are OFFSET_OUT_OF_RANGE, and a
// single-replica partition needs no election.
func TestPartitionAdminAPIs(t *testing.T) {
	h := newHarness(t, nil)
	cl := h.client(kgo.DefaultProduceTopic("p"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	ctx := ctxT(t)
	h.createTopic(cl, "p", 1, nil)

	if _, err := adm.CreatePartitions(ctx, 2, "p"); err != nil {
		t.Fatal(err)
	}
	ps, err := adm.UpdatePartitions(ctx, 1, "p")
	if err != nil || !errors.Is(ps["p"].Err, kerr.InvalidPartitions) {
		t.Fatalf("shrink: %+v, %v", ps, err)
	}
	if r, _ := adm.CreatePartitions(ctx, 1, "nope"); !errors.Is(r["nope"].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("unknown topic: %+v", r)
	}
	if n := h.b.Image().PartitionCount(); n != 3 {
		t.Fatalf("%d partitions in the image, want 3", n)
	}
	for i := 0; i < 10; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: 2, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "p", Partition: 2, At: 4, LeaderEpoch: -1})
	res, err := adm.DeleteRecords(ctx, offs)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := res.Lookup("p", 2); r.Err != nil || r.LowWatermark != 4 {
		t.Fatalf("delete records: %+v", r)
	}
	starts, err := adm.ListStartOffsets(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup("p", 2); o.Offset != 4 {
		t.Fatalf("earliest %+v, want 4", o)
	}
	offs = kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "p", Partition: 2, At: 11, LeaderEpoch: -1})
	res, _ = adm.DeleteRecords(ctx, offs)
	if r, _ := res.Lookup("p", 2); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("past the high watermark: %+v", r)
	}

	consumer := h.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"p": {2: kgo.NewOffset().AtStart()}}))
	fs := consumer.PollRecords(ctx, 1)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	if recs := fs.Records(); len(recs) == 0 || recs[0].Offset != 4 {
		t.Fatalf("consumer from the start got %+v", recs)
	}

	set := kadm.TopicsSet{}
	set.Add("p", 0)
	el, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, set)
	if err != nil {
		t.Fatal(err)
	}
	if r := el["p"][0]; !errors.Is(r.Err, kerr.ElectionNotNeeded) {
		t.Fatalf("elect preferred: %+v", r)
	}
	all, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, nil)
	if err != nil || len(all) != 0 {
		t.Fatalf("all partitions: %+v, %v", all, err)
	}
}
