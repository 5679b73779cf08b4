package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// runTopicsCmd runs `zkraft topics ARGS` and returns stdout, stderr and the
// exit code (0 on success).
func runTopicsCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(zkraftBinary(t), append([]string{"topics"}, args...)...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("zkraft topics %q: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestE2ETopicsQuorumNode: `zkraft topics` against a combined quorum node:
// create (with a config), the errors of a duplicate and of an impossible
// RF, list, describe in Kafka's format and as JSON, --alter refused naming
// CreatePartitions, delete, and the errors of a missing topic. Exit codes
// are non-zero exactly on error.
func TestE2ETopicsQuorumNode(t *testing.T) {
	n := startNode(t, t.TempDir())
	bs := []string{"--bootstrap-server", n.addr}
	ok := func(args ...string) string {
		t.Helper()
		out, errOut, code := runTopicsCmd(t, append(bs, args...)...)
		if code != 0 {
			t.Fatalf("zkraft topics %q: exit %d\nstderr: %s\nnode log:\n%s", args, code, errOut, n.logTail())
		}
		return out
	}
	fails := func(wantErr string, args ...string) {
		t.Helper()
		out, errOut, code := runTopicsCmd(t, append(bs, args...)...)
		if code == 0 || !strings.Contains(errOut, wantErr) {
			t.Fatalf("zkraft topics %q: exit %d, stdout %q, stderr %q; want a failure saying %q", args, code, out, errOut, wantErr)
		}
	}

	if out := ok("--create", "--topic", "orders", "--partitions", "3", "--config", "retention.ms=60000"); out != "Created topic orders.\n" {
		t.Errorf("create: %q", out)
	}
	fails("create topic orders: TOPIC_ALREADY_EXISTS", "--create", "--topic", "orders")
	if out := ok("--create", "--topic", "orders", "--if-not-exists"); out != "" {
		t.Errorf("create --if-not-exists: %q", out)
	}
	fails("create topic wide: INVALID_REPLICATION_FACTOR", "--create", "--topic", "wide", "--replication-factor", "3")
	fails("create topic bad!name: INVALID_TOPIC_EXCEPTION", "--create", "--topic", "bad!name")

	wait.For(t, 20*time.Second, "orders listed", func() error {
		if out := ok("--list", "--exclude-internal"); !strings.Contains(out, "orders\n") {
			return fmt.Errorf("list: %q", out)
		}
		return nil
	})

	head := regexp.MustCompile(`^Topic: orders\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: (\S*)$`)
	part := regexp.MustCompile(`^\tTopic: orders\tPartition: (\d)\tLeader: 1\tReplicas: 1\tIsr: 1$`)
	desc := ok("--describe", "--topic", "orders")
	lines := strings.Split(strings.TrimSuffix(desc, "\n"), "\n")
	if len(lines) != 4 || !head.MatchString(lines[0]) {
		t.Fatalf("describe:\n%s", desc)
	}
	if cfg := head.FindStringSubmatch(lines[0])[1]; !strings.Contains(cfg, "retention.ms=60000") || strings.Contains(cfg, "cleanup.policy=") {
		t.Errorf("configs %q: want the override, not Kafka defaults", cfg)
	}
	for i, l := range lines[1:] {
		if m := part.FindStringSubmatch(l); m == nil || m[1] != fmt.Sprint(i) {
			t.Errorf("partition line %d: %q", i, l)
		}
	}
	var ds []struct {
		Name           string            `json:"name"`
		TopicID        string            `json:"topicId"`
		PartitionCount int               `json:"partitionCount"`
		Configs        map[string]string `json:"configs"`
		Partitions     []struct {
			Leader int32   `json:"leader"`
			Isr    []int32 `json:"isr"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal([]byte(ok("--describe", "--topic", "orders", "--json")), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].PartitionCount != 3 || ds[0].Configs["retention.ms"] != "60000" ||
		!strings.Contains(lines[0], ds[0].TopicID) || ds[0].Partitions[0].Leader != 1 {
		t.Errorf("describe --json: %+v", ds)
	}

	ok("--alter", "--topic", "orders", "--partitions", "6")
	wait.For(t, 20*time.Second, "orders to have 6 partitions", func() error {
		if err := json.Unmarshal([]byte(ok("--describe", "--topic", "orders", "--json")), &ds); err != nil {
			return err
		}
		if len(ds) != 1 || ds[0].PartitionCount != 6 {
			return fmt.Errorf("describe --json: %+v", ds)
		}
		return nil
	})
	fails("INVALID_PARTITIONS", "--alter", "--topic", "orders", "--partitions", "4")
	fails("describe topic ghost: UNKNOWN_TOPIC_OR_PARTITION", "--describe", "--topic", "ghost")
	fails("exactly one action", "--list", "--describe")

	ok("--delete", "--topic", "orders")
	wait.For(t, 20*time.Second, "orders gone from the list", func() error {
		if out := ok("--list"); strings.Contains(out, "orders") {
			return fmt.Errorf("list: %q", out)
		}
		return nil
	})
	fails("delete topic orders: UNKNOWN_TOPIC_OR_PARTITION", "--delete", "--topic", "orders")
	ok("--delete", "--topic", "orders", "--if-exists")
}

// TestE2ETopicsZkModeRF3: the same tool against three brokers in ZooKeeper
// mode creates a topic with RF 3 and min.insync.replicas=2 (the bench
// method of docs/replication.md) and describes it with all three replicas
// in sync.
func TestE2ETopicsZkModeRF3(t *testing.T) {
	s := zktest.Start(t)
	var nodes []*node
	for id := 1; id <= 3; id++ {
		nodes = append(nodes, startZkNode(t, s.Addr, id))
	}
	bs := "--bootstrap-server=" + nodes[0].addr + "," + nodes[1].addr
	part := regexp.MustCompile(`^\tTopic: rf3\tPartition: \d\tLeader: [123]\tReplicas: ([123]),([123]),([123])\tIsr: (\S+)$`)
	wait.For(t, 30*time.Second, "rf3 created", func() error {
		out, errOut, code := runTopicsCmd(t, bs, "--create", "--topic", "rf3", "--partitions", "2",
			"--replication-factor", "3", "--config", "min.insync.replicas=2", "--if-not-exists")
		if code != 0 {
			return fmt.Errorf("exit %d: %s%s", code, out, errOut) // brokers still registering
		}
		return nil
	})
	wait.For(t, 30*time.Second, "rf3 described with full ISR", func() error {
		out, errOut, code := runTopicsCmd(t, bs, "--describe", "--topic", "rf3")
		if code != 0 {
			return fmt.Errorf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "Topic: rf3\t") ||
			!strings.Contains(lines[0], "\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: ") ||
			!strings.Contains(lines[0], "min.insync.replicas=2") {
			return fmt.Errorf("describe:\n%s", out)
		}
		for _, l := range lines[1:] {
			m := part.FindStringSubmatch(l)
			if m == nil || m[1] == m[2] || m[2] == m[3] || m[1] == m[3] || len(strings.Split(m[4], ",")) != 3 {
				return fmt.Errorf("partition line %q", l)
			}
		}
		return nil
	})
	out, errOut, code := runTopicsCmd(t, bs, "--delete", "--topic", "rf3")
	if code != 0 {
		t.Fatalf("delete: exit %d: %s%s", code, out, errOut)
	}
}
