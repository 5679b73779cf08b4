package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/zkraft/zkraft/metadata"
)

// Corruption kinds of corruptDir.
const (
	damageEntryData   = iota // one byte of one command entry's data (what the controller wrote), via the store
	damageDBByte             // one byte of raft.db (one in use: not zero)
	damageStateBin           // one byte of state.bin (raft's CRC-64 in meta.json catches it)
	damageStateBinAll        // one byte of state.bin, and meta.json's CRC-64 recomputed: only the CRC-32C can tell
	damageMetaJSON           // one byte of meta.json
	damageTruncate           // raft.db or state.bin cut short
	damageKinds
)

var damageNames = [damageKinds]string{"entry data", "raft.db byte", "state.bin byte", "state.bin byte + CRC-64", "meta.json byte", "truncate"}

// corruptDir damages a copy of the fixture in one place chosen by pos and
// xor (xor 0 is made 1) and says what it did.
func corruptDir(t testing.TB, dir string, kind uint8, pos uint32, xor byte) string {
	t.Helper()
	if xor == 0 {
		xor = 1
	}
	snapDir := onlySnapshotDir(t, dir)
	state, metaJSON := filepath.Join(snapDir, "state.bin"), filepath.Join(snapDir, "meta.json")
	flip := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		i := int(pos % uint32(len(b)))
		b[i] ^= xor
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s byte %d ^ %#x", filepath.Base(path), i, xor)
	}
	switch kind % damageKinds {
	case damageEntryData:
		store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		first, _ := store.FirstIndex()
		last, _ := store.LastIndex()
		var cmds []raft.Log
		for i := first; i <= last; i++ {
			var rl raft.Log
			if err := store.GetLog(i, &rl); err != nil {
				t.Fatal(err)
			}
			if rl.Type == raft.LogCommand {
				cmds = append(cmds, rl)
			}
		}
		rl := cmds[int(pos>>16)%len(cmds)]
		i := int(pos&0xffff) % len(rl.Data)
		rl.Data[i] ^= xor
		if err := store.StoreLog(&rl); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("entry %d data byte %d ^ %#x", rl.Index, i, xor)
	case damageDBByte:
		// Aim at the bytes in use (most of a small bolt file is zeroed
		// free pages): one of the non-zero bytes.
		path := filepath.Join(dir, "raft.db")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var used []int
		for i, c := range b {
			if c != 0 {
				used = append(used, i)
			}
		}
		i := used[int(pos%uint32(len(used)))]
		b[i] ^= xor
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("raft.db byte %d ^ %#x", i, xor)
	case damageStateBin:
		return flip(state)
	case damageStateBinAll:
		what := flip(state)
		b, _ := os.ReadFile(state)
		mb, _ := os.ReadFile(metaJSON)
		var m map[string]any
		if err := json.Unmarshal(mb, &m); err != nil {
			t.Fatal(err)
		}
		h := crc64.New(crc64.MakeTable(crc64.ECMA))
		h.Write(b)
		m["CRC"] = h.Sum(nil)
		mb, _ = json.Marshal(m)
		if err := os.WriteFile(metaJSON, mb, 0o644); err != nil {
			t.Fatal(err)
		}
		return what + " (CRC-64 recomputed)"
	case damageMetaJSON:
		return flip(metaJSON)
	default:
		path := filepath.Join(dir, "raft.db")
		if pos&1 == 1 {
			path = state
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(pos>>1) % st.Size()
		if err := os.Truncate(path, n); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s truncated to %d bytes", filepath.Base(path), n)
	}
}

func onlySnapshotDir(t testing.TB, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "snapshots"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("fixture snapshots: %v, %d", err, len(ents))
	}
	return filepath.Join(dir, "snapshots", ents[0].Name())
}

// corruptionCommands are the answers compared: the image at the end, an
// image inside the log, a diff across the snapshot, and the dump.
func corruptionCommands(f fixture, dir string) [][]string {
	return [][]string{
		{"--dir", dir, "tree", "/image"},
		{"--dir", dir, "--at", fmt.Sprint(f.created - 1), "tree", "/image"},
		{"diff", "--dir", dir, "--at", fmt.Sprint(f.created), "--to", fmt.Sprint(f.deleted)},
		{"dump", "--dir", dir},
	}
}

type answer struct {
	out string
	err error
}

var (
	// builtFrom is how diff's header says an image was built ("(log)" or
	// "(snapshot X)"): a refused snapshot changes how, not what.
	builtFrom       = regexp.MustCompile(`\((log|snapshot [^)]*)\)`)
	pristineOnce    = map[string][]answer{}
	errNamesNothing = errors.New("error names no file of the directory and no offset")
)

// checkDamaged runs every command on a damaged copy: each must give the
// undamaged answer, or fail with an error naming the file and where in it.
// An answer that differs with exit 0 is allowed only when what the
// controller wrote and checksummed (every entry's type and data, the
// snapshots) read back identical: raft's own fields around an entry (its
// term, append time) are outside the checksum, as Kafka's batch CRC leaves
// out the partition leader epoch.
func checkDamaged(t *testing.T, f fixture, dir, what string) (errs, same, uncovered int) {
	t.Helper()
	want, ok := pristineOnce[f.dir]
	if !ok {
		for _, args := range corruptionCommands(f, f.dir) {
			out, _, err := runMeta(t, f.dir, "", args...)
			if err != nil {
				t.Fatalf("undamaged %v: %v", args, err)
			}
			want = append(want, answer{out: builtFrom.ReplaceAllString(out, "(built)")})
		}
		pristineOnce[f.dir] = want
	}
	for i, args := range corruptionCommands(f, dir) {
		var outB, errB bytes.Buffer
		err := Main(testCtx(t), args, strings.NewReader(""), &outB, &errB)
		out := builtFrom.ReplaceAllString(normalize(outB.String(), dir), "(built)")
		switch {
		case err != nil:
			msg := strings.ReplaceAll(err.Error(), dir, "<dir>")
			namesFile := strings.Contains(msg, "<dir>/raft.db") || strings.Contains(msg, "<dir>/snapshots/")
			namesWhere := strings.Contains(msg, "offset") || strings.Contains(msg, "byte") || strings.Contains(msg, "CRC") ||
				strings.Contains(msg, "snapshots/")
			if !namesFile || !namesWhere || !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrMismatch) || errors.Is(err, ErrOffsetUnavailable)) {
				t.Errorf("%s: meta %v: %v: %v", what, args[:1], errNamesNothing, msg)
			}
			errs++
		case out == want[i].out:
			same++
		default:
			if !controllerDataEqual(t, f.dir, dir) {
				t.Errorf("%s: meta %v: a different answer with exit 0:\n%s\n--- want\n%s", what, args, out, want[i].out)
				continue
			}
			uncovered++
		}
	}
	return errs, same, uncovered
}

// controllerDataEqual: both directories read back the same entries (index,
// type, data) and the same snapshots.
func controllerDataEqual(t testing.TB, a, b string) bool {
	la, err := Open(testCtx(t), a, DefaultOpenOptions())
	if err != nil {
		t.Fatal(err)
	}
	lb, err := Open(testCtx(t), b, DefaultOpenOptions())
	if err != nil || lb.Err != nil || len(la.Entries) != len(lb.Entries) || len(la.Snapshots) != len(lb.Snapshots) {
		return false
	}
	for i := range la.Entries {
		ea, eb := la.Entries[i], lb.Entries[i]
		if ea.Index != eb.Index || ea.Type != eb.Type || ea.Size != eb.Size || ea.Checksum != eb.Checksum ||
			!bytes.Equal(metadata.AppendBatch(nil, ea.Records), metadata.AppendBatch(nil, eb.Records)) {
			return false
		}
	}
	for i := range la.Snapshots {
		sa, sb := la.Snapshots[i], lb.Snapshots[i]
		if (sa.Err == nil) != (sb.Err == nil) || sa.Index != sb.Index || sa.Header != sb.Header ||
			!bytes.Equal(metadata.AppendBatch(nil, sa.Records), metadata.AppendBatch(nil, sb.Records)) {
			return false
		}
	}
	return true
}

// TestCorruptionSweep damages the fixture (a log and snapshot written by a
// real node) in 180 seeded places of every kind and checks that every
// command gives the undamaged answer or an error naming file and offset.
// FuzzCorruptLog explores further (go test -fuzz FuzzCorruptLog).
func TestCorruptionSweep(t *testing.T) {
	f := makeFixture(t)
	rng := rand.New(rand.NewPCG(18, 2026))
	const perKind = 30
	for kind := uint8(0); kind < damageKinds; kind++ {
		var errs, same, uncovered int
		for n := 0; n < perKind; n++ {
			dir := copyDir(t, f.dir)
			what := corruptDir(t, dir, kind, rng.Uint32(), byte(rng.Uint32()))
			e, s, u := checkDamaged(t, f, dir, what)
			errs, same, uncovered = errs+e, same+s, uncovered+u
			os.RemoveAll(filepath.Dir(dir))
		}
		t.Logf("%s: %d damaged copies x %d commands: %d errors naming file and offset, %d undamaged answers, %d differing only in raft's unchecksummed term/time",
			damageNames[kind], perKind, len(corruptionCommands(f, "")), errs, same, uncovered)
		if kind == damageEntryData && same+uncovered > 0 {
			t.Errorf("%s: %d answers without an error: every changed byte of an entry must be caught", damageNames[kind], same+uncovered)
		}
	}
}

// FuzzCorruptLog: any one damage of the fixture gives the undamaged answer
// or an error naming file and offset.
func FuzzCorruptLog(f *testing.F) {
	for k := uint8(0); k < damageKinds; k++ {
		f.Add(k, uint32(12345)*uint32(k+1), byte(0x40))
	}
	f.Fuzz(func(t *testing.T, kind uint8, pos uint32, xor byte) {
		fx := makeFixture(t)
		dir := copyDir(t, fx.dir)
		what := corruptDir(t, dir, kind, pos, xor)
		checkDamaged(t, fx, dir, what)
	})
}
