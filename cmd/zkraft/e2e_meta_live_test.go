package main_test

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata/wait"
)

// TestE2EMetaBootstrapController: `zkraft meta --bootstrap-controller`
// reads a running node's quorum over the Kafka protocol and shows the
// same image as `--dir` on its metadata directory; a wrong address fails
// with an error naming it.
func TestE2EMetaBootstrapController(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir)
	cl := n.client(t)
	createTopic(t, cl, "live-orders", 2)
	metaDir := filepath.Join(dir, "metadata")

	wait.For(t, 20*time.Second, "topic over --bootstrap-controller", func() error {
		out, err := runMetaCmd(t, "--bootstrap-controller", n.ctrlAddr, "ls", "/image/topics/byName")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "live-orders") {
			return fmt.Errorf("ls: %q", out)
		}
		return nil
	})
	provTime := regexp.MustCompile(`, time \S+Z`)
	for _, cmd := range [][]string{
		{"cat", "/image/topics/byName/live-orders/1"},
		{"--json", "tree", "/image/topics"},
	} {
		live, err := runMetaCmd(t, append([]string{"--bootstrap-controller", n.ctrlAddr}, cmd...)...)
		if err != nil {
			t.Fatal(err)
		}
		disk, err := runMetaCmd(t, append([]string{"--dir", metaDir}, cmd...)...)
		if err != nil {
			t.Fatal(err)
		}
		if provTime.ReplaceAllString(disk, "") != live {
			t.Errorf("%q: live differs from --dir:\n--- live\n%s\n--- dir\n%s", cmd, live, disk)
		}
	}
	out, err := runMetaCmd(t, "dump", "--bootstrap-controller", n.ctrlAddr, "--type", "TopicRecord")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Dumping controller "+n.ctrlAddr) || !strings.Contains(out, `"name":"live-orders"`) {
		t.Errorf("live dump:\n%s", out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	_, err = runMetaCmd(t, "--bootstrap-controller", dead, "ls", "/")
	if err == nil || !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), "exit status") {
		t.Errorf("wrong address: %v, want a failure naming %s", err, dead)
	}
}
