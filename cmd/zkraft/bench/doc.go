// Package bench is `zkraft bench`: produce and consume load generators that measure zkraft's
// broker against franz-go's in-memory kfake cluster, a replication benchmark on a spawned
// 3 + 3 node cluster, a disk bandwidth probe, and a metadata-quorum scale benchmark
// (metadata.go).
//
// # Subcommands
//
//	zkraft bench produce [flags]   load runs with a kgo client; see ProduceConfig for the flags
//	zkraft bench consume [flags]   per run (spawned zkraft, then kfake, --pairs times): fill a
//	                               topic with --records, read it back from the start with 1 and
//	                               then 3 consumer groups at once (--groups), each group one kgo
//	                               client (an untimed one-record group read first creates the
//	                               offsets topic); MiB/s, rec/s and broker CPU-s per GiB read per phase
//	                               (and its user share); --perf-record DIR runs `perf record -g` on
//	                               the spawned zkraft during each phase (proc.go); then one consumer tails the log while a producer runs at
//	                               --tail-rate (end-to-end latency, ms resolution) (consume.go)
//	zkraft bench cluster [flags]   3 controllers + 3 brokers (quorum mode), spawned once: acks=all
//	                               producers on an RF 3 (min.insync.replicas 2) and an RF 1 topic
//	                               in alternating pairs, then --latency-runs runs each at
//	                               --latency-fraction of the RF 3 median peak (or at a fixed
//	                               --latency-rate, which allows --pairs 0); CPU summed over all six
//	                               processes; --perf-record DIR profiles the brokers (cluster.go)
//	zkraft bench disk [flags]      sequential write bandwidth of a directory (1 MiB writes + fsync)
//	zkraft bench metadata [flags]  3 controller processes: create partitions to each scale, kill -9
//	                               the active controller and time the next CreateTopics; image
//	                               bytes per partition; snapshot size and load time
//	zkraft bench roll [flags]      a 3-broker RF 3 cluster (--mode zk on --zookeeper, or quorum:
//	                               1 controller + 3 brokers) rolled broker by broker (SIGTERM,
//	                               restart, full ISR) under one acks=all producer (roll.go); the
//	                               longest gap between acks per roll
//	zkraft bench kfake-serve       hidden: serve kfake in this process (ServeKfake)
//
// # How a produce benchmark runs
//
//	Produce
//	  ├─ MeasureDisk (once, in --dir)
//	  ├─ for pair in 1..--pairs: for target in [zkraft, kfake] (or the one --target):
//	  │     spawnBroker   fresh temp dir; `<bin> serve --override ...` or `<bin> bench kfake-serve`
//	  │     ensureTopic   kmsg CreateTopicsRequest (RF 1; roll: RF 3), then Metadata until every partition has a leader
//	  │     cpuTicks      /proc/<pid>/stat utime+stime of the child
//	  │     runLoad       one kgo client; 1 untimed warm-up record; then --records or --duration
//	  │     cpuTicks      again; stop the child (SIGTERM, then SIGKILL after 10 s); remove the dir
//	  └─ latency runs: one per target at --latency-fraction x the slowest target's median peak rate
//
// With --brokers the runs go to that running broker instead; nothing is spawned and no CPU is
// measured.
//
// # Goroutines
//
// A spawned broker owns one goroutine (cmd.Wait, which closes broker.done); broker.stop waits
// for it. Roll runs runLoad in one goroutine it joins (stop channel) before it returns. runLoad owns one kgo client whose goroutines end with Close before runLoad returns.
// ServeKfake owns the kfake cluster and closes it before returning. Nothing outlives the call
// that started it.
//
// # Invariants
//
//   - Every load loop is bounded by a record count, a duration and ctx; the wait for
//     outstanding records afterwards is bounded by flushGrace (30 s), after which closing the
//     client fails whatever is left, so sent = acked + failed always holds.
//   - Latency is per acknowledged record, from the Produce call to its promise, kept in a
//     log-linear Histogram (relative error < 1/128 above 128 ns).
//   - CPU figures come from the broker child only (never this process), in clock ticks
//     converted at an assumed USER_HZ of 100 (Go cannot call sysconf without cgo).
//   - Brokers listen on 127.0.0.1 ports that were free a moment before the spawn.
package bench
