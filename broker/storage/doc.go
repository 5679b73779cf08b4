// Package storage is the Go counterpart of Kafka's LogManager: it keeps each
// partition's log as segment files holding Kafka v2 record batches as raw
// bytes, with sparse offset and time indexes, idempotent-producer state,
// leader-epoch checkpoints, crash recovery and retention.
//
// # Goroutines
//
// Manager.Start runs two goroutines: the retention loop, which every
// RetentionCheckInterval deletes expired segments, and the log cleaner
// (cleaner.go), which every CleanerBackoff compacts the logs whose
// cleanup.policy holds compact (inside compressed batches too, which it
// decompresses and writes back in their codec); Manager.Close stops and waits for both. Log.Wait registers a context.AfterFunc that runs only when
// its context ends and is deregistered as soon as the waiter is released.
// Everything else runs on the caller's goroutine.
//
// # Directory layout (as Kafka's)
//
//	<log.dir>/
//	  .lock                      flock(2)ed while a Manager has the dir open
//	  .kafka_cleanshutdown       written by Close, removed by Open
//	  replication-offset-checkpoint  "0\n<count>\n<topic> <partition> <hw>\n..."
//	  log-start-offset-checkpoint    the same layout, <log start offset> (start.go)
//	  <topic>-<partition>/
//	    00000000000000000000.log        record batches, back to back
//	    00000000000000000000.index      sparse offset index
//	    00000000000000000000.timeindex  sparse time index
//	    00000000000000012345.log ...    next segment: name = its base offset (%020d)
//	    00000000000000012345.snapshot   producer state as of offset 12345
//	    00000000000000012345.txnindex   aborted transactions whose marker this segment holds (only when any)
//	    <base>.log.cleaned / .log.swap  a cleaning in progress / committed (cleaner.go)
//	    partition.metadata              "version: 0\ntopic_id: <base64url uuid>\n"
//	    leader-epoch-checkpoint         "0\n<count>\n<epoch> <startOffset>\n..."
//
// # Record batch (magic 2), big endian, as in the .log file and on the wire
//
//	offset  size  field
//	     0     8  baseOffset            assigned by Append (rewritten in place)
//	     8     4  batchLength           bytes after this field (>= 49)
//	    12     4  partitionLeaderEpoch  stamped by Append
//	    16     1  magic                 must be 2
//	    17     4  crc                   CRC-32C (Castagnoli) of bytes 21..end
//	    21     2  attributes            bits 0-2 compression, 3 timestamp type,
//	                                    4 transactional, 5 control, 6 delete
//	                                    horizon (the cleaner: baseTimestamp is
//	                                    when the batch's tombstones, or the
//	                                    marker itself, may go)
//	    23     4  lastOffsetDelta
//	    27     8  baseTimestamp
//	    35     8  maxTimestamp
//	    43     8  producerId            -1 = not idempotent
//	    51     2  producerEpoch
//	    53     4  baseSequence
//	    57     4  recordCount           = lastOffsetDelta + 1
//	    61     .  records (maybe compressed)
//
// Because the CRC starts at attributes, Append can assign baseOffset and
// partitionLeaderEpoch without recomputing it. It recomputes the length
// and CRC only when it rewrites a batch: LogAppendTime stamping, and the
// topic's compression.type recompressing the records section in another
// codec (compression.go).
//
// # Index files
//
//	.index      entries of 8 bytes:  relOffset u32 | position u32
//	.timeindex  entries of 12 bytes: timestamp i64 | relOffset u32
//
// relOffset is relative to the segment's base offset. An .index entry
// (Kafka's OffsetIndex) says that the batch whose last offset is
// base+relOffset starts at byte position of the .log; one is added when
// more than IndexIntervalBytes were appended since the previous one, so a
// lookup finds the largest entry at or below the target and scans forward at
// most about IndexIntervalBytes plus one batch. A .timeindex entry (Kafka's
// TimeIndex) says that every record up to base+relOffset has a timestamp <=
// timestamp; it is added with an .index entry when the max timestamp grew,
// and once more when the segment is rolled, so its last entry is the
// segment's max timestamp (used by time retention). Both are rebuilt from
// the .log when they are missing, truncated or not increasing.
//
// # Producer snapshot (<offset>.snapshot)
//
//	version u8 (1) | count u32 | count x producer | crc32c u32 (of all before)
//	producer: id i64 | epoch i16 | coordinatorEpoch i32 | lastTimestamp i64 |
//	          txnFirstOffset i64 (-1: no open transaction) | n u8 (<= 5) | n x batch
//	batch:    firstSeq i32 | lastSeq i32 | firstOffset i64 | lastOffset i64
//
// (Version 0, before transactions, lacks the three middle fields; it is
// still read.) A snapshot is written at each roll and at Close. Open loads
// the newest one at or below the log end and replays batch headers after it
// (a control batch's marker record too), which restores an open
// transaction after kill -9 so the last stable offset stays held back.
//
// # Transactions (txn.go)
//
// A transactional batch of a producer without an open transaction opens
// one at its base offset; a control batch (attributes transactional|control,
// one record: key = version i16 0 | type i16 (0 abort, 1 commit), value =
// version i16 0 | coordinatorEpoch i32, Kafka's ControlRecordType and
// EndTransactionMarker) closes it. The last stable offset is the first
// offset of the earliest transaction open, or closed by a marker the high
// watermark has not passed yet, else the high watermark. An abort adds an
// entry to the .txnindex of the segment holding the marker:
//
//	entry (34 bytes): version i16 (0) | producerId i64 | firstOffset i64 |
//	                  lastOffset i64 (the marker) | lastStableOffset i64
//
// Kafka's TransactionIndex layout. Entries are kept in memory per segment,
// appended to the file after the batch is published and fsynced with the
// segment at roll; they move with truncation and the cleaner's swaps and
// go with the segment. The cleaner reads below the last stable offset
// only, drops the data batches of aborted transactions, compacts committed
// ones by key; a marker (and an abort's entry) stays while the cleaning
// reads data of its transaction, then the entry goes and the marker gets
// a delete horizon, and goes after it if below the oldest snapshot
// (filter.marker). The replay after the snapshot re-adds the entries
// of the segments it reads; a corrupt .txnindex makes Open replay the
// whole log (snapshots ignored) and rewrite every index.
//
// # Durability and flush policy
//
// Append writes the batches to the segment file with write(2) (pwrite)
// before it returns, so an acknowledged batch survives kill -9 of the
// process (it is in the page cache). fsync happens on segment roll, Flush,
// and Close, like Kafka with its defaults (log.flush.interval.messages =
// MAX): durability against power loss comes from replication. Close
// syncs each log directory's file system once (syncfs(2)) before it writes
// the clean-shutdown marker. Checkpoint
// files (leader epochs, partition.metadata, snapshots, the clean marker) are
// written to a temporary file, fsynced and renamed.
//
// # Recovery
//
// Open removes .kafka_cleanshutdown (and fsyncs the dir). If it was absent,
// the last shutdown was not clean, and for every partition the active segment
// (the only one not fsynced at its roll) is scanned batch by batch: each
// length and CRC is checked, offsets must increase, and the file is cut at
// the first torn or corrupt batch; its indexes are rebuilt and the cut is
// logged. After a clean shutdown only the tail after the last index entry is
// scanned. In every case an older segment whose index files do not decode is
// rebuilt from its .log; if that finds a torn batch inside it, the later
// segments are deleted (they would leave a gap), as Kafka does. The leader
// epoch cache is cut to the recovered log end and producer state is rebuilt.
//
// # Open files
//
// A Log never holds a file descriptor. All files are opened through the
// Manager's LRU handle cache bounded by MaxOpenFiles; a handle is pinned only
// for the length of one call, and idle handles beyond the bound are closed.
// A broker with 100k partitions thus uses about MaxOpenFiles descriptors.
// ReadRecords (records.go) is the one exception: its Records keep their
// segment files pinned until Release (a fetch response being sent with
// sendfile), so a segment deleted by retention meanwhile still reads whole.
//
// # Invariants
//
//   - A Log has at least one segment; the last is the active one. Segment base
//     offsets increase; LogStartOffset is the first base, LogEndOffset the
//     active segment's next offset.
//   - Every segment's .log holds whole batches only, in offset order, and its
//     size stays below SegmentBytes <= MaxInt32 (index positions are u32).
//   - Offsets may have gaps on compacted logs (within a batch, between
//     batches, at a segment's end): a non-active segment covers offsets up to
//     the next segment's base.
//   - Readers never see a batch before its bytes are in the file, nor a
//     transactional batch before its transaction holds the last stable
//     offset back (both are published under one Log.mu write lock).
//
// # Locks
//
// Lock order (take left before right, never the reverse):
//
//	Manager.mu -> Log.appendMu -> Log.mu -> fileCache.mu
//	cleanerState.mu -> Log.appendMu
//
// The cleaner holds its per-log cleanerState.mu for a whole cleaning; it
// reads the non-active segments and writes the .cleaned files without
// appendMu (they only change by retention, truncation or close, which the
// swap detects by segment identity and then aborts), and takes appendMu,
// then Log.mu, only to swap the files and publish the new segment list.
//
// Log.appendMu serializes writers: Append, TruncateTo, retention, Flush,
// close, delete. It is held across disk writes. Log.mu (RWMutex) guards what
// readers see (segment list, segment sizes and indexes, log end offset,
// epoch cache, config, waiters); writers take it for writing only to publish
// a change after the data is written, so Read, which holds it for reading
// during its file reads, is never blocked behind a write(2). State written
// only under appendMu (producer state, snapshot list) is never read without
// it. Manager.mu guards the partition map; it is held while GetOrCreate
// creates or checks a log, and released before any other call into a Log.
package storage
