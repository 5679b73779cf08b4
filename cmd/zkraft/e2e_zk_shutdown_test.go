package main_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
)

// csTopic is the topic of the controlled-shutdown test: 3 partitions, RF 3.
const csTopic = "cs"

// movedBeforeExit checks, once broker victim has exited and before it is
// restarted, that ZooKeeper shows its controlled shutdown: in every
// partition of topic (parts of them) victim neither leads nor is in the
// ISR, and the write that made it so came before victim's registration
// went (the state znode's mzxid is below /brokers/ids' pzxid, the zxid of
// its last child change: victim's ephemeral going). Without controlled
// shutdown the controller moves leadership only after that deletion.
func movedBeforeExit(t *testing.T, raw *gozk.Conn, topic string, parts int32, victim int32) {
	t.Helper()
	ids, idsStat, err := raw.Children(zk.BrokerIDsPath)
	if err != nil {
		t.Fatal(err)
	}
	if containsID(parseIDs(t, ids), victim) {
		t.Fatalf("broker %d still registered after it exited: %v", victim, ids)
	}
	for p := int32(0); p < parts; p++ {
		data, stat, err := raw.Get(zk.PartitionStatePath(topic, p))
		if err != nil {
			t.Fatal(err)
		}
		st, err := zk.DecodePartitionState(data)
		if err != nil {
			t.Fatal(err)
		}
		if st.Leader == victim || containsID(st.ISR, victim) {
			t.Errorf("%s-%d after broker %d's controlled shutdown: %s", topic, p, victim, data)
		}
		if stat.Mzxid >= idsStat.Pzxid {
			t.Errorf("%s-%d: state written at zxid 0x%x, after broker %d deregistered (0x%x): leadership did not move before it stopped",
				topic, p, stat.Mzxid, victim, idsStat.Pzxid)
		}
	}
}

func parseIDs(t *testing.T, names []string) []int32 {
	t.Helper()
	out := make([]int32, 0, len(names))
	for _, n := range names {
		id, err := zk.ParseBrokerID(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// logHas fails unless n's current log holds every want.
func logHas(t *testing.T, n *node, what string, wants ...string) {
	t.Helper()
	out, err := os.ReadFile(n.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wants {
		if !strings.Contains(string(out), w) {
			t.Errorf("%s: log %s lacks %q", what, n.logPath, w)
		}
	}
}

// waitFullISR waits until every partition of topic has a leader and all
// three brokers in its ISR, as ZooKeeper shows it.
func waitFullISR(t *testing.T, raw *gozk.Conn, topic string, parts int32, what string) {
	t.Helper()
	wait.For(t, replicaWait, what, func() error {
		for p := int32(0); p < parts; p++ {
			st, _, err := zkState(raw, topic, p)
			if err != nil {
				return err
			}
			if st.Leader < 0 || len(st.ISR) != 3 {
				return fmt.Errorf("%s-%d: leader %d, ISR %v", topic, p, st.Leader, st.ISR)
			}
		}
		return nil
	})
}

// TestE2EZkControlledShutdown: three ZooKeeper-mode brokers, an RF 3 topic
// with min.insync.replicas=2, an acks=all producer and a franz-go group
// consumer running throughout. SIGTERM of a partition leader that is not
// the controller runs Kafka's controlled shutdown (ControlledShutdown, api
// key 7, to the controller): leadership and ISR membership leave it before
// it deregisters (movedBeforeExit), and Metadata from the others names new
// leaders. It is restarted and rejoins every ISR; then the leader of
// partition 0 is killed with kill -9 and restarted. The group consumer
// (groupWatch) is never told of a truncation and never receives a record
// again in one generation, nor one below its committed offset.
func TestE2EZkControlledShutdown(t *testing.T) {
	_, raw, qc := startZkReplicaCluster(t)
	var seeds []string
	for id := int32(4); id <= 6; id++ {
		seeds = append(seeds, qc.brokers[id].addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), replicaWait)
	defer cancel()
	admin := qc.brokers[4].client(t, kgo.SeedBrokers(seeds...))
	zkCreateTopic(ctx, t, admin, csTopic, 3, 3, map[string]string{"min.insync.replicas": "2"})
	waitFullISR(t, raw, csTopic, 3, "topic cs with full ISRs")
	p := startMigProducer(t, seeds, csTopic)
	c := startGroupWatch(t, seeds, csTopic, "cs-live")
	p.waitMore(t, 20, "before the controlled shutdown")

	// The victim: a partition leader that is not the controller, so the
	// request crosses the network.
	cz, err := zk.DecodeController([]byte(zkGet(t, raw, zk.ControllerPath)))
	if err != nil {
		t.Fatal(err)
	}
	victim := int32(-1)
	for part := int32(0); part < 3 && victim < 0; part++ {
		st, _, err := zkState(raw, csTopic, part)
		if err != nil {
			t.Fatal(err)
		}
		if st.Leader != cz.BrokerID {
			victim = st.Leader
		}
	}
	if victim < 0 {
		t.Fatalf("controller %d leads every partition; no victim", cz.BrokerID)
	}
	n := qc.brokers[victim]
	if err := n.stop(replicaWait); err != nil {
		t.Fatalf("SIGTERM broker %d: %v\n%s", victim, err, n.logTail())
	}
	movedBeforeExit(t, raw, csTopic, 3, victim)
	logHas(t, n, "controlled shutdown", "controlled shutdown complete")
	for id := int32(4); id <= 6; id++ {
		if id == victim {
			continue
		}
		cl := qc.brokers[id].client(t)
		wait.For(t, replicaWait, fmt.Sprintf("broker %d's Metadata names leaders other than %d", id, victim), func() error {
			mctx, mcancel := context.WithTimeout(ctx, 3*time.Second)
			defer mcancel()
			_, parts, err := metadataOf(mctx, cl, csTopic)
			if err != nil {
				return err
			}
			for pid, mp := range parts {
				if mp.Leader == victim || mp.Leader < 0 {
					return fmt.Errorf("partition %d led by %d", pid, mp.Leader)
				}
			}
			return nil
		})
	}
	n.start()
	waitFullISR(t, raw, csTopic, 3, fmt.Sprintf("broker %d back in every ISR", victim))
	p.waitMore(t, 20, "after the controlled shutdown")

	// kill -9 of partition 0's leader, restarted at once.
	st, _, err := zkState(raw, csTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	k := qc.brokers[st.Leader]
	k.kill()
	wait.For(t, replicaWait, fmt.Sprintf("leadership of %s-0 off killed broker %d", csTopic, st.Leader), func() error {
		now, _, err := zkState(raw, csTopic, 0)
		if err == nil && now.Leader == st.Leader {
			err = fmt.Errorf("still led by %d", now.Leader)
		}
		return err
	})
	k.start()
	waitFullISR(t, raw, csTopic, 3, fmt.Sprintf("killed broker %d back in every ISR", st.Leader))
	p.waitMore(t, 20, "after the kill")

	total := p.count()
	p.stop()
	wait.For(t, replicaWait, "group consumer caught up", func() error {
		if got := c.count(); got < total {
			return fmt.Errorf("%d of %d acknowledged records received", got, total)
		}
		return nil
	})
	c.stop()
	c.checkClean(t, "controlled shutdown and kill -9 in ZooKeeper mode")
}
