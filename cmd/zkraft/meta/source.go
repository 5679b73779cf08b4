package meta

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/quorum"
)

// Entry is one raft log entry of raft.db.
type Entry struct {
	Index      uint64 // raft index: the offset
	Term       uint64 // raft term: the epoch
	Type       raft.LogType
	AppendedAt time.Time // leader's clock when appended (zero in very old entries)
	Size       int       // len(Data)
	// Checksum is a command entry's framing version and CRC-32C (version 0
	// entries, written before checksums, have none). Entries are read only
	// when it is valid.
	Checksum metadata.BatchChecksum
	// Spans are where each record lies in the entry's data (Records[i]
	// at Spans[i]).
	Spans []metadata.RecordSpan
	// Records are the decoded metadata.DecodeBatch of a LogCommand entry.
	Records []metadata.Record
	// Config is the decoded raft configuration of a LogConfiguration entry.
	Config *raft.Configuration
}

// IsControl reports whether the entry is a raft control entry
// (configuration, barrier, no-op, ...) rather than a metadata batch.
func (e *Entry) IsControl() bool { return e.Type != raft.LogCommand }

// Snapshot is one snapshot directory of <dir>/snapshots.
type Snapshot struct {
	ID     string // directory name: <term>-<index>-<unix ms>
	Path   string // the state.bin file
	Index  uint64 // raft index the snapshot covers
	Term   uint64
	Size   int64
	Header quorum.SnapshotHeader
	// Records is the image as records (metadata.WriteImage order).
	Records []metadata.Record
	// Err is set when the snapshot could not be read or decoded; it names
	// the file. Such a snapshot is never used to build an image.
	Err error
}

// Log is everything read from a metadata.log.dir (or, by OpenLive, from a
// live quorum), held in memory: the files are closed (and any copy
// removed) when Open returns.
type Log struct {
	Dir       string // "" for a live quorum
	DBPath    string // <dir>/raft.db ("" if there is none)
	Copied    bool   // raft.db was locked by a running node and read from a copy
	ClusterID string // from meta.properties ("" if unreadable); live: DescribeCluster
	NodeID    string // from meta.properties; live: the active controller's id
	// Controller is the address of the active controller that served a
	// live quorum's log (OpenLive; "" for a directory), Bootstrap the
	// --bootstrap-controller list it was found from.
	Controller, Bootstrap string
	// First and Last are raft.db's first and last index (0, 0 if empty);
	// live: the log start offset and the high watermark - 1.
	First, Last uint64
	// Entries are the entries read, in index order, up to the first one
	// that could not be read or decoded.
	Entries []Entry
	// Snapshots in ascending index order, readable or not.
	Snapshots []Snapshot
	// Err is the first read error of raft.db (entries after it are
	// missing); it names the file and offset and wraps ErrCorrupt.
	Err error
	// Warnings are what Open noticed that does not stop it (files that
	// disagree, a gap a snapshot covers); each names the files. The
	// commands print them to stderr first.
	Warnings []string
}

// OpenOptions tune Open.
type OpenOptions struct {
	// LockTimeout is how long to wait for raft.db's file lock before
	// falling back to reading a copy (a running node holds the lock).
	LockTimeout time.Duration
	// TempDir receives the copy ("" = os.TempDir()).
	TempDir string
}

// DefaultOpenOptions waits 200 ms for the lock.
func DefaultOpenOptions() OpenOptions { return OpenOptions{LockTimeout: 200 * time.Millisecond} }

// Open reads a metadata.log.dir read-only: raft.db (or, if a running node
// holds its lock, a copy of it) and every snapshot. It fails only when there
// is nothing to read; partial damage is reported in Log.Err and
// Snapshot.Err so that callers can show what was readable.
func Open(ctx context.Context, dir string, opts OpenOptions) (*Log, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("meta: metadata log dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("meta: metadata log dir %s is not a directory: %w", dir, ErrUsage)
	}
	l := &Log{Dir: dir}
	propsErr := l.readMetaProperties()
	db := filepath.Join(dir, "raft.db")
	hasDB := false
	if st, err := os.Stat(db); err == nil {
		if st.Size() == 0 {
			// bbolt would try to initialise it and fail writing to a
			// read-only handle ("bad file descriptor").
			return nil, fmt.Errorf("meta: %s is empty (0 bytes): not a bolt database (a node that never wrote it, or a truncated copy): %w", db, ErrCorrupt)
		}
		hasDB = true
		l.DBPath = db
		if err := l.readDB(ctx, opts); err != nil {
			return nil, err
		}
	}
	if err := l.readSnapshots(); err != nil {
		return nil, err
	}
	if !hasDB && len(l.Snapshots) == 0 {
		return nil, fmt.Errorf("meta: %s holds no raft.db and no snapshots/: %w", dir, ErrNoLog)
	}
	l.checkSnapshots(propsErr)
	l.checkGaps()
	return l, nil
}

// readMetaProperties reads cluster.id and node.id as the node does; a
// missing or unreadable file is returned (Open turns it into a warning).
func (l *Log) readMetaProperties() error {
	path := filepath.Join(l.Dir, "meta.properties")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	cid, nid, err := quorum.ParseMetaProperties(b)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	l.ClusterID, l.NodeID = cid, strconv.Itoa(int(nid))
	return nil
}

// checkSnapshots compares each readable snapshot with its directory name,
// with meta.properties and with the log, and refuses (Snapshot.Err) one
// that disagrees, as the node would: a snapshot of another cluster, or at
// an offset whose log entry has another epoch. Without a readable
// meta.properties the cluster id comes from the newest snapshot.
func (l *Log) checkSnapshots(propsErr error) {
	for i := range l.Snapshots {
		s := &l.Snapshots[i]
		if s.Err != nil {
			continue
		}
		switch {
		case l.ClusterID != "" && s.Header.ClusterID != "" && s.Header.ClusterID != l.ClusterID:
			s.Err = fmt.Errorf("meta: %s is a snapshot of cluster %s, but %s says cluster.id=%s (files of another cluster?); the node refuses it too: %w",
				s.Path, s.Header.ClusterID, filepath.Join(l.Dir, "meta.properties"), l.ClusterID, ErrMismatch)
		case s.Header.Offset > int64(s.Index):
			s.Err = fmt.Errorf("meta: %s: image offset %d is past the snapshot's index %d in meta.json: %w", s.Path, s.Header.Offset, s.Index, ErrMismatch)
		}
		if e, ok := l.entry(s.Index); ok && s.Err == nil && e.Term != s.Term {
			s.Err = fmt.Errorf("meta: %s: snapshot at offset %d epoch %d, but raft.db's entry there has epoch %d: %w", s.Path, s.Index, s.Term, e.Term, ErrMismatch)
		}
	}
	if propsErr == nil {
		return
	}
	for i := len(l.Snapshots) - 1; i >= 0; i-- {
		if s := l.Snapshots[i]; s.Err == nil && s.Header.ClusterID != "" {
			l.ClusterID = s.Header.ClusterID
			l.Warnings = append(l.Warnings, fmt.Sprintf("%v; cluster id %s taken from %s", propsErr, l.ClusterID, s.Path))
			return
		}
	}
	l.Warnings = append(l.Warnings, fmt.Sprintf("%v; the cluster id is unknown (no snapshot names it)", propsErr))
}

// checkGaps: raft.db's offsets are consecutive except where a follower
// installed a snapshot from the leader over an older log (raft keeps the
// old entries and continues after the snapshot). A gap that no readable
// snapshot ends is damage; the entries after it are dropped with Log.Err.
// A snapshot past the log's end, or over a gap, is used with a warning.
func (l *Log) checkGaps() {
	if l.DBPath == "" {
		return
	}
	snapAt := func(index uint64) *Snapshot {
		for i := range l.Snapshots {
			if s := &l.Snapshots[i]; s.Err == nil && s.Index == index {
				return s
			}
		}
		return nil
	}
	for i := 1; i < len(l.Entries); i++ {
		prev, e := l.Entries[i-1].Index, l.Entries[i].Index
		if e == prev+1 {
			continue
		}
		s := snapAt(e - 1)
		if s == nil {
			l.Err = fmt.Errorf("meta: %s: offset %d: entries %d to %d are missing and no readable snapshot ends at %d: %w",
				l.DBPath, prev+1, prev+1, e-1, e-1, ErrCorrupt)
			l.Entries = l.Entries[:i]
			return
		}
		l.Warnings = append(l.Warnings, fmt.Sprintf("%s holds no entries %d to %d: %s covers them (installed from the leader over an older log); images between them cannot be built",
			l.DBPath, prev+1, e-1, s.Path))
	}
	if len(l.Entries) == 0 {
		return
	}
	last := l.Entries[len(l.Entries)-1].Index
	for _, s := range l.Snapshots {
		if s.Err == nil && s.Index > last+1 {
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s covers offset %d, past %s's last entry %d: offsets %d to %d exist only in the snapshot",
				s.Path, s.Index, l.DBPath, last, last+1, s.Index))
		}
	}
}

// readDB opens raft.db read-only, waiting at most opts.LockTimeout for the
// lock. A running node holds an exclusive lock for its whole life, so on
// timeout the file is copied and the copy is read. bbolt never overwrites
// the pages of its latest committed transaction and keeps two checksummed
// meta pages, so a copy taken while the node writes is normally a readable
// earlier state; a copy that still fails to open or read is retried.
func (l *Log) readDB(ctx context.Context, opts OpenOptions) error {
	err := l.readDBFile(l.DBPath, opts.LockTimeout)
	if !errors.Is(err, bbolt.ErrTimeout) {
		return err
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		cp, err := copyToTemp(l.DBPath, opts.TempDir)
		if err != nil {
			return fmt.Errorf("meta: copy locked %s: %w", l.DBPath, err)
		}
		*l = Log{Dir: l.Dir, DBPath: l.DBPath, ClusterID: l.ClusterID, NodeID: l.NodeID, Copied: true}
		err = l.readDBFile(cp, time.Second)
		os.Remove(cp)
		if err == nil && (l.Err == nil || attempt == 3) {
			return nil
		}
		if attempt == 3 {
			return err
		}
	}
}

func copyToTemp(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, "zkraft-meta-raft-*.db")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return "", err
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// readDBFile reads every entry of the bolt file at path into l. It returns
// an error only when the file cannot be opened at all (bbolt.ErrTimeout
// when locked); a damaged entry ends the read with l.Err set. bbolt can
// panic on a corrupt page: the panic is turned into an error here.
func (l *Log) readDBFile(path string, lockTimeout time.Duration) (err error) {
	// bbolt reads the file through mmap: a garbage page can make it touch
	// an address outside the mapping, a fatal fault unless it is turned
	// into a (recovered) panic for this goroutine.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var store *raftboltdb.BoltStore
	var reading uint64 // the offset being read, for the message of a fault
	defer func() {
		if p := recover(); p != nil {
			where := "opening it"
			if reading > 0 {
				where = fmt.Sprintf("offset %d", reading)
			} else if store != nil {
				where = "reading its first and last offsets and keys"
			}
			// bbolt follows page ids and lengths from the file without
			// checks; a damaged page makes it fault (a Go runtime error).
			perr := fmt.Errorf("meta: %s: %s: a damaged page of the bolt database (bbolt faulted: %v): %w", l.DBPath, where, p, ErrCorrupt)
			if store == nil {
				err = perr
			} else if l.Err == nil {
				l.Err = perr
			}
		}
		if store != nil {
			_ = store.Close()
		}
	}()
	store, err = raftboltdb.New(raftboltdb.Options{Path: path,
		BoltOptions: &bbolt.Options{ReadOnly: true, Timeout: lockTimeout}})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return err
		}
		size := int64(-1)
		if st, serr := os.Stat(path); serr == nil {
			size = st.Size()
		}
		return fmt.Errorf("meta: open %s (%d bytes): %w: %w", l.DBPath, size, err, ErrCorrupt)
	}
	first, err := store.FirstIndex()
	if err != nil {
		return fmt.Errorf("meta: %s: first index: %w: %w", l.DBPath, err, ErrCorrupt)
	}
	last, err := store.LastIndex()
	if err != nil {
		return fmt.Errorf("meta: %s: last index: %w: %w", l.DBPath, err, ErrCorrupt)
	}
	l.First, l.Last = first, last
	if err := checkMetaPages(path); err != nil {
		// bbolt silently falls back to the other meta page, the state of
		// the transaction before: the log read may lack the latest entries.
		defer func() {
			if l.Err == nil {
				l.Err = fmt.Errorf("meta: %s: %w; bbolt reads the previous transaction instead, so the latest entries may be missing: %w", l.DBPath, err, ErrCorrupt)
			}
		}()
	}
	if first == 0 {
		return nil
	}
	// The keys are read first: a damaged page can put a key out of order,
	// and the store's first and last keys would then bracket less (or
	// more) than it holds.
	keys, keyErr := logKeys(path)
	if keyErr != nil {
		keyErr = fmt.Errorf("meta: %s: %w: %w", l.DBPath, keyErr, ErrCorrupt)
	}
	defer func() {
		if l.Err == nil {
			l.Err = keyErr
		}
	}()
	if keyErr == nil && (len(keys) == 0 || keys[0] != first || keys[len(keys)-1] != last) {
		keyErr = fmt.Errorf("meta: %s: the log's keys (%d of them) do not run from its first index %d to its last %d: %w",
			l.DBPath, len(keys), first, last, ErrCorrupt)
		return nil
	}
	for _, i := range keys {
		reading = i
		var rl raft.Log
		if err := store.GetLog(i, &rl); err != nil {
			l.Err = fmt.Errorf("meta: %s: offset %d: read entry: %w: %w", l.DBPath, i, err, ErrCorrupt)
			return nil
		}
		if rl.Index != i {
			l.Err = fmt.Errorf("meta: %s: offset %d: the entry stored there says index %d: %w", l.DBPath, i, rl.Index, ErrCorrupt)
			return nil
		}
		e, err := decodeEntry(&rl)
		if err == nil && len(l.Entries) > 0 && rl.Term < l.Entries[len(l.Entries)-1].Term {
			err = fmt.Errorf("epoch %d is below the previous entry's %d (raft terms never decrease)", rl.Term, l.Entries[len(l.Entries)-1].Term)
		}
		if err != nil {
			l.Err = fmt.Errorf("meta: %s: offset %d (epoch %d, %d bytes): %w: %w", l.DBPath, i, rl.Term, len(rl.Data), err, ErrCorrupt)
			return nil
		}
		l.Entries = append(l.Entries, e)
	}
	return nil
}

// checkMetaPages validates bbolt's two meta pages (pages 0 and 1: a page
// header, then magic, version, page size, flags, root bucket, freelist,
// page count, txid and an FNV-64a checksum of the fields before it, little
// endian as bbolt writes them on the machines we run on).
func checkMetaPages(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	const (
		hdr        = 16 // bbolt page header
		sumOffset  = hdr + 56
		boltMagic  = 0xED0CDAED
		boltFormat = 2
	)
	buf := make([]byte, sumOffset+8)
	pageSize := int64(os.Getpagesize())
	for i := int64(0); i < 2; i++ {
		pos := i * pageSize
		if _, err := f.ReadAt(buf, pos); err != nil {
			return fmt.Errorf("meta page %d at byte %d: %v", i, pos, err)
		}
		m := buf[hdr:]
		h := fnv.New64a()
		h.Write(m[:56])
		switch {
		case binary.LittleEndian.Uint32(m[0:]) != boltMagic || binary.LittleEndian.Uint32(m[4:]) != boltFormat:
			return fmt.Errorf("meta page %d at byte %d: bad magic or version", i, pos)
		case binary.LittleEndian.Uint64(buf[sumOffset:]) != h.Sum64():
			return fmt.Errorf("meta page %d at byte %d (transaction %d): checksum mismatch", i, pos, binary.LittleEndian.Uint64(m[48:]))
		}
		if i == 0 {
			pageSize = int64(binary.LittleEndian.Uint32(m[8:]))
		}
	}
	return nil
}

// logKeys walks raft.db's logs bucket (a second read-only handle: a shared
// lock) and returns its keys, which must be 8-byte offsets in ascending
// order. It returns the keys up to the first that is not. A gap is not an
// error here: a follower that installed a snapshot from the leader keeps
// its old entries and continues after the snapshot (Log.checkGaps).
func logKeys(path string) ([]uint64, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("reopen to read the log's keys: %v", err)
	}
	defer db.Close()
	var keys []uint64
	err = db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("logs"))
		if b == nil {
			return errors.New("no logs bucket")
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != 8 || (len(keys) > 0 && binary.BigEndian.Uint64(k) <= keys[len(keys)-1]) {
				after := uint64(0)
				if len(keys) > 0 {
					after = keys[len(keys)-1]
				}
				return fmt.Errorf("offset %d: the log's next key is %x (keys are ascending 8-byte offsets)", after+1, k)
			}
			keys = append(keys, binary.BigEndian.Uint64(k))
		}
		return nil
	})
	return keys, err
}

// decodeEntry decodes one raft entry, verifying a command's CRC-32C. The
// CRC covers only the command's data, so the raft fields around it are
// checked for what raft itself writes: a type raft does not write, or a
// no-op or barrier carrying data, is damage too (a command whose type byte
// changed would otherwise be skipped as a control entry).
func decodeEntry(rl *raft.Log) (Entry, error) {
	e := Entry{Index: rl.Index, Term: rl.Term, Type: rl.Type, AppendedAt: rl.AppendedAt, Size: len(rl.Data)}
	switch rl.Type {
	case raft.LogCommand:
		c, err := metadata.CheckBatch(rl.Data)
		e.Checksum = c
		if err != nil {
			return e, err
		}
		recs, err := metadata.DecodeBatch(rl.Data)
		if err != nil {
			return e, err
		}
		if e.Spans, err = metadata.BatchLayout(rl.Data); err != nil {
			return e, err
		}
		e.Records = recs
	case raft.LogConfiguration:
		c, err := decodeConfiguration(rl.Data)
		if err != nil {
			return e, err
		}
		e.Config = &c
	case raft.LogNoop, raft.LogBarrier:
		if len(rl.Data) != 0 {
			return e, fmt.Errorf("raft %s entry with %d bytes of data (raft writes none)", rl.Type, len(rl.Data))
		}
	default:
		return e, fmt.Errorf("raft entry type %d (%s) is not written by this raft version", uint8(rl.Type), rl.Type)
	}
	return e, nil
}

// decodeConfiguration wraps raft.DecodeConfiguration, which panics on bad input.
func decodeConfiguration(b []byte) (c raft.Configuration, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("raft configuration: %v", p)
		}
	}()
	return raft.DecodeConfiguration(b), nil
}

// snapshotMeta is the part of raft's meta.json this tool uses.
type snapshotMeta struct {
	ID    string
	Index uint64
	Term  uint64
	Size  int64
	CRC   []byte
}

// readSnapshots reads every complete snapshot directory (raft's .tmp
// directories are snapshots still being written and are skipped).
func (l *Log) readSnapshots() error {
	root := filepath.Join(l.Dir, "snapshots")
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("meta: list %s: %w", root, err)
	}
	for _, de := range ents {
		if !de.IsDir() || strings.HasSuffix(de.Name(), ".tmp") {
			continue
		}
		l.Snapshots = append(l.Snapshots, readSnapshot(filepath.Join(root, de.Name())))
	}
	sort.SliceStable(l.Snapshots, func(i, j int) bool {
		a, b := l.Snapshots[i], l.Snapshots[j]
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return a.ID < b.ID
	})
	return nil
}

// maxSnapshotBytes bounds what is read of one state.bin.
const maxSnapshotBytes = 1 << 30

func readSnapshot(dir string) Snapshot {
	s := Snapshot{ID: filepath.Base(dir), Path: filepath.Join(dir, "state.bin")}
	metaPath := filepath.Join(dir, "meta.json")
	mb, err := os.ReadFile(metaPath)
	if err != nil {
		s.Err = fmt.Errorf("meta: %s: %w: %w", metaPath, err, ErrCorrupt)
		return s
	}
	var m snapshotMeta
	if err := json.Unmarshal(mb, &m); err != nil {
		s.Err = fmt.Errorf("meta: %s: %w: %w", metaPath, err, ErrCorrupt)
		return s
	}
	s.Index, s.Term, s.Size = m.Index, m.Term, m.Size
	// The directory name <term>-<index>-<ms> is a second copy of meta.json's.
	if parts := strings.Split(s.ID, "-"); len(parts) != 3 || parts[0] != strconv.FormatUint(m.Term, 10) ||
		parts[1] != strconv.FormatUint(m.Index, 10) || (m.ID != "" && m.ID != s.ID) {
		s.Err = fmt.Errorf("meta: %s: ID %q, index %d, term %d do not match the directory name %s: %w", metaPath, m.ID, m.Index, m.Term, s.ID, ErrCorrupt)
		return s
	}
	f, err := os.Open(s.Path)
	if err != nil {
		s.Err = fmt.Errorf("meta: %s: %w: %w", s.Path, err, ErrCorrupt)
		return s
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSnapshotBytes+1))
	if err != nil {
		s.Err = fmt.Errorf("meta: %s: %w: %w", s.Path, err, ErrCorrupt)
		return s
	}
	if len(b) > maxSnapshotBytes {
		s.Err = fmt.Errorf("meta: %s: larger than %d bytes: %w", s.Path, maxSnapshotBytes, ErrCorrupt)
		return s
	}
	if int64(len(b)) != m.Size {
		s.Err = fmt.Errorf("meta: %s: %d bytes, meta.json says %d (truncated at byte %d): %w", s.Path, len(b), m.Size, len(b), ErrCorrupt)
		return s
	}
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	h.Write(b)
	if sum := h.Sum(nil); len(m.CRC) > 0 && string(sum) != string(m.CRC) {
		s.Err = fmt.Errorf("meta: %s: CRC-64 %x, meta.json says %x: %w", s.Path, sum, m.CRC, ErrCorrupt)
		return s
	}
	hdr, recs, err := quorum.DecodeSnapshot(b)
	if err != nil {
		s.Err = fmt.Errorf("meta: %s: %w: %w", s.Path, err, ErrCorrupt)
		return s
	}
	s.Header, s.Records = hdr, recs
	return s
}

// entry returns the entry at index, if it was read.
func (l *Log) entry(index uint64) (*Entry, bool) {
	i := l.entryAfter(index - 1)
	if i < len(l.Entries) && l.Entries[i].Index == index {
		return &l.Entries[i], true
	}
	return nil, false
}

// entryAfter is the position in Entries of the first entry above index.
func (l *Log) entryAfter(index uint64) int {
	return sort.Search(len(l.Entries), func(i int) bool { return l.Entries[i].Index > index })
}

// LastOffset is the highest offset an image can be built at: the last entry
// read, or the newest readable snapshot if it is newer.
func (l *Log) LastOffset() uint64 {
	var last uint64
	if n := len(l.Entries); n > 0 {
		last = l.Entries[n-1].Index
	}
	for _, s := range l.Snapshots {
		if s.Err == nil && s.Index > last {
			last = s.Index
		}
	}
	if l.live() && l.Err == nil && l.Last > last {
		last = l.Last // control entries at the end are covered, not served
	}
	return last
}
