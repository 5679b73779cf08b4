package topics

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestParseArgs: Kafka's checkArgs rules (exactly one action, required and
// invalid option combinations), each bad case naming what is wrong.
func TestParseArgs(t *testing.T) {
	bs := []string{"--bootstrap-server", "127.0.0.1:9092"}
	with := func(a ...string) []string { return append(append([]string{}, bs...), a...) }
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" = ok
	}{
		{"list", with("--list"), ""},
		{"list single dash", with("-list"), ""},
		{"describe all", with("--describe"), ""},
		{"describe json excl", with("--describe", "--topic", "a", "--json", "--exclude-internal"), ""},
		{"create full", with("--create", "--topic", "o", "--partitions", "12", "--replication-factor", "3",
			"--config", "min.insync.replicas=2", "--config", "retention.ms = 1000", "--if-not-exists"), ""},
		{"delete", with("--delete", "--topic", "o", "--if-exists"), ""},
		{"alter", with("--alter", "--topic", "o", "--partitions", "4"), ""},
		{"no action", bs, "exactly one action"},
		{"two actions", with("--list", "--delete"), "exactly one action"},
		{"no bootstrap", []string{"--list"}, "--bootstrap-server must be specified"},
		{"create no topic", with("--create"), "--create needs --topic"},
		{"delete no topic", with("--delete"), "--delete needs --topic"},
		{"describe if-exists no topic", with("--describe", "--if-exists"), "--topic is required"},
		{"config with delete", with("--delete", "--topic", "o", "--config", "a=b"), "--config is not valid with --delete"},
		{"rf with alter", with("--alter", "--topic", "o", "--partitions", "2", "--replication-factor", "2"), "--replication-factor is not valid with --alter"},
		{"alter without partitions", with("--alter", "--topic", "o"), "--alter needs --partitions"},
		{"alter with config", with("--alter", "--topic", "o", "--partitions", "2", "--config", "a=b"), "--config is not valid with --alter"},
		{"if-not-exists with delete", with("--delete", "--topic", "o", "--if-not-exists"), "--if-not-exists is not valid"},
		{"if-exists with create", with("--create", "--topic", "o", "--if-exists"), "--if-exists is not valid"},
		{"json with create", with("--create", "--topic", "o", "--json"), "--json is not valid"},
		{"exclude-internal with delete", with("--delete", "--topic", "o", "--exclude-internal"), "--exclude-internal is not valid"},
		{"rf zero", with("--create", "--topic", "o", "--replication-factor", "0"), "between 1 and 32767"},
		{"rf too big", with("--create", "--topic", "o", "--replication-factor", "40000"), "between 1 and 32767"},
		{"partitions zero", with("--create", "--topic", "o", "--partitions", "0"), "--partitions 0: must be between 1 and 100000 inclusive"},
		// One message for both ends (was "greater than 0" for a huge count,
		// then the broker's "exceeds 100000").
		{"partitions huge", with("--create", "--topic", "o", "--partitions", "3000000000"), "--partitions 3000000000: must be between 1 and 100000 inclusive"},
		{"partitions above the limit", with("--create", "--topic", "o", "--partitions", "100001"), "must be between 1 and 100000 inclusive"},
		{"alter partitions huge", with("--alter", "--topic", "o", "--partitions", "3000000000"), "must be between 1 and 2147483647 inclusive"},
		{"partitions not a number", with("--create", "--topic", "o", "--partitions", "x"), "invalid value"},
		{"bad config", with("--create", "--topic", "o", "--config", "novalue"), "want key=value"},
		{"empty config key", with("--create", "--topic", "o", "--config", "=1"), "want key=value"},
		{"config twice", with("--create", "--topic", "o", "--config", "a=1", "--config", "a=2"), "given twice"},
		{"bad regex", with("--describe", "--topic", "a(["), "invalid regular expression"},
		{"positional", with("--list", "extra"), `unexpected argument "extra"`},
		{"unknown flag", with("--list", "--zookeeper", "x"), "not defined"},
		{"bad timeout", with("--list", "--timeout", "0s"), "--timeout"},
		{"describe under-replicated", with("--describe", "--under-replicated-partitions"), ""},
		{"under-replicated with list", with("--list", "--under-replicated-partitions"), "--under-replicated-partitions is not valid with --list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseArgs(tc.args)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("parseArgs(%q): %v", tc.args, err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseArgs(%q) = %v, want a usage error containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
	if _, err := parseArgs([]string{"--help"}); !errors.Is(err, errHelp) {
		t.Errorf("--help: %v", err)
	}
}

func TestParseArgsValues(t *testing.T) {
	o, err := parseArgs([]string{"--create", "--bootstrap-server", "a:1, b:2,", "--topic", "o",
		"--replication-factor", "3", "--config", "x = 1", "--config", "y=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := splitBootstrap(o.bootstrap); !reflect.DeepEqual(got, []string{"a:1", "b:2"}) {
		t.Errorf("bootstrap %q", got)
	}
	if !o.set["replication-factor"] || o.set["partitions"] || o.replicationFactor != 3 {
		t.Errorf("set %v rf %d", o.set, o.replicationFactor)
	}
	cfg, err := parseConfigs(o.configs)
	if err != nil || !reflect.DeepEqual(cfg, map[string]string{"x": "1", "y": "a=b"}) {
		t.Errorf("configs %v %v", cfg, err)
	}
}

// TestTopicFilter: plain names match exactly ('.' literal); anything else
// is a whole-name regular expression with Kafka's IncludeList rewriting.
func TestTopicFilter(t *testing.T) {
	tests := []struct {
		pattern string
		exact   bool
		match   []string
		nomatch []string
	}{
		{"orders.v1", true, []string{"orders.v1"}, []string{"ordersXv1", "orders.v10", "xorders.v1"}},
		{"__consumer_offsets", true, []string{"__consumer_offsets"}, []string{"__consumer_offsets2"}},
		{"orders.*", false, []string{"orders", "orders.v1"}, []string{"xorders"}},
		{"a,b", false, []string{"a", "b"}, []string{"a,b", "ab"}},
		{" 'a|b' ", false, []string{"a", "b"}, []string{"c"}},
		{"a, b", false, []string{"a", "b"}, []string{" b"}},
	}
	for _, tc := range tests {
		f, err := newTopicFilter(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if (f.exact != "") != tc.exact {
			t.Errorf("%q: exact = %q, want exact %v", tc.pattern, f.exact, tc.exact)
		}
		for _, n := range tc.match {
			if !f.match(n) {
				t.Errorf("%q should match %q", tc.pattern, n)
			}
		}
		for _, n := range tc.nomatch {
			if f.match(n) {
				t.Errorf("%q should not match %q", tc.pattern, n)
			}
		}
	}
	if !(topicFilter{}).match("anything") {
		t.Error("the zero filter selects every topic")
	}
	for _, bad := range []string{"(", "''", " "} {
		if _, err := newTopicFilter(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want a usage error", bad, err)
		}
	}
}

// FuzzParseArgs: no command line panics the parser, and what it accepts
// has exactly one action and a bootstrap address.
func FuzzParseArgs(f *testing.F) {
	f.Add("--bootstrap-server\x00a:1\x00--create\x00--topic\x00o\x00--config\x00a=b")
	f.Add("--bootstrap-server\x00a:1\x00--describe\x00--topic\x00a.*,b")
	f.Add("--list\x00--json")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseArgs(strings.Split(s, "\x00"))
		if err != nil {
			return
		}
		n := 0
		for _, a := range []bool{o.list, o.describe, o.create, o.delete, o.alter} {
			if a {
				n++
			}
		}
		if n != 1 || len(splitBootstrap(o.bootstrap)) == 0 {
			t.Fatalf("accepted %q: %d actions, bootstrap %q", s, n, o.bootstrap)
		}
	})
}
