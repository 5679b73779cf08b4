package main_test

// The end-to-end harness: build the real binary once, start it as a child process in a temp
// dir on free loopback ports, and drive it with real Kafka clients (franz-go kgo and kcat).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// zkraftBinary builds ./cmd/zkraft once per test process.
func zkraftBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zkraft-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "zkraft")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build zkraft: %v", buildErr)
	}
	return binPath
}

// requireTool fails (never skips) when an external tool the test needs is missing.
func requireTool(t *testing.T, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required by this test and was not found on PATH (%s)", name, hint)
	}
	return p
}

// handedOut holds every port freePort returned in this test process: a port
// is free when picked but is not bound until the child process starts, so the
// kernel may offer it again to the next pick; never hand it out twice.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// freePort returns a loopback port that was free a moment ago and that no
// other freePort call of this process returned.
func freePort(t *testing.T) int {
	t.Helper()
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for tries := 0; tries < 100; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return port
		}
	}
	t.Fatal("no fresh loopback port after 100 tries")
	return 0
}

// node is one zkraft process.
type node struct {
	t         *testing.T
	dir       string
	args      []string
	addr      string // PLAINTEXT listener
	ctrlAddr  string
	cmd       *exec.Cmd
	done      chan struct{}
	waitErr   error
	logPath   string
	startings int
	// metricsAddr is zkraft.metrics.listener's host:port, when set.
	metricsAddr string
	// clientOpts are added to every Kafka client of the node (waitReady,
	// client): a TLS listener's DialTLSConfig.
	clientOpts []kgo.Opt
}

// startNode starts a combined broker+controller in quorum mode (node 1) in dir with the given
// extra overrides (key=value).
func startNode(t *testing.T, dir string, extra ...string) *node {
	t.Helper()
	n := &node{t: t, dir: dir}
	n.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	n.ctrlAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	n.args = []string{"serve",
		"--override", "listeners=PLAINTEXT://" + n.addr + ",CONTROLLER://" + n.ctrlAddr,
		"--override", "controller.quorum.voters=1@" + n.ctrlAddr,
		"--override", "log.dirs=" + filepath.Join(dir, "kafka-logs"),
		"--override", "metadata.log.dir=" + filepath.Join(dir, "metadata"),
	}
	for _, kv := range extra {
		n.args = append(n.args, "--override", kv)
	}
	n.start()
	t.Cleanup(func() { n.kill() })
	return n
}

func (n *node) start() {
	n.t.Helper()
	n.startings++
	n.logPath = filepath.Join(n.dir, fmt.Sprintf("zkraft-%d.log", n.startings))
	logf, err := os.Create(n.logPath)
	if err != nil {
		n.t.Fatal(err)
	}
	n.cmd = exec.Command(zkraftBinary(n.t), n.args...)
	n.cmd.Dir = n.dir
	n.cmd.Stdout = logf
	n.cmd.Stderr = logf
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("start zkraft: %v", err)
	}
	n.done = make(chan struct{})
	go func() {
		n.waitErr = n.cmd.Wait()
		logf.Close()
		close(n.done)
	}()
	n.waitReady()
}

// waitReady polls until a Kafka client sees the broker in a Metadata response.
func (n *node) waitReady() {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			n.t.Fatalf("zkraft exited during start-up: %v\n%s", n.waitErr, n.logTail())
		default:
		}
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(n.addr)}, n.clientOpts...)...)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = cl.Ping(ctx)
			cancel()
			cl.Close()
			if err == nil {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.t.Fatalf("zkraft did not become ready on %s\n%s", n.addr, n.logTail())
}

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop(timeout time.Duration) error {
	if n.cmd == nil || n.cmd.Process == nil {
		return nil
	}
	select {
	case <-n.done:
		return n.waitErr
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		return n.waitErr
	case <-time.After(timeout):
		_ = n.cmd.Process.Kill()
		<-n.done
		return errors.New("did not exit after SIGTERM within " + timeout.String())
	}
}

// kill sends SIGKILL (kill -9) and waits.
func (n *node) kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Kill()
	<-n.done
}

func (n *node) logTail() string {
	b, _ := os.ReadFile(n.logPath)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

func (n *node) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(n.addr)}, n.clientOpts...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// runKcat runs kcat with a timeout and returns stdout; stderr is included in failures.
func runKcat(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	kcat := requireTool(t, "kcat", "make test installs it with: apt-get install -y kcat")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}
