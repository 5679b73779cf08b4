// Package conformance runs broker/server/sourcetest over every real
// server.Source: quorum.BrokerSource (a broker following a single voter),
// quorum.CombinedSource (a combined node), and the ZooKeeper-mode and
// migrating sources. It holds only tests: it lives under cmd because cmd is
// the one place allowed to import every backend next to the broker tree.
//
// # Goroutines
//
// None of its own; each factory starts the controller side its Source
// needs (a quorum voter, ZooKeeper) and stops it on t.Cleanup.
package conformance
