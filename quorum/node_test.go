package quorum

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
)

// A single voter elects itself, creates topics, and a restart on the same
// dir replays the log into the identical image; the first publish after the
// restart is the whole caught-up image (Kafka's MetadataLoader).
func TestSingleVoterCreateAndRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := fastConfig(dir)
	rec := &recorder{}
	n := startNode(t, cfg, rec)
	if id, err := n.WaitLeader(testCtx(t)); err != nil || id != 1 {
		t.Fatalf("WaitLeader = %d, %v; want 1", id, err)
	}
	waitController(t, n)
	registerBrokers(t, n, 1, 2, 3)

	errs := n.CreateTopics(testCtx(t), []metadata.CreateTopicSpec{
		{Name: "orders", NumPartitions: 3, ReplicationFactor: 2, Configs: map[string]string{"cleanup.policy": "compact"}},
		{Name: "events", NumPartitions: -1, ReplicationFactor: -1},
		{Name: "bad name!", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
	}, false)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("create: %v", errs)
	}
	if !errors.Is(errs[2], metadata.ErrInvalidTopic) {
		t.Errorf("bad name: %v, want ErrInvalidTopic", errs[2])
	}
	if !errors.Is(errs[3], metadata.ErrInvalidRequest) || !errors.Is(errs[4], metadata.ErrInvalidRequest) {
		t.Errorf("duplicate names: %v / %v, want ErrInvalidRequest", errs[3], errs[4])
	}
	// CreateTopics returns after the records are applied locally.
	img := n.Image()
	orders, ok := img.Topic("orders")
	if !ok || orders.NumPartitions() != 3 || len(orders.Partitions[0].Replicas) != 2 {
		t.Fatalf("orders not in image after CreateTopics: %+v", orders)
	}
	if got := img.Configs(metadata.TopicResource, "orders")["cleanup.policy"]; got != "compact" {
		t.Errorf("orders cleanup.policy = %q", got)
	}
	if _, ok := img.Topic("dup"); ok {
		t.Errorf("duplicate-named topic was created")
	}
	if img.ClusterID() != n.ClusterID() || len(n.ClusterID()) != 22 {
		t.Errorf("image cluster id %q, meta.properties %q", img.ClusterID(), n.ClusterID())
	}
	if again := n.CreateTopics(testCtx(t), []metadata.CreateTopicSpec{{Name: "orders", NumPartitions: 1, ReplicationFactor: 1}}, false); !errors.Is(again[0], metadata.ErrTopicExists) {
		t.Errorf("create existing: %v, want ErrTopicExists", again[0])
	}
	// validateOnly checks but writes nothing.
	before := n.Image().Offset()
	if v := n.CreateTopics(testCtx(t), []metadata.CreateTopicSpec{{Name: "dry", NumPartitions: 1, ReplicationFactor: 1}}, true); v[0] != nil {
		t.Errorf("validateOnly: %v", v[0])
	}
	if _, ok := n.Image().Topic("dry"); ok || n.Image().Offset() != before {
		t.Errorf("validateOnly wrote to the log")
	}
	if rec.last() != n.Image() {
		t.Errorf("publisher did not see the latest image")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	want := n.Image() // final: raft is shut down (the leader no-op may land late)

	rec2 := &recorder{}
	n2 := startNode(t, cfg, rec2)
	if err := n2.WaitCaughtUp(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// The first publish is exactly the log present at start (the new
	// leader's no-op entry comes after it).
	d, got := rec2.first()
	if got == nil || !got.Equal(want) || got.Offset() != want.Offset() || got.Epoch() != want.Epoch() || got.ClusterID() != want.ClusterID() {
		t.Fatalf("first publish after restart is not the caught-up image (want offset %d, topics %d; got %v)", want.Offset(), want.TopicCount(), got)
	}
	if !n2.Image().Equal(want) {
		t.Fatalf("restarted image differs")
	}
	if lc := d.LocalChanges(1); len(lc.Leaders)+len(lc.Followers) == 0 {
		t.Errorf("caught-up delta carries no partitions for broker 1: %+v", lc)
	}
	// Writes work after the restart.
	waitController(t, n2)
	createTopic(t, n2, "after-restart", 1)
}

func TestDeleteTopic(t *testing.T) {
	n := startNode(t, fastConfig(t.TempDir()))
	waitController(t, n)
	registerBrokers(t, n, 1)
	createTopic(t, n, "a", 2)
	createTopic(t, n, "b", 1)
	errs := n.DeleteTopics(testCtx(t), []string{"a", "missing"})
	if errs[0] != nil {
		t.Fatalf("delete a: %v", errs[0])
	}
	if !errors.Is(errs[1], metadata.ErrUnknownTopic) {
		t.Errorf("delete missing: %v, want ErrUnknownTopic", errs[1])
	}
	img := n.Image()
	if _, ok := img.Topic("a"); ok {
		t.Errorf("a still in image")
	}
	if _, ok := img.Topic("b"); !ok || img.TopicCount() != 1 || img.PartitionCount() != 1 {
		t.Errorf("image after delete: %d topics %d partitions", img.TopicCount(), img.PartitionCount())
	}
	// The name can be reused, with a new id.
	createTopic(t, n, "a", 1)
}

// Broker epoch = raft index of the RegisterBrokerRecord's entry (Kafka: its offset).
func TestRegisterUnfenceAndProducerIDs(t *testing.T) {
	n := startNode(t, fastConfig(t.TempDir()))
	waitController(t, n)
	ctx := testCtx(t)
	reg := metadata.BrokerRegistration{ID: 7, IncarnationID: metadata.RandomUuid(),
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}}
	epoch, err := n.RegisterBroker(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := n.Image().Broker(7)
	if !ok || b.Epoch != epoch || !b.Fenced {
		t.Fatalf("broker 7 = %+v, epoch %d; want fenced with that epoch", b, epoch)
	}
	var entry raft.Log
	if err := n.store.GetLog(uint64(epoch), &entry); err != nil {
		t.Fatalf("raft entry %d: %v", epoch, err)
	}
	recs, err := metadata.DecodeBatch(entry.Data)
	if err != nil || len(recs) != 1 {
		t.Fatalf("raft entry %d: %v %v", epoch, recs, err)
	}
	if rb, ok := recs[0].(*metadata.RegisterBrokerRecord); !ok || rb.BrokerID != 7 || rb.BrokerEpoch != -1 {
		t.Errorf("raft entry %d (the epoch) holds %+v, want broker 7's registration with epoch -1", epoch, recs[0])
	}
	if err := n.UnfenceBroker(ctx, 7, epoch+1); err == nil {
		t.Errorf("unfence with a wrong epoch succeeded")
	}
	if err := n.UnfenceBroker(ctx, 7, epoch); err != nil {
		t.Fatal(err)
	}
	if b, _ := n.Image().Broker(7); b.Fenced {
		t.Errorf("broker 7 still fenced")
	}
	first, count, err := n.AllocateProducerIDs(ctx, 7)
	if err != nil || count <= 0 {
		t.Fatalf("allocate: %d %d %v", first, count, err)
	}
	first2, _, err := n.AllocateProducerIDs(ctx, 7)
	if err != nil || first2 != first+count {
		t.Fatalf("second block starts at %d, want %d (%v)", first2, first+count, err)
	}
	if n.Image().NextProducerID() != first2+count {
		t.Errorf("next producer id %d, want %d", n.Image().NextProducerID(), first2+count)
	}
}

// A snapshot, more entries, and a restart: the image comes back from the
// snapshot plus the log after it.
func TestSnapshotAndRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := fastConfig(dir)
	cfg.TrailingLogs = 0 // compact the whole log into the snapshot
	n := startNode(t, cfg)
	waitController(t, n)
	registerBrokers(t, n, 1, 2)
	for _, name := range []string{"t1", "t2", "t3"} {
		createTopic(t, n, name, 2)
	}
	if err := n.Snapshot(testCtx(t)); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	createTopic(t, n, "t4", 1)
	if errs := n.DeleteTopics(testCtx(t), []string{"t1"}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	want := n.Image() // final: raft is shut down (the leader no-op may land late)
	entries, err := os.ReadDir(filepath.Join(dir, "snapshots"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no snapshot in %s: %v", dir, err)
	}

	rec := &recorder{}
	n2 := startNode(t, cfg, rec)
	first, err := n2.store.FirstIndex()
	if err != nil || first <= 1 {
		t.Fatalf("log not compacted (first index %d, %v): the restart would not use the snapshot", first, err)
	}
	if n2.fsm.restores.Load() != 1 {
		t.Fatalf("restores = %d, want 1", n2.fsm.restores.Load())
	}
	if err := n2.WaitCaughtUp(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, got := rec.first(); got == nil || !got.Equal(want) || got.Offset() != want.Offset() {
		t.Fatalf("first publish after snapshot restart is not the image before the restart (want offset %d)", want.Offset())
	}
	if !n2.Image().Equal(want) {
		t.Fatalf("image after snapshot restart differs")
	}
}

// A corrupt entry is logged, counted and returned to the writer; it never
// panics and the image stays as it was. Later writes and restarts work.
func TestCorruptEntry(t *testing.T) {
	cfg := fastConfig(t.TempDir())
	n := startNode(t, cfg)
	waitController(t, n)
	registerBrokers(t, n, 1)
	createTopic(t, n, "keep", 1)
	before := n.Image()

	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"garbage", []byte{0xff, 0x01, 0x02}, ErrCorruptEntry},
		{"empty", nil, ErrCorruptEntry},
		{"truncated batch", metadata.AppendBatch(nil, []metadata.Record{&metadata.TopicRecord{Name: "x", TopicID: metadata.RandomUuid()}})[:5], ErrCorruptEntry},
		{"partition of unknown topic", metadata.AppendBatch(nil, []metadata.Record{
			&metadata.PartitionRecord{TopicID: metadata.RandomUuid(), Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}), ErrRejectedEntry},
		{"topic then bad partition: all or nothing", metadata.AppendBatch(nil, []metadata.Record{
			&metadata.TopicRecord{Name: "half", TopicID: metadata.RandomUuid()},
			&metadata.PartitionRecord{TopicID: metadata.RandomUuid(), Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}), ErrRejectedEntry},
		{"end without begin", metadata.AppendBatch(nil, []metadata.Record{&metadata.EndTransactionRecord{}}), ErrRejectedEntry},
		// One changed byte of a topic id: decodes as another valid topic
		// without the entry's CRC-32C.
		{"changed byte (checksum)", func() []byte {
			b := metadata.AppendBatch(nil, []metadata.Record{&metadata.TopicRecord{Name: "flip", TopicID: metadata.RandomUuid()}})
			b[len(b)-3] ^= 0x20
			return b
		}(), ErrCorruptEntry},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := applyRaw(t, n, tc.data)
			if !errors.Is(res.Err, tc.want) {
				t.Fatalf("result error %v, want %v", res.Err, tc.want)
			}
			if !strings.Contains(res.Err.Error(), "entry ") {
				t.Errorf("error %q does not name the entry", res.Err)
			}
			if !n.Image().Equal(before) {
				t.Errorf("image changed by a bad entry")
			}
			count, last := n.ApplyErrors()
			if count != int64(i+1) || !errors.Is(last, tc.want) {
				t.Errorf("ApplyErrors = %d, %v", count, last)
			}
		})
	}
	createTopic(t, n, "after", 1)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	want := n.Image() // final: raft is shut down (the leader no-op may land late)
	n2 := startNode(t, cfg)
	if err := n2.WaitCaughtUp(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !n2.Image().Equal(want) {
		t.Fatalf("replay past corrupt entries differs")
	}
	if count, _ := n2.ApplyErrors(); count != int64(len(tests)) {
		t.Errorf("replay counted %d bad entries, want %d", count, len(tests))
	}
}

// Records between BeginTransaction and EndTransaction apply together at End
// (across entries); Abort drops them (KIP-868, Kafka's MetadataBatchLoader).
func TestTransactions(t *testing.T) {
	n := startNode(t, fastConfig(t.TempDir()))
	waitController(t, n)
	id := metadata.RandomUuid()
	batch := func(recs ...metadata.Record) []byte { return metadata.AppendBatch(nil, recs) }
	part := &metadata.PartitionRecord{TopicID: id, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}

	steps := []struct {
		data      []byte
		wantTopic bool
		wantErr   error
	}{
		{batch(&metadata.BeginTransactionRecord{}, &metadata.TopicRecord{Name: "tx", TopicID: id}), false, nil},
		{batch(part), false, nil},
		{batch(&metadata.BeginTransactionRecord{}), false, ErrRejectedEntry}, // nested
		{batch(&metadata.AbortTransactionRecord{}), false, nil},
		{batch(&metadata.EndTransactionRecord{}), false, ErrRejectedEntry}, // nothing open
		{batch(&metadata.BeginTransactionRecord{}, &metadata.TopicRecord{Name: "tx", TopicID: id}), false, nil},
		{batch(part), false, nil},
		{batch(&metadata.EndTransactionRecord{}), true, nil},
	}
	for i, s := range steps {
		res := applyRaw(t, n, s.data)
		if !errors.Is(res.Err, s.wantErr) || (s.wantErr == nil && res.Err != nil) {
			t.Fatalf("step %d: error %v, want %v", i, res.Err, s.wantErr)
		}
		tp, ok := n.Image().Topic("tx")
		if ok != s.wantTopic {
			t.Fatalf("step %d: topic visible = %v, want %v", i, ok, s.wantTopic)
		}
		if ok && tp.NumPartitions() != 1 {
			t.Fatalf("step %d: partitions %d", i, tp.NumPartitions())
		}
	}
	// Raft is refused a snapshot while a transaction is open.
	applyRaw(t, n, batch(&metadata.BeginTransactionRecord{}))
	if err := n.Snapshot(testCtx(t)); err == nil {
		t.Errorf("snapshot inside an open transaction succeeded")
	}
	applyRaw(t, n, batch(&metadata.AbortTransactionRecord{}))
}

func TestNewRejectsOtherNodesDir(t *testing.T) {
	dir := t.TempDir()
	cfg := fastConfig(dir)
	n, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = n.Close()
	cfg2 := cfg
	cfg2.NodeID = 2
	cfg2.Voters = map[int32]string{2: "127.0.0.1:0"}
	_, err = New(cfg2, zaptest.NewLogger(t))
	if !errors.Is(err, ErrMetaProperties) || !strings.Contains(err.Error(), "node.id=1") || !strings.Contains(err.Error(), "node.id=2") {
		t.Fatalf("New on node 1's dir as node 2: %v", err)
	}
}

func TestWritesBeforeStartAndAfterClose(t *testing.T) {
	n, err := New(fastConfig(t.TempDir()), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if errs := n.CreateTopics(testCtx(t), []metadata.CreateTopicSpec{{Name: "x", NumPartitions: 1, ReplicationFactor: 1}}, false); !errors.Is(errs[0], ErrClosed) {
		t.Errorf("before start: %v", errs[0])
	}
	if _, ok := n.Leader(); ok {
		t.Errorf("leader known before start")
	}
	if err := n.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitController(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := n.RegisterBroker(testCtx(t), metadata.BrokerRegistration{ID: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func BenchmarkCreateTopic(b *testing.B) {
	n, err := New(fastConfig(b.TempDir()), zap.NewNop()) // per-op logs would be measured too
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Start(testCtx(b)); err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	waitController(b, n)
	registerBrokers(b, n, 1, 2, 3)
	ctx := testCtx(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		errs := n.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "bench-" + strconv.Itoa(i), NumPartitions: 4, ReplicationFactor: 3}}, false)
		if errs[0] != nil {
			b.Fatal(errs[0])
		}
	}
}
