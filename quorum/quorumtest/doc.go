// Package quorumtest starts real quorum nodes for the tests of the
// packages above quorum (migrate, the metadata tools, the conformance
// suites, cmd/zkraft): one single-voter Config with test timeouts and one
// Start that waits for leadership and closes the node at cleanup. quorum's
// own tests cannot import it (it imports quorum) and keep their helpers.
//
// # Goroutines
//
// None of its own: a started Node owns raft's and its listener's
// goroutines until the test's cleanup closes it.
//
// # Invariants
//
//   - A Config from Voter listens on 127.0.0.1:0 only (ports are the
//     kernel's), keeps its files in the given directory, and never snapshots
//     on its own (tests snapshot explicitly).
//   - Start returns only a leading node; a failure to start or to lead
//     within 30 s fails the test.
package quorumtest
