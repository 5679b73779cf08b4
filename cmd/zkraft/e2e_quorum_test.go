package main_test

// End-to-end tests of the metadata quorum (issue 3): 3 controller processes
// (process.roles=controller) and 3 broker processes (process.roles=broker) on
// loopback, configured with nothing but Kafka keys; kill -9 and restarts.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
)

// quorumCluster is 3 controllers (ids 1-3) and 3 brokers (ids 4-6).
type quorumCluster struct {
	t           *testing.T
	voters      string
	ctrlAddrs   map[int32]string
	controllers map[int32]*node
	brokers     map[int32]*node
}

func startQuorumCluster(t *testing.T) *quorumCluster {
	t.Helper()
	qc := &quorumCluster{t: t, ctrlAddrs: map[int32]string{}, controllers: map[int32]*node{}, brokers: map[int32]*node{}}
	var vs []string
	for id := int32(1); id <= 3; id++ {
		qc.ctrlAddrs[id] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		vs = append(vs, fmt.Sprintf("%d@%s", id, qc.ctrlAddrs[id]))
	}
	qc.voters = strings.Join(vs, ",")
	common := []string{
		"controller.quorum.voters=" + qc.voters,
		"controller.listener.names=CONTROLLER",
		"broker.session.timeout.ms=3000",
		"broker.heartbeat.interval.ms=500",
		"default.replication.factor=3",
	}
	for id := int32(1); id <= 3; id++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("controller-%d", id))
		n := &node{t: t, dir: dir, ctrlAddr: qc.ctrlAddrs[id]}
		n.args = overrideArgs(append([]string{
			"process.roles=controller",
			fmt.Sprintf("node.id=%d", id),
			"listeners=CONTROLLER://" + qc.ctrlAddrs[id],
			"log.dirs=" + filepath.Join(dir, "kafka-logs"),
			"metadata.log.dir=" + filepath.Join(dir, "metadata"),
		}, common...))
		qc.controllers[id] = n
		n.spawn()
		t.Cleanup(n.kill)
	}
	for id := int32(4); id <= 6; id++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("broker-%d", id))
		n := &node{t: t, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
		n.args = overrideArgs(append([]string{
			"process.roles=broker",
			fmt.Sprintf("node.id=%d", id),
			"listeners=PLAINTEXT://" + n.addr,
			"log.dirs=" + filepath.Join(dir, "kafka-logs"),
			"metadata.log.dir=" + filepath.Join(dir, "metadata"),
		}, common...))
		qc.brokers[id] = n
		n.spawn()
		t.Cleanup(n.kill)
	}
	for _, n := range qc.brokers {
		n.waitReady()
	}
	return qc
}

func overrideArgs(kvs []string) []string {
	args := []string{"serve"}
	for _, kv := range kvs {
		args = append(args, "--override", kv)
	}
	return args
}

// spawn starts the process without waiting for a broker listener (a
// controller has none).
func (n *node) spawn() {
	n.t.Helper()
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	n.startings++
	n.logPath = filepath.Join(n.dir, fmt.Sprintf("zkraft-%d.log", n.startings))
	logf, err := os.Create(n.logPath)
	if err != nil {
		n.t.Fatal(err)
	}
	n.cmd = exec.Command(zkraftBinary(n.t), n.args...)
	n.cmd.Dir = n.dir
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("start zkraft: %v", err)
	}
	done := make(chan struct{})
	n.done = done
	cmd := n.cmd
	go func() {
		n.waitErr = cmd.Wait()
		logf.Close()
		close(done)
	}()
}

// controllerRequest sends one Kafka request to a controller listener and
// decodes the response (the controller serves no Metadata, so a kgo client
// cannot bootstrap against it).
func controllerRequest(addr string, req kmsg.Request) (kmsg.Response, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("e2e")).AppendRequest(nil, req, 1)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	body := buf[4:] // correlation id
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() {
		body = body[1:] // empty header tagged fields
	}
	return resp, resp.ReadFrom(body)
}

// activeController asks the live controllers who leads (DescribeCluster).
func (qc *quorumCluster) activeController() (int32, error) {
	for id, n := range qc.controllers {
		select {
		case <-n.done:
			continue
		default:
		}
		resp, err := controllerRequest(qc.ctrlAddrs[id], kmsg.NewPtrDescribeClusterRequest())
		if err != nil {
			continue
		}
		if c := resp.(*kmsg.DescribeClusterResponse).ControllerID; c > 0 {
			return c, nil
		}
	}
	return -1, fmt.Errorf("no live controller names a leader")
}

func (qc *quorumCluster) brokerClient(id int32) *kgo.Client {
	return qc.brokers[id].client(qc.t)
}

func createTopicRF(ctx context.Context, cl *kgo.Client, name string, partitions int32, rf int16) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.Topics[0].ErrorCode)
}

// metadataOf returns the live brokers and the partition leaders/ISRs of topic.
func metadataOf(ctx context.Context, cl *kgo.Client, topic string) ([]int32, map[int32]kmsg.MetadataResponseTopicPartition, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, nil, err
	}
	var ids []int32
	for _, b := range resp.Brokers {
		ids = append(ids, b.NodeID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	parts := map[int32]kmsg.MetadataResponseTopicPartition{}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return ids, nil, err
		}
		for _, p := range t.Partitions {
			parts[p.Partition] = p
		}
	}
	return ids, parts, nil
}

// TestE2EQuorumFailover: 3 controllers + 3 brokers. Every broker lists all
// brokers (kcat -L); kill -9 of the active controller: topic creation works
// again (time logged; docs/quorum.md quotes it); kill -9 of a broker: its
// partitions get new leaders from the ISR; its restart is unfenced.
func TestE2EQuorumFailover(t *testing.T) {
	qc := startQuorumCluster(t)

	for id, b := range qc.brokers {
		out := runKcat(t, nil, "-b", b.addr, "-L", "-m", "10")
		if !strings.Contains(out, " 3 brokers:") {
			t.Fatalf("kcat -L against broker %d does not list 3 brokers:\n%s", id, out)
		}
	}

	cl := qc.brokerClient(4)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := createTopicRF(ctx, cl, "ha", 6, 3); err != nil {
		t.Fatalf("create topic ha: %v", err)
	}
	// Every broker answers the same within a moment (each follows the log).
	for id := range qc.brokers {
		bcl := qc.brokerClient(id)
		wait.For(t, 10*time.Second, fmt.Sprintf("broker %d to see topic ha", id), func() error {
			_, parts, err := metadataOf(ctx, bcl, "ha")
			if err == nil && len(parts) != 6 {
				err = fmt.Errorf("%d partitions", len(parts))
			}
			return err
		})
	}

	// kill -9 the active controller; measure until a CreateTopics succeeds.
	var active int32
	wait.For(t, 10*time.Second, "an active controller", func() (err error) {
		active, err = qc.activeController()
		return err
	})
	qc.checkQuorumTool(active, -1)
	qc.controllers[active].kill()
	killed := time.Now()
	wait.For(t, 30*time.Second, "topic creation after controller kill -9", func() error {
		cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
		defer ccancel()
		if err := createTopicRF(cctx, cl, "after-failover", 1, 3); err != nil && err != kerr.TopicAlreadyExists {
			return err // (an earlier try may have been applied with its answer lost)
		}
		return nil
	})
	t.Logf("controller failover: topic creation worked again %v after kill -9 of active controller %d", time.Since(killed).Round(time.Millisecond), active)
	qc.checkQuorumTool(-1, active)

	// kill -9 the broker leading ha-0; its partitions move to the ISR.
	_, parts, err := metadataOf(ctx, cl, "ha")
	if err != nil {
		t.Fatal(err)
	}
	victim := parts[0].Leader
	if victim == 4 {
		cl = qc.brokerClient(5)
	}
	qc.brokers[victim].kill()
	brokerKilled := time.Now()
	wait.For(t, 30*time.Second, fmt.Sprintf("partitions of killed broker %d to get new leaders from the ISR", victim), func() error {
		ids, parts, err := metadataOf(ctx, cl, "ha")
		if err != nil {
			return err
		}
		if len(ids) != 2 {
			return fmt.Errorf("live brokers %v", ids)
		}
		for p, pm := range parts {
			if pm.Leader == victim || pm.Leader < 0 {
				return fmt.Errorf("partition %d leader %d", p, pm.Leader)
			}
			for _, r := range pm.ISR {
				if r == victim {
					return fmt.Errorf("partition %d ISR %v still holds %d", p, pm.ISR, victim)
				}
			}
		}
		return nil
	})
	// Fenced by gossip failure detection (memberlist) well before
	// broker.session.timeout.ms (3 s here); docs/quorum.md quotes the time.
	t.Logf("broker fencing: partitions of broker %d had new leaders %v after kill -9", victim, time.Since(brokerKilled).Round(time.Millisecond))
	for id, c := range qc.controllers {
		if strings.Contains(readFile(t, c.logPath), "gossip declared it dead") {
			t.Logf("controller %d fenced broker %d on gossip's word", id, victim)
		}
	}

	// Restart it: it registers a new incarnation and is unfenced.
	qc.brokers[victim].spawn()
	qc.brokers[victim].waitReady()
	wait.For(t, 30*time.Second, fmt.Sprintf("restarted broker %d to be unfenced", victim), func() error {
		ids, _, err := metadataOf(ctx, cl, "ha")
		if err == nil && len(ids) != 3 {
			err = fmt.Errorf("live brokers %v", ids)
		}
		return err
	})

	// SIGTERM: controlled shutdown, then a clean exit.
	if err := qc.brokers[victim].stop(15 * time.Second); err != nil {
		t.Fatalf("broker %d after SIGTERM: %v\n%s", victim, err, qc.brokers[victim].logTail())
	}
	if !strings.Contains(readFile(t, qc.brokers[victim].logPath), "controlled shutdown complete") {
		t.Fatalf("broker %d exited without controlled shutdown:\n%s", victim, qc.brokers[victim].logTail())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkQuorumTool runs zkraft quorum describe against every controller:
// --status names the leader (leader, when >= 0; anything but notLeader
// otherwise), the three voters and the brokers as observers once they
// fetch; --replication has a Leader row and a row per voter and observer.
func (qc *quorumCluster) checkQuorumTool(leader, notLeader int32) {
	t := qc.t
	t.Helper()
	var addrs []string
	for _, n := range qc.controllers {
		addrs = append(addrs, n.ctrlAddr)
	}
	run := func(flag string) (string, error) {
		out, err := exec.Command(zkraftBinary(t), "quorum", "--bootstrap-controller", strings.Join(addrs, ","), "describe", flag).CombinedOutput()
		return string(out), err
	}
	wait.For(t, 20*time.Second, "zkraft quorum describe --status", func() error {
		out, err := run("--status")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		var id int32
		if _, err := fmt.Sscanf(out[strings.Index(out, "LeaderId:"):], "LeaderId: %d", &id); err != nil {
			return fmt.Errorf("no LeaderId in %q: %v", out, err)
		}
		if (leader >= 0 && id != leader) || id == notLeader {
			return fmt.Errorf("leader %d (want %d, not %d):\n%s", id, leader, notLeader, out)
		}
		for _, want := range []string{"ClusterId:", "CurrentVoters:          [1,2,3]", "CurrentObservers:       [4,5,6]"} {
			if !strings.Contains(out, want) {
				return fmt.Errorf("no %q in\n%s", want, out)
			}
		}
		return nil
	})
	out, err := run("--replication")
	if err != nil {
		t.Fatalf("zkraft quorum describe --replication: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "NodeId") || !strings.HasSuffix(lines[1], "Leader") ||
		strings.Count(out, "Follower") != 2 || strings.Count(out, "Observer") != 3 {
		t.Fatalf("zkraft quorum describe --replication:\n%s", out)
	}
	t.Logf("zkraft quorum describe --replication:\n%s", out)
}
