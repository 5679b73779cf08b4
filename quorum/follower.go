package quorum

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// follower is a broker's metadata loader: it fetches the metadata log from
// the active controller (fetch.go describes the wire) and applies it with
// the same fsm the voters use, so transactions, broker-epoch stamping and
// publishing behave identically. A broker keeps no metadata on disk: it
// starts from offset 1, or from the controller's image when the log start
// has moved past that.
type follower struct {
	c    *Client
	log  *zap.Logger
	fsm  *fsm
	next atomic.Int64 // next raft index to fetch

	caughtUp chan struct{} // closed once next reached the controller's high watermark
	once     sync.Once
}

// fetchMaxBytes bounds one metadata fetch response and one snapshot chunk.
const fetchMaxBytes = 8 << 20

func newFollower(c *Client, log *zap.Logger, pubs []Publisher) *follower {
	f := &follower{c: c, log: log, fsm: newFSM(log, "", pubs), caughtUp: make(chan struct{})}
	f.fsm.setTarget(0) // publish every entry as it is applied
	f.next.Store(1)
	return f
}

// setClusterID is called before run: images carry the cluster id and
// snapshots of another cluster are refused.
func (f *follower) setClusterID(id string) {
	f.fsm.mu.Lock()
	defer f.fsm.mu.Unlock()
	f.fsm.clusterID = id
	d := metadata.NewDelta(f.fsm.img.Load())
	d.SetClusterID(id)
	f.fsm.img.Store(d.Apply())
}

// offset is the last metadata log offset applied (0 if none).
func (f *follower) offset() int64 { return f.next.Load() - 1 }

func (f *follower) run(ctx context.Context) {
	defer f.c.wg.Done()
	for ctx.Err() == nil {
		if err := f.fetchOnce(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("metadata fetch failed", zap.Int64("offset", f.next.Load()), zap.Error(err))
			_ = sleepCtx(ctx, 200*time.Millisecond)
		}
	}
}

func (f *follower) fetchOnce(ctx context.Context) error {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.ReplicaID = f.c.cfg.NodeID
	req.MaxWaitMillis = int32(f.c.cfg.FetchMaxWait.Milliseconds())
	req.MinBytes, req.MaxBytes = 1, fetchMaxBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = MetadataTopic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, f.next.Load(), fetchMaxBytes
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := f.c.call(ctx, "fetch", req, func(r kmsg.Response) bool {
		p, ok := fetchPartition(r.(*kmsg.FetchResponse))
		return ok && isNotController(p.ErrorCode)
	})
	if err != nil {
		return err
	}
	p, ok := fetchPartition(resp.(*kmsg.FetchResponse))
	if !ok {
		return fmt.Errorf("fetch response without %s-0: %w", MetadataTopic, ErrBadResponse)
	}
	switch {
	case p.ErrorCode == kerr.OffsetOutOfRange.Code:
		return f.loadSnapshot(ctx)
	case p.ErrorCode != 0:
		return fmt.Errorf("fetch %s-0 at %d: %w", MetadataTopic, f.next.Load(), codeError(p.ErrorCode))
	}
	entries, derr := decodeEntryBatches(p.RecordBatches)
	for _, e := range entries {
		if int64(e.Index) < f.next.Load() {
			continue
		}
		f.fsm.Apply(&raft.Log{Index: e.Index, Term: e.Term, Type: raft.LogCommand, Data: e.Data})
		f.next.Store(int64(e.Index) + 1)
	}
	if derr != nil {
		return derr
	}
	if p.HighWatermark > f.next.Load() {
		f.next.Store(p.HighWatermark)
	}
	if f.next.Load() >= p.HighWatermark {
		f.once.Do(func() {
			f.log.Info("metadata caught up", zap.Int64("offset", f.offset()))
			close(f.caughtUp)
		})
	}
	return nil
}

func fetchPartition(r *kmsg.FetchResponse) (kmsg.FetchResponseTopicPartition, bool) {
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			if t.Topic == MetadataTopic && p.Partition == 0 {
				return p, true
			}
		}
	}
	return kmsg.FetchResponseTopicPartition{}, false
}

// loadSnapshot fetches the controller's image in chunks and restores it.
func (f *follower) loadSnapshot(ctx context.Context) error {
	var (
		buf   []byte
		end   int64 = -1
		epoch int32 = -1
	)
	for {
		req := kmsg.NewPtrFetchSnapshotRequest()
		req.ReplicaID, req.MaxBytes = f.c.cfg.NodeID, fetchMaxBytes
		rt := kmsg.NewFetchSnapshotRequestTopic()
		rt.Topic = MetadataTopic
		rp := kmsg.NewFetchSnapshotRequestTopicPartition()
		rp.SnapshotID.EndOffset, rp.SnapshotID.Epoch, rp.Position = end, epoch, int64(len(buf))
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := f.c.call(ctx, "fetch", req, func(r kmsg.Response) bool {
			for _, t := range r.(*kmsg.FetchSnapshotResponse).Topics {
				for _, p := range t.Partitions {
					if isNotController(p.ErrorCode) {
						return true
					}
				}
			}
			return false
		})
		if err != nil {
			return err
		}
		r := resp.(*kmsg.FetchSnapshotResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			return fmt.Errorf("fetch snapshot: %d topics in the answer: %w", len(r.Topics), ErrBadResponse)
		}
		p := r.Topics[0].Partitions[0]
		switch {
		case p.ErrorCode == kerr.SnapshotNotFound.Code:
			buf, end, epoch = nil, -1, -1 // the controller moved on: start over
			continue
		case p.ErrorCode != 0:
			return fmt.Errorf("fetch snapshot: %w", codeError(p.ErrorCode))
		case p.Size < 0 || p.Size > maxSnapshotBytes || p.Position != int64(len(buf)):
			return fmt.Errorf("fetch snapshot: size %d position %d, have %d bytes: %w", p.Size, p.Position, len(buf), ErrBadResponse)
		}
		if len(buf) == 0 {
			end, epoch = p.SnapshotID.EndOffset, p.SnapshotID.Epoch
			buf = make([]byte, 0, p.Size)
		}
		buf = append(buf, p.Bytes...)
		if int64(len(buf)) >= p.Size {
			break
		}
		if len(p.Bytes) == 0 {
			return fmt.Errorf("fetch snapshot: empty chunk at %d of %d: %w", len(buf), p.Size, ErrBadResponse)
		}
	}
	if err := f.fsm.Restore(io.NopCloser(bytes.NewReader(buf))); err != nil {
		return fmt.Errorf("load metadata snapshot ending at %d: %w", end, err)
	}
	f.next.Store(end)
	f.log.Info("loaded metadata snapshot", zap.Int64("end_offset", end), zap.Int("bytes", len(buf)))
	return nil
}
