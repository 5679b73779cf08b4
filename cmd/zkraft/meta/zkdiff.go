package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zkraft/zkraft/metadata"
	zkmeta "github.com/zkraft/zkraft/metadata/zk"
)

// zkDiff compares the image with a ZooKeeper tree in Kafka's layout. Before
// the differences it says whether the cluster ids differ (then every
// difference is expected: another cluster) and, when ZooKeeper has one,
// /migration's last mirrored offset.
func zkDiff(ctx context.Context, w io.Writer, l *Log, st *State, connect string, jsonOut bool, timeout time.Duration) error {
	zr, err := readZkTree(ctx, connect, timeout)
	if err != nil {
		return fmt.Errorf("zk-diff: ZooKeeper %s: %w: %w", connect, err, errors.Join(ErrZooKeeper, errTimeoutOf(err)))
	}
	tree := zr.tree
	changes, err := ZkChanges(st, l, tree)
	if err != nil {
		return err
	}
	var drift, expected []Change
	for _, c := range changes {
		if c.Expected != "" {
			expected = append(expected, c)
		} else {
			drift = append(drift, c)
		}
	}
	logID := st.Image.ClusterID()
	if !jsonOut {
		fmt.Fprintf(w, "zk-diff of the image at offset %d (%s) and ZooKeeper %s: %d differences (- only in the log, + only in ZooKeeper)\n",
			st.At, st.From, connect, len(drift))
		if logID != tree.ClusterID {
			fmt.Fprintf(w, "the cluster ids differ: the log is cluster %s, ZooKeeper %s is cluster %s (another cluster?)\n", orNone(logID), connect, orNone(tree.ClusterID))
		}
		if m := zr.migration; m != nil {
			fmt.Fprintf(w, "/migration: last mirrored offset %d, epoch %d, by controller %d (controller epoch %d)\n",
				m.KRaftMetadataOffset, m.KRaftMetadataEpoch, m.KRaftControllerID, m.KRaftControllerEpoch)
		}
	} else {
		head := map[string]any{"clusterIdLog": logID, "clusterIdZooKeeper": tree.ClusterID, "clusterIdsDiffer": logID != tree.ClusterID}
		if m := zr.migration; m != nil {
			head["migration"] = map[string]any{"kraftMetadataOffset": m.KRaftMetadataOffset, "kraftMetadataEpoch": m.KRaftMetadataEpoch,
				"kraftControllerId": m.KRaftControllerID, "kraftControllerEpoch": m.KRaftControllerEpoch}
		}
		b, _ := json.Marshal(map[string]any{"zkDiff": head})
		fmt.Fprintf(w, "%s\n", b)
	}
	if err := WriteChanges(w, drift, jsonOut); err != nil {
		return err
	}
	if len(expected) > 0 && !jsonOut {
		fmt.Fprintf(w, "%d expected differences (not drift):\n", len(expected))
	}
	if err := WriteChanges(w, expected, jsonOut); err != nil {
		return err
	}
	return l.Err
}

// expectedDifference says why c, a difference between the log's image img
// and ZooKeeper, is expected rather than drift ("" when it is not): a broker
// in the log with no /brokers/ids znode is a quorum-mode broker (step 4 of
// a migration: it registers with the quorum only), or a fenced one (a
// stopped ZooKeeper-mode broker's znode is ephemeral and went with its
// session).
func expectedDifference(img *metadata.Image, c Change) string {
	rest, ok := strings.CutPrefix(c.Path, "/image/cluster/brokers/")
	if !ok || c.Op != "removed" {
		return ""
	}
	id, err := strconv.ParseInt(rest, 10, 32)
	if err != nil {
		return ""
	}
	b, ok := img.Broker(int32(id))
	switch {
	case !ok:
		return ""
	case !b.IsMigratingZkBroker:
		return "quorum-mode broker, registered with the quorum only: it has no /brokers/ids znode"
	case b.Fenced:
		return "fenced ZooKeeper-mode broker: its ephemeral /brokers/ids znode ends with its session"
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// errTimeoutOf is ErrTimeout when err is one (so that the zk-diff error
// matches both), else nil.
func errTimeoutOf(err error) error {
	if errors.Is(err, ErrTimeout) {
		return ErrTimeout
	}
	return nil
}

// ZkChanges compares the image in st with the image of a ZooKeeper tree,
// leaf by leaf, on what both sides hold: broker listeners and rack (not
// epochs: the log's is a raft index, ZooKeeper's a czxid), partition
// replicas, ISR, leader and leader epoch (not the partition epoch, which
// ZooKeeper keeps as the state znode's zkVersion), topic ids, configs and
// the cluster id. Features live only in the log and are left out.
// Differences that are expected (see expectedDifference) carry the reason
// in Change.Expected.
func ZkChanges(st *State, l *Log, tree *zkmeta.Tree) ([]Change, error) {
	zkImg, err := tree.Image()
	if err != nil {
		return nil, fmt.Errorf("zk-diff: ZooKeeper tree does not form an image: %w: %w", err, ErrZooKeeper)
	}
	a := comparable(BuildTree(st, l))
	b := comparable(BuildTree(&State{Image: zkImg, From: "zookeeper"}, l))
	skip := func(p string) bool {
		return strings.HasPrefix(p, "/image/features/") ||
			(p == "/image/producerIds/nextProducerId" && tree.ProducerIDs == nil)
	}
	changes := DiffTrees(a, b, skip)
	for i := range changes {
		changes[i].Expected = expectedDifference(st.Image, changes[i])
	}
	return changes, nil
}

// comparable rewrites broker and partition leaves to the fields that both
// a raft image and a ZooKeeper tree define, and names ACLs by content
// (/image/acls/byId/<StandardAcl text>): ZooKeeper stores no ACL ids, so
// the tree's (zk.AclID) and the log's need not agree.
func comparable(root *Node) *Node {
	if img, ok := root.Child("image"); ok {
		if acls, ok := img.Child("acls"); ok {
			if byID, ok := acls.Child("byId"); ok {
				for _, c := range byID.Children {
					c.Name = c.Text
				}
				sort.Slice(byID.Children, func(i, j int) bool { return byID.Children[i].Name < byID.Children[j].Name })
			}
		}
	}
	var walk func(n *Node)
	walk = func(n *Node) {
		for _, c := range n.Children {
			switch v := c.JSON.(type) {
			case brokerView:
				rack := "Optional.empty"
				if v.Rack != nil {
					rack = "Optional[" + *v.Rack + "]"
				}
				eps := make([]string, len(v.Listeners))
				for i, e := range v.Listeners {
					eps[i] = fmt.Sprintf("Endpoint(listenerName='%s', securityProtocol=%s, host='%s', port=%d)", e.Name, e.SecurityProtocol, e.Host, e.Port)
				}
				c.Text = fmt.Sprintf("Broker(id=%d, listeners=[%s], rack=%s)", v.ID, strings.Join(eps, ", "), rack)
				c.JSON = map[string]any{"id": v.ID, "listeners": v.Listeners, "rack": v.Rack}
			case partitionView:
				c.Text = fmt.Sprintf("Partition(replicas=%s, isr=%s, removingReplicas=%s, addingReplicas=%s, leader=%d, leaderRecoveryState=%s, leaderEpoch=%d)",
					int32s(v.Replicas), int32s(v.ISR), int32s(v.RemovingReplicas), int32s(v.AddingReplicas), v.Leader, v.LeaderRecoveryState, v.LeaderEpoch)
				c.JSON = map[string]any{"replicas": v.Replicas, "isr": v.ISR, "removingReplicas": v.RemovingReplicas,
					"addingReplicas": v.AddingReplicas, "leader": v.Leader, "leaderRecoveryState": v.LeaderRecoveryState,
					"leaderEpoch": v.LeaderEpoch}
			}
			walk(c)
		}
	}
	walk(root)
	return root
}
