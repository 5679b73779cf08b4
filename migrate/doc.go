// Package migrate is the bridge from ZooKeeper mode to the metadata quorum
// (KIP-866): the driver that loads the ZooKeeper tree into the Raft log,
// takes over the ZooKeeper controller role, dual-writes every committed
// metadata change back to ZooKeeper until the migration is finalized; the
// Finalizer of controllers restarted without the ZooKeeper keys; the
// migrating ZooKeeper-mode broker's metadata source (BrokerSource); and
// the operator tools (status, finalize, rollback). docs/migration.md is the
// runbook; KAFKA-REFERENCE §3 has Kafka's behaviour this follows.
//
// # States
//
// Persisted in the log (ZkMigrationStateRecord, Kafka's numbering):
//
//	NONE (0) --(empty log, flag on)--> PRE_MIGRATION (2) --(load)--> MIGRATION (1) --(finalize)--> POST_MIGRATION (3)
//	NONE or POST_MIGRATION --(Config.Reverse: export)--> REVERSE_MIGRATION (5, zkraft's own)
//
// In memory, on the active controller (DriverState, Kafka's
// MigrationDriverState): INACTIVE (not leader, or finalized) ->
// WAIT_FOR_CONTROLLER_QUORUM (new term) -> WAIT_FOR_BROKERS (every id in
// /brokers/ids and in any topic assignment registered with the quorum as
// IsMigratingZkBroker) -> BECOME_CONTROLLER (takeover) -> ZK_MIGRATION (the
// load) -> KRAFT_CONTROLLER_TO_BROKER_COMM -> DUAL_WRITE. A new leader in
// MIGRATION goes BECOME_CONTROLLER -> SYNC_KRAFT_TO_ZK (the whole image
// diffed against the tree and repaired) -> DUAL_WRITE.
//
// # ZooKeeper writes
//
// Takeover, one multi (Kafka's tryRegisterKRaftControllerAsActiveController):
//
//	SetData(/controller_epoch, e+1, version=v) | Delete(/controller, its version) | Create(/controller PERSISTENT,
//	  {"version":2,"brokerid":<node.id>,"timestamp":"..","kraftControllerEpoch":<raft term>})
//
// then an unconditional SetData(/migration) to learn its zkVersion. Every
// later write is one multi per at most MaxMultiOps-2 ops:
//
//	Check(/controller_epoch, v') | op ... op | SetData(/migration, {"version":0,"kraft_controller_id":..,
//	  "kraft_controller_epoch":..,"kraft_metadata_offset":<raft index>,"kraft_metadata_epoch":<term>}, version=m)
//
// A failed check means another controller (or a rollback) moved: the driver
// stops writing and takes over again if it still leads. State znodes are
// written with controller_epoch = the /controller_epoch of the takeover.
//
// # The load
//
// One metadata transaction: BeginTransactionRecord("ZK Migration"),
// entries of Config.BatchSize records (TopicRecord + PartitionRecords with
// the tree's topic ids, leaders, ISRs, leader epochs and partition epochs =
// state zkVersions; topic configs; broker configs; ProducerIdsRecord with
// NextProducerId = block_end+1), ZkMigrationStateRecord(MIGRATION),
// EndTransactionRecord. The FSM applies it at End, all or nothing; a
// failed load appends AbortTransactionRecord, and a new leader aborts an
// open transaction before it retries (quorum.Node.AppendTransaction).
// Broker registrations are not loaded: the brokers registered themselves.
// The tree is read with zk.LoadTreeFrom over Config.LoadSessions extra
// read-only sessions (ZooKeeper serves one session's requests in order),
// opened for the read and closed before the load is appended.
//
// Topics the fenced ZooKeeper controller had not finished (a topic znode
// without id or states) are completed as it would have (LoadRecords) and
// their new znodes go out with the /migration offset (CompletionOps).
// Topics queued in /admin/delete_topics that it had not deleted
// (KAFKA-15605) are deleted, as Kafka does: a complete one is loaded and
// removed (RemoveTopicRecord after every topic, same transaction), an
// incomplete one is skipped; CompletionOps deletes their znodes and queue
// entries in that same fenced write.
//
// # Leader changes
//
// A new term acts only once Quorum.LeaderImage says every entry of earlier
// terms is applied (a stale image would load twice or make the resync undo
// mirrored writes). It takes over again (higher kraftControllerEpoch,
// /controller_epoch + 1, /migration rewritten: the old leader's fence is
// dead) and runs SYNC_KRAFT_TO_ZK (SyncOps: DiffOps from the tree's image,
// plus queued deletions), which also runs when the write after the load
// failed (fence held, nothing mirrored yet).
//
// # The window between takeover and load
//
// No client write reaches ZooKeeper after the takeover: migrating
// ZooKeeper-mode brokers fence theirs on /controller_epoch and refuse them
// once /controller is a KRaft controller (zk.Config.FenceClientWrites),
// sending them to the quorum, which answers NOT_CONTROLLER in PRE_MIGRATION
// (quorum.ErrPreMigration) until the load's transaction has committed; the
// broker's client retries. So the tree the load reads is final and every
// change of the window lands in the log once, after the load, and is
// dual-written. Config.AfterTakeover lets tests act inside the window.
//
// # Dual-write
//
// DiffOps(last mirrored image, committed image): commits are coalesced, so
// a burst costs one diff over the topics whose TopicImage pointer changed.
//
// # The reverse migration
//
// With Config.Reverse (zookeeper.metadata.migration.reverse.enable) the
// active controller of a log in NONE (born in quorum mode) or
// POST_MIGRATION exports its image (Export: /cluster/id checked or
// created, the takeover above, then SyncOps from the tree as read to the
// image, behind the same fence), then appends REVERSE_MIGRATION and
// dual-writes as in MIGRATION (no finalize). An export not yet recorded
// (a crash, a leader change) is done again by the next leader: it is
// idempotent. ZooKeeper-mode brokers take /controller back with Rollback
// once every broker is back in ZooKeeper mode.
//
// # The migrating broker (BrokerSource)
//
// A ZooKeeper-mode broker with zookeeper.metadata.migration.enable runs a
// zk.Backend (client writes fenced) and a quorum.Client (registered as
// IsMigratingZkBroker) side by side. Its image comes from the tree until
// the log holds the ZooKeeper data (MIGRATION, POST_MIGRATION,
// REVERSE_MIGRATION) while a KRaft controller holds /controller,
// then from the log, switched with one metadata.DeltaBetween; back to the
// tree when a ZooKeeper-mode broker wins /controller again (rollback), and
// on the tree while /controller names no KRaft controller (the gap of a
// ZooKeeper-mode election does not bring back the stopped quorum's log). Its
// writes follow (toQuorum); a ZooKeeper write refused with
// zk.ErrKRaftController is resent to the quorum. Its controlled shutdown
// goes to whichever controller is current when it stops.
//
// # Goroutines
//
// Driver.Start runs one loop (woken by Publish and a PollInterval ticker);
// Close ends it and closes the ZooKeeper session. Finalizer.Start runs one
// loop (a ticker) until Close. BrokerSource.Run is its recheck loop (a
// /controller change publishes nothing by itself), run by its caller
// (broker/server's Run, a Runner) on the caller's goroutine until ctx
// ends; BrokerSource.Close waits for the goroutines of both sides. Its two
// sides publish from their own goroutines (the ZooKeeper
// loop, the quorum client's follower), serialized by BrokerSource.mu
// (docs/lock-ordering.md). Nothing else here starts goroutines; Rollback,
// ReadZkStatus and ReplayLog run on the caller's.
//
// # Invariants
//
//   - Only the raft leader writes ZooKeeper, and only behind the epoch and
//     /migration checks of its own takeover.
//   - /migration's kraft_metadata_offset is the offset of the last log entry
//     whose changes are in ZooKeeper (written atomically with them).
//   - After Rollback, /controller_epoch >= every controller_epoch stamped in
//     a partition state (KAFKA-20488), /controller and /migration are gone.
//   - A BrokerSource's publisher sees one image source at a time: every
//     delta it gets is based on the image it got last, whichever side it
//     comes from.
//   - FinalizedPath exists before POST_MIGRATION is appended by a driver
//     (and is written by every driver whose log is in POST_MIGRATION);
//     Rollback writes nothing while it exists (ErrFinalized).
package migrate
