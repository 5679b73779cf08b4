// Package server assembles one broker node: Run starts storage,
// replication, the broker's request handlers and its listeners on a
// metadata Source, serves until its context ends, and stops them in one
// documented order (see Run). cmd/zkraft maps server.properties onto
// Config, picks and builds a Source, and calls Run; every broker-serving
// mode (quorum broker, combined broker+controller, ZooKeeper, migrating
// ZooKeeper) goes through it, so a component is wired once.
//
// # The Source seam
//
// Source (source.go) is the broker side's view of wherever metadata lives:
// the controller writes (Controller: CreateTopics, DeleteTopics,
// AllocateProducerIDs, AlterPartition), image publication and the wait
// until the broker may serve (Start), controlled shutdown (Shutdown) and
// Close. Optional parts: Runner (a loop of the source's own),
// ListenerOpener (a source sharing a listener's port), Epocher (the
// registration's epoch, logged), and broker.ControlledShutdowner (serving
// other brokers' ControlledShutdown). Its signatures use only metadata and
// standard types, so the implementations — quorum.BrokerSource,
// quorum.CombinedSource, and the ZooKeeper and migrating sources — need not
// import this tree. server/sourcetest is their conformance suite.
//
// # Goroutines
//
// Run owns one errgroup: the shutdown sequence (waits for ctx, then
// controlled shutdown and closing the listeners) and, for a Runner source,
// its loop. The components own their goroutines (storage: retention and
// cleaner; replica: ISR and fetchers; network: accept, per-connection
// reader and writer; the source: whatever it runs) and Run closes each of
// them, waiting, before it returns (the metrics listener's Serve goroutine
// too).
//
// # Invariants
//
//   - Start order storage → replication → broker → source → listeners,
//     close order the reverse after a controlled shutdown (Run's doc).
//   - With Config.Metrics and MetricsAddr (zkraft.metrics.listener) the
//     metrics listener (metrics.Server: /metrics, /healthz, /readyz) opens
//     before storage and closes after it; /readyz is 503 until the
//     listeners open, then 200 while the broker's own registration is in
//     its image and unfenced, and 503 again from shutdown on (metrics.go).
//   - The listeners open only after the source says the broker is
//     registered, caught up and unfenced, so no client sees a broker that
//     has no image or may not lead.
//   - A listener with SASL mechanisms is a SASL listener (network.WithSASL);
//     its SCRAM users are read from the broker's image at each
//     authentication, so credentials added or removed in metadata apply to
//     the next connection without a restart.
//   - The source is closed before the broker, replication and logs, so no
//     image is published to closed components; the logs close last.
package server
