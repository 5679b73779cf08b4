// Package metrics is zkraft's Prometheus surface: one Registry per
// process (its own prometheus.Registry, never the global default), named
// after Kafka's JMX metrics so that dashboards built on the JMX exporter's
// usual rules map over (docs/operations.md has the table), and the HTTP
// Server for /metrics, /healthz and /readyz (zkraft.metrics.listener).
// It sits below metadata, beside metadata/network, because brokers and
// controllers both use it (the top level is fixed; TestTopLevelFolders).
//
// Two kinds of figures:
//
//   - counted as things happen: requests and their time per API key and
//     listener (ObserveRequest, called by broker.Broker.Handle and the
//     quorum controller listener's handler as they return), records and
//     bytes in and out per topic (read from the Produce request and
//     response, and from the Fetch response, file regions included), ISR
//     shrinks and expands (ISRChanged, from broker/server's wrapper of the
//     replica manager's AlterPartition), raft commit time (ObserveCommit,
//     from quorum.Node's writer);
//   - computed at scrape time from state (AddBroker, AddController,
//     AddRaft, AddZooKeeper): partition health from the metadata image
//     (under-replicated, under and at min ISR, offline, counts), group
//     counts, log sizes, raft term/state/offsets and each node's metadata
//     lag as the raft leader last heard it, the ZooKeeper session state and
//     the KIP-866 migration state. Nothing on a hot path keeps these.
//
// The package imports only metadata and metadata/network of ours, so
// broker/server and cmd may use it; broker and quorum do not import it,
// they declare the small observer interfaces it implements.
//
// # Goroutines
//
// Server owns its http.Server's Serve goroutine (and the connections' ones)
// and Close waits for them. Collectors run on the scrape's goroutine and
// only call the state funcs they were given, which must be safe to call
// concurrently with the node.
//
// # Invariants
//
//   - Counters only grow; a gauge is never left from an earlier scrape.
//   - As in Kafka, only the active controller reports the cluster-wide
//     controller counts (offline partitions, global counts); the others
//     report 0, so a cluster-wide sum is the cluster's figure.
//   - /readyz is 503 with the reason until the node says it serves (a
//     broker: registered, caught up, unfenced; a controller: a leader is
//     known and applied what is committed) and again from shutdown on.
package metrics
