package meta

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	zkmeta "github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// writeImageToZk writes an image into a real ZooKeeper in Kafka's layout,
// with metadata/zk's records -> ZooKeeper ops translation.
func writeImageToZk(t *testing.T, conn *gozk.Conn, img *metadata.Image) {
	t.Helper()
	acl := gozk.WorldACL(gozk.PermAll)
	create := func(p string, data []byte) {
		if _, err := conn.Create(p, data, 0, acl); err != nil && err != gozk.ErrNodeExists {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	create("/cluster", nil)
	create(zkmeta.ClusterIDPath, zkmeta.EncodeClusterID(img.ClusterID()))
	for _, p := range zkmeta.PersistentPaths {
		create(p, nil)
	}
	// Broker znodes are written by the brokers themselves, not by records.
	for _, b := range img.Brokers() {
		data, err := zkmeta.EncodeBroker(zkmeta.NewBrokerZNode(*b, 1700000000000))
		if err != nil {
			t.Fatal(err)
		}
		create(zkmeta.BrokerPath(b.ID), data)
	}
	ops, err := zkmeta.RecordsToOps(metadata.EmptyImage(), metadata.WriteImage(img), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		switch op.Kind {
		case zkmeta.OpCreate:
			if op.Sequential {
				continue // change notifications: not part of the image
			}
			create(op.Path, op.Data)
		case zkmeta.OpSet:
			if _, err := conn.Set(op.Path, op.Data, -1); err != nil {
				t.Fatalf("set %s: %v", op.Path, err)
			}
		case zkmeta.OpDelete:
			if err := conn.Delete(op.Path, -1); err != nil && err != gozk.ErrNoNode {
				t.Fatalf("delete %s: %v", op.Path, err)
			}
		}
	}
}

// fixtureInZooKeeper starts a real ZooKeeper holding the fixture's image
// in Kafka's layout, with a session on it (closed at the end of the test).
func fixtureInZooKeeper(t *testing.T) (fixture, *zktest.Server, *gozk.Conn) {
	t.Helper()
	f, _, st := fixtureImage(t)
	srv := zktest.Start(t)
	conn, _, err := gozk.Connect([]string{srv.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	wait.Until(t, 30*time.Second, "zookeeper session", func() bool { return conn.State() == gozk.StateHasSession })
	writeImageToZk(t, conn, st.Image)
	return f, srv, conn
}

// TestZkDiffRealZooKeeper: zk-diff against a real ZooKeeper holding the
// image in Kafka's layout reports nothing; a deliberately changed partition
// state znode and a removed topic config then show up.
func TestZkDiffRealZooKeeper(t *testing.T) {
	f, srv, conn := fixtureInZooKeeper(t)

	out, _, err := runMeta(t, f.dir, "", "zk-diff", "--dir", f.dir, "--zookeeper", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, ": 0 differences") {
		t.Fatalf("zk-diff of an identical tree:\n%s", out)
	}

	// Shrink the ISR of orders-2 in ZooKeeper, as a stale dual-write would leave it.
	statePath := zkmeta.PartitionStatePath("orders", 2)
	data, _, err := conn.Get(statePath)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := zkmeta.DecodePartitionState(data)
	if err != nil {
		t.Fatal(err)
	}
	ps.ISR, ps.Leader, ps.LeaderEpoch = []int32{}, -1, ps.LeaderEpoch+1
	if _, err := conn.Set(statePath, zkmeta.EncodePartitionState(ps), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Set(zkmeta.TopicConfigPath("orders"), zkmeta.EncodeEntityConfig(map[string]string{"retention.ms": "60000"}), -1); err != nil {
		t.Fatal(err)
	}
	out, _, err = runMeta(t, f.dir, "", "zk-diff", "--dir", f.dir, "--zookeeper", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		": 3 differences",
		"- /image/configs/topic/orders/cleanup.policy",
		"~ /image/topics/byName/orders/2",
		"isr=[1], removingReplicas=[], addingReplicas=[], leader=1, leaderRecoveryState=RECOVERED, leaderEpoch=0) -> Partition(replicas=[1], isr=[], removingReplicas=[], addingReplicas=[], leader=-1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("zk-diff output lacks %q:\n%s", want, out)
		}
	}
	var js bytes.Buffer
	if err := Main(testCtx(t), []string{"zk-diff", "--json", "--dir", f.dir, "--zookeeper", srv.Addr}, strings.NewReader(""), &js, &js); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(js.String(), "\n"); n != 4 || !strings.HasPrefix(js.String(), `{"zkDiff":{"clusterIdLog":`) {
		t.Errorf("zk-diff --json: %d lines, want the header and 3 changes:\n%s", n, js.String())
	}

	// Broker 1 is a quorum-mode broker: without its /brokers/ids znode (it
	// never has one after step 4 of a migration) the difference is listed
	// as expected, apart from the 3 differences.
	if err := conn.Delete(zkmeta.BrokerPath(1), -1); err != nil {
		t.Fatal(err)
	}
	out, _, err = runMeta(t, f.dir, "", "zk-diff", "--dir", f.dir, "--zookeeper", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	head, expected, ok := strings.Cut(out, "1 expected differences (not drift):\n- /image/cluster/brokers/1")
	if !ok || !strings.Contains(head, ": 3 differences") || strings.Contains(head, "/image/cluster/brokers/1") ||
		!strings.Contains(expected, "(expected: quorum-mode broker") {
		t.Errorf("zk-diff without a quorum-mode broker's znode:\n%s", out)
	}
}

// TestZkDiffOtherCluster: against another cluster's ZooKeeper, zk-diff says
// first that the cluster ids differ, and shows /migration's last mirrored
// offset.
func TestZkDiffOtherCluster(t *testing.T) {
	f, srv, conn := fixtureInZooKeeper(t)
	other := metadata.Uuid{0x7b, 1}.String()
	if _, err := conn.Set(zkmeta.ClusterIDPath, zkmeta.EncodeClusterID(other), -1); err != nil {
		t.Fatal(err)
	}
	mig := zkmeta.MigrationZNode{KRaftControllerID: 3000, KRaftControllerEpoch: 2, KRaftMetadataOffset: 1234, KRaftMetadataEpoch: 5}
	if _, err := conn.Create(zkmeta.MigrationPath, zkmeta.EncodeMigration(mig), 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	out, _, err := runMeta(t, f.dir, "", "zk-diff", "--dir", f.dir, "--zookeeper", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[1], "the cluster ids differ: the log is cluster "+clusterID) || !strings.Contains(lines[1], "is cluster "+other) ||
		lines[2] != "/migration: last mirrored offset 1234, epoch 5, by controller 3000 (controller epoch 2)" {
		t.Fatalf("zk-diff of another cluster:\n%s", out)
	}
}

// TestDialTimeout: a tool that dials gives up after --timeout with one
// clear error, instead of retrying forever (go-zookeeper's own log of
// every failed attempt is silenced).
func TestDialTimeout(t *testing.T) {
	f := makeFixture(t)
	// A port nobody listens on, and a listener that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var accepted []net.Conn
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			accepted = append(accepted, c)
		}
	}()
	defer func() {
		silent.Close()
		<-acceptDone
		for _, c := range accepted {
			c.Close()
		}
	}()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zk-diff, nobody listening", []string{"zk-diff", "--dir", f.dir, "--zookeeper", dead, "--timeout", "1s"}, "no ZooKeeper session with " + dead + " within --timeout 1s"},
		{"zk-diff, no answer", []string{"zk-diff", "--dir", f.dir, "--zookeeper", silent.Addr().String(), "--timeout", "1s"}, "within --timeout 1s"},
		{"live, no answer", []string{"--bootstrap-controller", silent.Addr().String(), "--timeout", "1s", "ls"}, "the metadata log was not read within --timeout 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, err := runMeta(t, f.dir, "", tc.args...)
			if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrTimeout saying %q", err, tc.want)
			}
			if strings.Contains(errOut, "failed to connect") {
				t.Errorf("stderr has the client library's retries:\n%s", errOut)
			}
		})
	}
}
