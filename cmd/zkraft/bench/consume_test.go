package bench

import (
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConsumeFlags(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantFlag string
	}{
		{[]string{"--records", "0"}, "records"},
		{[]string{"--groups", "1,x"}, "groups"},
		{[]string{"--groups", "0"}, "groups"},
		{[]string{"--groups", "1,17"}, "groups"},
		{[]string{"--read-timeout", "0s"}, "read-timeout"},
		{[]string{"--tail-rate", "-1"}, "tail-rate"},
		{[]string{"--tail-duration", "0s"}, "tail-duration"},
		{[]string{"--partitions", "0"}, "partitions"},
		{[]string{"--target", "kafka"}, "target"},
		{[]string{"--brokers", "127.0.0.1:9092"}, "brokers"}, // with the default target compare
	} {
		_, err := parseConsumeFlags(append(tc.args, "--zkraft-binary", "/bin/true"), io.Discard)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--"+tc.wantFlag) {
			t.Errorf("%v: got %v, want a usage error naming --%s", tc.args, err, tc.wantFlag)
		}
	}
	c, err := parseConsumeFlags([]string{"--zkraft-binary", "/bin/true", "--groups", "1, 2,4", "--partitions", "1000",
		"--tail-rate", "0", "--read-timeout", "30s", "--perf-record", "/tmp/prof"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Groups, []int{1, 2, 4}) || c.Partitions != 1000 || c.TailRate != 0 || c.ReadTimeout != 30*time.Second ||
		c.PerfRecord != "/tmp/prof" {
		t.Fatalf("parsed %+v", c)
	}
}

// TestSummarizeConsume: medians per group count, ratios over pairs, fan-out CPU.
func TestSummarizeConsume(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	run := func(tg string, rps1, cpu1, rps3, cpu3 float64) ConsumeRun {
		return ConsumeRun{Target: tg, Phases: []ConsumePhase{
			{Groups: 1, RecordsPerSec: rps1, BrokerCPUSeconds: f(cpu1), CPUSecondsPerGiB: f(cpu1), BrokerUserCPUSeconds: f(cpu1 / 2)},
			{Groups: 3, RecordsPerSec: rps3, BrokerCPUSeconds: f(cpu3), CPUSecondsPerGiB: f(cpu3 / 3), BrokerUserCPUSeconds: f(cpu3)},
		}}
	}
	runs := []ConsumeRun{run(TargetZkraft, 200, 1, 300, 1.2), run(TargetKfake, 100, 2, 100, 6),
		run(TargetZkraft, 400, 1, 600, 1.4), run(TargetKfake, 100, 2, 200, 6)}
	s := summarizeConsume(runs, []string{TargetZkraft, TargetKfake}, []int{1, 3})
	if len(s) != 2 || s[0].Median[TargetZkraft].RecordsPerSec != 300 || *s[0].ThroughputRatio != 3 || *s[0].CPURatio != 0.5 {
		t.Fatalf("1 group: %+v", s[0])
	}
	if *s[1].ThroughputRatio != 3 || math.Abs(s[1].FanOutCPUOverOne[TargetZkraft]-1.3) > 1e-9 || s[1].FanOutCPUOverOne[TargetKfake] != 3 {
		t.Fatalf("3 groups: %+v ratio %v", s[1], *s[1].ThroughputRatio)
	}
	if math.Abs(s[1].FanOutUserCPUOverOne[TargetZkraft]-2.6) > 1e-9 || s[1].FanOutUserCPUOverOne[TargetKfake] != 6 {
		t.Fatalf("3 groups, user cpu fan-out: %+v", s[1].FanOutUserCPUOverOne)
	}
}

// TestSummarizeCluster: medians per replication factor and RF 3 / RF 1 ratios over pairs;
// latency runs stay out of the medians.
func TestSummarizeCluster(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	runs := []RunResult{
		{Target: clusterRF3, Kind: KindPeak, RecordsPerSec: 100, CPUSecondsPerGiB: f(3)},
		{Target: clusterRF1, Kind: KindPeak, RecordsPerSec: 300, CPUSecondsPerGiB: f(1)},
		{Target: clusterRF3, Kind: KindPeak, RecordsPerSec: 200, CPUSecondsPerGiB: f(4)},
		{Target: clusterRF1, Kind: KindPeak, RecordsPerSec: 400, CPUSecondsPerGiB: f(1)},
		{Target: clusterRF3, Kind: KindLatency, RecordsPerSec: 1},
	}
	s := summarizeCluster(runs)
	if s.PeakMedian[clusterRF3].RecordsPerSec != 150 || s.PeakMedian[clusterRF3].Runs != 2 {
		t.Fatalf("rf3 median: %+v", s.PeakMedian[clusterRF3])
	}
	if r := *s.ThroughputRatio; math.Abs(r-(1.0/3+0.5)/2) > 1e-9 {
		t.Fatalf("throughput ratio %v", r)
	}
	if r := *s.CPURatio; r != 3.5 {
		t.Fatalf("cpu ratio %v", r)
	}
}
