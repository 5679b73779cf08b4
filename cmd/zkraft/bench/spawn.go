package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// spawnConfig is what spawnBroker needs from ProduceConfig.
type spawnConfig struct {
	binary    string
	parentDir string
	timeout   time.Duration
	overrides []string // extra `serve --override` key=value (zkraft only)
	// protocol other than PLAINTEXT (zkraft only) adds a listener of that protocol, keyed
	// by pki, which the load then uses (broker.loadAddr).
	protocol string
	pki      *benchPKI
}

// broker is one broker child process: `<binary> serve ...` or `<binary> bench kfake-serve`,
// in its own temp dir, stdout and stderr going to dir/broker.log. It owns one goroutine (the
// cmd.Wait that closes done); stop waits for it.
type broker struct {
	target string
	addr   string
	// loadAddr is where the load goes: addr, or the secured listener of spawnConfig.protocol.
	loadAddr string
	dir      string
	logPath  string
	cmd      *exec.Cmd
	logf     *os.File
	done     chan struct{}
	waitErr  error // valid once done is closed
}

var listeningLine = regexp.MustCompile(`(?m)^listening (\S+)$`)

// spawnBroker starts a broker child for target and waits until a kgo client can talk to it.
// On error nothing is left running and the temp dir is removed.
func spawnBroker(ctx context.Context, target string, sc spawnConfig, logger *zap.Logger) (b *broker, err error) {
	dir, err := os.MkdirTemp(sc.parentDir, "zkraft-bench-"+target+"-*")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: temp dir in %q: %w", ErrBrokerStart, target, sc.parentDir, err)
	}
	b = &broker{target: target, dir: dir, logPath: filepath.Join(dir, "broker.log"), done: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = b.stop(5 * time.Second)
			b.remove()
		}
	}()

	var args []string
	switch target {
	case TargetZkraft:
		port, ctrlPort, err := freePorts()
		if err != nil {
			return b, fmt.Errorf("%w: %s: %w", ErrBrokerStart, target, err)
		}
		b.addr = fmt.Sprintf("127.0.0.1:%d", port)
		ctrl := fmt.Sprintf("127.0.0.1:%d", ctrlPort)
		args = []string{"serve",
			"--override", "listeners=PLAINTEXT://" + b.addr + ",CONTROLLER://" + ctrl,
			"--override", "controller.quorum.voters=1@" + ctrl,
			"--override", "log.dirs=" + filepath.Join(dir, "logs"),
			"--override", "metadata.log.dir=" + filepath.Join(dir, "meta"),
		}
		b.loadAddr = b.addr
		if sc.protocol != "" && sc.protocol != ProtocolPlaintext {
			ports, err := freePortList(1)
			if err != nil {
				return b, fmt.Errorf("%w: %s: %w", ErrBrokerStart, target, err)
			}
			b.loadAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
			for _, kv := range sc.pki.listenerOverrides(sc.protocol, b.addr, b.loadAddr, ctrl) {
				args = append(args, "--override", kv)
			}
		}
		for _, kv := range sc.overrides {
			args = append(args, "--override", kv)
		}
	case TargetKfake:
		args = []string{"bench", "kfake-serve", "--addr", "127.0.0.1:0"}
	default:
		return b, fmt.Errorf("%w: unknown target %q", ErrBrokerStart, target)
	}

	if err := b.exec(sc.binary, args, logger); err != nil {
		return b, fmt.Errorf("%w: %s: %w", ErrBrokerStart, target, err)
	}

	deadline := time.Now().Add(sc.timeout)
	if target == TargetKfake {
		// the child picks its own port and prints it.
		err := poll(ctx, deadline, 20*time.Millisecond, func() (bool, error) {
			if b.exited() {
				return false, fmt.Errorf("exited during start-up: %v", b.waitErr)
			}
			out, _ := os.ReadFile(b.logPath)
			if m := listeningLine.FindSubmatch(out); m != nil {
				b.addr = string(m[1])
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			return b, fmt.Errorf("%w: %s: no `listening` line: %w\n%s", ErrBrokerStart, target, err, b.logTail())
		}
	}
	if err := waitReady(ctx, b, deadline); err != nil {
		return b, err
	}
	if b.loadAddr == "" {
		b.loadAddr = b.addr
	}
	return b, nil
}

// exec starts `binary args...` in b.dir with stdout and stderr appended to b.logPath (a
// restart keeps the earlier output) and the goroutine that waits for it. b must not be running.
func (b *broker) exec(binary string, args []string, logger *zap.Logger) error {
	logf, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = b.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("exec %s: %w", binary, err)
	}
	b.cmd, b.logf, b.done, b.waitErr = cmd, logf, make(chan struct{}), nil
	done := b.done
	go func() {
		b.waitErr = cmd.Wait()
		close(done)
	}()
	logger.Info("spawned broker", zap.Int("pid", cmd.Process.Pid),
		zap.String("dir", b.dir), zap.Strings("args", args))
	return nil
}

// waitReady polls until a kgo client gets a Metadata response from the broker.
func waitReady(ctx context.Context, b *broker, deadline time.Time) error {
	var last error
	err := poll(ctx, deadline, 100*time.Millisecond, func() (bool, error) {
		if b.exited() {
			return false, fmt.Errorf("exited during start-up: %v", b.waitErr)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
		if err != nil {
			return false, err
		}
		defer cl.Close()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if last = cl.Ping(pctx); last != nil {
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%w: %s on %s: %w (last ping: %v)\n%s", ErrBrokerStart, b.target, b.addr, err, last, b.logTail())
	}
	return nil
}

func (b *broker) pid() int { return b.cmd.Process.Pid }

func (b *broker) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to timeout for the exit, then SIGKILLs. It returns the child's
// exit error (nil for a clean exit) or a timeout error; calling it twice is harmless.
func (b *broker) stop(timeout time.Duration) error {
	defer func() {
		if b.logf != nil {
			b.logf.Close()
		}
	}()
	if b.cmd == nil {
		return nil
	}
	if !b.exited() {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-b.done:
		return b.waitErr
	case <-time.After(timeout):
		_ = b.cmd.Process.Kill()
		<-b.done
		return fmt.Errorf("%s (pid %d) did not exit within %s of SIGTERM; killed", b.target, b.pid(), timeout)
	}
}

// remove deletes the broker's temp dir (data and log).
func (b *broker) remove() { _ = os.RemoveAll(b.dir) }

// logTail returns the last few KiB of the child's output, for error messages.
func (b *broker) logTail() string {
	out, _ := os.ReadFile(b.logPath)
	const keep = 4000
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return "(broker log " + b.logPath + " is empty)"
	}
	return "broker log " + b.logPath + " (tail):\n" + string(out)
}

// freePorts returns two loopback ports that were free a moment ago.
func freePorts() (int, int, error) {
	ports, err := freePortList(2)
	if err != nil {
		return 0, 0, err
	}
	return ports[0], ports[1], nil
}

// freePortList returns n loopback ports that were free a moment ago, all held open until
// every one is picked so that none is handed out twice.
func freePortList(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// poll calls fn every interval until it reports done, returns an error, ctx ends or the
// deadline passes.
func poll(ctx context.Context, deadline time.Time, interval time.Duration, fn func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := fn()
		if err != nil || done {
			return err
		}
		if !time.Now().Before(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ensureTopic creates topic with the given partitions, replication factor rf and topic configs
// (key, value pairs) through a kmsg CreateTopicsRequest (an existing topic is accepted), then
// waits until a Metadata response shows every partition with a leader.
func ensureTopic(ctx context.Context, brokers []string, topic string, partitions int32, rf int16, deadline time.Time, configs ...[2]string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("%w: %s: client: %w", ErrTopic, topic, err)
	}
	defer cl.Close()

	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = topic
	rt.NumPartitions = partitions
	rt.ReplicationFactor = rf
	for _, kv := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = kv[0], kmsg.StringPtr(kv[1])
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	var created, existed bool
	var last error
	err = poll(ctx, deadline, 200*time.Millisecond, func() (bool, error) {
		if !created {
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				last = err
				return false, nil
			}
			if len(resp.Topics) != 1 {
				return false, fmt.Errorf("CreateTopics answered %d topics, want 1", len(resp.Topics))
			}
			if kerrCode := resp.Topics[0].ErrorCode; kerrCode != 0 && kerrCode != kerr.TopicAlreadyExists.Code {
				kErr := kerr.ErrorForCode(kerrCode)
				if kerr.IsRetriable(kErr) {
					last = kErr
					return false, nil
				}
				return false, fmt.Errorf("CreateTopics: %v", kErr)
			}
			created = true
			existed = resp.Topics[0].ErrorCode == kerr.TopicAlreadyExists.Code
		}
		md := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(topic)
		md.Topics = append(md.Topics, mt)
		resp, err := md.RequestWith(ctx, cl)
		if err != nil {
			last = err
			return false, nil
		}
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
			last = fmt.Errorf("metadata for %s not ready", topic)
			return false, nil
		}
		t := resp.Topics[0]
		if int32(len(t.Partitions)) != partitions {
			last = fmt.Errorf("metadata shows %d partitions, want %d", len(t.Partitions), partitions)
			if existed || int32(len(t.Partitions)) > partitions {
				return false, last // an existing topic of another layout: a run on it would mislead
			}
			return false, nil
		}
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 || p.Leader < 0 {
				last = fmt.Errorf("partition %d has no leader yet", p.Partition)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%w: %s on %s: %w (last: %v)", ErrTopic, topic, strings.Join(brokers, ","), err, last)
	}
	return nil
}
