package meta

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zkraft/zkraft/metadata"
)

// State is the image as of one offset and where it came from.
type State struct {
	Image *metadata.Image
	// At is the offset asked for (the last entry considered).
	At uint64
	// From says how the image was built: "log" (replayed from the first
	// entry) or "snapshot <id>" (restored, then the log after it replayed).
	From string
	// ProvenanceTime is the append time of the entry at the image's offset
	// (zero if unknown, e.g. the offset is inside a snapshot).
	ProvenanceTime time.Time
}

// EarliestOffset is the lowest offset an image can be built at: 0 when the
// log still starts at its first entry, else the oldest readable snapshot
// that the log continues from.
func (l *Log) EarliestOffset() (uint64, bool) {
	if l.logFromStart() {
		return 0, true
	}
	for _, s := range l.Snapshots {
		if s.Err == nil && l.continuesAfter(s.Index) {
			return s.Index, true
		}
	}
	return 0, false
}

// Reach says how far back time travel goes: the offsets --at can rebuild
// an image at (and the older snapshots usable at their own offset only).
func (l *Log) Reach() string {
	last := l.LastOffset()
	earliest, ok := l.EarliestOffset()
	if !ok {
		return "no image can be built (the log is compacted and no readable snapshot continues it)"
	}
	msg := fmt.Sprintf("--at reaches offsets %d to %d", earliest, last)
	var points []string
	for _, s := range l.Snapshots {
		if s.Err == nil && s.Index < earliest {
			points = append(points, fmt.Sprint(s.Index))
		}
	}
	if len(points) > 0 {
		msg += " and the older snapshots' offsets " + strings.Join(points, ", ")
	}
	return msg
}

// logFromStart: raft.db starts at index 1 (nothing compacted), or there is
// no log at all and no snapshot either.
func (l *Log) logFromStart() bool {
	if l.DBPath == "" && !l.live() {
		return false
	}
	// An empty log (First 0) starts at the beginning only if nothing was
	// ever compacted into a snapshot: raft can compact everything.
	return l.First == 1 || (l.First == 0 && len(l.Snapshots) == 0)
}

// continuesAfter: the log has the entry right after index, or nothing after
// it is needed because the log ends at or before it.
func (l *Log) continuesAfter(index uint64) bool {
	i := l.entryAfter(index)
	if l.live() {
		// A live log skips control entries: any entry after the
		// snapshot's first needed one will do, or none at all.
		return i == len(l.Entries) || l.Entries[0].Index <= index+1
	}
	if i == len(l.Entries) {
		return index >= l.LastOffset() // nothing after it to replay
	}
	return l.Entries[i].Index == index+1
}

// ImageAt builds the image as of offset at (every entry with index <= at
// applied), restoring the newest readable snapshot at or below at and
// replaying the log after it, or replaying from the first entry. The
// replay follows the node's FSM (quorum/fsm.go): an entry applies
// atomically or not at all, transactions are buffered until their End,
// and a RegisterBrokerRecord with epoch -1 gets the entry's index.
func (l *Log) ImageAt(at uint64) (*State, error) {
	if last := l.LastOffset(); at > last {
		if l.Err != nil {
			// The log may hold it but could not be read: say why.
			return nil, fmt.Errorf("meta: offset %d is past the last readable offset %d: %w (%w)", at, last, l.Err, ErrOffsetUnavailable)
		}
		return nil, fmt.Errorf("meta: offset %d is past the last offset %d: %w", at, last, ErrOffsetUnavailable)
	}
	var base *Snapshot
	for i := len(l.Snapshots) - 1; i >= 0; i-- {
		s := &l.Snapshots[i]
		if s.Err == nil && s.Index <= at && (s.Index == at || l.continuesAfter(s.Index)) {
			base = s
			break
		}
	}
	st := &State{At: at, From: "log"}
	var img *metadata.Image
	start := uint64(1)
	if base != nil {
		d := metadata.NewDelta(metadata.EmptyImage())
		for i, r := range base.Records {
			if err := d.Replay(r); err != nil {
				return nil, fmt.Errorf("meta: %s: record %d (%v): %w: %w", base.Path, i, r.Type(), err, ErrCorrupt)
			}
		}
		d.SetProvenance(base.Header.Offset, base.Header.Epoch)
		d.SetClusterID(l.clusterID(base))
		img = d.Apply()
		start = base.Index + 1
		st.From = "snapshot " + base.ID
	} else if l.logFromStart() {
		d := metadata.NewDelta(metadata.EmptyImage())
		d.SetClusterID(l.ClusterID)
		img = d.Apply()
	} else {
		if l.Err != nil {
			// The log could not be read: that is why, not compaction.
			return nil, fmt.Errorf("meta: offset %d: no image can be built there: %w (%w)", at, l.Err, ErrOffsetUnavailable)
		}
		earliest, ok := l.EarliestOffset()
		if !ok {
			return nil, fmt.Errorf("meta: offset %d: the log before offset %d was compacted and no readable snapshot covers it: %w",
				at, l.First, ErrOffsetUnavailable)
		}
		return nil, fmt.Errorf("meta: offset %d: the log before offset %d was compacted and no snapshot is at or below %d; earliest available offset is %d: %w",
			at, l.First, at, earliest, ErrOffsetUnavailable)
	}
	var r replayer
	want := start // the next offset the log must hold
	for i := l.entryAfter(start - 1); i < len(l.Entries); i++ {
		e := &l.Entries[i]
		if e.Index > at {
			break
		}
		if e.Index != want && !l.live() { // a live log skips control entries
			// Only a follower that installed a snapshot from the leader
			// has a gap (Log.checkGaps): the entries in it are not on disk.
			return nil, fmt.Errorf("meta: offset %d: %s holds no entries %d to %d, and no readable snapshot at or below %d continues the log after them: %w",
				at, l.where(), want, e.Index-1, at, ErrOffsetUnavailable)
		}
		want = e.Index + 1
		if e.IsControl() {
			continue
		}
		next, err := r.apply(img, e)
		if err != nil {
			// The controller checks every write against the image first, so
			// an entry the replay rejects is damage (or a bug): never an
			// image that silently lacks it.
			return nil, fmt.Errorf("meta: %s: offset %d (epoch %d, %d bytes): the entry does not replay onto the image at offset %d (the node rejected it too): %v: %w",
				l.where(), e.Index, e.Term, e.Size, img.Offset(), err, ErrCorrupt)
		}
		img = next
	}
	if want <= at && !l.live() {
		end := l.LastOffset()
		if i := l.entryAfter(at); i < len(l.Entries) {
			end = l.Entries[i].Index - 1
		}
		return nil, fmt.Errorf("meta: offset %d: %s holds no entries %d to %d, and no readable snapshot at or below %d continues the log after them: %w",
			at, l.where(), want, end, at, ErrOffsetUnavailable)
	}
	st.Image = img
	if e, ok := l.entry(uint64(max(img.Offset(), 0))); ok && img.Offset() > 0 {
		st.ProvenanceTime = e.AppendedAt
	}
	return st, nil
}

func (l *Log) clusterID(s *Snapshot) string {
	if l.ClusterID != "" {
		return l.ClusterID
	}
	return s.Header.ClusterID
}

// replayer carries the open metadata transaction across entries.
type replayer struct {
	txOpen bool
	txRecs []metadata.Record
}

var (
	errTxOpen = errors.New("BeginTransactionRecord while a transaction is open")
	errNoTx   = errors.New("no open transaction")
)

// where names the file (or controller) the log entries came from.
func (l *Log) where() string {
	if l.live() {
		return "controller " + l.Controller
	}
	return l.DBPath
}

// apply is quorum's fsm.applyLocked on an offline image.
func (r *replayer) apply(base *metadata.Image, e *Entry) (*metadata.Image, error) {
	d := metadata.NewDelta(base)
	txOpen, txRecs := r.txOpen, r.txRecs
	changed := false
	for _, rec := range e.Records {
		if rb, ok := rec.(*metadata.RegisterBrokerRecord); ok && rb.BrokerEpoch == -1 {
			c := *rb
			c.BrokerEpoch = int64(e.Index)
			rec = &c
		}
		switch rec.(type) {
		case *metadata.BeginTransactionRecord:
			if txOpen {
				return nil, errTxOpen
			}
			txOpen, txRecs = true, nil
		case *metadata.EndTransactionRecord:
			if !txOpen {
				return nil, fmt.Errorf("%v: %w", rec.Type(), errNoTx)
			}
			for _, tr := range txRecs {
				if err := d.Replay(tr); err != nil {
					r.txOpen, r.txRecs = false, nil
					return nil, err
				}
			}
			changed = changed || len(txRecs) > 0
			txOpen, txRecs = false, nil
		case *metadata.AbortTransactionRecord:
			if !txOpen {
				return nil, fmt.Errorf("%v: %w", rec.Type(), errNoTx)
			}
			txOpen, txRecs = false, nil
		default:
			if txOpen {
				txRecs = append(txRecs, rec)
				continue
			}
			if err := d.Replay(rec); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	r.txOpen, r.txRecs = txOpen, txRecs
	if !changed {
		return base, nil
	}
	d.SetProvenance(int64(e.Index), int64(e.Term))
	return d.Apply(), nil
}
