package metrics

import (
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// batch is a v2 record batch header claiming n records, with pad bytes of
// records after it (only the framing and the count matter here).
func batch(n int32, pad int) []byte {
	b := make([]byte, 61+pad)
	binary.BigEndian.PutUint32(b[8:12], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[57:61], uint32(n))
	return b
}

func TestRecordCount(t *testing.T) {
	two := append(batch(3, 10), batch(5, 0)...)
	for _, tc := range []struct {
		name string
		in   []byte
		want int
	}{
		{"none", nil, 0},
		{"one", batch(7, 4), 7},
		{"two", two, 8},
		{"truncated second", two[:len(two)-1], 3},
		{"short header", batch(2, 0)[:60], 0},
	} {
		if got := RecordCount(tc.in); got != tc.want {
			t.Errorf("%s: RecordCount = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// value is the sample of family name whose labels include want (nil: the
// family has no such sample).
func value(t *testing.T, r *Registry, name string, want map[string]string) *float64 {
	t.Helper()
	fams, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			v := sampleValue(m)
			return &v
		}
	}
	return nil
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func mustValue(t *testing.T, r *Registry, name string, labels map[string]string, want float64) {
	t.Helper()
	v := value(t, r, name, labels)
	if v == nil {
		t.Fatalf("%s%v: no sample", name, labels)
	}
	if *v != want {
		t.Fatalf("%s%v = %v, want %v", name, labels, *v, want)
	}
}

func TestObserveProduce(t *testing.T) {
	r := New()
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	tp := kmsg.NewProduceRequestTopic()
	tp.Topic = "t"
	for _, recs := range [][]byte{batch(4, 100), batch(9, 50)} {
		p := kmsg.NewProduceRequestTopicPartition()
		p.Records = recs
		tp.Partitions = append(tp.Partitions, p)
	}
	req.Topics = append(req.Topics, tp)
	resp := kmsg.NewPtrProduceResponse()
	rt := kmsg.NewProduceResponseTopic()
	rt.Topic = "t"
	ok, bad := kmsg.NewProduceResponseTopicPartition(), kmsg.NewProduceResponseTopicPartition()
	bad.ErrorCode = 6 // NOT_LEADER_OR_FOLLOWER: not appended, not counted
	rt.Partitions = append(rt.Partitions, ok, bad)
	resp.Topics = append(resp.Topics, rt)
	nreq := &network.Request{APIKey: 0, Version: 9, Body: req, Listener: "PLAINTEXT"}
	r.ObserveRequest(nreq, resp, nil, 3*time.Millisecond)
	mustValue(t, r, "kafka_server_brokertopicmetrics_bytesin_total", map[string]string{"topic": "t"}, 161)
	mustValue(t, r, "kafka_server_brokertopicmetrics_messagesin_total", map[string]string{"topic": "t"}, 4)
	mustValue(t, r, "kafka_network_requestmetrics_requests_total", map[string]string{"request": "Produce", "listener": "PLAINTEXT"}, 1)
	mustValue(t, r, "kafka_network_requestmetrics_totaltime_seconds", map[string]string{"request": "Produce"}, 1)

	// acks=0 has no response: everything sent counts.
	r.ObserveRequest(nreq, nil, nil, time.Millisecond)
	mustValue(t, r, "kafka_server_brokertopicmetrics_messagesin_total", map[string]string{"topic": "t"}, 4+13)
	// A handler error counts the request, not the bytes.
	r.ObserveRequest(nreq, nil, errors.New("boom"), time.Millisecond)
	mustValue(t, r, "kafka_network_requestmetrics_requests_total", map[string]string{"request": "Produce"}, 3)
	mustValue(t, r, "kafka_server_brokertopicmetrics_messagesin_total", map[string]string{"topic": "t"}, 17)
}

func TestObserveFetch(t *testing.T) {
	r := New()
	img := image(t, 1, []int32{1, 2}, []int32{1, 2})
	if err := r.AddBroker(BrokerState{NodeID: 1, MinInsyncReplicas: 1, Image: func() *metadata.Image { return img }}); err != nil {
		t.Fatal(err)
	}
	fetch := func(replica int32, v int16, resp kmsg.Response) {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID = replica
		r.ObserveRequest(&network.Request{APIKey: 1, Version: v, Body: req, Listener: "PLAINTEXT"}, resp, nil, time.Millisecond)
	}
	resp := kmsg.NewPtrFetchResponse()
	rt := kmsg.NewFetchResponseTopic()
	rt.TopicID = topicID // v13: by id only
	p := kmsg.NewFetchResponseTopicPartition()
	p.RecordBatches = batch(2, 39) // 100 bytes
	rt.Partitions = append(rt.Partitions, p)
	resp.Topics = append(resp.Topics, rt)
	fetch(-1, 13, resp)
	mustValue(t, r, "kafka_server_brokertopicmetrics_bytesout_total", map[string]string{"topic": "t"}, 100)
	fetch(2, 13, resp)
	mustValue(t, r, "kafka_server_brokertopicmetrics_replicationbytesout_total", map[string]string{"topic": "t"}, 100)
	mustValue(t, r, "kafka_server_brokertopicmetrics_bytesout_total", map[string]string{"topic": "t"}, 100)

	// A FileResponse counts the regions a placeholder stands for.
	fr := network.NewFileResponse(resp)
	p.RecordBatches = fr.Attach(network.FileRegion{Len: 1000}, network.FileRegion{Len: 24})
	rt.Partitions = []kmsg.FetchResponseTopicPartition{p}
	resp.Topics = []kmsg.FetchResponseTopic{rt}
	fetch(-1, 13, fr)
	mustValue(t, r, "kafka_server_brokertopicmetrics_bytesout_total", map[string]string{"topic": "t"}, 100+1024)
}

var topicID = metadata.Uuid{7}

// image is one broker-1-registered image with topic "t" of one partition
// on replicas, led by 1, with isr; min.insync.replicas=2 on topic "t".
func image(t *testing.T, leader int32, replicas, isr []int32) *metadata.Image {
	t.Helper()
	d := metadata.NewDelta(metadata.EmptyImage())
	two := "2"
	recs := []metadata.Record{
		&metadata.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 1, IncarnationID: metadata.Uuid{9}},
		&metadata.TopicRecord{Name: "t", TopicID: topicID},
		&metadata.PartitionRecord{PartitionID: 0, TopicID: topicID, Replicas: replicas, ISR: isr, Leader: leader},
		&metadata.PartitionRecord{PartitionID: 1, TopicID: topicID, Replicas: replicas, ISR: replicas, Leader: replicas[len(replicas)-1]},
		&metadata.TopicRecord{Name: "u", TopicID: metadata.Uuid{8}},
		&metadata.PartitionRecord{PartitionID: 0, TopicID: metadata.Uuid{8}, Replicas: []int32{2}, ISR: []int32{2}, Leader: -1},
		&metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: "t", Name: "min.insync.replicas", Value: &two},
	}
	for _, rec := range recs {
		if err := d.Replay(rec); err != nil {
			t.Fatalf("replay %T: %v", rec, err)
		}
	}
	return d.Apply()
}

func TestPartitionCounts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		leader   int32
		replicas []int32
		isr      []int32
		want     Partitions
	}{
		// Partition 1 is led by the last replica; "u"-0 is offline on 2.
		{"full ISR", 1, []int32{1, 2, 3}, []int32{1, 2, 3}, Partitions{Leaders: 1, Replicas: 2}},
		{"one follower out", 1, []int32{1, 2, 3}, []int32{1, 2}, Partitions{Leaders: 1, Replicas: 2, UnderReplicated: 1, AtMinISR: 1}},
		{"alone", 1, []int32{1, 2, 3}, []int32{1}, Partitions{Leaders: 1, Replicas: 2, UnderReplicated: 1, UnderMinISR: 1}},
		// 1 leads only partition 1 then, whose ISR {2,1} is at min 2.
		{"led elsewhere", 2, []int32{2, 1}, []int32{2}, Partitions{Leaders: 1, Replicas: 2, AtMinISR: 1}},
	} {
		img := image(t, tc.leader, tc.replicas, tc.isr)
		got := PartitionCounts(img, 1, 1)
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCollectors(t *testing.T) {
	r := New()
	img := image(t, 1, []int32{1, 2, 3}, []int32{1})
	active := false
	if err := r.AddBroker(BrokerState{
		NodeID: 1, MinInsyncReplicas: 1,
		Image:  func() *metadata.Image { return img },
		Groups: func() (map[string]int, int64) { return map[string]int{"Stable": 2, "Empty": 1}, 5 },
		Logs: func(yield func(LogStats)) {
			yield(LogStats{Topic: "t", Partition: 0, Size: 4096, StartOffset: 3, EndOffset: 10})
		},
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddController(ControllerState{Image: func() *metadata.Image { return img }, Active: func() bool { return active }}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRaft(func() RaftStats {
		return RaftStats{State: "Leader", Term: 4, Leader: 1, CommitIndex: 99, AppliedIndex: 99, LastIndex: 100,
			Replicas: []RaftReplica{{ID: 1, Voter: true, LogEnd: 101}, {ID: 7, LogEnd: 90}, {ID: 8, LogEnd: -1}}}
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddZooKeeper(ZooKeeperState{SessionState: func() string { return "StateHasSession" }}); err != nil {
		t.Fatal(err)
	}
	mustValue(t, r, "kafka_server_replicamanager_underreplicatedpartitions", nil, 1)
	mustValue(t, r, "kafka_server_replicamanager_underminisrpartitioncount", nil, 1)
	mustValue(t, r, "kafka_server_replicamanager_leadercount", nil, 1)
	mustValue(t, r, "kafka_server_kafkaserver_fenced", nil, 0)
	mustValue(t, r, "kafka_coordinator_group_groupmetadatamanager_numgroups", nil, 3)
	mustValue(t, r, "kafka_coordinator_group_groupmetadatamanager_numgroupsstable", nil, 2)
	mustValue(t, r, "kafka_coordinator_group_groupmetadatamanager_numgroupspreparingrebalance", nil, 0)
	mustValue(t, r, "kafka_server_group_coordinator_metrics_group_completed_rebalance_total", nil, 5)
	mustValue(t, r, "kafka_log_log_size", map[string]string{"topic": "t", "partition": "0"}, 4096)
	mustValue(t, r, "kafka_log_log_logendoffset", map[string]string{"topic": "t", "partition": "0"}, 10)
	// Not the active controller: the cluster-wide counts are 0.
	mustValue(t, r, "kafka_controller_kafkacontroller_activecontrollercount", nil, 0)
	mustValue(t, r, "kafka_controller_kafkacontroller_offlinepartitionscount", nil, 0)
	active = true
	mustValue(t, r, "kafka_controller_kafkacontroller_activecontrollercount", nil, 1)
	mustValue(t, r, "kafka_controller_kafkacontroller_offlinepartitionscount", nil, 1)
	mustValue(t, r, "kafka_controller_kafkacontroller_globalpartitioncount", nil, 3)
	mustValue(t, r, "kafka_controller_kafkacontroller_zkmigrationstate", nil, 0)
	mustValue(t, r, "kafka_server_raftmetrics_current_epoch", nil, 4)
	mustValue(t, r, "kafka_server_raftmetrics_current_state", map[string]string{"state": "Leader"}, 1)
	mustValue(t, r, "kafka_server_raftmetrics_high_watermark", nil, 100)
	mustValue(t, r, "kafka_server_raftmetrics_replica_lag", map[string]string{"node": "7", "role": "observer"}, 10)
	mustValue(t, r, "kafka_server_raftmetrics_replica_lag", map[string]string{"node": "1", "role": "voter"}, 0)
	if v := value(t, r, "kafka_server_raftmetrics_replica_lag", map[string]string{"node": "8"}); v != nil {
		t.Fatalf("lag of a node never heard from = %v, want no sample", *v)
	}
	mustValue(t, r, "kafka_server_sessionexpirelistener_sessionstate", map[string]string{"state": "StateHasSession"}, 1)

	zk := New()
	if err := zk.AddController(ControllerState{Image: func() *metadata.Image { return img }, Active: func() bool { return true },
		MigrationState: func() int8 { return ZkMigrationZK }}); err != nil {
		t.Fatal(err)
	}
	mustValue(t, zk, "kafka_controller_kafkacontroller_zkmigrationstate", nil, 4)

	r.ISRChanged(3, 2)
	r.ISRChanged(2, 3)
	r.ISRChanged(2, 3)
	r.ISRChanged(2, 2)
	mustValue(t, r, "kafka_server_replicamanager_isrshrinks_total", nil, 1)
	mustValue(t, r, "kafka_server_replicamanager_isrexpands_total", nil, 2)
	r.ObserveCommit(2 * time.Millisecond)
	mustValue(t, r, "kafka_server_raftmetrics_commit_latency_seconds", nil, 1)
}

func TestParseListener(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9404":  "127.0.0.1:9404",
		"http://127.0.0.1:9404/": "127.0.0.1:9404",
		"http://:9404":           ":9404",
		"https://127.0.0.1:9404": "",
		"127.0.0.1:9404":         "",
		"http://127.0.0.1":       "",
		"http://h:1/metrics":     "",
	} {
		got, err := ParseListener(in)
		if want == "" {
			if !errors.Is(err, ErrInvalidListener) {
				t.Errorf("%q: %q, %v; want ErrInvalidListener", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	r := New()
	h := NewHealth()
	s, err := Listen("127.0.0.1:0", r, h, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr().String()
	if code, body := get(t, base+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "starting") {
		t.Fatalf("/readyz while starting: %d %q", code, body)
	}
	fenced := errors.New("broker 1 is fenced")
	var check error = fenced
	h.AddCheck(func() error { return check })
	h.Set("")
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "fenced") {
		t.Fatalf("/readyz while fenced: %d %q", code, body)
	}
	check = nil
	if code, body := get(t, base+"/readyz"); code != 200 || strings.TrimSpace(body) != "ready" {
		t.Fatalf("/readyz when ready: %d %q", code, body)
	}
	r.ISRChanged(2, 1)
	code, body := get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "kafka_server_replicamanager_isrshrinks_total 1") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("listener still answers after Close")
	}
}

func TestObserveErrors(t *testing.T) {
	r := New()
	// Produce: one per partition, by Kafka's error name.
	preq := &network.Request{APIKey: 0, Version: 9, Body: kmsg.NewPtrProduceRequest(), Listener: "PLAINTEXT"}
	presp := kmsg.NewPtrProduceResponse()
	rt := kmsg.NewProduceResponseTopic()
	ok, bad := kmsg.NewProduceResponseTopicPartition(), kmsg.NewProduceResponseTopicPartition()
	bad.ErrorCode = 6
	rt.Partitions = append(rt.Partitions, ok, ok, bad)
	presp.Topics = append(presp.Topics, rt)
	r.ObserveRequest(preq, presp, nil, time.Millisecond)
	mustValue(t, r, "kafka_network_requestmetrics_errors_total", map[string]string{"request": "Produce", "error": "NONE"}, 2)
	mustValue(t, r, "kafka_network_requestmetrics_errors_total", map[string]string{"request": "Produce", "error": "NOT_LEADER_OR_FOLLOWER"}, 1)

	// Any other response: every ErrorCode field at any depth (reflection).
	creq := &network.Request{APIKey: 19, Version: 7, Body: kmsg.NewPtrCreateTopicsRequest(), Listener: "PLAINTEXT"}
	cresp := kmsg.NewPtrCreateTopicsResponse()
	for _, code := range []int16{0, 36, 36, 37} {
		ct := kmsg.NewCreateTopicsResponseTopic()
		ct.ErrorCode = code
		cresp.Topics = append(cresp.Topics, ct)
	}
	r.ObserveRequest(creq, cresp, nil, time.Millisecond)
	mustValue(t, r, "kafka_network_requestmetrics_errors_total", map[string]string{"request": "CreateTopics", "error": "TOPIC_ALREADY_EXISTS"}, 2)
	mustValue(t, r, "kafka_network_requestmetrics_errors_total", map[string]string{"request": "CreateTopics", "error": "INVALID_PARTITIONS"}, 1)
	mustValue(t, r, "kafka_network_requestmetrics_errors_total", map[string]string{"request": "CreateTopics", "error": "NONE"}, 1)

	// A top-level code only (FindCoordinator v0-3), and an unknown code.
	freq := &network.Request{APIKey: 10, Version: 2, Body: kmsg.NewPtrFindCoordinatorRequest(), Listener: "PLAINTEXT"}
	fresp := kmsg.NewPtrFindCoordinatorResponse()
	fresp.ErrorCode = 15
	r.ObserveRequest(freq, fresp, nil, time.Millisecond)
	mustValue(t, r, "kafka_network_requestmetrics_errors_total", map[string]string{"request": "FindCoordinator", "error": "COORDINATOR_NOT_AVAILABLE"}, 1)
	fresp.ErrorCode = 9999
	r.ObserveRequest(freq, fresp, nil, time.Millisecond)
	mustValue(t, r, "kafka_network_requestmetrics_errors_total", map[string]string{"request": "FindCoordinator", "error": "UNKNOWN_SERVER_ERROR"}, 1)

	// A failed handler counts the code its error names.
	r.ObserveRequest(freq, nil, errors.New("boom"), time.Millisecond)
	mustValue(t, r, "kafka_network_requestmetrics_errors_total", map[string]string{"request": "FindCoordinator", "error": "UNKNOWN_SERVER_ERROR"}, 2)
}

func TestReplicatedIn(t *testing.T) {
	r := New()
	r.ReplicatedIn("t", 100)
	r.ReplicatedIn("t", 24)
	mustValue(t, r, "kafka_server_brokertopicmetrics_replicationbytesin_total", map[string]string{"topic": "t"}, 124)
}
