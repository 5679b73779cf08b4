// Package group is the group coordinator: the Go counterpart of Kafka's
// GroupCoordinator and GroupMetadataManager for the classic consumer group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
// OffsetFetch, DescribeGroups, ListGroups, DeleteGroups, OffsetDelete).
//
// # Job
//
// A group lives on partition abs(javaStringHashCode(id)) % N of
// __consumer_offsets (PartitionFor; N = offsets.topic.num.partitions). The
// broker leading that partition coordinates the group: the broker's
// metadata publisher calls BecomeLeader / Resign as leadership moves, and
// the coordinator loads (replays) or unloads the partition's groups. Group
// metadata and committed offsets are records in that partition, in Kafka's
// own key and value schemas (kmsg.OffsetCommitKey/Value,
// kmsg.GroupMetadataKey/Value), so the topic reads as Kafka's does and
// survives restarts and, with replication, failover. The coordinator sees
// only the Log interface (implemented by the broker over storage.Log and
// its replication seam), never the metadata backend: it runs unchanged on
// the Raft and ZooKeeper backends.
//
// Protocol metadata and assignments are opaque bytes passed between members
// and the leader untouched, so every client-side assignor works (range,
// roundrobin, sticky, cooperative-sticky).
//
// # States (Kafka's GroupState)
//
//	Empty ──join──► PreparingRebalance ──all joined / rebalance timeout──► CompletingRebalance
//	  ▲                 ▲   │ (no member left: generation+1, Empty)              │ leader's SyncGroup
//	  │                 │   ▼                                                    ▼ written to the log
//	  │                 └── member joins, leaves, expires, leader rejoins ◄── Stable
//	  └── DeleteGroups: Empty ──► Dead (tombstones written, group forgotten)
//
// The first rebalance of an Empty group waits group.initial.rebalance.delay.ms
// (extended while members keep arriving, bounded by the rebalance timeout).
// v4+ JoinGroup without a member id gets MEMBER_ID_REQUIRED and the id to
// use (KIP-394). A known group.instance.id replaces its old member id
// without a rebalance when the group is Stable and its protocols did not
// change (KIP-345); the old id is fenced. Members expire after their
// session timeout without a heartbeat (a member waiting in JoinGroup is
// alive); members that do not rejoin within the rebalance timeout, or do
// not sync within it, are dropped.
//
// # Goroutines and locks
//
// One lock per group (group.mu) guards its state; group.writeMu serializes
// the group's appends so the log order of its records is the order memory
// changed. Lock order: group.writeMu, group.mu, Coordinator.mu (a leaf).
// Nothing blocks on I/O while group.mu is held: appends release it and
// re-check the generation afterwards.
//
// Goroutines the Coordinator owns, all tracked by a WaitGroup that Close
// waits for: one loader per partition being loaded; timer callbacks
// (session, rebalance, initial delay, pending member) from the Clock;
// background appends of group metadata nobody waits for (a group turning
// Empty, a static member's new id). JoinGroup and SyncGroup block on the
// request's goroutine until the phase ends or the request context ends.
//
// # Invariants
//
//   - A group is served only while its partition is led here and loaded;
//     otherwise NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
//   - An offset becomes visible to OffsetFetch only after its record is
//     committed to the log (acks=all), so a reload never loses a commit that
//     was acknowledged.
//   - A generation's assignment reaches members only after its
//     GroupMetadataValue is committed.
//   - No input from a client or the log panics: undecodable records are
//     skipped with a warning, bad requests become error codes.
//   - Every answer's code comes from an error (errorCode): the state machine
//     hands members sentinels (ErrUnknownMemberID, ErrRebalanceInProgress,
//     ...), never literal codes; a log failure other than ErrNotCoordinator
//     is wrapped in ErrCoordinatorUnavailable (Kafka's GroupMetadataManager:
//     the client finds the coordinator again and retries).
//
// # Records in __consumer_offsets (big endian; Kafka's schemas)
//
//	offset commit key (v1):   version i16 = 1 | group string | topic string | partition i32
//	offset commit value (v3): version i16 = 3 | offset i64 | leader_epoch i32 | metadata string | commit_ts i64
//	group metadata key (v2):  version i16 = 2 | group string
//	group metadata value (v3): version i16 = 3 | protocol_type string | generation i32 |
//	                          protocol nullable string | leader nullable string | current_state_ts i64 |
//	                          members [member_id, instance_id nullable, client_id, client_host,
//	                          rebalance_timeout i32, session_timeout i32, subscription bytes, assignment bytes]
//	string = i16 length + bytes (-1 = null); bytes = i32 length + bytes; a nil record value is a tombstone.
//
// Each append is one uncompressed magic-2 record batch (layout in
// broker/storage's doc.go) built by appendBatch; producer id -1. A
// TxnOffsetCommit's batch (appendTxnBatch) is transactional with the
// producer's id and epoch and no sequence; its offsets stay in
// group.pendingTxn until a transaction marker (a control batch written by
// WriteTxnMarkers, the broker calling CompleteTxn) commits or drops them,
// and a load replays the same: transactional records wait per producer id
// for their marker, those without one stay pending (txn.go). Markers that
// arrive while the partition loads are kept and applied at install. Every
// committed offset keeps the log offset of its record (committed.logOffset,
// from Log.Append live, from the batch at load): a committed transaction's
// offset replaces the current one only if that one's record is earlier in
// the log, Kafka's rule for mixed transactional and plain commits
// (commitPending, used by both paths).
//
// # Gaps
//
// The topic is created with cleanup.policy=compact, and broker/storage's
// log cleaner compacts it (below the high watermark, outside the active
// segment): a load replays about one record per live key plus the active
// segment, and tombstones go after delete.retention.ms (TestReloadFrom-
// CompactedOffsetsLog checks a reload from a compacted log). Retention
// never applies to a compact-only topic. Offsets do not expire
// (offsets.retention.minutes is not applied). The KIP-848 consumer
// protocol is not implemented.
package group
