package main_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata/wait"
)

// scrape GETs path on n's metrics listener: the status and body.
func scrape(n *node, path string) (int, string, error) {
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://" + n.metricsAddr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// sample sums the samples of family name in a Prometheus text exposition
// whose label sets contain every one of labels (k="v"); ok is false when
// none matched.
func sample(body, name string, labels ...string) (v float64, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		lbl, val := "", line[strings.LastIndexByte(line, ' ')+1:]
		if line[len(name)] == '{' {
			i := len(name)
			lbl = line[i:strings.LastIndexByte(line, '}')]
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(lbl, l) {
				match = false
			}
		}
		if !match {
			continue
		}
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		v, ok = v+f, true
	}
	return v, ok
}

// metricOf scrapes /metrics of n and returns sample(name, labels...).
func metricOf(n *node, name string, labels ...string) (float64, error) {
	code, body, err := scrape(n, "/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("/metrics answered %d", code)
	}
	v, ok := sample(body, name, labels...)
	if !ok {
		return 0, fmt.Errorf("no %s%v sample", name, labels)
	}
	return v, nil
}

// TestE2EMetrics (issue 14): every node of a quorum cluster (3
// controllers, 3 brokers) serves zkraft.metrics.listener. /healthz is 200,
// /readyz turns 200 once a node serves; producing to the leader moves its
// messages-in and bytes-in counters for the topic; exactly one controller
// reports itself active and its raft gauges name each broker's metadata
// lag; after a follower is killed (kill -9) the leader reports the
// partition under-replicated, and once it is back, no longer.
func TestE2EMetrics(t *testing.T) {
	qc := startReplicaCluster(t)
	all := map[string]*node{}
	for id, n := range qc.controllers {
		all[fmt.Sprintf("controller %d", id)] = n
	}
	for id, n := range qc.brokers {
		all[fmt.Sprintf("broker %d", id)] = n
	}
	for name, n := range all {
		wait.For(t, replicaWait, name+" /readyz 200", func() error {
			code, body, err := scrape(n, "/readyz")
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("%d %s", code, strings.TrimSpace(body))
			}
			return err
		})
		if code, body, err := scrape(n, "/healthz"); err != nil || code != http.StatusOK {
			t.Fatalf("%s /healthz: %d %q %v", name, code, body, err)
		}
	}

	createReplicaTopic(t, qc, map[string]string{"min.insync.replicas": "2"})
	leader := waitLeader(t, qc, 4, "a leader", otherThan())
	waitReplicaISR(t, qc, leader, 4, 5, 6)
	ln := qc.brokers[leader]
	topic := `topic="` + replicaTopic + `"`
	before, _ := sample(mustScrape(t, ln), "kafka_server_brokertopicmetrics_bytesin_total", topic)
	cl := qc.brokerClient(leader)
	const records = 20
	for i := range records {
		r := &kgo.Record{Topic: replicaTopic, Value: []byte(fmt.Sprintf("metrics-%d", i))}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	// The counters move as the handler returns: the scrape may not see the
	// last request yet.
	wait.For(t, replicaWait, "messages in to count the records produced", func() error {
		if v, err := metricOf(ln, "kafka_server_brokertopicmetrics_messagesin_total", topic); err != nil || v < records {
			return fmt.Errorf("messages in %v (want >= %d): %v", v, records, err)
		}
		return nil
	})
	after, err := metricOf(ln, "kafka_server_brokertopicmetrics_bytesin_total", topic)
	if err != nil || after <= before {
		t.Fatalf("bytes in %v after producing %d records, %v before: %v", after, records, before, err)
	}
	if v, err := metricOf(ln, "kafka_network_requestmetrics_requests_total", `request="Produce"`); err != nil || v < records {
		t.Fatalf("Produce requests %v, want >= %d: %v", v, records, err)
	}
	if v, err := metricOf(ln, "kafka_server_replicamanager_underreplicatedpartitions"); err != nil || v != 0 {
		t.Fatalf("under-replicated partitions with the full ISR: %v, %v", v, err)
	}
	if v, err := metricOf(ln, "kafka_network_requestmetrics_errors_total", `request="Produce"`, `error="NONE"`); err != nil || v < records {
		t.Fatalf("Produce errors{error=NONE} %v, want >= %d: %v", v, records, err)
	}
	t.Logf("leader %d: bytes in %v -> %v", leader, before, after)
	// The followers count what they copied as replication bytes in.
	for id, n := range qc.brokers {
		if id == leader {
			continue
		}
		wait.For(t, replicaWait, fmt.Sprintf("follower %d to count replication bytes in", id), func() error {
			if v, err := metricOf(n, "kafka_server_brokertopicmetrics_replicationbytesin_total", topic); err != nil || v < after-before {
				return fmt.Errorf("replication bytes in %v (want >= %v): %v", v, after-before, err)
			}
			return nil
		})
	}
	// A request for an unknown topic is counted under its error's name
	// (by whichever broker kadm sent it to).
	if _, err := kadm.NewClient(cl).DescribeTopicConfigs(context.Background(), "no-such-topic"); err != nil {
		t.Fatalf("describe configs of a missing topic: %v", err)
	}
	wait.For(t, replicaWait, "DescribeConfigs errors{error=UNKNOWN_TOPIC_OR_PARTITION}", func() error {
		for _, n := range qc.brokers {
			if v, err := metricOf(n, "kafka_network_requestmetrics_errors_total", `request="DescribeConfigs"`, `error="UNKNOWN_TOPIC_OR_PARTITION"`); err == nil && v >= 1 {
				return nil
			}
		}
		return errors.New("no broker counted it")
	})

	// One active controller; it knows every broker's metadata log end.
	wait.For(t, replicaWait, "one active controller that sees the brokers' metadata lag", func() error {
		active := 0
		for id, n := range qc.controllers {
			v, err := metricOf(n, "kafka_controller_kafkacontroller_activecontrollercount")
			if err != nil {
				return fmt.Errorf("controller %d: %w", id, err)
			}
			if v == 1 {
				active++
				for b := 4; b <= 6; b++ {
					if _, err := metricOf(n, "kafka_server_raftmetrics_replica_lag", fmt.Sprintf(`node="%d"`, b), `role="observer"`); err != nil {
						return fmt.Errorf("active controller %d: %w", id, err)
					}
				}
				if v, err := metricOf(n, "kafka_server_raftmetrics_current_epoch"); err != nil || v < 1 {
					return fmt.Errorf("active controller %d: epoch %v: %v", id, v, err)
				}
			}
		}
		if active != 1 {
			return fmt.Errorf("%d controllers report active", active)
		}
		return nil
	})

	// kill -9 a follower: the leader reports the partition under-replicated.
	follower := int32(4)
	for follower == leader {
		follower++
	}
	qc.brokers[follower].kill()
	wait.For(t, replicaWait, fmt.Sprintf("broker %d to report under-replicated partitions after kill -9 of %d", leader, follower), func() error {
		if v, err := metricOf(ln, "kafka_server_replicamanager_underreplicatedpartitions"); err != nil || v < 1 {
			return fmt.Errorf("under-replicated %v: %v", v, err)
		}
		return nil
	})
	if v, err := metricOf(ln, "kafka_server_replicamanager_underminisrpartitioncount"); err != nil || v != 0 {
		t.Fatalf("under min ISR with 2 of 3 in the ISR and min.insync.replicas=2: %v, %v", v, err)
	}
	t.Logf("broker %d killed: leader %d reports under-replicated partitions", follower, leader)

	qc.brokers[follower].spawn()
	qc.brokers[follower].waitReady()
	waitReplicaISR(t, qc, leader, 4, 5, 6)
	wait.For(t, replicaWait, "under-replicated partitions back to 0", func() error {
		if v, err := metricOf(ln, "kafka_server_replicamanager_underreplicatedpartitions"); err != nil || v != 0 {
			return fmt.Errorf("under-replicated %v: %v", v, err)
		}
		return nil
	})
	wait.For(t, replicaWait, fmt.Sprintf("restarted broker %d /readyz 200", follower), func() error {
		code, body, err := scrape(qc.brokers[follower], "/readyz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("%d %s", code, strings.TrimSpace(body))
		}
		return err
	})
}

func mustScrape(t *testing.T, n *node) string {
	t.Helper()
	code, body, err := scrape(n, "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("scrape %s: %d %v", n.metricsAddr, code, err)
	}
	return body
}

// TestE2EMetricsZooKeeper (issue 14): the metrics listener in ZooKeeper
// mode, on migrating controllers and on a migrating ZooKeeper-mode broker
// (runbook steps 1-3, docs/migration.md). Every ZooKeeper-mode broker is
// ready and reports a live session; exactly one of them is the active
// controller; the migrating controllers are ready and the active one
// reports PRE_MIGRATION (KIP-866's ZkMigrationState 2), with a raft term;
// a broker rolled to the migration keys is ready again.
func TestE2EMetricsZooKeeper(t *testing.T) {
	mc := startMigCluster(t)
	ready := func(name string, n *node) {
		t.Helper()
		wait.For(t, migWait, name+" /readyz 200", func() error {
			code, body, err := scrape(n, "/readyz")
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("%d %s", code, strings.TrimSpace(body))
			}
			return err
		})
	}
	for id, n := range mc.brokers {
		ready(fmt.Sprintf("ZooKeeper-mode broker %d", id), n)
		if v, err := metricOf(n, "kafka_server_sessionexpirelistener_sessionstate", `state="StateHasSession"`); err != nil || v != 1 {
			t.Fatalf("broker %d session state: %v %v", id, v, err)
		}
		if v, err := metricOf(n, "kafka_controller_kafkacontroller_zkmigrationstate"); err != nil || v != 4 {
			t.Fatalf("broker %d migration state %v, want 4 (ZK): %v", id, v, err)
		}
	}
	wait.For(t, migWait, "one ZooKeeper-mode broker as the active controller", func() error {
		active := 0.0
		for id, n := range mc.brokers {
			v, err := metricOf(n, "kafka_controller_kafkacontroller_activecontrollercount")
			if err != nil {
				return fmt.Errorf("broker %d: %w", id, err)
			}
			active += v
		}
		if active != 1 {
			return fmt.Errorf("%v brokers report active", active)
		}
		return nil
	})

	mc.startControllers()
	for id, n := range mc.controllers {
		ready(fmt.Sprintf("migrating controller %d", id), n)
	}
	wait.For(t, migWait, "the active controller to report PRE_MIGRATION", func() error {
		for _, n := range mc.controllers {
			if v, err := metricOf(n, "kafka_controller_kafkacontroller_activecontrollercount"); err != nil || v != 1 {
				continue
			}
			if v, err := metricOf(n, "kafka_controller_kafkacontroller_zkmigrationstate"); err != nil || v != 2 {
				return fmt.Errorf("migration state %v: %v", v, err)
			}
			if v, err := metricOf(n, "kafka_server_raftmetrics_current_epoch"); err != nil || v < 1 {
				return fmt.Errorf("raft epoch %v: %v", v, err)
			}
			return nil
		}
		return fmt.Errorf("no controller reports itself active")
	})

	mc.rollBroker(1, phaseZkMigrate)
	ready("migrating ZooKeeper-mode broker 1", mc.brokers[1])
	if v, err := metricOf(mc.brokers[1], "kafka_server_sessionexpirelistener_sessionstate", `state="StateHasSession"`); err != nil || v != 1 {
		t.Fatalf("migrating broker 1 session state: %v %v", v, err)
	}
}

// TestE2EMetricsCombined (issue 14): a combined broker+controller node
// serves the broker's, the controller's and raft's families from one
// registry, is ready, and counts a produce to an auto-created topic.
func TestE2EMetricsCombined(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	n := startNode(t, t.TempDir(), "zkraft.metrics.listener=http://"+addr)
	n.metricsAddr = addr
	wait.For(t, 30*time.Second, "/readyz 200", func() error {
		code, body, err := scrape(n, "/readyz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("%d %s", code, strings.TrimSpace(body))
		}
		return err
	})
	cl := n.client(t, kgo.AllowAutoTopicCreation())
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "metrics-combined", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	wait.For(t, 30*time.Second, "the combined node's figures", func() error {
		for _, c := range []struct {
			name   string
			labels []string
			ok     func(float64) bool
		}{
			{"kafka_server_brokertopicmetrics_messagesin_total", []string{`topic="metrics-combined"`}, func(v float64) bool { return v == 1 }},
			{"kafka_controller_kafkacontroller_activecontrollercount", nil, func(v float64) bool { return v == 1 }},
			{"kafka_controller_kafkacontroller_globaltopiccount", nil, func(v float64) bool { return v >= 1 }},
			{"kafka_server_raftmetrics_current_state", []string{`state="Leader"`}, func(v float64) bool { return v == 1 }},
			{"kafka_server_kafkaserver_fenced", nil, func(v float64) bool { return v == 0 }},
			{"kafka_server_replicamanager_leadercount", nil, func(v float64) bool { return v >= 1 }},
			{"kafka_log_log_size", []string{`topic="metrics-combined"`}, func(v float64) bool { return v > 0 }},
			{"kafka_network_requestmetrics_requests_total", []string{`request="BrokerHeartbeat"`}, func(v float64) bool { return v >= 1 }},
		} {
			v, err := metricOf(n, c.name, c.labels...)
			if err != nil {
				return err
			}
			if !c.ok(v) {
				return fmt.Errorf("%s%v = %v", c.name, c.labels, v)
			}
		}
		return nil
	})
}
