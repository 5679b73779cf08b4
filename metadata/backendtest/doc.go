// Package backendtest is the conformance suite of metadata.Backend: the same
// tests run against the Raft quorum (quorum.Node) and the ZooKeeper backend
// (metadata/zk.Backend), so a broker wired to either sees the same
// behaviour.
//
// # Goroutines
//
// None of its own; the backends under test own theirs and the factory
// closes them on t.Cleanup.
package backendtest
