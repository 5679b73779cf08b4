// Package broker holds the Kafka request handlers of a zkraft broker and
// its reaction to metadata images: the Go counterpart of Kafka's KafkaApis
// plus the broker side of its metadata publisher.
//
// # Job
//
// Broker implements network.Handler: the network server decodes a request
// with kmsg and calls Handle, which dispatches by API key to one handler
// per file (00_produce.go, 01_fetch.go, 02_list_offsets.go, 03_metadata.go,
// 18_api_versions.go, 19_create_topics.go, 20_delete_topics.go,
// 22_init_producer_id.go, 23_offset_for_leader_epoch.go,
// 32_describe_configs.go). Each file opens with the versions it supports
// and how it behaves. Broker also implements
// network.Versioner, so the server refuses keys and versions it does not
// serve before a handler sees them.
//
// Handlers read the cluster from the latest metadata.Image (an
// atomic.Pointer set by Publish) and partition data from storage.Manager.
// Writes to metadata (create/delete topics, producer id blocks) go to the
// active controller through the Controller interface declared here.
// Replication facts — the high watermark and when an acks=all produce is
// committed — come from the Replication seam: broker/replica's Manager
// when cmd installs it (WithReplication), else localReplication, which
// treats this broker as the only replica (HW = log end offset; acks=all
// succeeds when ISR = {self}). A Replication may also implement
// ReplicaPublisher (Publish hands it each image's local changes) and
// FollowerTracker (follower fetches report their offsets).
//
// With Config.Authorize (authorizer.class.name) every handler authorizes
// the request's principal (network.Request.Principal) and client host
// against the latest image's ACLs as Kafka's KafkaApis does
// (authorize.go; docs/security.md has the table): an immutable
// acl.Authorizer rebuilt by Publish when the ACLs change, loaded from an
// atomic.Pointer per request. Security writes (CreateAcls, DeleteAcls,
// AlterUserScramCredentials) go through the optional SecurityController.
//
// With WithRequestObserver (cmd passes metrics.Registry) Handle reports
// each request as it returns — API key, listener, response, error, time —
// on the serving goroutine; the observer only reads them (request rates,
// latency histograms and bytes in/out per topic, docs/operations.md).
//
// Errors are typed (this package's, storage's, the coordinator's and
// metadata's sentinels, wrapped with facts, causes with %w) until the
// response is built; errorCode in errors.go picks the Kafka code, once, from
// the one table in metadata/network (the outermost error with a code wins).
//
// # Goroutines
//
// None of its own. Handle runs on the network server's per-connection
// goroutines (concurrently across connections); Publish runs on the
// metadata backend's publisher goroutine (in log order, never
// concurrently). A long-poll Fetch parks its connection's goroutine on one
// channel that every partition of the fetch notifies (storage.Log.Notify,
// HighWatermarkNotifier; else a select over Log.Wait channels), bound to
// the request context, so closing the server releases it. The group and
// transaction coordinators (broker/group, broker/txn) own goroutines of
// their own, and so do the inter-broker clients (peers, txns.go) the
// transaction coordinator's markers and KIP-890 verification use; Close
// stops them all.
//
// The fetch session cache (fetch_session.go, KIP-227) is shared by every
// connection under one mutex, held only to resolve a session at the start
// of a fetch and to record its answer at the end, never across a read or
// a wait. A Fetch answer is a network.FileResponse: its record bytes stay
// in the segment files (pinned until the connection's writer has sent
// them with sendfile).
//
// # Invariants
//
//   - The image is stored before Publish creates or deletes logs, so a log
//     never exists without the registration that justified it being visible.
//   - A consumer never reads at or past the high watermark; a produce is
//     appended only by the partition's leader, stamped with its leader epoch.
//   - Producer ids are handed out from controller-allocated blocks, each id
//     once (pidSem serializes the block state).
//   - No handler panics on client input: malformed values become error codes.
//
// # Wire formats
//
// Requests and responses are kmsg's (never hand-rolled). The only bytes
// read here are a v2 record batch header (ListOffsets max-timestamp); its
// layout is in storage's doc.go.
package broker
