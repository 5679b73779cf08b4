package quorum

import (
	"errors"
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

// retry runs op on the current leader among idx (all nodes if empty) until
// it returns something other than ErrNotController: leadership may move
// under a loaded machine, and a client retries then, as Kafka's do.
func (c *cluster) retry(op func(n *Node) error, idx ...int) {
	c.t.Helper()
	var err error
	wait.Until(c.t, 20*time.Second, "a write on the leader", func() bool {
		err = op(c.nodes[c.leader(idx...)])
		return !errors.Is(err, ErrNotController)
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) registerBrokers(ids ...int32) {
	c.t.Helper()
	for _, id := range ids {
		reg := metadata.BrokerRegistration{ID: id, IncarnationID: metadata.RandomUuid(),
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}}
		c.retry(func(n *Node) error {
			epoch, err := n.RegisterBroker(testCtx(c.t), reg)
			if err != nil {
				return err
			}
			return n.UnfenceBroker(testCtx(c.t), id, epoch)
		})
	}
}

// createTopic creates name on the leader among idx; a retry after an
// ambiguous failure may find it created.
func (c *cluster) createTopic(name string, partitions int32, idx ...int) {
	c.t.Helper()
	tries := 0
	c.retry(func(n *Node) error {
		tries++
		err := n.CreateTopics(testCtx(c.t), []metadata.CreateTopicSpec{{Name: name, NumPartitions: partitions, ReplicationFactor: -1}}, false)[0]
		if tries > 1 && errors.Is(err, metadata.ErrTopicExists) {
			return nil
		}
		return err
	}, idx...)
}

// waitTopic waits until node i's image (and its last published image) has topic.
func (c *cluster) waitTopic(i int, topic string) {
	c.t.Helper()
	wait.Until(c.t, 20*time.Second, "topic "+topic+" on node "+string(rune('1'+i)), func() bool {
		_, ok := c.nodes[i].Image().Topic(topic)
		last := c.recs[i].last()
		if !ok || last == nil {
			return false
		}
		_, pub := last.Topic(topic)
		return pub
	})
}

// Three voters bootstrap identically and elect one leader; the leader's
// writes replicate into every follower's image; followers refuse writes.
func TestClusterElectionAndReplication(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	lid, ok := c.nodes[l].Leader()
	for i, n := range c.nodes {
		wait.Until(t, 20*time.Second, "every node knows the leader", func() bool { id, ok := n.Leader(); return ok && id == lid })
		if n.ClusterID() != c.nodes[0].ClusterID() {
			t.Fatalf("node %d cluster id %s differs from node 1's %s", i+1, n.ClusterID(), c.nodes[0].ClusterID())
		}
	}
	if !ok || lid != c.cfgs[l].NodeID {
		t.Fatalf("leader id %d (%v), want %d", lid, ok, c.cfgs[l].NodeID)
	}
	c.registerBrokers(1, 2, 3)
	c.createTopic("replicated", 3)
	l = c.leader()
	for i := range c.nodes {
		c.waitTopic(i, "replicated")
	}
	want := c.nodes[l].Image()
	for i, n := range c.nodes {
		wait.Until(t, 20*time.Second, "follower image equal to leader's", func() bool { return n.Image().Equal(want) })
		if i == l {
			continue
		}
		errs := n.CreateTopics(testCtx(t), []metadata.CreateTopicSpec{{Name: "nope", NumPartitions: 1, ReplicationFactor: 1}}, false)
		if !errors.Is(errs[0], ErrNotController) {
			t.Errorf("follower %d CreateTopics: %v, want ErrNotController", i+1, errs[0])
		}
		if _, err := n.RegisterBroker(testCtx(t), metadata.BrokerRegistration{ID: 9}); !errors.Is(err, ErrNotController) {
			t.Errorf("follower %d RegisterBroker: %v, want ErrNotController", i+1, err)
		}
		// The broker epoch is the same on every node (raft index stamped by the FSM).
		b1, _ := want.Broker(2)
		b2, ok := n.Image().Broker(2)
		if !ok || b2.Epoch != b1.Epoch {
			t.Errorf("node %d broker 2 epoch %v, leader has %d", i+1, b2, b1.Epoch)
		}
	}
}

// Leader loss: the other two elect a new leader that serves CreateTopics;
// the old leader restarts on its dir and catches up.
func TestClusterLeaderLoss(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	c.registerBrokers(1, 2, 3)
	c.createTopic("before", 2)
	l = c.leader()
	for i := range c.nodes {
		c.waitTopic(i, "before")
	}
	c.stop(l)
	var rest []int
	for i := range c.nodes {
		if i != l {
			rest = append(rest, i)
		}
	}
	nl := c.leader(rest...)
	c.createTopic("after", 1, rest...)
	nl = c.leader(rest...)
	for _, i := range rest {
		c.waitTopic(i, "after")
	}
	c.start(l)
	c.waitTopic(l, "after")
	if !c.nodes[l].Image().Equal(c.nodes[nl].Image()) {
		wait.Until(t, 20*time.Second, "restarted node equal to leader", func() bool { return c.nodes[l].Image().Equal(c.nodes[nl].Image()) })
	}
}

// A partitioned leader (raft InmemTransport Disconnect) steps down and
// refuses writes; the majority elects a new leader; after healing, the old
// leader follows and gets what it missed.
func TestClusterPartitionedLeader(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.registerBrokers(1, 2, 3)
	l := c.leader()
	c.isolate(l)
	wait.Until(t, 20*time.Second, "isolated leader to step down", func() bool { return !c.nodes[l].IsController() })
	errs := c.nodes[l].CreateTopics(testCtx(t), []metadata.CreateTopicSpec{{Name: "minority", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if !errors.Is(errs[0], ErrNotController) {
		t.Fatalf("isolated old leader CreateTopics: %v, want ErrNotController", errs[0])
	}
	var rest []int
	for i := range c.nodes {
		if i != l {
			rest = append(rest, i)
		}
	}
	c.leader(rest...) // the majority elects a new leader
	c.createTopic("majority", 2, rest...)
	c.heal(l)
	c.waitTopic(l, "majority")
	if _, ok := c.nodes[l].Image().Topic("minority"); ok {
		t.Fatalf("a write on the minority side reached the image")
	}
}

// A follower that missed entries compacted away gets the leader's snapshot
// (raft's InstallSnapshot) and the image it restores is published.
func TestClusterSnapshotInstall(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.TrailingLogs = 1
		cfg.SnapshotThreshold = 4
	})
	c.registerBrokers(1, 2)
	c.createTopic("early", 1)
	lag := (c.leader() + 1) % 3
	c.waitTopic(lag, "early")
	c.isolate(lag)
	var rest []int
	for i := range c.nodes {
		if i != lag {
			rest = append(rest, i)
		}
	}
	for _, name := range []string{"m1", "m2", "m3", "m4", "m5", "m6"} {
		c.createTopic(name, 1, rest...)
	}
	c.retry(func(n *Node) error {
		err := n.DeleteTopics(testCtx(t), []string{"early"})[0]
		if errors.Is(err, metadata.ErrUnknownTopic) {
			return nil // an earlier try went through
		}
		return err
	}, rest...)
	for _, i := range rest {
		c.waitTopic(i, "m6")
		if err := c.nodes[i].Snapshot(testCtx(t)); err != nil {
			t.Fatalf("node %d snapshot: %v", i+1, err)
		}
		first, err := c.nodes[i].store.FirstIndex()
		if err != nil {
			t.Fatal(err)
		}
		if last := c.nodes[lag].Image().Offset(); uint64(last) >= first {
			t.Fatalf("node %d log starts at %d, lagging node has %d: no snapshot install needed", i+1, first, last)
		}
	}
	l := c.leader(rest...)
	restores := c.nodes[lag].fsm.restores.Load()
	c.heal(lag)
	c.waitTopic(lag, "m6")
	if got := c.nodes[lag].fsm.restores.Load(); got <= restores {
		t.Fatalf("lagging node restored %d snapshots, want more than %d", got, restores)
	}
	wait.Until(t, 20*time.Second, "lagging node equal to leader", func() bool { return c.nodes[lag].Image().Equal(c.nodes[l].Image()) })
	// The publisher saw the deletion of "early" in the restore's delta.
	wait.Until(t, 20*time.Second, "published image without early", func() bool {
		_, ok := c.recs[lag].last().Topic("early")
		return !ok
	})
	c.recs[lag].mu.Lock()
	sawDelete := false
	for _, d := range c.recs[lag].deltas {
		for _, b := range []int32{1, 2} {
			for _, p := range d.LocalChanges(b).Deletes {
				sawDelete = sawDelete || p.Topic == "early"
			}
		}
	}
	c.recs[lag].mu.Unlock()
	if !sawDelete {
		t.Errorf("no published delta deleted early's partition")
	}
}
