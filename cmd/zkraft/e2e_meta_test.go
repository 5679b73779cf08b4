package main_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata/wait"
)

// runMetaCmd runs `zkraft meta args...` and returns stdout (stderr on failure).
func runMetaCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(zkraftBinary(t), append([]string{"meta"}, args...)...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%v: %s", err, errOut.String())
	}
	return out.String(), nil
}

// TestE2EMetaInspectsLiveNode: `zkraft meta` reads the metadata log of a
// running node (whose raft.db is locked by it) and sees a topic created
// through the Kafka protocol, then sees it gone after deletion.
func TestE2EMetaInspectsLiveNode(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir)
	n.waitReady()
	cl := n.client(t)
	createTopic(t, cl, "meta-orders", 2)
	metaDir := filepath.Join(dir, "metadata")

	wait.For(t, 20*time.Second, "topic in zkraft meta dump --json", func() error {
		out, err := runMetaCmd(t, "dump", "--dir", metaDir, "--json", "--type", "TopicRecord")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var v struct {
				Offset  uint64 `json:"offset"`
				Payload struct {
					Type string `json:"type"`
					Data struct {
						Name string `json:"name"`
					} `json:"data"`
				} `json:"payload"`
			}
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				return fmt.Errorf("line %q: %v", line, err)
			}
			if v.Payload.Type == "TOPIC_RECORD" && v.Payload.Data.Name == "meta-orders" && v.Offset > 0 {
				return nil
			}
		}
		return fmt.Errorf("no TOPIC_RECORD for meta-orders in:\n%s", out)
	})

	out, err := runMetaCmd(t, "--dir", metaDir, "cat", "/image/topics/byName/meta-orders/1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "PartitionRegistration(replicas=[1], isr=[1], ") || !strings.Contains(out, "leader=1") {
		t.Fatalf("cat partition 1: %q", out)
	}
	out, err = runMetaCmd(t, "shell", "--dir", metaDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "image at offset") {
		t.Fatalf("shell banner missing: %q", out)
	}
	if err := n.stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	// Stopped: the file is read directly and agrees.
	out, err = runMetaCmd(t, "--dir", metaDir, "--json", "ls", "/image/topics/byName")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"meta-orders"`) {
		t.Fatalf("ls after stop: %q", out)
	}
}
