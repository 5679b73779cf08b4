package meta

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/quorum"
	"github.com/zkraft/zkraft/quorum/quorumtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fixtureRoot holds the shared fixture; TestMain removes it.
var fixtureRoot string

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureRoot != "" {
		os.RemoveAll(fixtureRoot)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// clusterID is fixed so that golden files do not change between runs.
var clusterID = metadata.Uuid{0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}.String()

// seqUuids returns a deterministic id source for topic ids.
func seqUuids() func() metadata.Uuid {
	var mu sync.Mutex
	n := byte(0)
	return func() metadata.Uuid {
		mu.Lock()
		defer mu.Unlock()
		n++
		return metadata.Uuid{0x10, n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n}
	}
}

func nodeConfig(dir string) quorum.Config {
	cfg := quorumtest.Voter(dir, 1)
	cfg.ClusterID = clusterID
	cfg.Controller.NewUuid = seqUuids()
	return cfg
}

// startNode starts a single-voter quorum node and waits until its leader
// no-op is in the log, so that the entries the test writes next have
// fixed offsets. It reads raft.db while the node holds its lock, so it
// also proves that reading a live directory works (through a copy).
func startNode(t *testing.T, cfg quorum.Config) *quorum.Node {
	t.Helper()
	ctx := testCtx(t)
	n := quorumtest.Start(t, "quorum", cfg)
	wait.Until(t, 30*time.Second, "leader NoOpRecord in raft.db", func() bool {
		l, err := Open(ctx, cfg.Dir, OpenOptions{LockTimeout: 10 * time.Millisecond})
		if err != nil || l.Err != nil {
			return false
		}
		if !l.Copied {
			t.Fatalf("raft.db of a running node was not read from a copy")
		}
		for _, e := range l.Entries {
			for _, r := range e.Records {
				if _, ok := r.(*metadata.NoOpRecord); ok {
					return true
				}
			}
		}
		return false
	})
	return n
}

// fixture is a metadata log directory produced by a real run: a broker
// registered and unfenced, three topics created (one with configs), a
// snapshot, then one topic deleted. Offsets (see testdata/dump.golden):
// the snapshot covers the creations, the deletion follows it.
type fixture struct {
	dir       string
	created   uint64 // offset of the last topic creation
	snapshot  uint64 // raft index of the snapshot
	deleted   uint64 // offset of the RemoveTopicRecord
	lastIndex uint64
}

var (
	fixtureOnce sync.Once
	fixtureVal  fixture
	fixtureErr  string
)

// makeFixture builds the directory once per test binary; tests copy it
// when they damage it.
func makeFixture(t *testing.T) fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zkraft-meta-fixture")
		if err != nil {
			fixtureErr = err.Error()
			return
		}
		fixtureRoot = dir
		fixtureVal = buildFixture(t, filepath.Join(dir, "metadata"), nodeConfig)
	})
	if fixtureErr != "" {
		t.Fatal(fixtureErr)
	}
	if fixtureVal.dir == "" {
		t.Fatal("fixture was not built (see the first test's failure)")
	}
	return fixtureVal
}

// fixtureImage opens the fixture's log and builds its image at the last
// offset.
func fixtureImage(t *testing.T) (fixture, *Log, *State) {
	t.Helper()
	f := makeFixture(t)
	l, err := Open(testCtx(t), f.dir, DefaultOpenOptions())
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.ImageAt(l.LastOffset())
	if err != nil {
		t.Fatal(err)
	}
	return f, l, st
}

func buildFixture(t *testing.T, dir string, mk func(string) quorum.Config) fixture {
	ctx := testCtx(t)
	cfg := mk(dir)
	n := startNode(t, cfg)
	f := fixture{dir: dir}
	epoch, err := n.RegisterBroker(ctx, metadata.BrokerRegistration{
		ID:            1,
		IncarnationID: metadata.Uuid{0x20, 1},
		Endpoints:     []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}},
		Features:      []metadata.BrokerFeature{{Name: "metadata.version", MinSupportedVersion: 1, MaxSupportedVersion: 21}},
		Rack:          "rack-a",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.UnfenceBroker(ctx, 1, epoch); err != nil {
		t.Fatal(err)
	}
	specs := []metadata.CreateTopicSpec{
		{Name: "orders", NumPartitions: 3, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "60000", "cleanup.policy": "delete"}},
		{Name: "payments", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "scratch", NumPartitions: 2, ReplicationFactor: 1},
	}
	for i, err := range n.CreateTopics(ctx, specs, false) {
		if err != nil {
			t.Fatalf("create %s: %v", specs[i].Name, err)
		}
	}
	f.created = uint64(n.Image().Offset())
	if err := n.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, err := range n.DeleteTopics(ctx, []string{"scratch"}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	f.deleted = uint64(n.Image().Offset())
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := Open(ctx, dir, DefaultOpenOptions())
	if err != nil {
		t.Fatal(err)
	}
	if l.Copied {
		t.Fatal("raft.db of a closed node was read from a copy")
	}
	if len(l.Snapshots) != 1 {
		t.Fatalf("%d snapshots, want 1", len(l.Snapshots))
	}
	f.snapshot = l.Snapshots[0].Index
	f.lastIndex = l.Last
	return f
}

// copyDir copies a metadata directory so that a test may damage it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "metadata")
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

var (
	timeRe  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	snapRe  = regexp.MustCompile(`(\b\d+-\d+-)\d{13}\b`)
	portRe  = regexp.MustCompile(`127\.0\.0\.1:\d{4,5}\b`)
	fixedTS = "2000-01-01T00:00:00.000Z"
)

// normalize replaces what differs between runs (directory, times, the
// snapshot's millisecond stamp, the raft port) with fixed text of the same
// width, so that aligned columns stay aligned.
func normalize(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "<dir>")
	s = timeRe.ReplaceAllStringFunc(s, func(m string) string {
		if len(m) == len(fixedTS) {
			return fixedTS
		}
		return "2000-01-01T00:00:00Z"
	})
	s = snapRe.ReplaceAllString(s, "${1}1700000000000")
	s = strings.ReplaceAll(s, "127.0.0.1:9092", "127.0.0.1:KAFKA")
	s = portRe.ReplaceAllString(s, "127.0.0.1:RAFT")
	return strings.ReplaceAll(s, "127.0.0.1:KAFKA", "127.0.0.1:9092")
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// runMeta runs Main and returns normalized stdout and stderr.
func runMeta(t *testing.T, dir, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Main(testCtx(t), args, strings.NewReader(stdin), &out, &errOut)
	return normalize(out.String(), dir), normalize(errOut.String(), dir), err
}
