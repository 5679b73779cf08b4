package zk

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// writeBenchTree writes topics of 1000 partitions each (replicas [1,2],
// leader 1, ISR [1,2]) straight into ZooKeeper under chroot.
func writeBenchTree(b *testing.B, conn *gozk.Conn, chroot string, partitions int) {
	acl := gozk.WorldACL(gozk.PermAll)
	mk := func(p string) {
		if _, err := conn.Create(p, nil, 0, acl); err != nil && err != gozk.ErrNodeExists {
			b.Fatal(err)
		}
	}
	mk(chroot)
	const per = 1000
	for t := 0; t*per < partitions; t++ {
		name := fmt.Sprintf("bench-%d", t)
		n := min(per, partitions-t*per)
		zn := TopicZNode{TopicID: metadata.RandomUuid(), Partitions: map[int32][]int32{}}
		for p := 0; p < n; p++ {
			zn.Partitions[int32(p)] = []int32{1, 2}
		}
		reqs := []any{&gozk.CreateRequest{Path: chroot + TopicPath(name), Data: EncodeTopic(zn), Acl: acl},
			&gozk.CreateRequest{Path: chroot + PartitionsPath(name), Acl: acl}}
		state := EncodePartitionState(PartitionState{Leader: 1, ControllerEpoch: 1, ISR: []int32{1, 2}})
		for p := 0; p < n; p++ {
			reqs = append(reqs, &gozk.CreateRequest{Path: chroot + PartitionPath(name, int32(p)), Acl: acl},
				&gozk.CreateRequest{Path: chroot + PartitionStatePath(name, int32(p)), Data: state, Acl: acl})
			if len(reqs) >= 500 {
				if _, err := conn.Multi(reqs...); err != nil {
					b.Fatal(err)
				}
				reqs = reqs[:0]
			}
		}
		if len(reqs) > 0 {
			if _, err := conn.Multi(reqs...); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkControllerFailover measures a ZooKeeper-mode controller failover
// at 1k and 10k partitions (100k with ZKRAFT_BENCH_100K=1): broker 1 is
// controller and leads every partition, its session ends, and broker 2 wins
// the election, loads the whole tree and writes a new leader for every
// partition (Kafka's onControllerFailover + onBrokerFailure). Reported:
// load-ms (reading the tree), failover-ms (election won -> all leaders
// written), detect+failover-ms (session closed -> all leaders written;
// a crashed broker adds zookeeper.session.timeout.ms to this).
func BenchmarkControllerFailover(b *testing.B) {
	sizes := []int{1000, 10000}
	if os.Getenv("ZKRAFT_BENCH_100K") != "" {
		sizes = append(sizes, 100000)
	}
	s := zktest.Start(b)
	conn, _, err := gozk.Connect([]string{s.Addr}, 30*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	run := 0
	for _, n := range sizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				run++
				chroot := fmt.Sprintf("/bench%d", run)
				b.StopTimer()
				start := func(id int32) *Backend {
					cfg := DefaultConfig()
					cfg.Servers, cfg.Chroot, cfg.BrokerID, cfg.SessionTimeout = []string{s.Addr}, chroot, id, 10*time.Second
					be, err := New(cfg, zap.NewNop())
					if err != nil {
						b.Fatal(err)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					if err := be.Start(ctx); err != nil {
						b.Fatal(err)
					}
					if err := be.WaitCaughtUp(ctx); err != nil {
						b.Fatal(err)
					}
					if _, err := be.RegisterBroker(ctx, metadata.BrokerRegistration{ID: id,
						Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}}); err != nil {
						b.Fatal(err)
					}
					return be
				}
				b1 := start(1)
				for !b1.IsController() {
					time.Sleep(5 * time.Millisecond)
				}
				b2 := start(2)
				// The tree is written once both brokers are live, so no
				// ISR has been shrunk when broker 1 goes.
				writeBenchTree(b, conn, chroot, n)
				for b2.Image().PartitionCount() != n || b1.Image().PartitionCount() != n {
					time.Sleep(5 * time.Millisecond)
				}
				b.StartTimer()
				t0 := time.Now()
				_ = b1.Close()
				for b2.failovers.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
				st, _ := b2.LastFailover()
				all := time.Since(t0)
				b.StopTimer()
				if st.Partitions != n || st.Elected != n {
					b.Fatalf("failover saw %d partitions, elected %d, want %d", st.Partitions, st.Elected, n)
				}
				b.ReportMetric(float64(st.Load.Milliseconds()), "load-ms")
				b.ReportMetric(float64(st.Total.Milliseconds()), "failover-ms")
				b.ReportMetric(float64(all.Milliseconds()), "detect+failover-ms")
				_ = b2.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkLoadTree measures LoadTreeFrom (the migration's read of the
// whole tree, also `zkraft meta zk-diff`'s) at 10k partitions (100k with
// ZKRAFT_BENCH_100K=1) in topics of 1000 partitions, on fresh sessions per
// run (no watches left from an earlier read), with 0 (LoadTree: one
// session), 4 and 8 reader sessions. Reported: load-ms.
func BenchmarkLoadTree(b *testing.B) {
	sizes := []int{10000}
	if os.Getenv("ZKRAFT_BENCH_100K") != "" {
		sizes = append(sizes, 100000)
	}
	s := zktest.StartWith(b, zktest.Options{}) // the JVM defaults, as Debian runs ZooKeeper
	conn, _, err := gozk.Connect([]string{s.Addr}, 30*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, n := range sizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			chroot := fmt.Sprintf("/load%d", n)
			acl := gozk.WorldACL(gozk.PermAll)
			for _, p := range append([]string{""}, PersistentPaths...) {
				cur := chroot
				for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
					if part != "" {
						cur += "/" + part
					}
					if _, err := conn.Create(cur, nil, 0, acl); err != nil && err != gozk.ErrNodeExists {
						b.Fatal(err)
					}
				}
			}
			writeBenchTree(b, conn, chroot, n)
			for _, readers := range []int{0, 4, 8} {
				b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						conns := make([]*gozk.Conn, readers+1)
						for j := range conns {
							if conns[j], _, err = gozk.Connect([]string{s.Addr}, 30*time.Second, gozk.WithLogInfo(false)); err != nil {
								b.Fatal(err)
							}
							for conns[j].State() != gozk.StateHasSession {
								time.Sleep(time.Millisecond)
							}
						}
						b.StartTimer()
						t0 := time.Now()
						tree, err := LoadTreeFrom(conns[0], conns[1:], chroot, 64)
						took := time.Since(t0)
						b.StopTimer()
						for _, c := range conns {
							c.Close()
						}
						if err != nil {
							b.Fatal(err)
						}
						got := 0
						for _, t := range tree.Topics {
							got += len(t.States)
						}
						if got != n {
							b.Fatalf("loaded %d partition states, want %d", got, n)
						}
						b.ReportMetric(float64(took.Milliseconds()), "load-ms")
						b.StartTimer()
					}
				})
			}
		})
	}
}
