package topics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

// runMain runs Main and returns stdout, stderr and its error.
func runMain(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Main(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

// TestAgainstKfake drives every command against franz-go's in-process
// Kafka (3 brokers), which offers CreatePartitions, so --alter works there.
func TestAgainstKfake(t *testing.T) {
	defer goleak.VerifyNone(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bs := []string{"--bootstrap-server", strings.Join(c.ListenAddrs(), ",")}
	cmd := func(a ...string) []string { return append(append([]string{}, bs...), a...) }
	mustRun := func(a ...string) string {
		t.Helper()
		out, errOut, err := runMain(t, cmd(a...)...)
		if err != nil {
			t.Fatalf("topics %q: %v (stderr %q)", a, err, errOut)
		}
		return out
	}
	wantKafkaErr := func(want error, prefix string, a ...string) {
		t.Helper()
		_, _, err := runMain(t, cmd(a...)...)
		var ke *KafkaError
		if !errors.Is(err, want) || !errors.As(err, &ke) || !strings.HasPrefix(err.Error(), prefix) {
			t.Fatalf("topics %q: %v, want %v starting %q", a, err, want, prefix)
		}
	}

	if out := mustRun("--create", "--topic", "orders", "--partitions", "3", "--replication-factor", "3",
		"--config", "retention.ms=60000"); out != "Created topic orders.\n" {
		t.Errorf("create: %q", out)
	}
	wantKafkaErr(kerr.TopicAlreadyExists, "create topic orders: TOPIC_ALREADY_EXISTS",
		"--create", "--topic", "orders", "--partitions", "3")
	if out := mustRun("--create", "--topic", "orders", "--if-not-exists"); out != "" {
		t.Errorf("create --if-not-exists of an existing topic printed %q", out)
	}
	wantKafkaErr(kerr.InvalidReplicationFactor, "create topic big: INVALID_REPLICATION_FACTOR",
		"--create", "--topic", "big", "--replication-factor", "4")
	out, errOut, err := runMain(t, cmd("--create", "--topic", "a.b")...)
	if err != nil || out != "Created topic a.b.\n" || !strings.Contains(errOut, "WARNING: Due to limitations in metric names") {
		t.Errorf("create a.b: %v %q %q", err, out, errOut)
	}

	if out := mustRun("--list"); out != "a.b\norders\n" {
		t.Errorf("list: %q", out)
	}
	if out := mustRun("--list", "--json", "--topic", "ord.*"); out != `["orders"]`+"\n" {
		t.Errorf("list --json --topic ord.*: %q", out)
	}

	desc := mustRun("--describe", "--topic", "orders")
	lines := strings.Split(strings.TrimSuffix(desc, "\n"), "\n")
	head := regexp.MustCompile(`^Topic: orders\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: (.*)$`)
	part := regexp.MustCompile(`^\tTopic: orders\tPartition: (\d)\tLeader: (\d)\tReplicas: (\d),(\d),(\d)\tIsr: [\d,]+$`)
	if len(lines) != 4 || !head.MatchString(lines[0]) {
		t.Fatalf("describe:\n%s", desc)
	}
	if cfg := head.FindStringSubmatch(lines[0])[1]; !strings.Contains(cfg, "retention.ms=60000") || strings.Contains(cfg, "cleanup.policy") {
		t.Errorf("configs %q: want the override and no default", cfg)
	}
	for i, l := range lines[1:] {
		m := part.FindStringSubmatch(l)
		if m == nil || m[1] != string(rune('0'+i)) {
			t.Errorf("partition line %d: %q", i, l)
		}
	}

	var ds []description
	if err := json.Unmarshal([]byte(mustRun("--describe", "--json")), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "a.b" || ds[1].Name != "orders" || ds[1].PartitionCount != 3 ||
		ds[1].Configs["retention.ms"] != "60000" || len(ds[1].Partitions[2].Replicas) != 3 {
		t.Errorf("describe --json: %+v", ds)
	}

	if out := mustRun("--alter", "--topic", "orders", "--partitions", "5"); out != "" {
		t.Errorf("alter printed %q", out)
	}
	if out := mustRun("--describe", "--topic", "orders"); !strings.Contains(out, "PartitionCount: 5") ||
		!strings.Contains(out, "\tPartition: 4\t") {
		t.Errorf("after alter:\n%s", out)
	}
	wantKafkaErr(kerr.InvalidPartitions, "alter topic orders: INVALID_PARTITIONS",
		"--alter", "--topic", "orders", "--partitions", "2")
	wantKafkaErr(kerr.UnknownTopicOrPartition, "alter topic nope: UNKNOWN_TOPIC_OR_PARTITION",
		"--alter", "--topic", "nope", "--partitions", "2")

	mustRun("--delete", "--topic", "orders")
	if out := mustRun("--list"); out != "a.b\n" {
		t.Errorf("list after delete: %q", out)
	}
	wantKafkaErr(kerr.UnknownTopicOrPartition, "delete topic orders: UNKNOWN_TOPIC_OR_PARTITION",
		"--delete", "--topic", "orders")
	mustRun("--delete", "--topic", "orders", "--if-exists")
	wantKafkaErr(kerr.UnknownTopicOrPartition, "describe topic orders: UNKNOWN_TOPIC_OR_PARTITION",
		"--describe", "--topic", "orders")
	if out := mustRun("--describe", "--topic", "orders", "--if-exists"); out != "" {
		t.Errorf("describe --if-exists of a missing topic: %q", out)
	}
	if _, _, err := runMain(t, cmd("--describe", "--topic", "zz.*")...); !errors.Is(err, ErrNoTopic) {
		t.Errorf("describe of an unmatched pattern: %v", err)
	}
	if _, _, err := runMain(t, cmd("--delete", "--topic", "zz.*")...); !errors.Is(err, ErrNoTopic) {
		t.Errorf("delete of an unmatched pattern: %v", err)
	}
	mustRun("--delete", "--topic", "a\\..*") // a pattern
	if out := mustRun("--list"); out != "" {
		t.Errorf("list after deleting by pattern: %q", out)
	}
}

// TestUnreachableBootstrap: a dead address fails at once with ErrConnect
// naming it.
func TestUnreachableBootstrap(t *testing.T) {
	defer goleak.VerifyNone(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	_, _, err = runMain(t, "--bootstrap-server", dead, "--list", "--timeout", "20s")
	if !errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), dead) {
		t.Errorf("got %v, want ErrConnect naming %s", err, dead)
	}
}

// TestUsagePrinted: a usage error prints Usage to stderr; --help to stdout.
func TestUsagePrinted(t *testing.T) {
	out, errOut, err := runMain(t, "--list")
	if !errors.Is(err, ErrUsage) || out != "" || errOut != Usage {
		t.Errorf("usage error: %v %q %q", err, out, errOut)
	}
	out, errOut, err = runMain(t, "--help")
	if err != nil || out != Usage || errOut != "" {
		t.Errorf("--help: %v %q %q", err, out, errOut)
	}
}

// apiVersionsOnly answers ApiVersions with the given keys, nothing else.
type apiVersionsOnly struct {
	keys []int16
	seen []int16
}

func (f *apiVersionsOnly) Request(_ context.Context, req kmsg.Request) (kmsg.Response, error) {
	f.seen = append(f.seen, req.Key())
	if _, ok := req.(*kmsg.ApiVersionsRequest); !ok {
		return nil, errors.New("unexpected request")
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	for _, k := range f.keys {
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey, ak.MaxVersion = k, 3
		resp.ApiKeys = append(resp.ApiKeys, ak)
	}
	return resp, nil
}

// TestAlterUnsupported: without CreatePartitions in ApiVersions (zkraft),
// --alter fails naming the API and sends nothing else.
func TestAlterUnsupported(t *testing.T) {
	f := &apiVersionsOnly{keys: []int16{3, 18, 19, 20, 32}}
	o, err := parseArgs([]string{"--bootstrap-server", "x:1", "--alter", "--topic", "orders", "--partitions", "6"})
	if err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), f, o, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "alter topic orders") ||
		!strings.Contains(err.Error(), "CreatePartitions API (key 37)") {
		t.Errorf("got %v", err)
	}
	if len(f.seen) != 1 || f.seen[0] != 18 {
		t.Errorf("requests sent: %v, want only ApiVersions", f.seen)
	}
}
