package meta

import "errors"

// Sentinel errors. Callers match them with errors.Is; the wrapped messages
// carry the facts (file, offset, path).
var (
	// ErrUsage: bad command line; the message says what is wrong.
	ErrUsage = errors.New("meta: usage")
	// ErrCorrupt: a file of the metadata log directory is corrupt or
	// truncated; the message names the file and the offset or byte.
	ErrCorrupt = errors.New("meta: corrupt metadata log")
	// ErrMismatch: files of the directory disagree (a snapshot of another
	// cluster, or at another epoch than the log); the message names them.
	ErrMismatch = errors.New("meta: files of the metadata log directory disagree")
	// ErrOffsetUnavailable: --at names an offset the directory cannot
	// rebuild (compacted away with no snapshot at or below it, or past the end).
	ErrOffsetUnavailable = errors.New("meta: offset not available")
	// ErrNotFound: a shell path does not exist.
	ErrNotFound = errors.New("meta: no such node")
	// ErrNotDir: a shell path names a leaf where a directory is needed.
	ErrNotDir = errors.New("meta: not a directory")
	// ErrIsDir: cat was given a directory.
	ErrIsDir = errors.New("meta: is a directory")
	// ErrNoLog: the directory holds neither raft.db nor snapshots.
	ErrNoLog = errors.New("meta: no metadata log")
	// ErrLive: no controller of --bootstrap-controller served the
	// metadata log; the message names every address and what it said.
	ErrLive = errors.New("meta: live quorum")
	// ErrTimeout: a tool that dials gave up after --timeout; the message
	// says what did not happen.
	ErrTimeout = errors.New("meta: timed out")
	// ErrZooKeeper: reading the ZooKeeper tree failed.
	ErrZooKeeper = errors.New("meta: zookeeper")
)
