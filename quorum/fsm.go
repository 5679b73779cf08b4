package quorum

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// Publisher is metadata.Publisher, the one shape every metadata source
// publishes to. Here the first call after start carries the whole caught-up
// image with a delta from the empty image, and Publish runs on raft's FSM
// goroutine: it must not block on Node writes (they wait for that goroutine).
type Publisher = metadata.Publisher

// applyResult is what fsm.Apply returns; raft hands it to the writer as the
// ApplyFuture's Response.
type applyResult struct {
	Index uint64          // raft index of the entry
	Image *metadata.Image // image after the entry (unchanged when Err != nil)
	Err   error           // ErrCorruptEntry or ErrRejectedEntry, wrapped with facts
}

// fsm applies raft log entries (one metadata.AppendBatch each) to the
// metadata image. Raft calls Apply, Restore and Snapshot from its single FSM
// goroutine; mu also serializes the node loop's catch-up publish with them.
type fsm struct {
	log       *zap.Logger
	clusterID string
	pubs      []Publisher

	img atomic.Pointer[metadata.Image] // latest applied image; readable by anyone

	mu sync.Mutex // guards the fields below and every Publish call
	// Metadata transaction (KIP-868), as Kafka's MetadataBatchLoader: records
	// between Begin and End are buffered and applied at End; Abort drops them.
	txOpen bool
	txRecs []metadata.Record
	// Catch-up (Kafka's MetadataLoader): nothing is published until the
	// entry at target (the last command in the log at start) is applied.
	target     uint64
	caughtUp   bool
	caughtUpCh chan struct{} // closed when caughtUp becomes true

	// applied is the index of the last entry Apply saw (its Restore: the
	// image offset); changed is closed and replaced after every Apply and
	// Restore, so that metadata fetches can long-poll (fetch.go).
	applied uint64
	changed chan struct{}

	errCount atomic.Int64
	lastErr  atomic.Pointer[error]
	restores atomic.Int64 // snapshots restored (tests)
}

var _ raft.FSM = (*fsm)(nil)

func newFSM(log *zap.Logger, clusterID string, pubs []Publisher) *fsm {
	f := &fsm{log: log, clusterID: clusterID, pubs: pubs, caughtUpCh: make(chan struct{}), changed: make(chan struct{})}
	d := metadata.NewDelta(metadata.EmptyImage())
	d.SetClusterID(clusterID)
	f.img.Store(d.Apply())
	return f
}

func (f *fsm) image() *metadata.Image { return f.img.Load() }

// setTarget is called before raft starts, with the index of the last command
// entry already in the log (0: nothing to replay, caught up at once).
func (f *fsm) setTarget(target uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.target = target
	if target == 0 {
		f.markCaughtUpLocked()
	}
}

func (f *fsm) markCaughtUpLocked() {
	if f.caughtUp {
		return
	}
	f.caughtUp = true
	close(f.caughtUpCh)
}

// publishFullLocked marks the fsm caught up and publishes the current image
// with a delta from the empty image (everything is new to the publishers).
func (f *fsm) publishFullLocked() {
	defer f.markCaughtUpLocked() // after publishing: WaitCaughtUp promises a published image
	img := f.img.Load()
	f.publishLocked(metadata.FullDelta(img), img)
}

// subscribe adds p to the publishers (Kafka's MetadataLoader
// installPublishers): when the fsm has caught up, p first gets the current
// image as a delta from the empty image, at once; otherwise the caught-up
// publish brings it that. Either way p then sees every later image.
func (f *fsm) subscribe(p Publisher) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.caughtUp {
		img := f.img.Load()
		p.Publish(metadata.FullDelta(img), img)
	}
	f.pubs = append(slices.Clip(f.pubs), p)
}

func (f *fsm) publishLocked(d *metadata.Delta, img *metadata.Image) {
	for _, p := range f.pubs {
		p.Publish(d, img)
	}
}

// fail records an apply error so that it is visible (logged, counted, kept).
func (f *fsm) fail(err error) {
	f.errCount.Add(1)
	f.lastErr.Store(&err)
	f.log.Error("metadata log entry not applied", zap.Error(err))
}

func (f *fsm) lastError() (int64, error) {
	p := f.lastErr.Load()
	if p == nil {
		return f.errCount.Load(), nil
	}
	return f.errCount.Load(), *p
}

// Apply implements raft.FSM. Only LogCommand entries reach it.
func (f *fsm) Apply(l *raft.Log) interface{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	res := &applyResult{Index: l.Index, Image: f.img.Load()}
	res.Err = f.applyLocked(l)
	if res.Err != nil {
		f.fail(res.Err)
	}
	res.Image = f.img.Load()
	if !f.caughtUp && l.Index >= f.target {
		f.publishFullLocked()
	}
	f.appliedLocked(l.Index)
	return res
}

func (f *fsm) appliedLocked(index uint64) {
	f.applied = index
	close(f.changed)
	f.changed = make(chan struct{})
}

// progress returns the last applied entry's index and a channel closed at
// the next Apply or Restore.
func (f *fsm) progress() (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied, f.changed
}

// consistentImage returns the image with the index of the last entry applied
// to it, refusing while a metadata transaction is open (its records are not
// in the image yet).
func (f *fsm) consistentImage() (*metadata.Image, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.txOpen {
		return nil, 0, ErrSnapshotInTransaction
	}
	return f.img.Load(), f.applied, nil
}

func (f *fsm) applyLocked(l *raft.Log) error {
	recs, err := metadata.DecodeBatch(l.Data)
	if err != nil {
		return fmt.Errorf("entry %d (term %d, %d bytes): %w: %w", l.Index, l.Term, len(l.Data), err, ErrCorruptEntry)
	}
	// why stays text (%v): a rejected entry is answered as
	// UNKNOWN_SERVER_ERROR, and exposing a metadata sentinel inside it
	// would hand the client that sentinel's code instead.
	reject := func(i int, r metadata.Record, why error) error {
		return fmt.Errorf("entry %d (term %d) record %d (%v): %v: %w", l.Index, l.Term, i, r.Type(), why, ErrRejectedEntry)
	}
	base := f.img.Load()
	d := metadata.NewDelta(base)
	txOpen, txRecs := f.txOpen, f.txRecs
	changed := false
	for i, r := range recs {
		if rb, ok := r.(*metadata.RegisterBrokerRecord); ok && rb.BrokerEpoch == -1 {
			// Kafka's broker epoch is the record's offset; ours is the raft
			// index of the entry, the same on every node.
			rb.BrokerEpoch = int64(l.Index)
		}
		switch r.(type) {
		case *metadata.BeginTransactionRecord:
			if txOpen {
				return reject(i, r, errors.New("transaction already open"))
			}
			txOpen, txRecs = true, nil
		case *metadata.EndTransactionRecord:
			if !txOpen {
				return reject(i, r, errors.New("no open transaction"))
			}
			for j, tr := range txRecs {
				if err := d.Replay(tr); err != nil {
					// The transaction can never apply: drop it, as on Abort.
					f.txOpen, f.txRecs = false, nil
					return reject(i, r, fmt.Errorf("transaction record %d (%v): %w", j, tr.Type(), err))
				}
			}
			changed = changed || len(txRecs) > 0
			txOpen, txRecs = false, nil
		case *metadata.AbortTransactionRecord:
			if !txOpen {
				return reject(i, r, errors.New("no open transaction"))
			}
			txOpen, txRecs = false, nil
		default:
			if txOpen {
				txRecs = append(txRecs, r)
				continue
			}
			if err := d.Replay(r); err != nil {
				return reject(i, r, err)
			}
			changed = true
		}
	}
	f.txOpen, f.txRecs = txOpen, txRecs
	if !changed {
		return nil
	}
	d.SetProvenance(int64(l.Index), int64(l.Term))
	img := d.Apply()
	f.img.Store(img)
	if f.caughtUp {
		f.publishLocked(d, img)
	}
	return nil
}

// Snapshot implements raft.FSM. The image is immutable, so the snapshot is
// just the pointer; Persist encodes it on raft's snapshot goroutine.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.txOpen {
		return nil, ErrSnapshotInTransaction
	}
	return &fsmSnapshot{img: f.img.Load(), clusterID: f.clusterID}, nil
}

// Restore implements raft.FSM: the snapshot replaces the image (at start, or
// when the leader installs a snapshot on a lagging follower).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSnapshotBytes+1))
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	if len(b) > maxSnapshotBytes {
		return fmt.Errorf("snapshot larger than %d bytes: %w", maxSnapshotBytes, ErrCorruptSnapshot)
	}
	h, recs, err := decodeSnapshot(b)
	if err != nil {
		return err
	}
	if h.ClusterID != "" && f.clusterID != "" && h.ClusterID != f.clusterID {
		return fmt.Errorf("snapshot of cluster %s, this node is in cluster %s: %w", h.ClusterID, f.clusterID, ErrClusterIDMismatch)
	}
	d := metadata.NewDelta(metadata.EmptyImage())
	for i, r := range recs {
		if err := d.Replay(r); err != nil {
			return fmt.Errorf("snapshot record %d (%v): %w: %w", i, r.Type(), err, ErrCorruptSnapshot)
		}
	}
	d.SetProvenance(h.Offset, h.Epoch)
	d.SetClusterID(f.clusterID)
	img := d.Apply()

	f.mu.Lock()
	defer f.mu.Unlock()
	f.restores.Add(1)
	prev := f.img.Swap(img)
	if h.Offset > 0 {
		f.appliedLocked(uint64(h.Offset))
	}
	f.txOpen, f.txRecs = false, nil
	f.log.Info("restored metadata snapshot", zap.Int64("offset", h.Offset), zap.Int64("epoch", h.Epoch),
		zap.Int("records", len(recs)), zap.Int("topics", img.TopicCount()))
	if f.caughtUp {
		f.publishLocked(metadata.DeltaBetween(prev, img), img)
	}
	return nil
}

type fsmSnapshot struct {
	img       *metadata.Image
	clusterID string
}

var _ raft.FSMSnapshot = (*fsmSnapshot)(nil)

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	h := snapshotHeader{Offset: s.img.Offset(), Epoch: s.img.Epoch(), ClusterID: s.clusterID}
	b := appendSnapshot(nil, h, metadata.WriteImage(s.img))
	if _, err := sink.Write(b); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write snapshot %s: %w", sink.ID(), err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
