// Package sourcetest is the conformance suite of server.Source: Run runs
// the same tests against any Source through a Factory, so a broker on the
// quorum (quorum.BrokerSource), on a combined node (quorum.CombinedSource),
// on ZooKeeper or migrating between them sees the same behaviour: Start
// publishes a caught-up image with the broker registered and unfenced,
// controller writes have broker.Controller's and replica.Controller's
// semantics and reach the published image, images arrive as one chain of
// deltas never published concurrently, controlled shutdown of a lone
// broker completes, Close ends publishing and works unstarted.
//
// Mem, an in-memory Source over package metadata's controller logic, is
// the reference the suite runs against in its own tests and the Source of
// broker/server's tests. The runs over the real Sources live in
// cmd/zkraft/conformance, the one place allowed to import every backend.
//
// # Goroutines
//
// None of its own; the Sources under test own theirs, the suite closes
// each Source and the Factory stops what it started on t.Cleanup.
package sourcetest
