// Package zktest starts a real ZooKeeper (Debian's `zookeeper` package) for
// tests: one standalone server on a free 127.0.0.1 port with its data in
// t.TempDir(), stopped on t.Cleanup. It also runs zkCli.sh against it and
// offers a pausable TCP proxy to make a client's session expire.
//
// When ZooKeeper is not installed the test fails (never skips): make test
// installs it with `apt-get install -y zookeeper`.
//
// # Goroutines
//
// Server owns one goroutine waiting for the java process (ended by Stop,
// which t.Cleanup calls). Proxy owns its accept loop and two copy goroutines
// per connection; Close (also on t.Cleanup) ends them all.
package zktest
