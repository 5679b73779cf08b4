// Package quorum is the Raft metadata quorum (the Go counterpart of Kafka's
// KRaft controller quorum): hashicorp/raft with a raft-boltdb/v2 log and
// stable store, file snapshots of the metadata image, the FSM that replays
// metadata records into a metadata.Image, and the active controller (the
// raft leader) that turns requests into records with the pure functions of
// package metadata.
//
// # Files in metadata.log.dir (Config.Dir)
//
//	meta.properties    Kafka v1: version=1, cluster.id=<22-char uuid>, node.id=N.
//	                   Written on first start (auto-format); a different node.id
//	                   is an error naming both ids.
//	raft.db            raft-boltdb/v2: raft log (LogStore) and term/vote (StableStore).
//	snapshots/         raft.FileSnapshotStore, Config.SnapshotRetain kept (default 2).
//
// # Raft log entry = one metadata batch
//
// Every LogCommand entry is metadata.AppendBatch of all the records of one
// request (a topic with all its partitions is one atomic entry):
//
//	+------+---------------+-------------------+-------------------+-----
//	| 0x00 | uvarint count | uvarint len | rec | uvarint len | rec | ...
//	+------+---------------+-------------------+-------------------+-----
//	 rec = metadata.AppendRecord: uvarint(1) uvarint(type) uvarint(version) body
//
// An entry applies atomically: if any record fails to replay, the image is
// unchanged, the error is logged, counted (Node.ApplyErrors) and returned to
// the writer as the raft future's Response. Undecodable entries likewise.
// Nothing panics on a bad entry.
//
// Broker epochs: a RegisterBrokerRecord with BrokerEpoch -1 gets the raft
// index of its entry (Kafka uses the record's offset) on every node.
//
// Transactions (KIP-868): records between BeginTransaction and
// EndTransaction are buffered across entries and applied at End as part of
// that entry; AbortTransaction drops them. Raft is refused a snapshot while a
// transaction is open (it retries at its next interval).
//
// # Snapshot file
//
//	+------+-----------+-----------+-----------+------------+----------------------------+
//	| 0x00 | offset    | epoch     | uvarint n | cluster id | metadata.AppendBatch(      |
//	| ver  | int64 BE  | int64 BE  |           | n bytes    |   metadata.WriteImage(img))|
//	+------+-----------+-----------+-----------+------------+----------------------------+
//
// offset/epoch are the image's provenance (raft index/term of the last entry
// replayed into it). raft's FileSnapshotStore adds a CRC-64 and meta.json.
//
// # Publishing
//
// Publishers are called in log order under one mutex, never concurrently.
// At start the node replays its log without publishing until it reaches the
// last command entry present at start, then publishes the caught-up image
// once with a delta from the empty image (Kafka's MetadataLoader). After
// that every applied entry is published with its delta; a snapshot restore
// publishes a delta from the previous image.
//
// # Controller
//
// Writes are serialized (one writer at a time), check that this node is the
// raft leader before computing, wait once per term for a barrier (so a new
// leader computes against every entry of earlier terms), compute records
// against the latest applied image and append one entry. The leader's FSM
// applies an entry before the future resolves, so CreateTopics returns after
// the records are applied locally. A caller whose ctx ends while its entry
// is in flight gets ctx.Err(); the next writer waits for that entry first.
// On becoming leader the node appends a NoOpRecord entry (as Kafka's
// controller does), so followers always see a command past any uncommitted
// tail they had at start and their start-up catch-up completes.
//
// # Transport
//
// raft.NewTCPTransport on Config.BindAddr. Issue 3 may multiplex raft with
// the Kafka controller listener on one port. Raft server ids are the
// decimal node ids. hashicorp loggers write to zap through an hclog adapter.
//
// # Goroutines
//
// Node owns: raft's goroutines (ended by Shutdown in Close), the TCP
// transport's listener (closed in Close), one controller loop (leadership
// notifications, start-up catch-up; broker fencing will live here), and one
// short helper per in-flight raft future waited on with a ctx (each ends when
// raft resolves the future; Close waits for them). Close leaves none behind.
package quorum
