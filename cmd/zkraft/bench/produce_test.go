package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

// TestMain lets this test binary stand in for the zkraft binary: run as
// `<test binary> bench kfake-serve ...` it serves kfake, so the spawn path (child process,
// /proc CPU accounting, SIGTERM) is tested without building cmd/zkraft.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "bench" && os.Args[2] == "kfake-serve" {
		if err := ServeKfake(context.Background(), os.Args[3:], os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) >= 2 && os.Args[1] == "serve" {
		os.Exit(fakeServe(os.Args[2:]))
	}
	goleak.VerifyTestMain(m)
}

// fakeServe stands in for `zkraft serve` in the compare-mode test: it checks that bench passed
// the overrides a real zkraft needs, then serves kfake on the PLAINTEXT listener. It tests
// bench's orchestration, not zkraft.
func fakeServe(args []string) int {
	kv := map[string]string{}
	for i := 0; i < len(args); i++ {
		if args[i] != "--override" || i+1 == len(args) {
			fmt.Fprintf(os.Stderr, "fake serve: unexpected argument %q\n", args[i])
			return 2
		}
		i++
		k, v, _ := strings.Cut(args[i], "=")
		kv[k] = v
	}
	listeners := strings.Split(kv["listeners"], ",")
	addr, ok := strings.CutPrefix(listeners[0], "PLAINTEXT://")
	ctrl, ok2 := strings.CutPrefix(listeners[len(listeners)-1], "CONTROLLER://")
	cwd, _ := os.Getwd()
	switch {
	case len(listeners) != 2 || !ok || !ok2:
		fmt.Fprintf(os.Stderr, "fake serve: bad listeners %q\n", kv["listeners"])
		return 2
	case kv["controller.quorum.voters"] != "1@"+ctrl:
		fmt.Fprintf(os.Stderr, "fake serve: voters %q do not match controller %q\n", kv["controller.quorum.voters"], ctrl)
		return 2
	case kv["log.dirs"] != filepath.Join(cwd, "logs") || kv["metadata.log.dir"] != filepath.Join(cwd, "meta"):
		fmt.Fprintf(os.Stderr, "fake serve: dirs %q %q not under cwd %q\n", kv["log.dirs"], kv["metadata.log.dir"], cwd)
		return 2
	}
	if err := ServeKfake(context.Background(), []string{"--addr", addr}, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runMainJSON runs Main with --json and decodes the report.
func runMainJSON(t *testing.T, args ...string) (*Report, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Main(t.Context(), append(args, "--json"), &out, &errOut)
	t.Logf("stderr:\n%s", errOut.String())
	var rep Report
	if out.Len() > 0 {
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", jerr, out.String())
		}
	}
	return &rep, err
}

// TestProduceAgainstInProcessKfake drives `bench produce --target kfake` at a kfake cluster
// in this process and checks the report against the cluster: every record sent was
// acknowledged, and the partitions' high watermarks add up to the acknowledged records.
func TestProduceAgainstInProcessKfake(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const records = 3000
	rep, err := runMainJSON(t, "produce", "--brokers", c.ListenAddrs()[0], "--target", "kfake",
		"--records", "3000", "--record-size", "200", "--partitions", "4", "--topic", "bench-it",
		"--pairs", "2", "--latency-fraction", "0.5", "--duration", "60s", "--disk-mib", "1",
		"--dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 3 {
		t.Fatalf("got %d runs, want 2 peak + 1 latency: %+v", len(rep.Runs), rep.Runs)
	}
	var acked int64
	for i, r := range rep.Runs {
		wantKind := KindPeak
		if i == 2 {
			wantKind = KindLatency
		}
		if r.Kind != wantKind || r.Target != TargetKfake || r.Index != i+1 {
			t.Errorf("run %d = %s/%s #%d, want kfake/%s #%d", i, r.Target, r.Kind, r.Index, wantKind, i+1)
		}
		if r.Sent != records || r.Acked != records || r.Failed != 0 || r.FirstError != "" {
			t.Errorf("run %d: sent %d acked %d failed %d (%s), want all %d acknowledged",
				r.Index, r.Sent, r.Acked, r.Failed, r.FirstError, records)
		}
		if r.RecordsPerSec <= 0 || r.MiBPerSec <= 0 || r.P99Ms < r.P50Ms || r.P50Ms <= 0 {
			t.Errorf("run %d: implausible figures %+v", r.Index, r)
		}
		if r.BrokerCPUSeconds != nil {
			t.Errorf("run %d: CPU measured for a broker that was not spawned", r.Index)
		}
		if r.WarmupRecords != 1 {
			t.Errorf("run %d: %d warm-up records, want 1", r.Index, r.WarmupRecords)
		}
		acked += r.Acked + r.WarmupRecords
	}
	if lr := rep.Runs[2].Rate; lr <= 0 || rep.Summary.LatencyRate != lr {
		t.Errorf("latency run rate %v, summary latency rate %v", lr, rep.Summary.LatencyRate)
	}
	if _, ok := rep.Summary.Latency[TargetKfake]; !ok {
		t.Error("summary has no kfake latency")
	}
	if rep.Disk == nil || rep.Disk.MiB != 1 || rep.Disk.MiBPerSec <= 0 {
		t.Errorf("disk = %+v, want a 1 MiB probe", rep.Disk)
	}

	var hwm int64
	infos := c.PartitionInfos("bench-it")
	if len(infos) != 4 {
		t.Fatalf("cluster has %d partitions of bench-it, want 4", len(infos))
	}
	for _, p := range infos {
		hwm += p.HighWatermark
	}
	if hwm != acked {
		t.Errorf("partitions hold %d records, report acknowledged %d (warm-up included)", hwm, acked)
	}
}

// TestProduceSpawnsKfakeChild runs the real spawn path: each run starts `<binary> bench
// kfake-serve` as a child (this test binary, see TestMain), creates the topic, measures the
// child's CPU and stops it with SIGTERM.
func TestProduceSpawnsKfakeChild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rep, err := runMainJSON(t, "produce", "--target", "kfake", "--zkraft-binary", exe,
		"--records", "2000", "--record-size", "512", "--partitions", "3", "--pairs", "1",
		"--latency-fraction", "0", "--acks", "1", "--duration", "60s", "--disk-mib", "0", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(rep.Runs))
	}
	r := rep.Runs[0]
	if r.Sent != 2000 || r.Acked != 2000 || r.Failed != 0 {
		t.Errorf("sent %d acked %d failed %d, want 2000 acknowledged", r.Sent, r.Acked, r.Failed)
	}
	if r.BrokerCPUSeconds == nil || r.CPUSecondsPerGiB == nil {
		t.Errorf("no broker CPU figures for a spawned broker: %+v", r)
	}
	if r.BrokerExit != "" {
		t.Errorf("broker did not exit cleanly on SIGTERM: %s", r.BrokerExit)
	}
	if rep.Disk != nil {
		t.Errorf("disk probe ran with --disk-mib 0")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "zkraft-bench-*"))
	if len(left) != 0 {
		t.Errorf("temp dirs left behind: %v", left)
	}
}

// TestProduceCompareMode runs the default compare mode end to end with this test binary as
// both brokers (see fakeServe): alternating pairs, the summary ratios and the latency runs.
func TestProduceCompareMode(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runMainJSON(t, "produce", "--zkraft-binary", exe, "--records", "1500",
		"--record-size", "256", "--partitions", "2", "--pairs", "2", "--latency-fraction", "0.5",
		"--duration", "60s", "--disk-mib", "0", "--dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"zkraft/peak", "kfake/peak", "zkraft/peak", "kfake/peak", "zkraft/latency", "kfake/latency"}
	if len(rep.Runs) != len(want) {
		t.Fatalf("got %d runs, want %v", len(rep.Runs), want)
	}
	for i, r := range rep.Runs {
		if got := r.Target + "/" + r.Kind; got != want[i] {
			t.Errorf("run %d is %s, want %s", i+1, got, want[i])
		}
		if r.Acked != 1500 || r.Failed != 0 || r.CPUSecondsPerGiB == nil || r.BrokerExit != "" {
			t.Errorf("run %d: acked %d failed %d cpu %v exit %q", i+1, r.Acked, r.Failed, optF(r.CPUSecondsPerGiB, 2), r.BrokerExit)
		}
	}
	s := rep.Summary
	if s.ThroughputRatio == nil || *s.ThroughputRatio <= 0 {
		t.Errorf("summary has no throughput ratio: %+v", s)
	}
	// A CPU ratio needs a pair whose kfake run measured CPU at all: a run
	// this small can take less than one clock tick (10 ms) of it.
	measurable := false
	for _, pair := range [][2]int{{0, 1}, {2, 3}} {
		z, k := rep.Runs[pair[0]].CPUSecondsPerGiB, rep.Runs[pair[1]].CPUSecondsPerGiB
		measurable = measurable || (z != nil && k != nil && *k > 0)
	}
	if (s.CPURatio != nil) != measurable {
		t.Errorf("CPU ratio %v, but a pair with kfake CPU measured: %v", optF(s.CPURatio, 2), measurable)
	}
	if rep.Runs[4].Rate != rep.Runs[5].Rate || rep.Runs[4].Rate != s.LatencyRate || s.LatencyRate <= 0 {
		t.Errorf("latency runs at %v and %v rec/s, summary says %v", rep.Runs[4].Rate, rep.Runs[5].Rate, s.LatencyRate)
	}
	if len(s.Latency) != 2 {
		t.Errorf("latency summary for %d targets, want 2", len(s.Latency))
	}
}

// TestProduceReportsBrokerThatNeverStarts: a binary that exits at once is a start failure
// naming the target, not a hang.
func TestProduceReportsBrokerThatNeverStarts(t *testing.T) {
	_, err := runMainJSON(t, "produce", "--target", "kfake", "--zkraft-binary", "/bin/false",
		"--records", "10", "--pairs", "1", "--disk-mib", "0", "--dir", t.TempDir(), "--start-timeout", "20s")
	if !errors.Is(err, ErrBrokerStart) || !strings.Contains(err.Error(), "kfake") {
		t.Fatalf("err = %v, want ErrBrokerStart naming kfake", err)
	}
}

func TestServeKfake(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- ServeKfake(ctx, []string{"--addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read listening line: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("first line %q, want `listening 127.0.0.1:<port>`", line)
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drains until ServeKfake returns and closes pw

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("t"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	if err := ensureTopic(ctx, []string{addr}, "t", 2, 1, time.Now().Add(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce to kfake-serve: %v", err)
	}
	cl.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeKfake returned %v after ctx cancel", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ServeKfake did not return after ctx cancel")
	}
}
