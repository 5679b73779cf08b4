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
//	+------+-----------+---------------+-------------------+-------------------+-----
//	| 0x01 | CRC-32C   | uvarint count | uvarint len | rec | uvarint len | rec | ...
//	|      | uint32 BE | <------------- covered by the CRC ----------------------->
//	+------+-----------+---------------+-------------------+-------------------+-----
//	 rec = metadata.AppendRecord: uvarint(1) uvarint(type) uvarint(version) body
//
// Version 0 entries (written before checksums: 0x00, then the count) are
// still read. Every reader verifies the CRC-32C: the fsm on replay and on
// apply (voters and brokers, which apply fetched entries with the same
// fsm), and zkraft meta.
//
// An entry applies atomically: if any record fails to replay, the image is
// unchanged, the error is logged (naming raft.db and the entry's index),
// counted (Node.ApplyErrors) and returned to the writer as the raft
// future's Response. Undecodable entries and checksum mismatches likewise.
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
// Snapshots (snapshot_policy.go): every voter snapshots its own image once
// Config.SnapshotMaxBytes bytes of entries were applied since its last
// snapshot, or Config.SnapshotMaxInterval passed since it with entries
// applied in between (Kafka's two keys and semantics), or, as a ceiling,
// after raft's SnapshotThreshold entries; any snapshot (or an installed
// one) restarts the counts.
//
// # Snapshot file
//
//	+------+-----------+-----------+-----------+-----------+------------+----------------------------+
//	| 0x01 | CRC-32C   | offset    | epoch     | uvarint n | cluster id | metadata.AppendBatch(      |
//	| ver  | uint32 BE | int64 BE  | int64 BE  |           | n bytes    |   metadata.WriteImage(img))|
//	+------+-----------+-----------+-----------+-----------+------------+----------------------------+
//	                   <----------------------- covered by the CRC ------------------------------->
//
// offset/epoch are the image's provenance (raft index/term of the last entry
// replayed into it). raft's FileSnapshotStore adds a CRC-64 and meta.json on
// disk; the CRC-32C travels with the bytes, so a snapshot assembled from
// FetchSnapshot chunks is verified too. Version 0 (no CRC-32C field) is
// still read.
//
// # Publishing
//
// Publishers are called in log order under one mutex, never concurrently.
// At start the node replays its log without publishing until it reaches the
// last command entry present at start, then publishes the caught-up image
// once with a delta from the empty image (Kafka's MetadataLoader). After
// that every applied entry is published with its delta; a snapshot restore
// publishes a delta from the previous image. Node.Subscribe and
// Client.Subscribe add a publisher later (Kafka's installPublishers): it
// gets the current image at once, as a delta from the empty image, when the
// node has caught up, else the caught-up publish; then every later image.
//
// # Broker sources (source.go)
//
// BrokerSource (process.roles=broker: a following Client, gossip on the
// inter-broker listener's port) and CombinedSource (process.roles=broker,
// controller: this node's voter publishing straight to the broker, plus a
// non-following Client) implement broker/server's Source structurally;
// this package never imports the broker tree. Their Start attaches the
// broker with Subscribe, so no image is lost between construction and start.
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
// Config.Observer (metrics, set by cmd) sees each controller-listener
// request as the handler returns and each write's time from raft Apply to
// applied; Node.Stats (stats.go) reads raft's term, state, leader and
// indexes, and on the leader each voter's and observer's log end as
// DescribeQuorum reports them, for the scrape-time raft gauges.
//
// # Transport: one port for raft and the controller listener
//
// A voter listens on one TCP port, its controller.quorum.voters address
// (Config.BindAddr). mux.go sorts connections by their first byte:
//
//	raft:   | 0xA1 | hashicorp raft NetworkTransport stream ...
//	gossip: | 0xA2 | 'S' stream or 'P' packets ... (gossip_transport.go)
//	kafka:  | size int32 BE (first byte 0x00..0x7F) | request ...
//	        | 0x16 TLS handshake ... (controller listener mapped to SSL)
//
// With the controller listener TLS (Config.RaftTLS, raft_tls.go), raft
// runs over TLS after its 0xA1 byte, client certificates required both
// ways; the Kafka side's TLS is the network.Server's (a ClientHello's first
// byte, 0x16, sorts as Kafka). Gossip stays plaintext.
//
// Raft's StreamLayer dials with 0xA1 first; a Kafka frame's size is a
// non-negative int32, so its first byte is at most 0x7F and Kafka clients
// connect unchanged (the peeked byte is given back). Kafka connections go to
// a metadata/network.Server running controllerHandler (handler.go): BrokerRegistration,
// BrokerHeartbeat, CreateTopics, DeleteTopics, AllocateProducerIds,
// AlterPartition, DescribeQuorum, DescribeCluster, ApiVersions, and Fetch /
// FetchSnapshot of __cluster_metadata for brokers (fetch.go has the batch
// layout; fetch_client.go the client side, one Fetch request and one
// FetchSnapshot loop with its restart policy, shared by brokers and the
// observer). Writes on a non-leader answer NOT_CONTROLLER. Raft server ids
// are the decimal node ids. hashicorp loggers write to zap through an hclog
// adapter. Tests inject raft.InmemTransport instead (no port, no listener).
//
// # Brokers (client.go, client_lifecycle.go, follower.go)
//
// Client is a broker's side: it finds the active controller among the
// voters (NOT_CONTROLLER or a dead connection moves on; DescribeCluster
// names the leader), registers with a fresh incarnation id, heartbeats,
// forwards CreateTopics/DeleteTopics/AllocateProducerIds/AlterPartition,
// runs controlled shutdown, and (Follow) fetches the metadata log from the
// active controller into its own fsm, publishing like a voter: nothing
// until it has applied the log up to the controller's high watermark at
// start, then the caught-up image once, then every entry. The broker
// lifecycle on the controller side (sessions, fencing, unfencing,
// controlled shutdown) is lifecycle.go. docs/quorum.md has the picture.
//
// # Goroutines
//
// Node owns: raft's goroutines (ended by Shutdown in Close), the mux's
// accept loop and one short handshake goroutine per new connection, the
// controller listener's network.Server (reader/writer per connection), one
// controller loop (leadership notifications, start-up catch-up, session
// checks on the leader), one snapshot loop (snapshotLoop), and one short helper per in-flight raft future
// waited on with a ctx (each ends when raft resolves the future; Close
// waits for them). Close closes the raft connections hashicorp's transport
// leaves open, and leaves no goroutine behind.
//
// # Gossip (gossip.go, gossip_transport.go)
//
// hashicorp/memberlist among all nodes, controllers and brokers, for
// membership and fast failure detection, on no port of its own: a voter's
// gossip rides its voter port (0xA2 above), a broker's its inter-broker
// listener (ListenShared sorts 0xA2 the same way). memberlist's packets are
// length-framed on one TCP connection per destination, sent from a bounded
// queue (dropped when full or unreachable: the packet path is best effort).
// Node names are node ids, seeds are the voters. On every voter, a member
// declared dead (or left) becomes BrokerDead(id), so the active controller
// fences it at its next session check; a member seen alive again stops
// being a reason to fence; only heartbeats unfence. A voter that becomes
// active re-marks the members gossip holds dead. Gossip never fences a
// migrating ZooKeeper-mode broker (it runs none: a dead member under its
// id is an earlier quorum-mode incarnation).
//
// Gossip owns memberlist's goroutines, the transport's (an accept loop, one
// per inbound connection, one sender per destination) and a rejoin loop;
// Close waits for all of them, including memberlist's last probe.
//
// Client owns: the lifecycle loop and, with Follow, the fetch loop; Close
// stops and waits for both and closes its connections.
package quorum
