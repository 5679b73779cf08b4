// Package conformance runs broker/server/sourcetest over every real
// server.Source: quorum.BrokerSource (a broker following a single voter),
// quorum.CombinedSource (a combined node), zk.Source (ZooKeeper mode, on a
// real ZooKeeper from metadata/zk/zktest, one chroot per cluster), and
// migrate.BrokerSource both before the migration (images and writes from
// ZooKeeper) and after the driver loaded the tree (from the log, writes to
// the quorum). It holds only tests: it lives under cmd because cmd is
// the one place allowed to import every backend next to the broker tree.
//
// # Goroutines
//
// None of its own; each factory starts the controller side its Source
// needs (a quorum voter, ZooKeeper) and stops it on t.Cleanup.
package conformance
