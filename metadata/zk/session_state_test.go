package zk

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestSessionState: the metrics' view of the session — unknown before
// Start, StateHasSession while serving, closed after Close.
func TestSessionState(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) })
	s := zktest.Start(t)
	cfg := DefaultConfig()
	cfg.Servers = []string{s.Addr}
	cfg.BrokerID = 1
	unstarted, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := unstarted.SessionState(); got != "StateUnknown" {
		t.Fatalf("before Start: %q", got)
	}
	b := testBackend(t, s.Addr, 1)
	wait.For(t, 20*time.Second, "a session", func() error {
		if got := b.SessionState(); got != "StateHasSession" {
			return fmt.Errorf("state %q", got)
		}
		return nil
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := b.SessionState(); got != "StateClosed" {
		t.Fatalf("after Close: %q", got)
	}
}
