package zktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InstallHint is the failure message when ZooKeeper is missing.
const InstallHint = "install zookeeper (make test does: apt-get install -y zookeeper)"

// Jar locations of Debian's zookeeper package (the jar's manifest names the
// rest of its class path).
var jarCandidates = []string{"/usr/share/java/zookeeper.jar", "/usr/share/zookeeper/zookeeper.jar"}

// ZkCli is Debian's command-line client.
const ZkCli = "/usr/share/zookeeper/bin/zkCli.sh"

// TickTime is the server's tick. ZooKeeper bounds session timeouts to
// [2, MaxSessionTicks] ticks, so tests may ask for sessions as short as 2*TickTime.
const TickTime = 200 * time.Millisecond

// Server is one running standalone ZooKeeper.
type Server struct {
	Addr string // 127.0.0.1:port
	Dir  string // data dir, zoo.cfg and server.log

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	once sync.Once
}

func findJar() (string, error) {
	for _, j := range jarCandidates {
		if _, err := os.Stat(j); err == nil {
			return j, nil
		}
	}
	return "", errors.New("zookeeper.jar not found in " + strings.Join(jarCandidates, ", "))
}

// TestJVMFlags are Start's JVM flags: a small heap and the C1 compiler
// only, for a quick start on a machine many tests share.
var TestJVMFlags = []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}

// Options choose how StartWith runs the server.
type Options struct {
	// JVMFlags go before the class path; nil = the JVM's defaults (heap a
	// quarter of the RAM, G1, full JIT), as Debian's zkServer.sh runs
	// ZooKeeper (JAVA_OPTS=""). Benchmarks at 100k znodes use that: with
	// TestJVMFlags the server spends most of its time collecting garbage.
	JVMFlags []string
}

// Start starts a ZooKeeper server and waits until it serves requests. It
// fails the test if ZooKeeper or java is missing or the server does not come
// up within 60 s.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{JVMFlags: TestJVMFlags})
}

// StartWith is Start with opts.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	jar, err := findJar()
	if err != nil {
		t.Fatalf("%v: %s", err, InstallHint)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java not found on PATH: %s", InstallHint)
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, done: make(chan struct{})}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		if lastErr = s.launch(java, jar, port, opts.JVMFlags); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("start zookeeper: %v", lastErr)
	return nil
}

func (s *Server) launch(java, jar string, port int, jvmFlags []string) error {
	data := filepath.Join(s.Dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`tickTime=%d
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
minSessionTimeout=%d
maxSessionTimeout=60000
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
`, TickTime.Milliseconds(), data, port, 2*TickTime.Milliseconds())
	cfgPath := filepath.Join(s.Dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(s.Dir, "server.log"))
	if err != nil {
		return err
	}
	args := append(slices.Clone(jvmFlags), "-Dzookeeper.admin.enableServer=false", "-cp", jar,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgPath)
	s.cmd = exec.Command(java, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("run java: %w", err)
	}
	s.done = make(chan struct{})
	go func() {
		s.err = s.cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("zookeeper exited: %v\n%s", s.err, s.LogTail())
		default:
		}
		if serving(s.Addr) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("zookeeper on %s did not serve requests within 60s\n%s", s.Addr, s.LogTail())
}

// serving sends ZooKeeper's four-letter "srvr": a server that accepts
// connections but is still loading answers "not currently serving requests"
// (and "ruok" already says "imok" then), a ready one names its Mode.
func serving(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return false
	}
	out, _ := io.ReadAll(c)
	return bytes.Contains(out, []byte("Mode: "))
}

// Stop terminates the server (SIGTERM, then SIGKILL after 10 s) and waits.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// LogTail is the end of the server's log, for failure messages.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Cli runs `zkCli.sh -server <addr> <args...>` and returns its stdout. It
// fails the test if zkCli.sh is missing or exits with an error.
func (s *Server) Cli(t testing.TB, args ...string) string {
	t.Helper()
	if _, err := os.Stat(ZkCli); err != nil {
		t.Fatalf("%s: %v: %s", ZkCli, err, InstallHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ZkCli, append([]string{"-server", s.Addr}, args...)...)
	cmd.Env = append(os.Environ(), "ZOO_LOG_DIR="+s.Dir, "CLIENT_JVMFLAGS=-XX:TieredStopAtLevel=1 -Xmx128m")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("zkCli.sh %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
