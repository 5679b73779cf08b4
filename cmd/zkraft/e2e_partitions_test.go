package main_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata/wait"
)

// paTopic is the topic of the partition admin test.
const paTopic = "pa"

// rebalanceOverrides turn the automatic rebalance on with a short check
// interval (auto.leader.rebalance.enable, leader.imbalance.*).
var rebalanceOverrides = []string{"auto.leader.rebalance.enable=true", "leader.imbalance.check.interval.seconds=2",
	"leader.imbalance.per.broker.percentage=10"}

// TestE2EPartitionAdmin: CreatePartitions (37), DeleteRecords (21),
// ElectLeaders (43) and the automatic preferred-leader rebalance on three
// brokers, in quorum mode (3 controllers + 3 brokers) and in ZooKeeper
// mode, driven by kadm, kcat and the zkraft tools (topics --alter
// --partitions, delete-records, leader-election), one cluster per mode.
func TestE2EPartitionAdmin(t *testing.T) {
	t.Run("quorum", func(t *testing.T) {
		qc := startReplicaCluster(t, rebalanceOverrides...)
		partitionAdminChecks(t, qc)
	})
	t.Run("zookeeper", func(t *testing.T) {
		_, _, qc := startZkReplicaCluster(t, rebalanceOverrides...)
		partitionAdminChecks(t, qc)
	})
}

// paState is one partition as Metadata shows it.
func paState(ctx context.Context, adm *kadm.Client, p int32) (leader int32, replicas, isr []int32, err error) {
	md, err := adm.Metadata(ctx, paTopic)
	if err != nil {
		return -1, nil, nil, err
	}
	td, ok := md.Topics[paTopic]
	if !ok || td.Err != nil {
		return -1, nil, nil, fmt.Errorf("topic %s: %v", paTopic, td.Err)
	}
	pd, ok := td.Partitions[p]
	if !ok {
		return -1, nil, nil, fmt.Errorf("no partition %d", p)
	}
	return pd.Leader, pd.Replicas, pd.ISR, pd.Err
}

func runZkraft(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), replicaWait)
	defer cancel()
	out, err := exec.CommandContext(ctx, zkraftBinary(t), args...).CombinedOutput()
	return string(out), err
}

func partitionAdminChecks(t *testing.T, qc *quorumCluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*replicaWait)
	defer cancel()
	var seeds []string
	for id := int32(4); id <= 6; id++ {
		seeds = append(seeds, qc.brokers[id].addr)
	}
	cl := qc.brokers[4].client(t, kgo.SeedBrokers(seeds...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DefaultProduceTopic(paTopic), kgo.MetadataMinAge(100*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	adm := kadm.NewClient(cl)
	all := strings.Join(seeds, ",") // the tools' --bootstrap-server
	wait.For(t, replicaWait, "create topic "+paTopic, func() error {
		r, err := adm.CreateTopic(ctx, 1, 3, nil, paTopic)
		if err == nil {
			err = r.Err
		}
		if errors.Is(err, kerr.TopicAlreadyExists) {
			return nil
		}
		return err
	})

	t.Run("create partitions", func(t *testing.T) {
		if out, err := runZkraft(t, "topics", "--bootstrap-server", all, "--alter", "--topic", paTopic, "--partitions", "3"); err != nil {
			t.Fatalf("zkraft topics --alter --partitions 3: %v\n%s", err, out)
		}
		r, err := adm.CreatePartitions(ctx, 1, paTopic)
		if err != nil || r[paTopic].Err != nil {
			t.Fatalf("kadm CreatePartitions +1: %+v, %v", r, err)
		}
		if r, _ := adm.UpdatePartitions(ctx, 2, paTopic); !errors.Is(r[paTopic].Err, kerr.InvalidPartitions) {
			t.Fatalf("shrink to 2: %+v", r)
		}
		wait.For(t, replicaWait, "4 partitions, each with 3 replicas in the ISR", func() error {
			for p := int32(0); p < 4; p++ {
				l, reps, isr, err := paState(ctx, adm, p)
				if err != nil {
					return err
				}
				if l < 0 || len(reps) != 3 || len(isr) != 3 {
					return fmt.Errorf("partition %d: leader %d replicas %v isr %v", p, l, reps, isr)
				}
			}
			return nil
		})
		for p := int32(0); p < 4; p++ {
			for i := 0; i < 10; i++ {
				if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, i))}).FirstErr(); err != nil {
					t.Fatalf("produce to %s-%d: %v", paTopic, p, err)
				}
			}
		}
		out := runKcat(t, nil, "-C", "-b", all, "-t", paTopic, "-p", "3", "-o", "beginning", "-e", "-q", "-f", "%o %s\n")
		if lines := strings.Fields(strings.TrimSpace(out)); len(lines) != 20 || lines[1] != "p3-0" {
			t.Fatalf("kcat %s-3: %q", paTopic, out)
		}
	})

	t.Run("delete records", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "offsets.json")
		if err := os.WriteFile(path, []byte(`{"partitions":[{"topic":"pa","partition":3,"offset":5}],"version":1}`), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := runZkraft(t, "delete-records", "--bootstrap-server", all, "--offset-json-file", path)
		if err != nil || !strings.Contains(out, "Records delete operation completed:\npartition: pa-3\tlow_watermark: 5\n") {
			t.Fatalf("zkraft delete-records: %v\n%s", err, out)
		}
		offs := kadm.Offsets{}
		offs.Add(kadm.Offset{Topic: paTopic, Partition: 3, At: 11, LeaderEpoch: -1})
		if res, err := adm.DeleteRecords(ctx, offs); err != nil {
			t.Fatal(err)
		} else if r, _ := res.Lookup(paTopic, 3); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
			t.Fatalf("delete past the high watermark: %+v", r)
		}
		starts, err := adm.ListStartOffsets(ctx, paTopic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := starts.Lookup(paTopic, 3); o.Offset != 5 {
			t.Fatalf("ListOffsets earliest of %s-3: %+v, want 5", paTopic, o)
		}
		got := runKcat(t, nil, "-C", "-b", all, "-t", paTopic, "-p", "3", "-o", "beginning", "-e", "-q", "-f", "%o\n")
		if lines := strings.Fields(got); len(lines) != 5 || lines[0] != "5" {
			t.Fatalf("kcat from the beginning after delete: %q", got)
		}
	})

	// The leader of pa-3 (its preferred replica) stops: the new leader
	// already knows the log start (followers learn it from Fetch), and a
	// PREFERRED election cannot happen until it is back in the ISR.
	t.Run("leadership moves and comes back", func(t *testing.T) {
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: 3, Value: []byte("wake")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		leader, reps, _, err := paState(ctx, adm, 3)
		if err != nil {
			t.Fatal(err)
		}
		if leader != reps[0] {
			t.Fatalf("pa-3 led by %d, preferred %d", leader, reps[0])
		}
		victim := qc.brokers[leader]
		if err := victim.stop(replicaWait); err != nil {
			t.Fatalf("stop broker %d: %v", leader, err)
		}
		wait.For(t, replicaWait, "pa-3 led by another broker, its log start 5", func() error {
			l, _, _, err := paState(ctx, adm, 3)
			if err != nil || l == leader || l < 0 {
				return fmt.Errorf("leader %d: %v", l, err)
			}
			starts, err := adm.ListStartOffsets(ctx, paTopic)
			if err != nil {
				return err
			}
			if o, _ := starts.Lookup(paTopic, 3); o.Err != nil || o.Offset != 5 {
				return fmt.Errorf("earliest %+v", o)
			}
			return nil
		})
		set := kadm.TopicsSet{}
		set.Add(paTopic, 3)
		res, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, set)
		if err != nil || !errors.Is(res[paTopic][3].Err, kerr.PreferredLeaderNotAvailable) {
			t.Fatalf("preferred election with broker %d down: %+v, %v", leader, res, err)
		}
		out, err := runZkraft(t, "leader-election", "--bootstrap-server", all, "--election-type", "PREFERRED", "--topic", paTopic, "--partition", "3")
		if err == nil || !strings.Contains(out, "Error completing leader election (PREFERRED) for partition: pa-3: PREFERRED_LEADER_NOT_AVAILABLE") {
			t.Fatalf("leader-election with the preferred replica down: %v\n%s", err, out)
		}
		victim.start()
		wait.For(t, replicaWait, fmt.Sprintf("broker %d back in the ISR of pa-3", leader), func() error {
			_, _, isr, err := paState(ctx, adm, 3)
			if err == nil && !slices.Contains(isr, leader) {
				err = fmt.Errorf("isr %v", isr)
			}
			return err
		})
		// The automatic rebalance may win the race; either answer is right.
		out, err = runZkraft(t, "leader-election", "--bootstrap-server", all, "--election-type", "PREFERRED", "--topic", paTopic, "--partition", "3")
		if err != nil || !strings.Contains(out, "Successfully completed leader election (PREFERRED) for partitions pa-3") &&
			!strings.Contains(out, "Valid replica already elected for partitions pa-3") {
			t.Fatalf("leader-election: %v\n%s", err, out)
		}
		t.Logf("leader-election: %s", strings.TrimSpace(out))
		wait.For(t, replicaWait, fmt.Sprintf("broker %d leads pa-3 again", leader), func() error {
			l, _, _, err := paState(ctx, adm, 3)
			if err == nil && l != leader {
				err = fmt.Errorf("leader %d", l)
			}
			return err
		})
		uset := kadm.TopicsSet{}
		uset.Add(paTopic, 0)
		if res, err := adm.ElectLeaders(ctx, kadm.ElectLiveReplica, uset); err != nil || !errors.Is(res[paTopic][0].Err, kerr.ElectionNotNeeded) {
			t.Fatalf("unclean election of a led partition: %+v, %v", res, err)
		}
	})

	// Another preferred leader stops and returns; nothing asks for an
	// election, and the controller's rebalance gives leadership back.
	t.Run("automatic rebalance", func(t *testing.T) {
		_, reps3, _, err := paState(ctx, adm, 3)
		if err != nil {
			t.Fatal(err)
		}
		part, pref := int32(-1), int32(-1)
		for p := int32(0); p < 3 && part < 0; p++ {
			l, reps, _, err := paState(ctx, adm, p)
			if err != nil {
				t.Fatal(err)
			}
			if reps[0] != reps3[0] && l == reps[0] {
				part, pref = p, reps[0]
			}
		}
		if part < 0 {
			t.Fatal("no partition led by a preferred replica other than pa-3's")
		}
		n := qc.brokers[pref]
		if err := n.stop(replicaWait); err != nil {
			t.Fatalf("stop broker %d: %v", pref, err)
		}
		wait.For(t, replicaWait, fmt.Sprintf("pa-%d led by another broker", part), func() error {
			l, _, _, err := paState(ctx, adm, part)
			if err == nil && (l == pref || l < 0) {
				err = fmt.Errorf("leader %d", l)
			}
			return err
		})
		n.start()
		wait.For(t, replicaWait, fmt.Sprintf("automatic rebalance gives pa-%d back to broker %d", part, pref), func() error {
			l, _, isr, err := paState(ctx, adm, part)
			if err == nil && l != pref {
				err = fmt.Errorf("leader %d, isr %v", l, isr)
			}
			return err
		})
	})
}
