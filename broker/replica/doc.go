// Package replica is the Go counterpart of Kafka's ReplicaManager: it keeps
// a partition with replication factor N correct while any N-1 of its
// replicas fail, without losing an acknowledged acks=all record.
//
// # Job
//
// Manager implements the broker's Replication seam (plus ReplicaPublisher
// and FollowerTracker). It sees only metadata images and a small Controller
// interface (AlterPartition), so it runs unchanged on both metadata
// backends.
//
//   - Become leader / follower: the broker's Publish hands Apply each
//     image's LocalChanges. A new leader term resets what the leader knows
//     of its followers (log end offsets unknown, ISR members given a
//     replica.lag.time.max.ms grace period) and remembers the log end at
//     the term's start. A new follower term hands the partition to the
//     fetcher of its leader, which first truncates it.
//   - Errors a leader change explains (NOT_LEADER_OR_FOLLOWER,
//     UNKNOWN_LEADER_EPOCH, FENCED_LEADER_EPOCH from a leader that has not
//     applied the change yet, a first connection failure to a restarted
//     leader) are retried after 50 ms; others after replica.fetch.backoff.ms.
//     StopFetching (controlled shutdown) stops every fetcher for good.
//   - Followers: one fetcher goroutine per source broker batches all its
//     partitions into one Kafka Fetch (replica id set) sent on its own
//     connection to the leader (conn.go: versions from ApiVersions, kmsg
//     encodes and decodes, the fetcher goroutine writes each request and
//     reads its answer into a reused buffer), in a KIP-227 fetch session
//     (fetch_session.go): after the first full fetch each one carries only
//     the partitions whose fetch offset, log start or epoch changed, and
//     any failure or session error starts over in full. Fetched batches are appended
//     with storage.Log.AppendAsFollower, which keeps the leader's offsets
//     and leader epochs. Before fetching, a partition is truncated by
//     leader epoch (KIP-101, KIP-279): OffsetForLeaderEpoch with its latest
//     epoch, then cut at min(leader's end, own end) for the epoch the
//     leader answers, repeating while the leader answers an epoch the
//     follower does not hold.
//   - Leader: each follower fetch reports the follower's log end offset
//     (its fetch offset). The high watermark is the minimum log end offset
//     over the maximal ISR (committed ISR plus members an in-flight
//     expansion adds), never moves back, and waits until every ISR member
//     fetched in this term. A follower that has not caught up to the
//     leader's log end within replica.lag.time.max.ms is removed from the
//     ISR; one whose log end reaches the high watermark and the term's
//     start offset is added back. ISR changes go to the controller as
//     AlterPartition with the leader epoch and partition epoch; a stale
//     answer (another term or ISR version) is dropped and the partition
//     re-reads the latest image: it adopts a newer registration of the
//     term, or a lower partition epoch whose ISR holds every member of its
//     own (a migrating ZooKeeper broker's switch back from the log to the
//     tree lowers epochs the dual-write coalesced), never one that would
//     shrink the set it waits for. When the metadata source itself
//     switches (metadata.LocalChanges.Resync: that migrating broker
//     moving between the tree and the log), partition epochs start over:
//     every partition whose term goes on takes the new image's
//     registration as it is and drops a staged ISR change (Manager.resync).
//   - acks=all purgatory: WaitCommitted blocks until the high watermark
//     reaches the append's end, then answers NOT_ENOUGH_REPLICAS_AFTER_APPEND
//     if the ISR shrank below min.insync.replicas; it fails with
//     NOT_LEADER_OR_FOLLOWER once the term it appended in is over. The
//     produce handler refuses (NOT_ENOUGH_REPLICAS) before appending when
//     the ISR is already too small.
//   - Reassignment (KIP-455): replicas added within a leader term are
//     tracked from the image that adds them (syncFollowersLocked) and join
//     the ISR like any follower; the controller then drops the old ones.
//   - Throttles (KIP-73, throttle.go): throttled follower replicas sit out
//     fetch rounds while follower.replication.throttled.rate's token
//     bucket is in debt; a leader answers throttled replicas' follower
//     fetches without records while leader.replication.throttled.rate is
//     used up (LeaderThrottler). Both buckets hold one second's burst.
//   - Unclean elections are the controller's; a broker that becomes leader
//     without being in the ISR, or a follower that must truncate below its
//     high watermark, logs the loss at error level.
//
// # Goroutines
//
// The ISR goroutine (Start .. Close) checks lag every ISRCheckInterval and
// sends AlterPartition calls one at a time. One fetcher goroutine per
// source broker, started when the first partition follows it and stopped
// by Close (or when the leader's address changes). Close waits for all of
// them. Handlers call HighWatermark, WaitHighWatermark, WaitCommitted and
// FollowerFetched on the network goroutines; Apply runs on the metadata
// publisher's goroutine.
//
// # Invariants and locks
//
//   - Lock order: Manager.mu, then fetcher.mu, then partition.mu. No lock is
//     held across a Controller call or a network request; partition.mu is
//     held across the fetcher's append to (or truncation of) that
//     partition's log, so a role change never interleaves with one.
//   - A fetcher appends only while the partition is still a follower of
//     its leader in the epoch it was assigned (checked under partition.mu).
//   - The high watermark (stored in storage.Log) only moves up on a
//     leader, and never past the log end offset of any maximal-ISR member.
//   - acks=all succeeds only once every ISR member holds the records, so a
//     clean election (leader from the ISR) keeps them.
//
// # Wire formats
//
// Fetch (key 1), OffsetForLeaderEpoch (key 23), ListOffsets (key 2) and
// ApiVersions (key 18) as kmsg defines them; conn.go only frames them
// (size prefix, correlation id, kmsg's request header). Record batches are stored as fetched (layout in
// storage's doc.go).
package replica
