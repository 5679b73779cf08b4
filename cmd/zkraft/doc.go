// Command zkraft is the single zkraft binary. It is the only place that wires the packages
// together: `serve` reads Kafka's server.properties keys (package config), opens the
// LogManager (broker/storage), starts the metadata backend (quorum), the broker's request
// handlers (broker) and the socket server (metadata/network), and registers the local broker
// with the controller; `bench` runs load generators (package bench).
//
// Goroutines: main owns the signal context; serve owns every component it starts and closes
// them in reverse order on SIGINT/SIGTERM (network first so no new requests arrive, then the
// broker, the metadata backend and last the logs, which are flushed and marked clean).
package main
