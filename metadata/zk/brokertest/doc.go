// Package brokertest starts real ZooKeeper-mode brokers (zk.Backend) for
// the tests of the packages above metadata/zk: migrate, the conformance
// suites, cmd/zkraft. One Config with test timeouts, one Start that waits
// until the backend has read the tree, one Broker that also registers it.
// metadata/zk's own tests cannot import it (it imports metadata/zk) and
// keep their testBackend; the ZooKeeper server itself comes from
// metadata/zk/zktest.
//
// # Goroutines
//
// None of its own: a started Backend owns its loop and the ZooKeeper
// client's goroutines until the test's cleanup closes it.
//
// # Invariants
//
//   - Start and Broker return only a backend that has caught up with the
//     tree (Broker: and whose registration is in ZooKeeper); any failure,
//     or 30 s without it, fails the test.
//   - Every backend is closed at the cleanup of the test that started it.
package brokertest
