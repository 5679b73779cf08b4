package quorum

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zkraft/zkraft/metadata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestConfigValidate(t *testing.T) {
	base := fastConfig("/tmp/x")
	tests := []struct {
		name    string
		mut     func(*Config)
		wantKey string // "" = valid
	}{
		{"default is valid", func(c *Config) { *c = DefaultConfig() }, ""},
		{"test config is valid", func(*Config) {}, ""},
		{"negative node id", func(c *Config) { c.NodeID = -1 }, "node.id"},
		{"no voters", func(c *Config) { c.Voters = nil }, "controller.quorum.voters"},
		{"node not a voter", func(c *Config) { c.NodeID = 5 }, "node.id"},
		{"bad voter address", func(c *Config) { c.Voters[1] = "nohostport" }, "controller.quorum.voters"},
		{"empty dir", func(c *Config) { c.Dir = "" }, "metadata.log.dir"},
		{"bad bind", func(c *Config) { c.BindAddr = "x" }, "bind address"},
		{"bad cluster id", func(c *Config) { c.ClusterID = "short" }, "cluster.id"},
		{"zero snapshot threshold", func(c *Config) { c.SnapshotThreshold = 0 }, "snapshot threshold"},
		{"zero retain", func(c *Config) { c.SnapshotRetain = 0 }, "snapshot retain"},
		{"tiny heartbeat", func(c *Config) { c.HeartbeatTimeout = time.Millisecond }, "fetch.timeout"},
		{"election below heartbeat", func(c *Config) { c.ElectionTimeout = c.HeartbeatTimeout / 2 }, "election.timeout"},
		{"lease above heartbeat", func(c *Config) { c.LeaderLeaseTimeout = 2 * c.HeartbeatTimeout }, "leader lease"},
		{"zero partitions", func(c *Config) { c.Controller.DefaultNumPartitions = 0 }, "num.partitions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.Voters = map[int32]string{1: "127.0.0.1:0"}
			tc.mut(&c)
			err := c.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig naming %q", err, tc.wantKey)
			}
		})
	}
}

func TestParseVoters(t *testing.T) {
	tests := []struct {
		in   string
		want map[int32]string
		ok   bool
	}{
		{"1@h1:9093", map[int32]string{1: "h1:9093"}, true},
		{"1@h1:9093, 2@h2:9093,3@[::1]:9093", map[int32]string{1: "h1:9093", 2: "h2:9093", 3: "[::1]:9093"}, true},
		{"", nil, false},
		{"h1:9093", nil, false},
		{"x@h1:9093", nil, false},
		{"-1@h1:9093", nil, false},
		{"1@h1", nil, false},
		{"1@h1:1,1@h2:2", nil, false},
	}
	for _, tc := range tests {
		got, err := ParseVoters(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("ParseVoters(%q) err = %v", tc.in, err)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("ParseVoters(%q) = %v, want ErrInvalidConfig", tc.in, err)
			}
			continue
		}
		if FormatVoters(got) != FormatVoters(tc.want) {
			t.Errorf("ParseVoters(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if again, _ := ParseVoters(FormatVoters(got)); FormatVoters(again) != FormatVoters(got) {
			t.Errorf("round trip of %q", tc.in)
		}
	}
}

func TestMetaProperties(t *testing.T) {
	cid := metadata.RandomUuid().String()
	tests := []struct {
		name string
		text string
		want metaProperties
		ok   bool
	}{
		{"kafka style", "#\n#Thu Jan 01 00:00:00 UTC 2024\nnode.id=3\nversion=1\ncluster.id=" + cid + "\ndirectory.id=x\n", metaProperties{ClusterID: cid, NodeID: 3}, true},
		{"spaces and bang comment", "! c\n version = 1 \ncluster.id = " + cid + "\nnode.id= 0\n", metaProperties{ClusterID: cid, NodeID: 0}, true},
		{"zk v0", "version=0\nbroker.id=1\ncluster.id=" + cid + "\n", metaProperties{}, false},
		{"no node id", "version=1\ncluster.id=" + cid + "\n", metaProperties{}, false},
		{"bad cluster id", "version=1\ncluster.id=abc\nnode.id=1\n", metaProperties{}, false},
		{"no equals", "version=1\ngarbage\n", metaProperties{}, false},
		{"node id overflow", "version=1\ncluster.id=" + cid + "\nnode.id=99999999999\n", metaProperties{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMetaProperties([]byte(tc.text))
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrMetaProperties)) {
				t.Fatalf("parse = %v", err)
			}
			if got != tc.want {
				t.Fatalf("parse = %+v, want %+v", got, tc.want)
			}
			if tc.ok {
				again, err := parseMetaProperties(got.encode())
				if err != nil || again != got {
					t.Fatalf("round trip = %+v, %v", again, err)
				}
			}
		})
	}
}

func TestLoadOrFormat(t *testing.T) {
	dir := t.TempDir()
	cfg := fastConfig(dir)
	m, err := loadOrFormat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, metaPropertiesFile))
	for _, line := range []string{"version=1", "cluster.id=" + m.ClusterID, "node.id=1"} {
		if !bytes.Contains(b, []byte(line+"\n")) {
			t.Errorf("meta.properties lacks %q:\n%s", line, b)
		}
	}
	again, err := loadOrFormat(cfg)
	if err != nil || again != m {
		t.Fatalf("reload = %+v, %v; want %+v", again, err, m)
	}
	cfg.ClusterID = metadata.RandomUuid().String()
	if _, err := loadOrFormat(cfg); !errors.Is(err, ErrMetaProperties) {
		t.Errorf("other configured cluster id: %v", err)
	}
	// Identically configured voters derive the same cluster id.
	voters := map[int32]string{1: "a:1", 2: "b:2", 3: "c:3"}
	if a, b := defaultClusterID(voters), defaultClusterID(map[int32]string{3: "c:3", 1: "a:1", 2: "b:2"}); a != b {
		t.Errorf("derived cluster ids differ: %s %s", a, b)
	}
	if _, err := metadata.ParseUuid(defaultClusterID(voters)); err != nil {
		t.Error(err)
	}
}

func TestSnapshotCodec(t *testing.T) {
	v := "compact"
	recs := []metadata.Record{
		&metadata.FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 21},
		&metadata.TopicRecord{Name: "t", TopicID: metadata.RandomUuid()},
		&metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: "t", Name: "cleanup.policy", Value: &v},
	}
	h := snapshotHeader{Offset: 42, Epoch: 7, ClusterID: metadata.RandomUuid().String()}
	b := appendSnapshot(nil, h, recs)
	gh, grecs, err := decodeSnapshot(b)
	if err != nil || gh != h || len(grecs) != len(recs) {
		t.Fatalf("decode = %+v %d records, %v", gh, len(grecs), err)
	}
	for i := range recs {
		if !bytes.Equal(metadata.AppendRecord(nil, recs[i]), metadata.AppendRecord(nil, grecs[i])) {
			t.Errorf("record %d differs", i)
		}
	}
	// Version 0 (no CRC-32C), as snapshots were written before checksums.
	v0 := append([]byte{snapshotVersion0}, b[5:]...)
	if gh, grecs, err := decodeSnapshot(v0); err != nil || gh != h || len(grecs) != len(recs) {
		t.Fatalf("version 0: %+v %d records, %v", gh, len(grecs), err)
	}
	bad := map[string][]byte{
		"empty":                  nil,
		"version 2":              append([]byte{2}, b[1:]...),
		"truncated header":       b[:10],
		"truncated v0 header":    v0[:10],
		"cluster id too long v0": append(append([]byte{}, v0[:17]...), 0x7f, 'x'),
		"truncated records":      b[:len(b)-3],
		"truncated records v0":   v0[:len(v0)-3],
	}
	// Every single-byte change of a version 1 snapshot is an error (a
	// changed topic id or leader used to decode as another valid image).
	for i := range b {
		c := append([]byte{}, b...)
		c[i] ^= 0x10
		bad[fmt.Sprintf("byte %d changed", i)] = c
	}
	for name, in := range bad {
		if _, _, err := decodeSnapshot(in); !errors.Is(err, ErrCorruptSnapshot) {
			t.Errorf("%s: %v, want ErrCorruptSnapshot", name, err)
		}
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(appendSnapshot(nil, snapshotHeader{Offset: 1, Epoch: 1, ClusterID: "c"},
		[]metadata.Record{&metadata.TopicRecord{Name: "t", TopicID: metadata.RandomUuid()}}))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, recs, err := decodeSnapshot(b)
		if err != nil {
			return
		}
		again := appendSnapshot(nil, h, recs)
		if _, _, err := decodeSnapshot(again); err != nil {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
	})
}

func FuzzParseMetaProperties(f *testing.F) {
	f.Add([]byte("version=1\ncluster.id=" + metadata.RandomUuid().String() + "\nnode.id=1\n"))
	f.Add([]byte("#\n=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMetaProperties(b)
		if err != nil {
			return
		}
		if again, err := parseMetaProperties(m.encode()); err != nil || again != m {
			t.Fatalf("round trip %+v: %+v %v", m, again, err)
		}
	})
}

func TestHclogAdapter(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := newHclog(zap.New(core), "raft").With("peer", "n2")
	l.Info("entry", "index", 5, "servers", hclog.Fmt("%+v", []int{1, 2}), "odd")
	l.Warn("slow")
	l.Named("snap").Error("failed", "err", errors.New("disk"))
	l.StandardLogger(nil).Print("[WARN] legacy line")
	entries := logs.All()
	if len(entries) != 4 {
		t.Fatalf("%d entries", len(entries))
	}
	if f := entries[0].ContextMap(); f["peer"] != "n2" || f["index"] != int64(5) || f["extra"] != "odd" || f["servers"] != "[1 2]" {
		t.Errorf("fields = %v", f)
	}
	if entries[1].Level != zapcore.WarnLevel || entries[2].Level != zapcore.ErrorLevel || entries[3].Level != zapcore.WarnLevel {
		t.Errorf("levels %v %v %v", entries[1].Level, entries[2].Level, entries[3].Level)
	}
	if entries[2].LoggerName != "raft.snap" {
		t.Errorf("logger name %q", entries[2].LoggerName)
	}
}

func TestWriteHonoursContext(t *testing.T) {
	n := startNode(t, fastConfig(t.TempDir()))
	waitController(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errs := n.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "x", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("cancelled ctx: %v", errs[0])
	}
}
