package zktest

import (
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/goleak"
)

func TestStartCliAndProxy(t *testing.T) {
	atStart := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, atStart) }) // runs after the cleanups below
	s := Start(t)
	p := NewProxy(t, s)
	conn, _, err := gozk.Connect([]string{p.Addr}, time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/hello", []byte(`{"version":"1"}`), gozk.FlagEphemeral, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatalf("create: %v\n%s", err, s.LogTail())
	}
	if out := s.Cli(t, "get", "/hello"); !strings.Contains(out, `{"version":"1"}`) {
		t.Fatalf("zkCli get /hello printed %q", out)
	}
	// Pausing past the session timeout expires the session: the ephemeral goes.
	p.Pause()
	other, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, _, err := other.Exists("/hello")
		if err == nil && !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ephemeral still there after pausing the owner's connection: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Resume()
}
