package migrate

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestMigratingBrokerPartitionWrites: a migrating ZooKeeper-mode broker's
// CreatePartitions goes to ZooKeeper before the migration (the topic
// znode rewritten, the ZooKeeper controller creating the state) and to
// the quorum during dual-write, whose PartitionRecord is mirrored to the
// topic znode and a new state znode; ElectLeaders goes through the quorum
// then too.
func TestMigratingBrokerPartitionWrites(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h1 := newBrokerSource(zaptest.NewLogger(t).Named("source1"))
	b1 := windowZkBroker(t, srv.Addr, chroot, 1, treeSide{h1})
	windowZkBroker(t, srv.Addr, chroot, 2)
	h1.zk = b1
	wait.For(t, 30*time.Second, "both brokers in broker 1's image", func() error {
		if n := b1.Image().BrokerCount(); n != 2 {
			return fmt.Errorf("%d brokers", n)
		}
		return nil
	})
	if errs := b1.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "grow", NumPartitions: 1, ReplicationFactor: 2}}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if errs := h1.CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "grow", Count: 2}}, false); errs[0] != nil {
		t.Fatalf("create partitions through ZooKeeper: %v", errs[0])
	}
	conn := rawConn(t, srv)
	if st := windowState(t, conn, chroot, "grow", 1); st.Leader < 0 || len(st.ISR) != 2 {
		t.Fatalf("grow-1 state from the ZooKeeper controller: %+v", st)
	}

	drv, err := New(testDriverConfig(srv.Addr, chroot), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	node := controllerNode(t, b1.ClusterID(), drv)
	if err := drv.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drv.Close() })
	h1.client = windowClient(t, ctx, node, 1, logSide{h1})
	windowClient(t, ctx, node, 2)
	wait.For(t, 60*time.Second, "dual-write", func() error {
		if s := drv.State(); s != DualWrite {
			return fmt.Errorf("driver %s", s)
		}
		return nil
	})
	// The controller places new replicas on registered, unfenced brokers
	// only: wait until both brokers' quorum registrations are unfenced.
	wait.For(t, 30*time.Second, "both brokers unfenced in the quorum's image", func() error {
		for _, id := range []int32{1, 2} {
			if reg, ok := node.Image().Broker(id); !ok || reg.Fenced {
				return fmt.Errorf("broker %d: registered %v", id, ok)
			}
		}
		return nil
	})
	if errs := h1.CreatePartitions(ctx, []metadata.CreatePartitionsSpec{{Topic: "grow", Count: 3}}, false); errs[0] != nil {
		t.Fatalf("create partitions during dual-write: %v", errs[0])
	}
	if tp, _ := node.Image().Topic("grow"); tp.NumPartitions() != 3 {
		t.Fatalf("grow in the log: %v", tp)
	}
	wait.For(t, 30*time.Second, "grow-2 dual-written", func() error {
		tree, err := zk.LoadTree(conn, chroot, 4)
		if err != nil {
			return err
		}
		tn := tree.Topics["grow"]
		if tn == nil || len(tn.ZNode.Partitions) != 3 || !tn.Complete() {
			return fmt.Errorf("grow in ZooKeeper: %+v", tn)
		}
		return nil
	})
	res := h1.ElectLeaders(ctx, metadata.ElectPreferred, []metadata.TopicPartition{{Topic: "grow", Partition: 2}})
	if len(res) != 1 || !errors.Is(res[0].Err, kerr.ElectionNotNeeded) {
		t.Fatalf("elect leaders during dual-write: %+v", res)
	}
}
