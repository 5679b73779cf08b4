package meta

import (
	"testing"

	"github.com/hashicorp/raft"

	"github.com/zkraft/zkraft/metadata"
)

// FuzzDecodeEntry: no raft entry, whatever its type and bytes, makes the
// reader panic (raft.DecodeConfiguration panics on bad input; we recover).
func FuzzDecodeEntry(f *testing.F) {
	f.Add(uint8(raft.LogCommand), metadata.AppendBatch(nil, []metadata.Record{&metadata.TopicRecord{Name: "t"}}))
	f.Add(uint8(raft.LogCommand), []byte{0, 3, 0xff})
	f.Add(uint8(raft.LogConfiguration), raft.EncodeConfiguration(raft.Configuration{Servers: []raft.Server{{ID: "1", Address: "a:1"}}}))
	f.Add(uint8(raft.LogConfiguration), []byte{0x81, 0xa7})
	f.Fuzz(func(t *testing.T, typ uint8, data []byte) {
		e, err := decodeEntry(&raft.Log{Index: 7, Term: 2, Type: raft.LogType(typ), Data: data})
		if err == nil && raft.LogType(typ) == raft.LogCommand {
			// What decoded re-encodes to the same bytes' records.
			again, err := metadata.DecodeBatch(metadata.AppendBatch(nil, e.Records))
			if err != nil || len(again) != len(e.Records) {
				t.Fatalf("re-encoded batch: %v, %d records, want %d", err, len(again), len(e.Records))
			}
		}
		if err == nil {
			controlInfo(&e)
		}
	})
}

// FuzzSplitArgs: the shell's line splitter never panics and never returns
// an empty argument from unquoted input.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"ls /a", `cat "x y"`, `'`, "  \t "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args, err := splitArgs(line)
		if err != nil {
			return
		}
		for _, a := range args {
			if a == "" && !containsQuote(line) {
				t.Fatalf("empty argument from %q", line)
			}
		}
	})
}

func containsQuote(s string) bool {
	for _, r := range s {
		if r == '"' || r == '\'' {
			return true
		}
	}
	return false
}
