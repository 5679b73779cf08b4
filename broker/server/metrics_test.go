package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/server"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/metrics"
	"github.com/zkraft/zkraft/metadata/wait"
)

// gatedSource is an orderSource whose Start waits for gate.
type gatedSource struct {
	*orderSource
	gate chan struct{}
}

func (s gatedSource) Start(ctx context.Context, pub metadata.Publisher) error {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.orderSource.Start(ctx, pub)
}

func get(url string) (int, string, error) {
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunMetrics: with Config.Metrics and MetricsAddr, Run serves
// /healthz from before the source starts, /readyz 503 "starting" until
// Start returned and the listeners opened, then 200; the broker's
// requests and records reach /metrics; after Run returns the listener is
// closed.
func TestRunMetrics(t *testing.T) {
	src := gatedSource{orderSource: newOrderSource(), gate: make(chan struct{})}
	cfg := testConfig(t)
	cfg.Metrics, cfg.MetricsAddr = metrics.New(), freeAddr(t)
	base := "http://" + cfg.MetricsAddr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg, src) }()

	wait.For(t, 20*time.Second, "/healthz 200 while starting", func() error {
		code, _, err := get(base + "/healthz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})
	if code, body, err := get(base + "/readyz"); err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Fatalf("/readyz before Start returned: %d %q %v", code, body, err)
	}
	close(src.gate)
	wait.For(t, 20*time.Second, "/readyz 200", func() error {
		code, body, err := get(base + "/readyz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d: %s", code, body)
		}
		return err
	})

	_, addr, _ := src.snapshot()
	// Mem advertises 127.0.0.1:9092: dial the real listener instead.
	var d net.Dialer
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("m"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.Dialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "m", 2, 1
	create.Topics = append(create.Topics, ct)
	if _, err := cl.SeedBrokers()[0].Request(rctx, create); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := cl.ProduceSync(rctx, &kgo.Record{Value: []byte{byte(i)}, Partition: 0}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	wait.For(t, 20*time.Second, "the broker's figures on /metrics", func() error {
		_, body, err := get(base + "/metrics")
		if err != nil {
			return err
		}
		for _, want := range []string{
			`kafka_server_brokertopicmetrics_messagesin_total{topic="m"} 5`,
			`kafka_network_requestmetrics_requests_total{listener="PLAINTEXT",request="CreateTopics"} 1`,
			"kafka_server_replicamanager_leadercount 2",
			"kafka_server_replicamanager_underreplicatedpartitions 0",
			"kafka_server_kafkaserver_fenced 0",
			`kafka_log_log_logendoffset{partition="0",topic="m"} 5`,
		} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("no %q", want)
			}
		}
		return nil
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, _, err := get(base + "/healthz"); err == nil {
		t.Fatal("metrics listener still open after Run returned")
	}
}
