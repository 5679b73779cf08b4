package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeController runs metadata's pure controller logic on an in-memory
// image and publishes each result to its subscribers, as a quorum would
// after committing the records. failNext makes the next AlterPartition fail.
type fakeController struct {
	mu       sync.Mutex
	img      *metadata.Image
	subs     []func(*metadata.Delta, *metadata.Image)
	alters   int
	failNext error
}

func newFakeController(t *testing.T, brokers ...int32) *fakeController {
	t.Helper()
	c := &fakeController{img: metadata.EmptyImage()}
	for _, id := range brokers {
		reg := metadata.BrokerRegistration{ID: id, Epoch: int64(100 + id), IncarnationID: metadata.RandomUuid(),
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}}
		recs, err := metadata.RegisterBroker(c.img, reg, false)
		if err != nil {
			t.Fatal(err)
		}
		c.apply(t, recs)
		recs, err = metadata.UnfenceBroker(c.img, id, reg.Epoch)
		if err != nil {
			t.Fatal(err)
		}
		c.apply(t, recs)
	}
	return c
}

func (c *fakeController) apply(t *testing.T, recs []metadata.Record) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.applyLocked(recs); err != nil {
		t.Fatal(err)
	}
}

// switchSource applies recs as one delta marked as a switch of metadata
// source (metadata.Delta.MarkSourceSwitch), as a migrating ZooKeeper-mode
// broker's source publishes it.
func (c *fakeController) switchSource(t *testing.T, recs []metadata.Record) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.applyDeltaLocked(recs, true); err != nil {
		t.Fatal(err)
	}
}

func (c *fakeController) applyLocked(recs []metadata.Record) error {
	return c.applyDeltaLocked(recs, false)
}

func (c *fakeController) applyDeltaLocked(recs []metadata.Record, switched bool) error {
	d := metadata.NewDelta(c.img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			return err
		}
	}
	if switched {
		d.MarkSourceSwitch()
	}
	c.img = d.Apply()
	for _, s := range c.subs {
		s(d, c.img)
	}
	return nil
}

func (c *fakeController) image() *metadata.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.img
}

func (c *fakeController) AlterPartition(_ context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.alters++
	if err := c.failNext; err != nil {
		c.failNext = nil
		return nil, err
	}
	reg, recs, err := metadata.AlterPartition(c.img, req)
	if err != nil {
		return nil, err
	}
	return reg, c.applyLocked(recs)
}

// createTopic creates topic with the given replica assignment per partition.
func (c *fakeController) createTopic(t *testing.T, name string, configs map[string]string, assign ...[]int32) {
	t.Helper()
	as := map[int32][]int32{}
	for i, a := range assign {
		as[int32(i)] = a
	}
	recs, err := metadata.CreateTopic(c.image(), metadata.CreateTopicSpec{Name: name, NumPartitions: -1,
		ReplicationFactor: -1, Assignments: as, Configs: configs}, metadata.DefaultControllerConfig())
	if err != nil {
		t.Fatal(err)
	}
	c.apply(t, recs)
}

// fakeClock is a settable time source.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testBatch encodes a v2 batch of n records with kmsg and a CRC-32C.
func testBatch(n int, value string) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(value)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1),
		FirstTimestamp: 1_700_000_000_000, MaxTimestamp: 1_700_000_000_000, ProducerID: -1, ProducerEpoch: -1,
		FirstSequence: -1, NumRecords: int32(n), Records: recs}
	b.Length = int32(61 - 12 + len(recs))
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

func openLogs(t *testing.T) *storage.Manager {
	t.Helper()
	cfg := storage.DefaultConfig()
	cfg.Dirs = []string{t.TempDir()}
	cfg.RetentionMs = -1
	logs, err := storage.Open(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logs.Close() })
	return logs
}

var _ = bytes.Equal
