package bench

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseProduceFlagsRejectsBadValues(t *testing.T) {
	tests := []struct {
		args     []string
		wantFlag string
	}{
		{[]string{"--target", "kafka"}, "target"},
		{[]string{"--record-size", "0"}, "record-size"},
		{[]string{"--record-size", "2000000"}, "record-size"},
		{[]string{"--record-size", "big"}, "record-size"},
		{[]string{"--records", "0"}, "records"},
		{[]string{"--duration", "0s"}, "duration"},
		{[]string{"--duration", "5"}, "duration"},
		{[]string{"--acks", "2"}, "acks"},
		{[]string{"--partitions", "0"}, "partitions"},
		{[]string{"--partitions", "100000"}, "partitions"},
		{[]string{"--topic", "bad topic"}, "topic"},
		{[]string{"--topic", ".."}, "topic"},
		{[]string{"--linger", "-1ms"}, "linger"},
		{[]string{"--rate", "-5"}, "rate"},
		{[]string{"--rate", "NaN"}, "rate"},
		{[]string{"--pairs", "0"}, "pairs"},
		{[]string{"--latency-fraction", "1.5"}, "latency-fraction"},
		{[]string{"--latency-fraction", "-0.1"}, "latency-fraction"},
		{[]string{"--disk-mib", "-1"}, "disk-mib"},
		{[]string{"--start-timeout", "0s"}, "start-timeout"},
		{[]string{"--zkraft-override", "novalue"}, "zkraft-override"},
		{[]string{"--brokers", "127.0.0.1:9092"}, "brokers"}, // with the default target compare
		{[]string{"--brokers", "localhost", "--target", "kfake"}, "brokers"},
		{[]string{"--security-protocols", "SSL,TLS", "--target", "zkraft"}, "security-protocols"},
		{[]string{"--security-protocols", "SSL"}, "security-protocols"}, // with the default target compare
		{[]string{"--security-protocols", "SASL_SSL", "--target", "zkraft", "--brokers", "127.0.0.1:9092"}, "security-protocols"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"stray"}, "stray"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseProduceFlags(tc.args, io.Discard)
			if err == nil {
				t.Fatalf("no error for %v", tc.args)
			}
			if !errors.Is(err, ErrUsage) {
				t.Errorf("error %v does not wrap ErrUsage", err)
			}
			if !strings.Contains(err.Error(), tc.wantFlag) {
				t.Errorf("error %q does not name %q", err, tc.wantFlag)
			}
		})
	}
}

func TestParseProduceFlagsAcceptsValues(t *testing.T) {
	cfg, err := parseProduceFlags([]string{
		"--brokers", "127.0.0.1:1,127.0.0.1:2", "--target", "kfake", "--record-size", "100",
		"--records", "5", "--duration", "3s", "--acks", "1", "--partitions", "3", "--topic", "t.x-1",
		"--linger", "0s", "--rate", "1000", "--pairs", "2", "--latency-fraction", "0", "--json",
		"--zkraft-override", "a=b", "--zkraft-override", "c=d=e",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := ProduceConfig{
		Brokers: "127.0.0.1:1,127.0.0.1:2", Target: TargetKfake, RecordSize: 100, Records: 5,
		Duration: 3 * time.Second, Acks: "1", Partitions: 3, Topic: "t.x-1", Linger: 0, Rate: 1000,
		Pairs: 2, LatencyFraction: 0, JSON: true, DiskMiB: 256, StartTimeout: 30 * time.Second,
		Overrides: []string{"a=b", "c=d=e"},
	}
	if strings.Join(cfg.Overrides, " ") != strings.Join(want.Overrides, " ") {
		t.Errorf("overrides = %v, want %v", cfg.Overrides, want.Overrides)
	}
	cfg.Overrides, want.Overrides = nil, nil
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("parsed\n %+v\nwant\n %+v", cfg, want)
	}
}

func TestDefaultProduceConfigValidates(t *testing.T) {
	c := DefaultProduceConfig()
	c.ZkraftBinary = "/bin/true"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseProduceFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ZkraftBinary == "" {
		t.Error("--zkraft-binary did not default to os.Executable()")
	}
}

func TestMainUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want error
		name string
	}{
		{nil, ErrUsage, "subcommand"},
		{[]string{"frobnicate"}, ErrUsage, "frobnicate"},
		{[]string{"metadata", "--scales", "1000,x"}, ErrUsage, "--scales"},
		{[]string{"metadata", "--failovers", "0"}, ErrUsage, "--failovers"},
		{[]string{"disk", "--mib", "0"}, ErrUsage, "--mib"},
		{[]string{"kfake-serve", "--addr", "nonsense"}, ErrUsage, "--addr"},
		{[]string{"produce", "--acks", "many"}, ErrUsage, "--acks"},
	}
	for _, tc := range tests {
		err := Main(t.Context(), tc.args, io.Discard, io.Discard)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("Main(%v) = %v, want %v naming %q", tc.args, err, tc.want, tc.name)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	// fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
	tests := []struct {
		name    string
		in      string
		want    uint64
		wantErr bool
	}{
		{"plain", "1234 (zkraft) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 9 0", 287, false},
		{"comm with spaces and parens", "99 (a) b (c) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0", 11, false},
		{"no comm", "1234 zkraft S 1", 0, true},
		{"too short", "1 (x) S 1 2 3", 0, true},
		{"non-numeric utime", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ab 6", 0, true},
		{"empty", "", 0, true},
	}
	for _, tc := range tests {
		got, err := parseProcStat([]byte(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: parseProcStat = %d, %v; want %d, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
	if u, s, err := parseProcStatSplit([]byte(tests[0].in)); err != nil || u != 250 || s != 37 {
		t.Errorf("parseProcStatSplit(%q) = %d, %d, %v; want 250, 37, nil", tests[0].in, u, s, err)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("1234 (zkraft) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 9 0"))
	f.Add([]byte("1 ()) S"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseProcStat(b) // must not panic
	})
}

func TestClusterConfigValidate(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(*ClusterConfig)
		wantFlag string // "" = valid
	}{
		{"defaults", func(*ClusterConfig) {}, ""},
		{"fixed rate, no peaks", func(c *ClusterConfig) { c.Pairs, c.LatencyRate, c.LatencyRuns = 0, 30000, 3 }, ""},
		{"no peaks without a rate", func(c *ClusterConfig) { c.Pairs = 0 }, "pairs"},
		{"negative pairs", func(c *ClusterConfig) { c.Pairs, c.LatencyRate = -1, 10 }, "pairs"},
		{"negative rate", func(c *ClusterConfig) { c.LatencyRate = -1 }, "latency-rate"},
		{"NaN rate", func(c *ClusterConfig) { c.LatencyRate = nan() }, "latency-rate"},
		{"no latency runs", func(c *ClusterConfig) { c.LatencyRuns = 0 }, "latency-runs"},
		{"bad record size", func(c *ClusterConfig) { c.RecordSize = 0 }, "record-size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultClusterConfig()
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.wantFlag == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantFlag != "" && (!errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--"+tt.wantFlag+":")):
				t.Fatalf("Validate = %v, want a usage error naming --%s", err, tt.wantFlag)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }
