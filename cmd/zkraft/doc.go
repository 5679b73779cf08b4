// Command zkraft is the single zkraft binary. It is the only place that wires the packages
// together. `serve` reads Kafka's server.properties keys (package config), picks the mode
// and builds the metadata source of a broker-serving mode — quorum.BrokerSource
// (process.roles=broker), quorum.CombinedSource (broker,controller), metadata/zk.Source
// (ZooKeeper mode) or migrate.BrokerSource (a migrating ZooKeeper broker) — and hands it to
// broker/server's Run, which starts and stops the LogManager, replication, the request
// handlers and the listeners. A controller-only node (process.roles=controller)
// runs its quorum.Node and the migration driver or finalizer here. `migrate`, `meta`, `topics`
// and `bench` are operator tools.
//
// Goroutines: main owns the signal context. On SIGINT/SIGTERM a broker runs controlled
// shutdown while still serving, then closes in the order server.Run documents: the
// listeners first (no request runs after them), then the metadata source (nothing is
// published after it; a combined node hands raft leadership over and closes its voter), the
// broker's group coordinator, replication, and last the logs, which are flushed and marked
// clean. A controller hands leadership over, stops its migration hooks, then closes its node.
package main
