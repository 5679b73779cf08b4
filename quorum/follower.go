package quorum

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
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
//
// Publishing follows Kafka's MetadataLoader: at start the follower learns
// the controller's high watermark (target), applies the snapshot and entries
// up to it without publishing anything, then publishes the caught-up image
// once, with a delta from the empty image, and from then on every entry as
// it is applied. So a restarted broker never replays leaderships (or group
// coordinator loads) that ended before it started.
type follower struct {
	c    *Client
	log  *zap.Logger
	fsm  *fsm
	next atomic.Int64 // next raft index to fetch

	target int64 // controller's high watermark at start, 0 until learned (run's goroutine only)
}

// fetchMaxBytes bounds one metadata fetch response and one snapshot chunk.
const fetchMaxBytes = 8 << 20

func newFollower(c *Client, log *zap.Logger, pubs []Publisher) *follower {
	f := &follower{c: c, log: log, fsm: newFSM(log, "", pubs)}
	// Publish nothing until catchUp: the fsm's own start-up target (an
	// index in a local log) does not apply, the follower learns its own.
	f.fsm.setTarget(math.MaxUint64)
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
		err := f.learnTarget(ctx)
		if err == nil {
			err = f.fetchOnce(ctx)
		}
		if err != nil && ctx.Err() == nil {
			f.log.Warn("metadata fetch failed", zap.Int64("offset", f.next.Load()), zap.Error(err))
			_ = sleepCtx(ctx, 200*time.Millisecond)
		}
	}
}

// learnTarget asks the controller for its high watermark once, at start:
// a fetch far past the log end waits for nothing and answers it.
func (f *follower) learnTarget(ctx context.Context) error {
	if f.target > 0 {
		return nil
	}
	p, err := f.fetch(ctx, math.MaxInt64/2, 0, 1)
	if err != nil {
		return fmt.Errorf("learn the metadata high watermark: %w", err)
	}
	if p.ErrorCode != 0 {
		return fmt.Errorf("learn the metadata high watermark: %w", codeError(p.ErrorCode))
	}
	f.target = max(p.HighWatermark, 1)
	f.log.Info("catching up with the metadata log", zap.Int64("high_watermark", f.target))
	return nil
}

// fetch sends one metadata Fetch at offset to the active controller
// (fetchMetadata) and returns its answer for the metadata partition.
func (f *follower) fetch(ctx context.Context, offset int64, maxWait time.Duration, maxBytes int32) (kmsg.FetchResponseTopicPartition, error) {
	return fetchMetadata(ctx, f.call, f.c.cfg.NodeID, offset, maxWait, maxBytes)
}

// call is the follower's controllerCall: Client.call for fetches.
func (f *follower) call(ctx context.Context, req kmsg.Request, notController func(kmsg.Response) bool) (kmsg.Response, error) {
	return f.c.call(ctx, "fetch", req, notController)
}

func (f *follower) fetchOnce(ctx context.Context) error {
	p, err := f.fetch(ctx, f.next.Load(), f.c.cfg.FetchMaxWait, fetchMaxBytes)
	if err != nil {
		return err
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
	if f.next.Load() >= f.target {
		f.catchUp()
	}
	return nil
}

// catchUp publishes the image once the log is applied up to the high
// watermark learned at start: one delta from the empty image (fsm.Apply and
// Restore publish every change after that).
func (f *follower) catchUp() {
	f.fsm.mu.Lock()
	defer f.fsm.mu.Unlock()
	if f.fsm.caughtUp {
		return
	}
	f.fsm.publishFullLocked()
	f.log.Info("metadata caught up", zap.Int64("offset", f.offset()), zap.Int64("image_offset", f.fsm.image().Offset()))
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

// loadSnapshot fetches the controller's image (downloadSnapshot: its
// restart policy) and restores it into the fsm; the next fetch starts at the
// image's end offset.
func (f *follower) loadSnapshot(ctx context.Context) error {
	s, err := downloadSnapshot(ctx, f.call, f.c.cfg.NodeID)
	if err != nil {
		return err
	}
	if err := f.fsm.Restore(io.NopCloser(bytes.NewReader(s.data))); err != nil {
		return fmt.Errorf("load metadata snapshot ending at %d: %w", s.end, err)
	}
	f.next.Store(s.end)
	f.log.Info("loaded metadata snapshot", zap.Int64("end_offset", s.end), zap.Int("bytes", len(s.data)))
	return nil
}
