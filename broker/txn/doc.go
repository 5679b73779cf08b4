// Package txn is the transaction coordinator: the Go counterpart of
// Kafka's TransactionCoordinator, TransactionStateManager and
// TransactionMarkerChannelManager (KIP-98, with KIP-360's producer epoch
// recovery, KIP-588's PRODUCER_FENCED and KIP-890's defenses against
// hanging transactions).
//
// # Job
//
// A transactional id lives on partition abs(javaStringHashCode(id)) % N of
// __transaction_state (PartitionFor, group.PartitionFor's hash; N =
// transaction.state.log.num.partitions). The broker leading that partition
// coordinates the id: the broker's metadata publisher calls BecomeLeader /
// Resign as leadership moves; the coordinator loads (replays) the
// partition, answering COORDINATOR_LOAD_IN_PROGRESS meanwhile, or forgets
// it (NOT_COORDINATOR). The metadata of each id is a record in that
// partition in Kafka's own schemas (kmsg.TxnMetadataKey v0 /
// TxnMetadataValue v0 for a classic transaction, v1 for a KIP-890 part 2
// one), so a new leader resumes where the old one stopped. The coordinator sees only the Log (state partitions),
// ProducerIDs (the broker's controller-allocated blocks) and Cluster
// (partition leaders, WriteTxnMarkers) interfaces, never the metadata
// backend: it runs unchanged on the Raft and ZooKeeper backends and on a
// migrating broker.
//
// # States (Kafka's TransactionState; the byte in the record)
//
//	          InitProducerId (epoch+1)            AddPartitionsToTxn / AddOffsetsToTxn
//	Empty(0) ◄────────────────────────── ─┐  ┌──────────────────────────────► Ongoing(1)
//	  ▲                                   │  │                                 │    │
//	  │ InitProducerId              CompleteCommit(4)                 EndTxn   │    │ EndTxn(abort), timeout,
//	  │                             CompleteAbort(5)                  (commit) │    │ InitProducerId (fence:
//	  │                                   ▲  ▲                                 ▼    ▼ epoch+1)
//	  └───────────────────────────────────┘  └── markers written ──── PrepareCommit(2) / PrepareAbort(3)
//
// Dead(6) is an expired id (a tombstone is written); PrepareEpochFence(7)
// is never written here: a fence writes PrepareAbort with the bumped epoch,
// which is what Kafka writes for it. Under KIP-890 part 2 an EndTxn v5
// abort may also start from Empty or Complete* (an empty abort: nothing to
// mark). Each transition is one record appended
// and committed (acks=all) before memory changes; meanwhile the id answers
// CONCURRENT_TRANSACTIONS. EndTxn answers once Prepare* is committed; the
// markers go to every partition leader of the transaction (one
// WriteTxnMarkers per leader, retried on NOT_LEADER_OR_FOLLOWER, a missing
// leader or a dead broker; partitions of a deleted topic are dropped), then
// Complete* is written. Until then the id answers CONCURRENT_TRANSACTIONS,
// so the next transaction never starts before the previous one is
// decided everywhere. A new coordinator resumes the markers of every
// transaction it loads in Prepare*.
//
// Epochs: InitProducerId bumps the epoch (a new producer id when it is
// exhausted), fencing the previous instance: its AddPartitionsToTxn,
// EndTxn and (through the partition leaders, which have seen the newer
// epoch in the markers) produce requests fail with PRODUCER_FENCED /
// INVALID_PRODUCER_EPOCH. An Ongoing transaction found by InitProducerId
// or by the timeout loop is aborted with epoch+1 first (a zombie's late
// writes are refused by the partitions). KIP-360: a v3+ InitProducerId
// naming the current producer id and epoch (or the previous epoch, a lost
// answer) bumps; any other is PRODUCER_FENCED.
//
// KIP-890 part 1: Verify answers a partition leader's AddPartitionsToTxn
// v4+ verify_only, so a transactional write to a partition the coordinator
// never added cannot start a hanging transaction.
//
// KIP-890 part 2 (transaction.version 2; meta.tv2, Kafka's
// clientTransactionVersion): ImplicitAdd is the partition leader's add for
// Produce v12 / TxnOffsetCommit v5 (AddPartitionsToTxn v4+ without
// verify_only). EndTxn v5 (endTxnV2) bumps the epoch with every commit or
// abort, allows an empty abort, recognizes a retry by its epoch being one
// below the current one, and at an exhausted epoch allocates the next
// producer id, carried in Prepare* (NextProducerId) and installed at epoch
// 0 by Complete*. A fence of a part 2 transaction bumps twice, as Kafka's
// PrepareEpochFence plus the abort's bump, so the fenced producer's EndTxn
// is never taken for a retry.
//
// # Goroutines and locks
//
// Owned, all tracked by a WaitGroup Close waits for: one loader per state
// partition being loaded; one completer per transaction in Prepare*
// (markers, then Complete*), bound to its partition's context so an
// unload stops it, with one WriteTxnMarkers goroutine per leader broker
// per round, joined before the round ends; the timeout loop (transaction aborts every
// transaction.abort.timed.out.transaction.cleanup.interval.ms, id expiry
// every transaction.remove.expired.transaction.cleanup.interval.ms),
// started with the first partition led. Request handlers run on the
// caller's goroutine.
//
// Locks: txn.mu guards one id's metadata (released around every append,
// with txn.pending set); Coordinator.mu guards the maps. Order: txn.mu,
// then Coordinator.mu; nothing blocks while Coordinator.mu is held.
//
// # Invariants
//
//   - An id is served only while its partition is led here and loaded.
//   - Memory changes only after the record of the change is committed, so
//     a reload never forgets an acknowledged transition.
//   - Complete* is written only after every partition of the transaction
//     has its marker; a Prepare* record always leads to markers, here or
//     on the next coordinator.
//   - No input from a client or the log panics: undecodable records are
//     skipped with a warning, bad requests become error codes.
//
// # Records in __transaction_state (big endian; Kafka's TransactionLog)
//
//	key (v0):   version i16 = 0 | transactional_id string
//	value (v0): version i16 = 0 | producer_id i64 | producer_epoch i16 | timeout_ms i32 |
//	            state i8 | topics [topic string, partitions [i32]] |
//	            last_update_ts i64 | start_ts i64
//	value (v1): the same fields, flexible (compact strings and arrays =
//	            uvarint length+1, a tag section per struct), and tagged
//	            previous_producer_id i64 (tag 0), next_producer_id i64 (tag 1),
//	            client_transaction_version i16 (tag 2) = 2
//	string = i16 length + bytes; arrays = i32 count; a nil value is a tombstone.
//
// Each append is one uncompressed magic-2 record batch (layout in
// broker/storage's doc.go), producer id -1.
package txn
