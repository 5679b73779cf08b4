package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/quorum"
)

// DumpOptions select what Dump prints.
type DumpOptions struct {
	From  uint64          // first offset shown (log entries and snapshots at or above it)
	Types map[string]bool // nil = all; keys are RecordType.String() names or "control"
	JSON  bool            // one JSON object per line
}

// ParseTypes parses --type: comma-separated record type names, either
// Kafka's enum names (TOPIC_RECORD) or class names (TopicRecord), or
// "control" for raft control entries.
func ParseTypes(s string) (map[string]bool, error) {
	if s == "" {
		return nil, nil
	}
	byName := map[string]string{"control": "control", "CONTROL": "control"}
	var all []string
	for k := metadata.RecordType(0); k < 64; k++ {
		name := k.String()
		if strings.HasPrefix(name, "RecordType(") {
			continue
		}
		all = append(all, name)
		byName[strings.ToLower(name)] = name
		byName[strings.ToLower(k.KafkaName())] = name
	}
	out := map[string]bool{}
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		name, ok := byName[strings.ToLower(t)]
		if !ok {
			return nil, fmt.Errorf("--type %q: unknown record type (known: %s, control): %w", t, strings.Join(all, ", "), ErrUsage)
		}
		out[name] = true
	}
	return out, nil
}

// timeFormat is fixed width, so the dump's columns stay aligned.
const timeFormat = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(timeFormat)
}

type dumpRow struct {
	banner                                       string // a whole line (file header), not a row
	offset, epoch, at, typ, ver, pos, size, data string
}

// Dump prints the log as a timeline: raft.db's entries in offset order,
// each snapshot placed after the offset it covers, every record with its
// offset (raft index), epoch (raft term), append time, type, version and
// fields. It prints everything readable and returns the read errors
// (naming file and offset) at the end.
func Dump(w io.Writer, l *Log, opts DumpOptions) error {
	var rows []dumpRow
	emit := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	want := func(name string) bool { return opts.Types == nil || opts.Types[name] }
	var errs []error

	if !opts.JSON {
		rows = append(rows, dumpRow{banner: "Dumping " + l.Source()})
		if l.live() {
			rows = append(rows, dumpRow{banner: fmt.Sprintf("%s: committed log from offset %d, high watermark %d%s; %s",
				MetadataTopicName, l.First, l.Last+1, liveControllerNote(l), liveNote)})
		}
		if l.DBPath != "" {
			note := ""
			if l.Copied {
				note = " (a running node holds its lock: read from a copy)"
			}
			rows = append(rows, dumpRow{banner: fmt.Sprintf("raft.db: log starting offset %d, last offset %d%s; %s", l.First, l.Last, note, l.Reach())})
		}
		rows = append(rows, dumpRow{offset: "OFFSET", epoch: "EPOCH", at: "APPENDED", typ: "TYPE", ver: "V", pos: "POS", size: "SIZE", data: "DATA"})
	}

	snaps := l.Snapshots
	doSnapshot := func(s *Snapshot) error {
		if s.Index < opts.From {
			return nil
		}
		rel := "FetchSnapshot" // live: the controller's current image
		if s.Path != "" {
			rel, _ = filepath.Rel(l.Dir, s.Path)
		}
		if s.Err != nil {
			errs = append(errs, s.Err)
			if !opts.JSON {
				rows = append(rows, dumpRow{banner: fmt.Sprintf("-- snapshot %s (%s): unreadable, see the error below", s.ID, rel)})
			}
			return nil
		}
		if opts.JSON {
			if err := emit(map[string]any{"snapshot": s.ID, "file": rel, "endOffset": s.Index, "epoch": s.Term,
				"imageOffset": s.Header.Offset, "imageEpoch": s.Header.Epoch, "clusterId": s.Header.ClusterID,
				"records": len(s.Records)}); err != nil {
				return err
			}
		} else {
			rows = append(rows, dumpRow{banner: fmt.Sprintf("-- snapshot %s (%s): end offset %d, epoch %d, image offset %d, %d records",
				s.ID, rel, s.Index, s.Term, s.Header.Offset, len(s.Records))})
		}
		for i, r := range s.Records {
			if !want(r.Type().String()) {
				continue
			}
			payload, err := metadata.RecordJSON(r)
			if err != nil {
				return err
			}
			if opts.JSON {
				if err := emit(struct {
					Snapshot string          `json:"snapshot"`
					Offset   uint64          `json:"offset"`
					Epoch    uint64          `json:"epoch"`
					Index    int             `json:"index"`
					Payload  json.RawMessage `json:"payload"`
				}{s.ID, s.Index, s.Term, i, payload}); err != nil {
					return err
				}
				continue
			}
			rows = append(rows, recordRow(s.Index, s.Term, "snapshot", r, payload))
		}
		if !opts.JSON {
			rows = append(rows, dumpRow{banner: fmt.Sprintf("-- end of snapshot %s", s.ID)})
		}
		return nil
	}

	for i := range l.Entries {
		e := &l.Entries[i]
		for len(snaps) > 0 && snaps[0].Index < e.Index {
			if err := doSnapshot(&snaps[0]); err != nil {
				return err
			}
			snaps = snaps[1:]
		}
		if e.Index < opts.From {
			continue
		}
		if e.IsControl() {
			if !want("control") {
				continue
			}
			name, data, servers := controlInfo(e)
			if opts.JSON {
				if err := emit(struct {
					Offset     uint64       `json:"offset"`
					Epoch      uint64       `json:"epoch"`
					AppendTime string       `json:"appendTime"`
					Control    string       `json:"control"`
					Servers    []serverView `json:"servers,omitempty"`
				}{e.Index, e.Term, fmtTime(e.AppendedAt), name, servers}); err != nil {
					return err
				}
				continue
			}
			rows = append(rows, dumpRow{offset: u64(e.Index), epoch: u64(e.Term), at: fmtTime(e.AppendedAt),
				typ: "control " + name, size: strconv.Itoa(e.Size), data: data})
			continue
		}
		shown := opts.Types == nil
		for _, r := range e.Records {
			shown = shown || want(r.Type().String())
		}
		if shown {
			// The entry itself, as kafka-dump-log's batch line: its size,
			// record count and checksum state.
			if opts.JSON {
				if err := emit(struct {
					Offset     uint64 `json:"offset"`
					Epoch      uint64 `json:"epoch"`
					AppendTime string `json:"appendTime"`
					Batch      any    `json:"batch"`
				}{e.Index, e.Term, fmtTime(e.AppendedAt), map[string]any{"version": e.Checksum.Version, "size": e.Size,
					"records": len(e.Records), "checksum": e.Checksum.String(), "valid": e.Checksum.Valid()}}); err != nil {
					return err
				}
			} else {
				rows = append(rows, dumpRow{offset: u64(e.Index), epoch: u64(e.Term), at: fmtTime(e.AppendedAt), typ: "batch",
					ver: strconv.Itoa(int(e.Checksum.Version)), size: strconv.Itoa(e.Size),
					data: fmt.Sprintf("records=%d checksum=%s", len(e.Records), e.Checksum)})
			}
		}
		for j, r := range e.Records {
			if !want(r.Type().String()) {
				continue
			}
			var span metadata.RecordSpan
			if j < len(e.Spans) {
				span = e.Spans[j]
			}
			payload, err := metadata.RecordJSON(r)
			if err != nil {
				return err
			}
			if opts.JSON {
				if err := emit(struct {
					Offset     uint64          `json:"offset"`
					Epoch      uint64          `json:"epoch"`
					AppendTime string          `json:"appendTime"`
					Index      int             `json:"index"`
					Position   int             `json:"position"`
					Size       int             `json:"size"`
					Payload    json.RawMessage `json:"payload"`
				}{e.Index, e.Term, fmtTime(e.AppendedAt), j, span.Pos, span.Size, payload}); err != nil {
					return err
				}
				continue
			}
			row := recordRow(e.Index, e.Term, fmtTime(e.AppendedAt), r, payload)
			row.pos, row.size = strconv.Itoa(span.Pos), strconv.Itoa(span.Size)
			rows = append(rows, row)
		}
	}
	for i := range snaps {
		if err := doSnapshot(&snaps[i]); err != nil {
			return err
		}
	}
	if l.Err != nil {
		errs = append(errs, l.Err)
		if !opts.JSON {
			rows = append(rows, dumpRow{banner: "-- stopped: " + l.Err.Error()})
		}
	}
	if !opts.JSON {
		if err := writeRows(w, rows); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// MetadataTopicName is the topic a live quorum serves the log as.
const MetadataTopicName = quorum.MetadataTopic

// liveNote says what a dump of a live quorum lacks.
const liveNote = "raft control entries and append times are not served over Fetch"

func liveControllerNote(l *Log) string {
	var parts []string
	if l.NodeID != "" {
		parts = append(parts, "active controller "+l.NodeID)
	}
	if l.ClusterID != "" {
		parts = append(parts, "cluster "+l.ClusterID)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// recordRow is one record: DATA is the "data" object of its
// kafka-dump-log payload.
func recordRow(offset, epoch uint64, at string, r metadata.Record, payload []byte) dumpRow {
	var p struct {
		Data json.RawMessage `json:"data"`
	}
	data := string(payload)
	if json.Unmarshal(payload, &p) == nil {
		data = string(p.Data)
	}
	return dumpRow{offset: u64(offset), epoch: u64(epoch), at: at, typ: r.Type().String(),
		ver: strconv.Itoa(int(r.Version())), data: data}
}

type serverView struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
}

// controlInfo names a raft control entry and describes its content.
func controlInfo(e *Entry) (name, text string, servers []serverView) {
	switch e.Type {
	case raft.LogConfiguration:
		name = "CONFIGURATION"
	case raft.LogBarrier:
		name = "BARRIER"
	case raft.LogNoop:
		name = "NOOP"
	case raft.LogAddPeerDeprecated:
		name = "ADD_PEER"
	case raft.LogRemovePeerDeprecated:
		name = "REMOVE_PEER"
	default:
		name = "TYPE_" + strconv.Itoa(int(e.Type))
	}
	if e.Config == nil {
		return name, "", nil
	}
	var parts []string
	for _, s := range e.Config.Servers {
		parts = append(parts, fmt.Sprintf("%s@%s(%s)", s.ID, s.Address, s.Suffrage))
		servers = append(servers, serverView{string(s.ID), string(s.Address), s.Suffrage.String()})
	}
	return name, "servers=[" + strings.Join(parts, ", ") + "]", servers
}

func writeRows(w io.Writer, rows []dumpRow) error {
	var wo, we, wa, wt, wv, wp, ws int
	for _, r := range rows {
		if r.banner != "" {
			continue
		}
		wo, we, wa = max(wo, len(r.offset)), max(we, len(r.epoch)), max(wa, len(r.at))
		wt, wv, wp, ws = max(wt, len(r.typ)), max(wv, len(r.ver)), max(wp, len(r.pos)), max(ws, len(r.size))
	}
	for _, r := range rows {
		var line string
		if r.banner != "" {
			line = r.banner
		} else {
			line = fmt.Sprintf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s", wo, r.offset, we, r.epoch, wa, r.at, wt, r.typ, wv, r.ver,
				wp, r.pos, ws, r.size, r.data)
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}
