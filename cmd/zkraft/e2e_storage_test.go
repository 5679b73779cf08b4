package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
)

// TestE2EStorageFormat is kafka-storage.sh's workflow: random-uuid, format
// with --add-scram, a second format refused unless --ignore-formatted, then
// the node starts in the formatted cluster and its first leader writes the
// bootstrap SCRAM users into the log (zkraft meta shows them). The node
// also serves zkraft log-dirs (kafka-log-dirs.sh).
func TestE2EStorageFormat(t *testing.T) {
	dir := t.TempDir()
	zk := func(args ...string) (string, error) {
		out, err := exec.Command(zkraftBinary(t), args...).CombinedOutput()
		return string(out), err
	}
	idOut, err := zk("storage", "random-uuid")
	if err != nil {
		t.Fatalf("random-uuid: %v %s", err, idOut)
	}
	clusterID := strings.TrimSpace(idOut)

	n := &node{t: t, dir: dir}
	n.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	n.ctrlAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metaDir := filepath.Join(dir, "metadata")
	props := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(props, []byte(strings.Join([]string{
		"process.roles=broker,controller", "node.id=1",
		"listeners=PLAINTEXT://" + n.addr + ",CONTROLLER://" + n.ctrlAddr,
		"controller.listener.names=CONTROLLER", "controller.quorum.voters=1@" + n.ctrlAddr,
		"log.dirs=" + filepath.Join(dir, "kafka-logs"), "metadata.log.dir=" + metaDir, "",
	}, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	format := []string{"storage", "format", "-t", clusterID, "-c", props,
		"--add-scram", `SCRAM-SHA-512=[name=admin,password="admin-secret"]`,
		"--add-scram", "SCRAM-SHA-256=[name=alice,iterations=8192,password=alice-secret]"}
	if out, err := zk(format...); err != nil || !strings.Contains(out, "Wrote 2 bootstrap SCRAM credential(s)") {
		t.Fatalf("format: %v\n%s", err, out)
	}
	if out, err := zk(format...); err == nil || !strings.Contains(out, "already formatted; use --ignore-formatted") {
		t.Fatalf("second format: %v\n%s", err, out)
	}
	if out, err := zk("storage", "format", "-t", clusterID, "-c", props, "--ignore-formatted"); err != nil {
		t.Fatalf("format --ignore-formatted: %v\n%s", err, out)
	}
	if out, err := zk("storage", "format", "-t", clusterID, "-c", props, "-g", "--add-scram", "SCRAM-SHA-1=[name=a,password=b]"); err == nil || !strings.Contains(out, `unknown mechanism "SCRAM-SHA-1"`) {
		t.Fatalf("bad mechanism: %v\n%s", err, out)
	}

	n.args = []string{"serve", props}
	n.start()
	t.Cleanup(func() { n.kill() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, n.client(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ClusterID == nil || *resp.ClusterID != clusterID {
		t.Fatalf("cluster id %v, formatted %s", resp.ClusterID, clusterID)
	}
	// The same node answers zkraft log-dirs (DescribeLogDirs) in Kafka's JSON.
	createTopic(t, n.client(t), "dirs", 2)
	out, err := zk("log-dirs", "--bootstrap-server", n.addr, "--describe", "--topic-list", "dirs")
	if err != nil {
		t.Fatalf("log-dirs: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var ld struct {
		Brokers []struct {
			Broker  int32 `json:"broker"`
			LogDirs []struct {
				LogDir     string `json:"logDir"`
				Error      *string
				Partitions []struct {
					Partition string `json:"partition"`
				} `json:"partitions"`
			} `json:"logDirs"`
		} `json:"brokers"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ld); err != nil {
		t.Fatalf("log-dirs output %q: %v", out, err)
	}
	if len(ld.Brokers) != 1 || ld.Brokers[0].Broker != 1 || len(ld.Brokers[0].LogDirs) != 1 ||
		ld.Brokers[0].LogDirs[0].LogDir != filepath.Join(dir, "kafka-logs") || len(ld.Brokers[0].LogDirs[0].Partitions) != 2 ||
		ld.Brokers[0].LogDirs[0].Partitions[0].Partition != "dirs-0" {
		t.Fatalf("log-dirs: %+v\n%s", ld, out)
	}
	if out, err := zk("log-dirs", "--bootstrap-server", n.addr, "--describe", "--broker-list", "7"); err == nil || !strings.Contains(out, "broker 7 is not in the cluster") {
		t.Fatalf("log-dirs for an unknown broker: %v\n%s", err, out)
	}

	wait.For(t, 20*time.Second, "bootstrap users in zkraft meta", func() error {
		for _, p := range []string{"/image/scram/SCRAM-SHA-512/admin", "/image/scram/SCRAM-SHA-256/alice"} {
			out, err := runMetaCmd(t, "--dir", metaDir, "cat", p)
			if err != nil {
				return err
			}
			if p == "/image/scram/SCRAM-SHA-256/alice" && !strings.Contains(out, "8192") {
				return fmt.Errorf("%s: %q lacks the iterations", p, out)
			}
		}
		return nil
	})
}

// TestE2EToolsCommandConfig: zkraft's Kafka-style tools reach a secured
// listener with --command-config (Kafka's client properties): SCRAM over
// TLS for topics and log-dirs, and a wrong password fails naming SASL.
func TestE2EToolsCommandConfig(t *testing.T) {
	sn := startSASLQuorumNode(t)
	client := func(name, pass string) string {
		p := filepath.Join(sn.dir, name)
		if err := os.WriteFile(p, []byte(strings.Join([]string{
			"security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512",
			`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="` + pass + `";`,
			"ssl.truststore.type=PEM", "ssl.truststore.location=" + sn.caPath, "",
		}, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := client("admin.properties", "admin-secret"), client("wrong.properties", "nope")
	zk := func(args ...string) (string, error) {
		out, err := exec.Command(zkraftBinary(t), args...).CombinedOutput()
		return string(out), err
	}
	if out, err := zk("topics", "--bootstrap-server", sn.sslAddr, "--command-config", good, "--create", "--topic", "secured", "--partitions", "2"); err != nil {
		t.Fatalf("topics --create over SASL_SSL: %v\n%s", err, out)
	}
	if out, err := zk("topics", "--bootstrap-server", sn.sslAddr, "--command-config", good, "--list"); err != nil || !strings.Contains(out, "secured") {
		t.Fatalf("topics --list over SASL_SSL: %v\n%s", err, out)
	}
	if out, err := zk("log-dirs", "--bootstrap-server", sn.sslAddr, "--command-config", good, "--describe", "--topic-list", "secured"); err != nil || !strings.Contains(out, `"partition":"secured-1"`) {
		t.Fatalf("log-dirs over SASL_SSL: %v\n%s", err, out)
	}
	if out, err := zk("topics", "--bootstrap-server", sn.sslAddr, "--command-config", bad, "--list", "--timeout", "10s"); err == nil || !strings.Contains(out, "SASL_AUTHENTICATION_FAILED") {
		t.Fatalf("topics with a wrong password: %v\n%s", err, out)
	}
}
