package main_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata/wait"
)

// TestE2EConsumerGroupsTool: zkraft consumer-groups (kafka-consumer-groups.sh)
// lists a group, describes its committed offsets and lag, first with the
// consumer still a member and then empty after more records, and deletes it.
func TestE2EConsumerGroupsTool(t *testing.T) {
	n := startNode(t, t.TempDir())
	cl := n.client(t)
	createTopic(t, cl, "cg-tool", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	produce := func(count int) {
		for i := 0; i < count; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "cg-tool", Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(zkraftBinary(t), append([]string{"consumer-groups", "--bootstrap-server", n.addr}, args...)...).CombinedOutput()
		return string(out), err
	}
	tool := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("consumer-groups %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	row := func(out string) []string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "cg-tool-g ") {
				return strings.Fields(l)
			}
		}
		t.Fatalf("no row for the group in\n%s", out)
		return nil
	}

	produce(10)
	g := groupConsumer(t, n, "cg-tool-g", "cg-tool")
	pollN(t, g, 10)
	if err := g.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	if out := tool("--list"); !strings.Contains(out, "cg-tool-g\n") {
		t.Fatalf("--list:\n%s", out)
	}
	// GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
	if f := row(tool("--describe", "--group", "cg-tool-g")); len(f) != 9 || f[1] != "cg-tool" || f[3] != "10" || f[4] != "10" || f[5] != "0" || f[6] == "-" {
		t.Fatalf("--describe with a member: %v", f)
	}
	if out, err := run("--reset-offsets", "--group", "cg-tool-g", "--topic", "cg-tool", "--to-earliest", "--execute"); err == nil || !strings.Contains(out, "can only be reset if the group 'cg-tool-g' is inactive") {
		t.Fatalf("--reset-offsets of an active group: %v\n%s", err, out)
	}
	g.Close()
	produce(5)
	out := tool("--describe", "--all-groups")
	if f := row(out); len(f) != 9 || f[3] != "10" || f[4] != "15" || f[5] != "5" || f[6] != "-" || !strings.Contains(out, "has no active members") {
		t.Fatalf("--describe of the empty group: %v\n%s", f, out)
	}
	// --reset-offsets: a dry run plans without committing; --execute commits.
	reset := func(want string, args ...string) {
		t.Helper()
		out := tool(append([]string{"--reset-offsets", "--group", "cg-tool-g"}, args...)...)
		var got string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 4 && f[0] == "cg-tool-g" && f[1] == "cg-tool" && f[2] == "0" {
				got = f[3]
			}
		}
		if got != want {
			t.Fatalf("--reset-offsets %v: NEW-OFFSET %q, want %s\n%s", args, got, want, out)
		}
	}
	committedNow := func() string { return row(tool("--describe", "--group", "cg-tool-g"))[3] }
	reset("0", "--topic", "cg-tool", "--to-earliest")
	if c := committedNow(); c != "10" {
		t.Fatalf("a dry run committed: %s", c)
	}
	reset("13", "--all-topics", "--shift-by", "3", "--execute")
	if c := committedNow(); c != "13" {
		t.Fatalf("after --shift-by 3 --execute: committed %s", c)
	}
	reset("15", "--topic", "cg-tool:0", "--to-offset", "99", "--execute") // clamped to the log end
	reset("15", "--topic", "cg-tool", "--to-datetime", time.Now().Add(time.Hour).Format("2006-01-02T15:04:05.000"))
	reset("0", "--topic", "cg-tool", "--to-datetime", "2000-01-01T00:00:00.000")
	reset("15", "--topic", "cg-tool", "--to-latest")
	if out, err := run("--reset-offsets", "--group", "cg-tool-g", "--topic", "cg-tool"); err == nil || !strings.Contains(out, "exactly one of --to-earliest") {
		t.Fatalf("--reset-offsets without a target: %v\n%s", err, out)
	}
	if out := tool("--delete", "--group", "cg-tool-g"); !strings.Contains(out, "Deletion of requested consumer groups ('cg-tool-g') was successful.") {
		t.Fatalf("--delete:\n%s", out)
	}
	if out := tool("--list"); strings.Contains(out, "cg-tool-g") {
		t.Fatalf("--list after --delete:\n%s", out)
	}
}

// TestE2EConfigsTool: zkraft configs (kafka-configs.sh) describes a topic's
// dynamic configs and a broker's, sets and removes a user's SCRAM
// credential and quota, and refuses topic alters it cannot serve.
func TestE2EConfigsTool(t *testing.T) {
	n := startNode(t, t.TempDir())
	run := func(args ...string) (string, error) {
		out, err := exec.Command(zkraftBinary(t), args...).CombinedOutput()
		return string(out), err
	}
	mustRun := func(want string, args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("%v: %v, want %q in\n%s", args, err, want, out)
		}
		return out
	}
	cfgs := func(args ...string) []string {
		return append([]string{"configs", "--bootstrap-server", n.addr}, args...)
	}
	mustRun("", "topics", "--bootstrap-server", n.addr, "--create", "--topic", "cfg-t", "--partitions", "1", "--config", "retention.ms=86400000")
	out := mustRun("Dynamic configs for topic cfg-t are:", cfgs("--entity-type", "topics", "--entity-name", "cfg-t", "--describe")...)
	if !strings.Contains(out, "  retention.ms=86400000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000") || strings.Contains(out, "segment.bytes") {
		t.Fatalf("topic configs:\n%s", out)
	}
	mustRun("segment.bytes=", cfgs("--entity-type", "topics", "--entity-name", "cfg-t", "--describe", "--all")...)
	mustRun("All configs for broker 1 are:", cfgs("--entity-type", "brokers", "--entity-name", "1", "--describe", "--all")...)

	mustRun("Completed updating config for user alice.", cfgs("--entity-type", "users", "--entity-name", "alice", "--alter",
		"--add-config", "SCRAM-SHA-512=[iterations=8192,password=alice-secret],producer_byte_rate=1024")...)
	wait.For(t, 20*time.Second, "alice's SCRAM credential and quota described", func() error {
		out, err := run(cfgs("--entity-type", "users", "--entity-name", "alice", "--describe")...)
		if err != nil || !strings.Contains(out, "Quota configs for user-principal 'alice' are producer_byte_rate=1024.0") ||
			!strings.Contains(out, "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-512=iterations=8192") {
			return fmt.Errorf("%v:\n%s", err, out)
		}
		return nil
	})
	mustRun("Completed updating config for user alice.", cfgs("--entity-type", "users", "--entity-name", "alice", "--alter",
		"--delete-config", "SCRAM-SHA-512,producer_byte_rate")...)
	wait.For(t, 20*time.Second, "alice's credential and quota gone", func() error {
		out, err := run(cfgs("--entity-type", "users", "--entity-name", "alice", "--describe")...)
		if err != nil || strings.Contains(out, "alice") {
			return fmt.Errorf("%v:\n%s", err, out)
		}
		return nil
	})
	// Topic alters are served since issue 14's IncrementalAlterConfigs
	// (they were refused before; e2e_configs_test.go has the full checks).
	mustRun("Completed updating config for topic cfg-t.", cfgs("--entity-type", "topics", "--entity-name", "cfg-t", "--alter", "--add-config", "retention.ms=1")...)
}
