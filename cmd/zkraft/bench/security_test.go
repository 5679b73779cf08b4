package bench

import (
	"slices"
	"strings"
	"testing"
)

func TestProtocolTargets(t *testing.T) {
	got := protocolTargets([]string{"SASL_SSL", "SSL"})
	if want := []string{"zkraft", "zkraft/SSL", "zkraft/SASL_SSL"}; !slices.Equal(got, want) {
		t.Fatalf("targets %v, want %v", got, want)
	}
	for tg, want := range map[string][2]string{"zkraft": {"zkraft", "PLAINTEXT"}, "zkraft/SSL": {"zkraft", "SSL"}, "kfake": {"kfake", "PLAINTEXT"}} {
		if k, p := splitTarget(tg); k != want[0] || p != want[1] {
			t.Errorf("splitTarget(%s) = %s, %s", tg, k, p)
		}
	}
}

// TestProtocolRatios: pair i is the i-th run of each target; the ratio is
// the median over pairs.
func TestProtocolRatios(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	by := map[string][]RunResult{
		"zkraft":     {{RecordsPerSec: 100, CPUSecondsPerGiB: f(1)}, {RecordsPerSec: 200, CPUSecondsPerGiB: f(1)}, {RecordsPerSec: 100, CPUSecondsPerGiB: f(2)}},
		"zkraft/SSL": {{RecordsPerSec: 80, CPUSecondsPerGiB: f(2)}, {RecordsPerSec: 100, CPUSecondsPerGiB: f(1.5)}, {RecordsPerSec: 90, CPUSecondsPerGiB: f(3)}},
	}
	tput, cpu := protocolRatios(by, []string{"zkraft", "zkraft/SSL"})
	if tput["SSL"] != 0.8 || cpu["SSL"] != 1.5 || len(tput) != 1 {
		t.Fatalf("ratios %v %v, want SSL 0.8 and 1.5", tput, cpu)
	}
}

func TestBenchPKIOverrides(t *testing.T) {
	p, err := newBenchPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.remove()
	kv := strings.Join(p.listenerOverrides(ProtocolSASLSSL, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"), "\n")
	for _, w := range []string{"SASL_SSL://127.0.0.1:2", "SASL_SSL:SASL_SSL", "ssl.keystore.location=" + p.keystore(), `user_bench="bench-secret"`} {
		if !strings.Contains(kv, w) {
			t.Errorf("overrides lack %q:\n%s", w, kv)
		}
	}
	if len(p.clientOpts(ProtocolSASLSSL)) != 2 || len(p.clientOpts(ProtocolSSL)) != 1 || p.clientOpts(ProtocolPlaintext) != nil {
		t.Error("client options do not follow the protocol")
	}
}
