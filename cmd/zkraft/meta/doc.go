// Package meta is `zkraft meta`: it inspects a metadata log directory
// (metadata.log.dir) offline, or a live quorum's log, as Kafka's kafka-dump-log
// --cluster-metadata-decoder and kafka-metadata-shell do, and more: time
// travel (--at), diffs between two offsets, and a comparison with a
// ZooKeeper tree.
//
// # What it reads (layout in docs/metadata-log.md and quorum/doc.go)
//
//	<dir>/meta.properties                     cluster.id, node.id
//	<dir>/raft.db                             raft-boltdb/v2: bucket "logs" (uint64 BE index ->
//	                                          msgpack raft.Log), bucket "conf" (term, vote)
//	<dir>/snapshots/<term>-<index>-<ms>/      raft.FileSnapshotStore
//	    meta.json                             raft.SnapshotMeta + CRC-64 (ECMA) of state.bin
//	    state.bin                             quorum snapshot: header + metadata.AppendBatch
//
// Each raft LogCommand entry's Data is one metadata.AppendBatch (version 1
// carries a CRC-32C, verified on read; version 0, written before checksums,
// has none); other raft log types (configuration, barrier, no-op) are
// control entries. The raft fields outside the CRC are checked for what raft
// writes (keys ascending and matching each entry's index, epochs never
// decreasing, no data in no-op and barrier entries, known types), and both
// bbolt meta pages are validated (bbolt silently falls back to the older).
//
// # Read-only and safe while the node runs
//
// Open reads everything into memory and closes the files before returning.
// raft.db is opened read-only with a short lock timeout; a running node
// holds bbolt's exclusive flock for its whole life, so on timeout the file
// is copied to a temp file and the copy is read (then removed). bbolt is
// copy-on-write and has two checksummed meta pages, so a copy taken while
// the node commits normally opens at the previous or the latest committed
// transaction; a copy that does not read cleanly is taken again (3 tries).
// Nothing is ever written to <dir>. The log may hold an uncommitted tail
// (raft does not persist its commit index): the tool shows what is on disk.
//
// # A live quorum (--bootstrap-controller, live.go)
//
// OpenLive reads the committed log of a running quorum once, over the
// Kafka protocol, with quorum.ReadMetadataLog (quorum/observer.go): the
// active controller is found among the given addresses (refused
// connections and NOT_CONTROLLER move on), __cluster_metadata-0 is fetched
// from offset 1 up to the high watermark, and when the log was compacted
// the controller's current image is loaded with FetchSnapshot and the log
// fetched from its start. The result is a Log like a directory's (Dir "",
// Controller set), so every command works on it unchanged. Fetch does not
// carry raft control entries or append times; the fetched snapshot is the
// current image (Snapshot.Path ""). Only DescribeCluster, Fetch and
// FetchSnapshot are sent: the tool never registers, heartbeats or writes.
//
// # Images
//
// ImageAt(offset) restores the newest readable snapshot at or below the
// offset and replays the log after it (or replays from the first entry),
// with the node FSM's rules: an entry applies atomically or not at all,
// transactions are buffered until EndTransaction, and a RegisterBrokerRecord
// with epoch -1 gets its entry's index. BuildTree lays the image out as
// kafka-metadata-shell's tree; the shell, diff and zk-diff all work on it.
//
// # Errors
//
// Damage never panics (bbolt's faults on corrupt pages are recovered and
// reported with the offset being read): reading stops at the first
// unreadable entry with an error wrapping ErrCorrupt that names the file and
// the offset; commands print everything readable before it, then return
// that error (non-zero exit). An entry that decodes but does not replay is
// an error too (ErrCorrupt), never a skipped entry. Files that disagree (a
// snapshot of another cluster than meta.properties, a gap in raft.db that
// no snapshot covers) are refused with ErrMismatch or ErrCorrupt naming
// them; a missing meta.properties, a covered gap or a snapshot past the log
// end are Log.Warnings, printed to stderr. TestCorruptionSweep and
// FuzzCorruptLog damage a real node's directory and check that every
// command gives the undamaged answer or such an error.
//
// # Deadlines
//
// --timeout (default 30 s) bounds --bootstrap-controller and zk-diff's
// ZooKeeper, connecting and reading; the failure is one ErrTimeout line.
//
// # The shell on a terminal (lineedit.go)
//
// github.com/chzyer/readline gives line editing, history recall and tab
// completion of command names and tree paths; Ctrl-C cancels the line,
// Ctrl-D exits. Non-terminal stdin is read line by line, each command echoed.
//
// # zk-diff
//
// readZkTree reads a ZooKeeper tree in Kafka's layout once, without watches
// or writes, decodes it with metadata/zk's codecs into a zk.Tree, and
// ZkChanges compares that tree's image with the log's on the fields both
// hold (epochs and partition epochs differ by nature and are left out).
// Brokers that cannot have a /brokers/ids znode (quorum-mode, or fenced)
// are expected differences: labelled, counted and printed apart from drift.
//
// # Goroutines
//
// OpenLive's connections are closed before it returns. zk-diff's
// ZooKeeper client runs its goroutines until readZkTree closes it, before
// returning; readZkTree reads the tree on one goroutine of its own so that
// --timeout can close the connection under it, and waits for it. The
// line editor's goroutines end in editLines.Close.
package meta
