package migrate

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
	"github.com/zkraft/zkraft/quorum"
)

// writeBenchTree writes topics of 1000 partitions each (replicas [1,2],
// leader 1, ISR [1,2]) and the /brokers/ids paths straight into ZooKeeper.
func writeBenchTree(b *testing.B, conn *gozk.Conn, chroot string, partitions int) {
	s := newSession(conn, chroot)
	if err := s.createTopLevelPaths(); err != nil {
		b.Fatal(err)
	}
	const per = 1000
	state := zk.EncodePartitionState(zk.PartitionState{Leader: 1, ControllerEpoch: 1, ISR: []int32{1, 2}})
	for t := 0; t*per < partitions; t++ {
		name := fmt.Sprintf("bench-%d", t)
		n := min(per, partitions-t*per)
		zn := zk.TopicZNode{TopicID: metadata.RandomUuid(), Partitions: map[int32][]int32{}}
		for p := 0; p < n; p++ {
			zn.Partitions[int32(p)] = []int32{1, 2}
		}
		reqs := []any{&gozk.CreateRequest{Path: s.abs(zk.TopicPath(name)), Data: zk.EncodeTopic(zn), Acl: s.acl},
			&gozk.CreateRequest{Path: s.abs(zk.PartitionsPath(name)), Acl: s.acl}}
		for p := 0; p < n; p++ {
			reqs = append(reqs, &gozk.CreateRequest{Path: s.abs(zk.PartitionPath(name, int32(p))), Acl: s.acl},
				&gozk.CreateRequest{Path: s.abs(zk.PartitionStatePath(name, int32(p))), Data: state, Acl: s.acl})
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
	for _, id := range []int32{1, 2} {
		data, _ := zk.EncodeBroker(zk.NewBrokerZNode(metadata.BrokerRegistration{ID: id,
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}}, 0))
		if _, err := conn.Create(s.abs(zk.BrokerPath(id)), data, gozk.FlagEphemeral, s.acl); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMigrationLoad measures the migration's ZooKeeper -> log load at
// 10k partitions (100k with ZKRAFT_BENCH_100K=1): a tree of 1000-partition
// topics, a single-voter quorum in PRE_MIGRATION, both brokers registered;
// with the tree read on the driver's session alone (sessions=0, as before
// issue 13) and with DefaultConfig's extra read sessions;
// timed from the driver's start to DUAL_WRITE (takeover, reading the tree,
// the transaction committed and applied, /migration written). Reported:
// load-ms (read + append, Status.LoadTime), read-ms (reading the tree)
// and records.
func BenchmarkMigrationLoad(b *testing.B) {
	sizes, srv, conn := benchZooKeeper(b)
	run := 0
	for _, n := range sizes {
		for _, sessions := range []int{0, DefaultConfig().LoadSessions} {
			b.Run(fmt.Sprintf("%d/sessions=%d", n, sessions), func(b *testing.B) {
				var load, read time.Duration
				var records int
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					run++
					chroot := fmt.Sprintf("/bench%d", run)
					writeBenchTree(b, conn, chroot, n)
					qcfg := quorum.DefaultConfig()
					qcfg.NodeID, qcfg.Voters, qcfg.BindAddr, qcfg.Dir = 100, map[int32]string{100: "127.0.0.1:0"}, "127.0.0.1:0", b.TempDir()
					qcfg.SnapshotThreshold = 1 << 30
					cfg := DefaultConfig()
					cfg.Servers, cfg.Chroot, cfg.NodeID, cfg.PollInterval = []string{srv.Addr}, chroot, 100, 20*time.Millisecond
					cfg.SessionTimeout, cfg.LoadSessions = 30*time.Second, sessions
					drv, err := New(cfg, zap.NewNop())
					if err != nil {
						b.Fatal(err)
					}
					node, err := quorum.New(qcfg, zap.NewNop(), drv)
					if err != nil {
						b.Fatal(err)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
					if err := node.Start(ctx); err != nil {
						b.Fatal(err)
					}
					if _, err := node.WaitLeader(ctx); err != nil {
						b.Fatal(err)
					}
					// PRE_MIGRATION and the registrations before the clock starts.
					if _, err := node.AppendRecords(ctx, "bench", nil, []metadata.Record{
						&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationPreMigration}}); err != nil {
						b.Fatal(err)
					}
					for _, id := range []int32{1, 2} {
						if _, err := node.RegisterBroker(ctx, metadata.BrokerRegistration{ID: id, IncarnationID: metadata.RandomUuid(),
							IsMigratingZkBroker: true, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}}); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					if err := drv.Start(ctx, node); err != nil {
						b.Fatal(err)
					}
					for drv.State() != DualWrite {
						if ctx.Err() != nil {
							b.Fatalf("no DUAL_WRITE: driver %s", drv.State())
						}
						time.Sleep(5 * time.Millisecond)
					}
					b.StopTimer()
					st := drv.Status()
					load += st.LoadTime
					read += st.ReadTime
					records = st.RecordsLoaded
					if got := node.Image().PartitionCount(); got != n {
						b.Fatalf("%d partitions in the log, want %d", got, n)
					}
					_ = drv.Close()
					_ = node.Close()
					cancel()
				}
				b.ReportMetric(float64(load.Milliseconds())/float64(b.N), "load-ms")
				b.ReportMetric(float64(read.Milliseconds())/float64(b.N), "read-ms")
				b.ReportMetric(float64(records), "records")
			})
		}
	}
}

// benchZooKeeper is the benchmarks' sizes (10k, and 100k with
// ZKRAFT_BENCH_100K=1) and a ZooKeeper with the JVM defaults, as Debian
// runs it, with a session to it (closed at the end of the benchmark).
func benchZooKeeper(b *testing.B) ([]int, *zktest.Server, *gozk.Conn) {
	sizes := []int{10000}
	if os.Getenv("ZKRAFT_BENCH_100K") != "" {
		sizes = append(sizes, 100000)
	}
	srv := zktest.StartWith(b, zktest.Options{})
	conn, err := Connect(context.Background(), []string{srv.Addr}, 30*time.Second, 30*time.Second, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(conn.Close)
	return sizes, srv, conn
}

// benchImage is a quorum image of topics of 1000 partitions (RF 2 over
// brokers 1 and 2), built with the pure controller functions.
func benchImage(b *testing.B, partitions int) *metadata.Image {
	img := metadata.EmptyImage()
	apply := func(recs []metadata.Record, err error) {
		if err != nil {
			b.Fatal(err)
		}
		d := metadata.NewDelta(img)
		for _, r := range recs {
			if err := d.Replay(r); err != nil {
				b.Fatal(err)
			}
		}
		img = d.Apply()
	}
	for id := int32(1); id <= 2; id++ {
		apply(metadata.RegisterBroker(img, metadata.BrokerRegistration{ID: id, Epoch: int64(id), IncarnationID: metadata.RandomUuid(),
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}}, false))
		apply(metadata.UnfenceBroker(img, id, int64(id)))
	}
	const per = 1000
	for t := 0; t*per < partitions; t++ {
		apply(metadata.CreateTopic(img, metadata.CreateTopicSpec{Name: fmt.Sprintf("bench-%d", t),
			NumPartitions: int32(min(per, partitions-t*per)), ReplicationFactor: 2}, metadata.DefaultControllerConfig()))
	}
	d := metadata.NewDelta(img)
	d.SetClusterID("vp10JlDESliyXcs4B4Tllw")
	d.SetProvenance(1000, 3)
	return d.Apply()
}

// BenchmarkReverseExport measures Export (issue 13 part 3: the quorum's
// image written into an empty ZooKeeper tree, fenced multis of
// DefaultConfig().MaxMultiOps ops) at 10k partitions (100k with
// ZKRAFT_BENCH_100K=1), ZooKeeper with the JVM defaults. Reported:
// export-ms (paths, takeover, reading the empty tree, every write),
// write-ms and ops.
func BenchmarkReverseExport(b *testing.B) {
	sizes, srv, conn := benchZooKeeper(b)
	run := 0
	for _, n := range sizes {
		img := benchImage(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				run++
				cfg := DefaultConfig()
				cfg.Servers, cfg.Chroot, cfg.NodeID, cfg.SessionTimeout = []string{srv.Addr}, fmt.Sprintf("/export%d", run), 100, 30*time.Second
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				t0 := time.Now()
				res, err := Export(ctx, conn, cfg, img, 3, zap.NewNop())
				took := time.Since(t0)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if res.Partitions != n {
					b.Fatalf("exported %d partitions, want %d", res.Partitions, n)
				}
				b.ReportMetric(float64(took.Milliseconds()), "export-ms")
				b.ReportMetric(float64(res.WriteTime.Milliseconds()), "write-ms")
				b.ReportMetric(float64(res.Ops), "ops")
			}
		})
	}
}
