package broker

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestKcat drives the broker with librdkafka through kcat when it is
// installed: metadata listing, an idempotent produce with acks=all, and a
// consume from the beginning (version negotiation included).
func TestKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed")
	}
	h := newHarness(t, func(c *Config) { c.AutoCreateTopics = true })
	run := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, append([]string{"-b", h.addr.String()}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kcat %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("one\ntwo\nthree\n", "-P", "-t", "kc", "-X", "enable.idempotence=true", "-X", "acks=all")
	if out := run("", "-L", "-t", "kc"); !strings.Contains(out, `topic "kc" with 1 partitions`) ||
		!strings.Contains(out, "leader 1") {
		t.Fatalf("metadata:\n%s", out)
	}
	out := run("", "-C", "-t", "kc", "-o", "beginning", "-e", "-f", "%o:%s\n")
	if !strings.Contains(out, "0:one\n1:two\n2:three\n") {
		t.Fatalf("consumed:\n%s", out)
	}
}
