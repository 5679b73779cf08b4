// Package wait is the one polling helper of zkraft's tests: For and Until
// call a condition until it holds or a timeout passes, then fail the test
// with what was awaited and (For) the condition's last error. Tests poll
// with it instead of sleeping for synchronisation (STYLE.md: "poll with an
// eventually helper, never a bare time.Sleep").
//
// It imports nothing of zkraft's, so the tests of every package (metadata
// included) and the conformance suite in broker/server/sourcetest can use it.
//
// # Goroutines
//
// None: the condition runs on the caller's goroutine, which must be the
// test's (For and Until call t.Fatalf).
//
// # Invariants
//
//   - The condition is called at least once, even with a timeout <= 0.
//   - Between calls it sleeps from 1 ms, doubling up to 50 ms, so cheap
//     conditions are seen quickly and expensive ones (a Kafka client, a
//     ZooKeeper read) are not called in a tight loop.
//   - Timeouts are generous bounds on a correct system, never the thing a
//     test asserts: no test passes or fails on how fast a condition holds.
package wait
