package meta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/zkraft/zkraft/metadata"
	zkmeta "github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/quorum"
)

// TestGolden runs dump and the one-shot shell commands over a directory
// produced by a real quorum.Node and compares with testdata/*.golden.
func TestGolden(t *testing.T) {
	f := makeFixture(t)
	at := func(o uint64) string { return fmt.Sprint(o) }
	tests := []struct {
		name string
		args []string
	}{
		{"dump", []string{"dump", "--dir", f.dir}},
		{"dump_json", []string{"dump", "--dir", f.dir, "--json"}},
		{"dump_type", []string{"dump", "--dir", f.dir, "--type", "TopicRecord,REMOVE_TOPIC_RECORD,control", "--from", at(f.snapshot)}},
		{"ls_root", []string{"--dir", f.dir, "ls", "/"}},
		{"ls_glob", []string{"--dir", f.dir, "ls", "/image/topics/byName/*"}},
		{"tree_image", []string{"--dir", f.dir, "tree", "/image"}},
		{"tree_json", []string{"--dir", f.dir, "--json", "tree", "/image/topics/byName"}},
		{"cat_partition", []string{"--dir", f.dir, "cat", "/image/topics/byName/orders/0", "/image/cluster/brokers/1", "/image/provenance"}},
		{"cat_json", []string{"cat", "--json", "/image/topics/byName/orders/1", "/image/cluster/brokers/1", "--dir", f.dir}},
		{"find_configs", []string{"--dir", f.dir, "find", "/image/configs", "/image/features"}},
		{"at_created", []string{"--dir", f.dir, "--at", at(f.created), "ls", "/image/topics/byName"}},
		{"diff", []string{"diff", "--dir", f.dir, "--at", at(f.created), "--to", at(f.deleted)}},
		{"diff_json", []string{"diff", "--dir", f.dir, "--at", "0", "--to", at(f.created), "--json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runMeta(t, f.dir, "", tc.args...)
			if err != nil {
				t.Fatalf("%v\nstderr: %s", err, errOut)
			}
			golden(t, tc.name, out)
		})
	}
}

// TestShellInteractive feeds a session on stdin.
func TestShellInteractive(t *testing.T) {
	f := makeFixture(t)
	session := strings.Join([]string{
		"pwd",
		"ls",
		"cd image/topics/byName",
		"ls",
		"cat orders/2",
		"cat orders",
		"cd /nope",
		"cd ../byId",
		"pwd",
		"find /image/producerIds",
		"tree /image/cluster",
		"frobnicate",
		"history 3",
		"exit",
		"ls /",
	}, "\n") + "\n"
	// stdout and stderr share one buffer, so errors show where they happen.
	var buf bytes.Buffer
	if err := Main(testCtx(t), []string{"shell", "--dir", f.dir}, strings.NewReader(session), &buf, &buf); err != nil {
		t.Fatal(err)
	}
	out := normalize(buf.String(), f.dir)
	golden(t, "shell_session", out)
	if strings.Contains(out, "[ / ] >> ls /\n") {
		t.Error("a command after exit ran")
	}
}

// TestAt checks time travel: every offset's image equals a replay of the
// log up to it, and the deleted topic exists exactly before its deletion.
func TestAt(t *testing.T) {
	f := makeFixture(t)
	l, err := Open(testCtx(t), f.dir, DefaultOpenOptions())
	if err != nil {
		t.Fatal(err)
	}
	for at := uint64(0); at <= l.LastOffset(); at++ {
		st, err := l.ImageAt(at)
		if err != nil {
			t.Fatalf("at %d: %v", at, err)
		}
		if st.Image.Offset() > int64(at) {
			t.Errorf("at %d: image offset %d is past it", at, st.Image.Offset())
		}
		_, scratch := st.Image.Topic("scratch")
		if want := at >= f.created && at < f.deleted; scratch != want {
			t.Errorf("at %d: topic scratch exists=%v, want %v", at, scratch, want)
		}
		wantFrom := "log"
		if at >= f.snapshot {
			wantFrom = "snapshot " + l.Snapshots[0].ID
		}
		if st.From != wantFrom {
			t.Errorf("at %d: built from %q, want %q", at, st.From, wantFrom)
		}
	}
	// The snapshot path and the log path agree at the snapshot's offset.
	viaSnap, _ := l.ImageAt(f.snapshot)
	noSnap := *l
	noSnap.Snapshots = nil
	viaLog, err := noSnap.ImageAt(f.snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if !viaSnap.Image.Equal(viaLog.Image) || viaSnap.Image.Offset() != viaLog.Image.Offset() {
		t.Errorf("image at %d from the snapshot differs from the log replay", f.snapshot)
	}
	if _, err := l.ImageAt(l.LastOffset() + 1); !errors.Is(err, ErrOffsetUnavailable) {
		t.Errorf("past the end: %v, want ErrOffsetUnavailable", err)
	}
}

// TestAtCompacted: after raft compacted the log behind a snapshot, --at
// below the snapshot names the earliest available offset, and --at at or
// above it restores the snapshot.
func TestAtCompacted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "metadata")
	cfg := nodeConfig(dir)
	cfg.TrailingLogs = 0
	n := startWithBroker(t, cfg)
	ctx := testCtx(t)
	createTopics(t, n, "a")
	if err := n.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	createTopics(t, n, "b")
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := Open(ctx, dir, DefaultOpenOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Snapshots) != 1 || l.First <= 1 {
		t.Fatalf("want a compacted log: %d snapshots, first index %d", len(l.Snapshots), l.First)
	}
	snap := l.Snapshots[0].Index
	earliest, ok := l.EarliestOffset()
	if !ok || earliest != snap {
		t.Fatalf("earliest offset %d (%v), want the snapshot's %d", earliest, ok, snap)
	}
	_, errOut, err := runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(snap-1), "ls", "/image/topics/byName")
	if !errors.Is(err, ErrOffsetUnavailable) || !strings.Contains(err.Error(), fmt.Sprintf("earliest available offset is %d", snap)) {
		t.Fatalf("at %d: err %v (stderr %s), want ErrOffsetUnavailable naming %d", snap-1, err, errOut, snap)
	}
	out, _, err := runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(snap), "ls", "/image/topics/byName")
	if err != nil || out != "a\n" {
		t.Fatalf("at the snapshot: %q, %v; want a", out, err)
	}
	out, _, err = runMeta(t, dir, "", "--dir", dir, "ls", "/image/topics/byName")
	if err != nil || out != "a  b\n" {
		t.Fatalf("at the end: %q, %v; want a and b", out, err)
	}
}

// TestCorrupt damages the files and checks that everything readable is
// shown, then an error names the file and offset.
func TestCorrupt(t *testing.T) {
	f := makeFixture(t)

	t.Run("bad entry", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
		if err != nil {
			t.Fatal(err)
		}
		bad := f.lastIndex + 1
		err = store.StoreLog(&raft.Log{Index: bad, Term: 2, Type: raft.LogCommand, Data: []byte{0, 3, 0xff}})
		store.Close()
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := runMeta(t, dir, "", "dump", "--dir", dir)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err %v, want ErrCorrupt", err)
		}
		want := fmt.Sprintf("raft.db: offset %d", bad)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
		if !strings.Contains(out, "RemoveTopicRecord") || !strings.Contains(out, "-- stopped: ") {
			t.Errorf("dump did not show the entries before the damage:\n%s", out)
		}
		// The shell still shows the image up to the damage, and fails.
		out, _, err = runMeta(t, dir, "", "--dir", dir, "ls", "/image/topics/byName")
		if !errors.Is(err, ErrCorrupt) || strings.Join(strings.Fields(out), " ") != "orders payments" {
			t.Errorf("ls: %q, %v", out, err)
		}
	})

	// One byte of a topic id changed inside an entry: before checksums the
	// entry still decoded, the replay rejected it silently and the image
	// lacked the topic with exit 0.
	t.Run("changed byte that still decodes", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		rewriteEntry(t, dir, f.created, func(data []byte) []byte {
			recs, err := metadata.DecodeBatch(data)
			if err != nil {
				t.Fatal(err)
			}
			id := recs[0].(*metadata.TopicRecord).TopicID
			i := bytes.LastIndex(data, id[:]) // a PartitionRecord's topic id
			data[i+3] ^= 0x40
			return data
		})
		_, _, err := runMeta(t, dir, "", "--dir", dir, "ls", "/image/topics/byName")
		want := fmt.Sprintf("raft.db: offset %d", f.created)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "CRC-32C") || !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v, want a checksum error naming %q", err, want)
		}
		out, _, err := runMeta(t, dir, "", "dump", "--dir", dir)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(out, "-- stopped: ") || !strings.Contains(out, "CRC-32C") {
			t.Errorf("dump: %v\n%s", err, out)
		}
	})

	// A well-formed entry the replay rejects (a partition of an unknown
	// topic) is an error naming the file and offset, not a skipped entry.
	t.Run("rejected entry", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
		if err != nil {
			t.Fatal(err)
		}
		bad := f.lastIndex + 1
		err = store.StoreLog(&raft.Log{Index: bad, Term: 2, Type: raft.LogCommand, Data: metadata.AppendBatch(nil, []metadata.Record{
			&metadata.PartitionRecord{PartitionID: 0, TopicID: metadata.Uuid{9, 9}, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}})})
		store.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = runMeta(t, dir, "", "--dir", dir, "ls", "/image/topics/byName")
		want := fmt.Sprintf("raft.db: offset %d", bad)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "does not replay") {
			t.Fatalf("err %v, want a rejection naming %q", err, want)
		}
		// Below it, the image is still there.
		out, _, err := runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(f.lastIndex), "ls", "/image/topics/byName")
		if err != nil || strings.Join(strings.Fields(out), " ") != "orders payments" {
			t.Errorf("--at %d: %q, %v", f.lastIndex, out, err)
		}
	})

	// A command entry whose raft type byte changed to NOOP would be
	// skipped as a control entry: raft writes no data in one.
	t.Run("command turned control", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
		if err != nil {
			t.Fatal(err)
		}
		var rl raft.Log
		if err := store.GetLog(f.created, &rl); err != nil {
			t.Fatal(err)
		}
		rl.Type = raft.LogNoop
		err = store.StoreLog(&rl)
		store.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(f.created), "ls", "/image/topics/byName")
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", f.created)) {
			t.Fatalf("err %v, want an error naming offset %d", err, f.created)
		}
	})

	// Logs written before checksums (batch version 0) read as before.
	t.Run("version 0 entries", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		for i := uint64(1); i <= f.lastIndex; i++ {
			rewriteEntry(t, dir, i, func(data []byte) []byte {
				if len(data) == 0 || data[0] != 1 {
					return data
				}
				return append([]byte{0}, data[5:]...)
			})
		}
		want, _, err := runMeta(t, f.dir, "", "--dir", f.dir, "--at", fmt.Sprint(f.created), "tree", "/image")
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(f.created), "tree", "/image")
		if err != nil || got != want {
			t.Fatalf("tree of version 0 entries: %v\n%s\nwant\n%s", err, got, want)
		}
		out, _, err := runMeta(t, dir, "", "dump", "--dir", dir)
		if err != nil || !strings.Contains(out, "RemoveTopicRecord") {
			t.Errorf("dump of version 0 entries: %v\n%s", err, out)
		}
	})

	// bbolt silently opens the previous transaction when the newer meta
	// page is damaged; the tool says so.
	t.Run("damaged meta page", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		db := filepath.Join(dir, "raft.db")
		b, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		for _, page := range []int{0, os.Getpagesize()} {
			if binary.LittleEndian.Uint64(b[page+16+48:]) == maxTxid(b) {
				b[page+16+40] ^= 1 // the newer page's page count
			}
		}
		if err := os.WriteFile(db, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err = runMeta(t, dir, "", "--dir", dir, "ls", "/")
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "raft.db: meta page") || !strings.Contains(err.Error(), "previous transaction") {
			t.Fatalf("err %v, want a damaged meta page named", err)
		}
	})

	// --at past what could be read names the damage, not just the end.
	t.Run("at past the damage", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		rewriteEntry(t, dir, f.deleted, func(data []byte) []byte { data[len(data)-1] ^= 1; return data })
		_, _, err := runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(f.deleted), "ls", "/")
		want := fmt.Sprintf("offset %d is past the last readable offset %d: meta: <dir>/raft.db: offset %d", f.deleted, f.deleted-1, f.deleted)
		if !errors.Is(err, ErrOffsetUnavailable) || !errors.Is(err, ErrCorrupt) || !strings.Contains(normalize(err.Error(), dir), want) {
			t.Fatalf("err %v, want %q", err, want)
		}
	})

	t.Run("truncated raft.db", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		db := filepath.Join(dir, "raft.db")
		// Cut inside bbolt's second meta page (pages are 4 KiB).
		if err := os.Truncate(db, 6000); err != nil {
			t.Fatal(err)
		}
		_, _, err := runMeta(t, dir, "", "dump", "--dir", dir)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "raft.db") {
			t.Fatalf("err %v, want ErrCorrupt naming raft.db", err)
		}
	})

	t.Run("garbage raft.db", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		db := filepath.Join(dir, "raft.db")
		b, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		for i := 4096 * 2; i < len(b); i += 7 { // keep the meta pages, trash the rest
			b[i] ^= 0x5a
		}
		if err := os.WriteFile(db, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err = runMeta(t, dir, "", "dump", "--dir", dir)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "raft.db") {
			t.Fatalf("err %v, want ErrCorrupt naming raft.db", err)
		}
		// A page bbolt faults on is named as such, with the offset being
		// read (was a bare "runtime error: invalid memory address").
		if strings.Contains(err.Error(), "runtime error") && !strings.Contains(err.Error(), "a damaged page of the bolt database") {
			t.Errorf("garbage pages: %v", err)
		}
	})

	t.Run("snapshot crc", func(t *testing.T) {
		dir, l := openCopy(t, f)
		state := l.Snapshots[0].Path
		b, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(state, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, err := runMeta(t, dir, "", "dump", "--dir", dir)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "state.bin: CRC-64") {
			t.Fatalf("err %v, want a CRC error naming state.bin", err)
		}
		if !strings.Contains(out, "RemoveTopicRecord") {
			t.Errorf("dump stopped at the bad snapshot:\n%s", out)
		}
		// The log is complete, so images are rebuilt from it instead.
		out, _, err = runMeta(t, dir, "", "--dir", dir, "cat", "/local/source")
		if err != nil || !strings.Contains(out, "from log") {
			t.Errorf("cat /local/source: %q, %v", out, err)
		}
	})

	t.Run("snapshot truncated", func(t *testing.T) {
		dir, l := openCopy(t, f)
		if err := os.Truncate(l.Snapshots[0].Path, 20); err != nil {
			t.Fatal(err)
		}
		_, _, err := runMeta(t, dir, "", "dump", "--dir", dir)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated at byte 20") {
			t.Fatalf("err %v, want a truncation error", err)
		}
	})
}

func maxTxid(b []byte) uint64 {
	return max(binary.LittleEndian.Uint64(b[16+48:]), binary.LittleEndian.Uint64(b[os.Getpagesize()+16+48:]))
}

// startWithBroker starts a node and registers and unfences broker 1.
func startWithBroker(t *testing.T, cfg quorum.Config) *quorum.Node {
	t.Helper()
	n := startNode(t, cfg)
	ctx := testCtx(t)
	epoch, err := n.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 1, IncarnationID: metadata.Uuid{1},
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.UnfenceBroker(ctx, 1, epoch); err != nil {
		t.Fatal(err)
	}
	return n
}

// createTopics creates one-partition topics, one log entry each.
func createTopics(t *testing.T, n *quorum.Node, names ...string) {
	t.Helper()
	for _, name := range names {
		if errs := n.CreateTopics(testCtx(t), []metadata.CreateTopicSpec{{Name: name, NumPartitions: 1, ReplicationFactor: 1}}, false); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
}

// openCopy copies the fixture (for a test to damage) and opens the copy.
func openCopy(t *testing.T, f fixture) (string, *Log) {
	t.Helper()
	dir := copyDir(t, f.dir)
	l, err := Open(testCtx(t), dir, DefaultOpenOptions())
	if err != nil {
		t.Fatal(err)
	}
	return dir, l
}

// rewriteEntry replaces the data of the command entry at index in
// dir/raft.db by what change returns (control entries are left alone).
func rewriteEntry(t *testing.T, dir string, index uint64, change func([]byte) []byte) {
	t.Helper()
	store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var rl raft.Log
	if err := store.GetLog(index, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Type != raft.LogCommand {
		return
	}
	rl.Data = change(rl.Data)
	if err := store.StoreLog(&rl); err != nil {
		t.Fatal(err)
	}
}

// TestDumpJSONLines checks that every --json line is one JSON object in
// kafka-dump-log's payload style.
func TestDumpJSONLines(t *testing.T) {
	f := makeFixture(t)
	out, _, err := runMeta(t, f.dir, "", "dump", "--dir", f.dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		switch {
		case v["control"] != nil:
			kinds["control"]++
		case v["batch"] != nil:
			var b struct {
				Size, Records *int
				Checksum      string
				Valid         bool
			}
			if err := json.Unmarshal(v["batch"], &b); err != nil || b.Size == nil || b.Records == nil || !strings.HasPrefix(b.Checksum, "crc32c=0x") || !b.Valid {
				t.Errorf("line %d: batch %s lacks size, records or a valid checksum", i+1, v["batch"])
			}
			kinds["batch"]++
		case v["payload"] != nil && v["snapshot"] != nil:
			kinds["snapshot record"]++
		case v["payload"] != nil:
			var p struct {
				Type    string          `json:"type"`
				Version *int            `json:"version"`
				Data    json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(v["payload"], &p); err != nil || p.Type == "" || p.Version == nil || p.Data == nil {
				t.Errorf("line %d: payload %s not in kafka-dump-log style", i+1, v["payload"])
			}
			kinds[p.Type]++
			if v["snapshot"] == nil && (v["position"] == nil || v["size"] == nil) {
				t.Errorf("line %d: a record without its position and size in the entry", i+1)
			}
		case v["snapshot"] != nil:
			kinds["snapshot header"]++
		default:
			t.Errorf("line %d: unknown kind: %s", i+1, line)
		}
	}
	for _, k := range []string{"control", "batch", "snapshot header", "snapshot record", "TOPIC_RECORD", "PARTITION_RECORD", "REMOVE_TOPIC_RECORD", "REGISTER_BROKER_RECORD"} {
		if kinds[k] == 0 {
			t.Errorf("no %s line in the JSON dump", k)
		}
	}
}

func TestUsage(t *testing.T) {
	f := makeFixture(t)
	for _, args := range [][]string{
		nil,
		{"ls"},
		{"dump", "--dir", f.dir, "--type", "NoSuchRecord"},
		{"--dir", f.dir, "--at", "x", "ls"},
		{"diff", "--dir", f.dir, "--at", "1"},
		{"--dir", f.dir, "frobnicate"},
	} {
		if _, _, err := runMeta(t, f.dir, "", args...); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want ErrUsage", args, err)
		}
	}
	if _, _, err := runMeta(t, f.dir, "", "--dir", f.dir, "cat", "/image/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cat of a missing path: %v", err)
	}
	if _, _, err := runMeta(t, f.dir, "", "--dir", f.dir, "cat", "/image"); !errors.Is(err, ErrIsDir) {
		t.Errorf("cat of a directory: %v", err)
	}
	if _, _, err := runMeta(t, f.dir, "", "--dir", t.TempDir(), "ls"); !errors.Is(err, ErrNoLog) {
		t.Errorf("empty dir: %v", err)
	}
}

// TestMessages: the messages of issue 18 defect 5.
func TestMessages(t *testing.T) {
	f := makeFixture(t)
	// A one-line usage error prints no usage text; no command prints it all.
	_, errOut, err := runMeta(t, f.dir, "", "diff", "--dir", f.dir, "--at", "1")
	if !errors.Is(err, ErrUsage) || errOut != "" || !strings.Contains(err.Error(), "zkraft meta help") {
		t.Errorf("diff without --to: %v, stderr %d bytes; want one line pointing at help", err, len(errOut))
	}
	if _, errOut, err := runMeta(t, f.dir, ""); !errors.Is(err, ErrUsage) || !strings.Contains(errOut, "Usage:") {
		t.Errorf("no command: %v, stderr %q", err, errOut)
	}
	for _, h := range []string{"--help", "-h"} {
		out, _, err := runMeta(t, f.dir, "", h)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%s: %v, stdout %q; want the usage and success", h, err, out)
		}
	}
	// --from past the end errors as --at does.
	past := fmt.Sprint(f.lastIndex + 989)
	_, _, errAt := runMeta(t, f.dir, "", "--dir", f.dir, "--at", past, "ls")
	out, _, err := runMeta(t, f.dir, "", "dump", "--dir", f.dir, "--from", past)
	if !errors.Is(err, ErrOffsetUnavailable) || !errors.Is(errAt, ErrOffsetUnavailable) || out != "" ||
		!strings.Contains(err.Error(), fmt.Sprintf("past the last offset %d", f.lastIndex)) {
		t.Errorf("--from %s: %v (stdout %q); --at: %v", past, err, out, errAt)
	}
	// An empty raft.db.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "raft.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runMeta(t, dir, "", "--dir", dir, "ls")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "raft.db is empty (0 bytes)") {
		t.Errorf("empty raft.db: %v", err)
	}
}

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"ls /a  /b", []string{"ls", "/a", "/b"}, false},
		{`cat "/image/configs/topic/<default>"`, []string{"cat", "/image/configs/topic/<default>"}, false},
		{`cat 'a b'c`, []string{"cat", "a bc"}, false},
		{`cat "x`, nil, true},
		{"", nil, false},
	} {
		got, err := splitArgs(tc.in)
		if (err != nil) != tc.err || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("splitArgs(%q) = %q, %v; want %q (err %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// zkTreeOf lays an image out as the Kafka ZooKeeper tree would hold it.
func zkTreeOf(img *metadata.Image) *zkmeta.Tree {
	tree := zkmeta.NewTree()
	tree.ClusterID = img.ClusterID()
	for _, b := range img.Brokers() {
		tree.Brokers[b.ID] = zkmeta.BrokerNode{ZNode: zkmeta.NewBrokerZNode(*b, 1700000000000), Czxid: 4242}
	}
	for _, t := range img.Topics() {
		tn := &zkmeta.TopicNode{ZNode: zkmeta.TopicZNodeOf(t), States: map[int32]zkmeta.StateNode{}}
		for pid, p := range t.Partitions {
			tn.States[pid] = zkmeta.StateNode{State: zkmeta.PartitionState{Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				ControllerEpoch: 1, ISR: p.ISR, LeaderRecoveryState: p.LeaderRecoveryState}, ZkVersion: p.PartitionEpoch + 7}
		}
		tree.Topics[t.Name] = tn
		if cfg := img.Configs(metadata.TopicResource, t.Name); len(cfg) > 0 {
			tree.Configs[zkmeta.ConfigEntity{Type: zkmeta.ConfigTopics, Name: t.Name}] = cfg
		}
	}
	return tree
}

// TestZkChanges: a ZooKeeper tree written from the image has no
// differences (epochs aside); each deliberate change shows up.
func TestZkChanges(t *testing.T) {
	_, l, st := fixtureImage(t)
	same, err := ZkChanges(st, l, zkTreeOf(st.Image))
	if err != nil {
		t.Fatal(err)
	}
	if len(same) != 0 {
		t.Fatalf("tree written from the image differs: %+v", same)
	}

	tree := zkTreeOf(st.Image)
	orders := tree.Topics["orders"]
	s := orders.States[1]
	s.State.ISR = []int32{}
	s.State.Leader = -1
	orders.States[1] = s
	delete(tree.Topics, "payments")
	tree.Configs[zkmeta.ConfigEntity{Type: zkmeta.ConfigTopics, Name: "orders"}]["retention.ms"] = "1"
	changes, err := ZkChanges(st, l, tree)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Op+" "+c.Path)
	}
	want := []string{ // sorted by path
		"changed /image/configs/topic/orders/retention.ms",
		"changed /image/topics/byId/EAEAAAAAAAAAAAAAAAAAAQ/1",
		"removed /image/topics/byId/EAIAAAAAAAAAAAAAAAAAAg/0",
		"removed /image/topics/byId/EAIAAAAAAAAAAAAAAAAAAg/id",
		"removed /image/topics/byId/EAIAAAAAAAAAAAAAAAAAAg/name",
		"changed /image/topics/byName/orders/1",
		"removed /image/topics/byName/payments/0",
		"removed /image/topics/byName/payments/id",
		"removed /image/topics/byName/payments/name",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var buf bytes.Buffer
	if err := WriteChanges(&buf, changes, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "zk_changes", buf.String())
}

// TestZkChangesExpected: brokers that cannot have a /brokers/ids znode (a
// quorum-mode broker, as after step 4 of a migration; a fenced
// ZooKeeper-mode broker, whose ephemeral znode went with its session) are
// expected differences, labelled and listed apart from drift; a live
// migrating ZooKeeper-mode broker missing from ZooKeeper is drift.
func TestZkChangesExpected(t *testing.T) {
	_, l, st := fixtureImage(t)
	// Broker 1 of the fixture is a quorum-mode broker; add migrating
	// ZooKeeper-mode brokers 2 (live) and 3 (fenced) to the log's image.
	d := metadata.NewDelta(st.Image)
	for _, r := range []*metadata.RegisterBrokerRecord{
		{BrokerID: 2, IsMigratingZkBroker: true, BrokerEpoch: 20, EndPoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9093}}},
		{BrokerID: 3, IsMigratingZkBroker: true, BrokerEpoch: 30, EndPoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9094}}, Fenced: true},
	} {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	d.SetProvenance(st.Image.Offset(), st.Image.Epoch())
	st = &State{Image: d.Apply(), At: st.At, From: st.From}
	tree := zkTreeOf(st.Image)
	for _, id := range []int32{1, 2, 3} {
		delete(tree.Brokers, id) // no /brokers/ids znode for any of them
	}
	changes, err := ZkChanges(st, l, tree)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/image/cluster/brokers/1": "quorum-mode broker",
		"/image/cluster/brokers/2": "", // drift
		"/image/cluster/brokers/3": "fenced ZooKeeper-mode broker",
	}
	if len(changes) != len(want) {
		t.Fatalf("changes: %+v, want one per broker", changes)
	}
	for _, c := range changes {
		w, ok := want[c.Path]
		if !ok || c.Op != "removed" || !strings.HasPrefix(c.Expected, w) || (w == "") != (c.Expected == "") {
			t.Errorf("%s %s: expected %q, want %q", c.Op, c.Path, c.Expected, w)
		}
	}
	var buf bytes.Buffer
	if err := WriteChanges(&buf, changes, false); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "/image/cluster/brokers/1") ||
		!strings.Contains(out, "(expected: quorum-mode broker, registered with the quorum only: it has no /brokers/ids znode)") {
		t.Errorf("text output does not label the expected difference:\n%s", out)
	}
}

// TestMixedUpDirectories: files that do not belong together are named,
// never silently combined (issue 18, defect 2).
func TestMixedUpDirectories(t *testing.T) {
	f := makeFixture(t)
	other := metadata.Uuid{0x7b, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}.String()
	props := func(t *testing.T, dir, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "meta.properties"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("meta.properties of another cluster", func(t *testing.T) {
		dir := copyDir(t, f.dir)
		props(t, dir, "version=1\ncluster.id="+other+"\nnode.id=1\n")
		_, _, err := runMeta(t, dir, "", "dump", "--dir", dir)
		if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "meta.properties says cluster.id="+other) ||
			!strings.Contains(err.Error(), "state.bin is a snapshot of cluster "+clusterID) {
			t.Fatalf("dump: %v, want a mismatch naming meta.properties and state.bin", err)
		}
		// The node would refuse the snapshot; the log reaches back, so the
		// image is the log's (with meta.properties' id, as the node's).
		out, _, err := runMeta(t, dir, "", "--dir", dir, "cat", "/local/source", "/image/cluster/clusterId")
		if err != nil || !strings.Contains(out, "from log") || !strings.Contains(out, other) {
			t.Errorf("cat: %q, %v", out, err)
		}
	})

	for name, content := range map[string]string{"missing": "", "garbage": "\x00\x01 not properties\n"} {
		t.Run(name+" meta.properties", func(t *testing.T) {
			dir := copyDir(t, f.dir)
			if content == "" {
				os.Remove(filepath.Join(dir, "meta.properties"))
			} else {
				props(t, dir, content)
			}
			out, errOut, err := runMeta(t, dir, "", "--dir", dir, "cat", "/image/cluster/clusterId")
			if err != nil || strings.TrimSpace(out) != clusterID {
				t.Fatalf("cluster id %q, %v; want %s from the snapshot", out, err, clusterID)
			}
			if !strings.Contains(errOut, "warning: <dir>/meta.properties: ") || !strings.Contains(errOut, "taken from <dir>/snapshots/") {
				t.Errorf("stderr %q does not warn naming meta.properties and the snapshot", errOut)
			}
		})
	}

	t.Run("snapshot past the log end", func(t *testing.T) {
		dir, l := openCopy(t, f)
		s := l.Snapshots[0]
		far := f.lastIndex + 12028
		id := fmt.Sprintf("%d-%d-1700000000000", s.Term, far)
		src, dst := filepath.Dir(s.Path), filepath.Join(dir, "snapshots", id)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		state, _ := os.ReadFile(s.Path)
		mj, _ := os.ReadFile(filepath.Join(src, "meta.json"))
		var m map[string]any
		if err := json.Unmarshal(mj, &m); err != nil {
			t.Fatal(err)
		}
		m["ID"], m["Index"] = id, far
		mj, _ = json.Marshal(m)
		os.WriteFile(filepath.Join(dst, "state.bin"), state, 0o644)
		os.WriteFile(filepath.Join(dst, "meta.json"), mj, 0o644)
		_, errOut, err := runMeta(t, dir, "", "--dir", dir, "ls", "/image/topics/byName")
		want := fmt.Sprintf("covers offset %d, past <dir>/raft.db's last entry %d: offsets %d to %d exist only in the snapshot", far, f.lastIndex, f.lastIndex+1, far)
		if err != nil || !strings.Contains(errOut, want) {
			t.Fatalf("ls: %v; stderr %q, want a warning %q", err, errOut, want)
		}
	})

	t.Run("gap", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			from, to uint64 // entries deleted
			covered  bool   // a snapshot ends right before the entry after the gap
		}{
			{"covered by the snapshot", f.snapshot - 3, f.snapshot, true},
			{"not covered", f.snapshot - 3, f.snapshot - 1, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dir := copyDir(t, f.dir)
				store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
				if err != nil {
					t.Fatal(err)
				}
				err = store.DeleteRange(tc.from, tc.to)
				store.Close()
				if err != nil {
					t.Fatal(err)
				}
				out, errOut, err := runMeta(t, dir, "", "--dir", dir, "ls", "/image/topics/byName")
				if tc.covered {
					if err != nil || strings.Join(strings.Fields(out), " ") != "orders payments" ||
						!strings.Contains(errOut, fmt.Sprintf("holds no entries %d to %d: <dir>/snapshots/", tc.from, tc.to)) {
						t.Fatalf("ls: %q, %v; stderr %q", out, err, errOut)
					}
					_, _, err = runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(tc.from), "ls", "/image/topics/byName")
					if !errors.Is(err, ErrOffsetUnavailable) || !strings.Contains(err.Error(), fmt.Sprintf("holds no entries %d to %d", tc.from, tc.to)) {
						t.Errorf("--at %d inside the gap: %v", tc.from, err)
					}
					return
				}
				want := fmt.Sprintf("raft.db: offset %d: entries %d to %d are missing", tc.from, tc.from, tc.to)
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
					t.Fatalf("ls: %v, want %q", err, want)
				}
			})
		}
	})
}

// TestAtAcrossSnapshots: with several snapshots retained and the log kept
// back to the oldest (zkraft.metadata.snapshot.retain), --at and diff
// reach back across snapshots; the dump says how far.
func TestAtAcrossSnapshots(t *testing.T) {
	for _, tc := range []struct {
		name     string
		trailing uint64 // log entries kept behind the newest snapshot
		reach    bool   // whether the oldest snapshot is reachable
	}{
		{"log kept back to the oldest snapshot", 3 * 2, true},
		{"log compacted to the newest snapshot", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "metadata")
			cfg := nodeConfig(dir)
			cfg.SnapshotRetain, cfg.TrailingLogs = 3, tc.trailing
			n := startWithBroker(t, cfg)
			ctx := testCtx(t)
			// Two entries between snapshots: a1 a2 | b1 b2 | c1 c2 | d1 d2 |
			for _, name := range []string{"a", "b", "c", "d"} {
				createTopics(t, n, name+"1", name+"2")
				if err := n.Snapshot(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			l, err := Open(ctx, dir, DefaultOpenOptions())
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Snapshots) != 3 {
				t.Fatalf("%d snapshots, want 3 retained", len(l.Snapshots))
			}
			oldest, newest := l.Snapshots[0].Index, l.Snapshots[2].Index
			earliest, ok := l.EarliestOffset()
			want := newest
			if tc.reach {
				want = oldest
			}
			if !ok || earliest != want {
				t.Fatalf("earliest offset %d (%v), want %d (snapshots %d..%d, log from %d)", earliest, ok, want, oldest, newest, l.First)
			}
			// Between the oldest and the newest snapshot: only with the log kept.
			out, _, err := runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(oldest+1), "ls", "/image/topics/byName")
			if tc.reach && (err != nil || strings.Join(strings.Fields(out), " ") != "a1 a2 b1 b2 c1") {
				t.Errorf("--at %d: %q, %v; want a1 to c1", oldest+1, out, err)
			}
			if !tc.reach && !errors.Is(err, ErrOffsetUnavailable) {
				t.Errorf("--at %d without the log: %v, want ErrOffsetUnavailable", oldest+1, err)
			}
			// A snapshot's own offset always works.
			if out, _, err := runMeta(t, dir, "", "--dir", dir, "--at", fmt.Sprint(oldest), "ls", "/image/topics/byName"); err != nil || strings.Join(strings.Fields(out), " ") != "a1 a2 b1 b2" {
				t.Errorf("--at the oldest snapshot %d: %q, %v", oldest, out, err)
			}
			dump, _, _ := runMeta(t, dir, "", "dump", "--dir", dir)
			if !strings.Contains(dump, fmt.Sprintf("--at reaches offsets %d to ", want)) {
				t.Errorf("dump banner does not say how far back --at reaches:\n%s", dump[:min(len(dump), 300)])
			}
		})
	}
}
