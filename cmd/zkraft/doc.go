// Command zkraft is the single zkraft binary. It is the only place that wires the packages
// together: `serve` reads Kafka's server.properties keys (package config), opens the
// LogManager (broker/storage), builds the metadata source of its mode — the quorum
// (quorum.Node, quorum.Client), ZooKeeper mode (metadata/zk.Source), or a migrating ZooKeeper
// broker (migrate.BrokerSource) — and starts the replication manager (broker/replica), the
// broker's request handlers (broker) and the socket server (metadata/network); controllers
// also run the migration driver or finalizer (migrate); `migrate`, `meta`, `topics` and `bench`
// are operator tools.
//
// Goroutines: main owns the signal context; serve owns every component it starts. On
// SIGINT/SIGTERM a broker first runs its controlled shutdown while still serving, then closes
// the socket server (no new requests) and the rest in the reverse order of their start
// (each serve_*.go's defers; the logs, flushed and marked clean, always last).
package main
