package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestLogAppendTimeTopic: message.timestamp.type=LogAppendTime (topic
// override) and log.message.timestamp.type (broker default) make consumers
// see the broker's append time instead of the producer's, the produce
// response carry it (KIP-32), and DescribeConfigs report both.
func TestLogAppendTimeTopic(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.LogMessageTimestampType = "LogAppendTime" })
	cl := h.client()
	h.createTopic(cl, "stamped", 1, nil)
	h.createTopic(cl, "create-time", 1, map[string]string{"message.timestamp.type": "CreateTime"})

	old := time.UnixMilli(1_000_000)
	before := time.Now().Add(-time.Second)
	for _, topic := range []string{"stamped", "create-time"} {
		if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: topic, Value: []byte("v"), Timestamp: old}).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}

	for _, tc := range []struct {
		topic   string
		logTime bool
	}{{"stamped", true}, {"create-time", false}} {
		c := h.client(kgo.ConsumeTopics(tc.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		fs := c.PollRecords(ctxT(t), 1)
		if err := fs.Err(); err != nil {
			t.Fatalf("consume %s: %v", tc.topic, err)
		}
		recs := fs.Records()
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", tc.topic, len(recs))
		}
		r := recs[0]
		if got := r.Attrs.TimestampType() == 1; got != tc.logTime {
			t.Errorf("%s: LogAppendTime attribute = %v, want %v", tc.topic, got, tc.logTime)
		}
		if tc.logTime && r.Timestamp.Before(before) {
			t.Errorf("%s: timestamp %v is the producer's, want the broker's append time", tc.topic, r.Timestamp)
		}
		if !tc.logTime && !r.Timestamp.Equal(old) {
			t.Errorf("%s: timestamp %v, want the producer's %v", tc.topic, r.Timestamp, old)
		}
		c.Close()
	}

	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, topic := range []string{"stamped", "create-time"} {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeTopic, topic, []string{"message.timestamp.type"}
		req.Resources = append(req.Resources, r)
	}
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"stamped": "LogAppendTime", "create-time": "CreateTime"}
	for _, r := range resp.Resources {
		if len(r.Configs) != 1 || r.Configs[0].Value == nil || *r.Configs[0].Value != want[r.ResourceName] {
			t.Errorf("DescribeConfigs %s: %+v, want message.timestamp.type=%s", r.ResourceName, r.Configs, want[r.ResourceName])
		}
	}
}

// TestProduceResponseLogAppendTime: through the Produce handler, a
// LogAppendTime topic (topic-level message.timestamp.type over the broker's
// CreateTime default) answers with the time it stamped, and a consumer sees
// every record of the batch at exactly that time; a CreateTime topic
// answers -1 and keeps the producer's timestamps (KIP-32, Kafka's
// LogValidator).
func TestProduceResponseLogAppendTime(t *testing.T) {
	h := newHarness(t, nil) // log.message.timestamp.type=CreateTime
	cl := h.client()
	h.createTopic(cl, "lat", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	h.createTopic(cl, "ct", 1, nil)

	before := time.Now().UnixMilli()
	lat := h.produceRaw(cl, "lat", 0, -1, buildBatch(plain(1000, "a", "b")))
	after := time.Now().UnixMilli()
	ct := h.produceRaw(cl, "ct", 0, -1, buildBatch(plain(1000, "a", "b")))
	if lat.ErrorCode != 0 || ct.ErrorCode != 0 {
		t.Fatalf("produce errors: lat %d, ct %d", lat.ErrorCode, ct.ErrorCode)
	}
	if lat.LogAppendTime < before || lat.LogAppendTime > after {
		t.Fatalf("LogAppendTime topic answered LogAppendTime %d, want the append time in [%d, %d]", lat.LogAppendTime, before, after)
	}
	if ct.LogAppendTime != -1 {
		t.Fatalf("CreateTime topic answered LogAppendTime %d, want -1", ct.LogAppendTime)
	}

	for _, tc := range []struct {
		topic   string
		logTime bool
		want    []int64
	}{
		{"lat", true, []int64{lat.LogAppendTime, lat.LogAppendTime}},
		{"ct", false, []int64{1000, 1001}},
	} {
		c := h.client(kgo.ConsumeTopics(tc.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		var got []*kgo.Record
		for len(got) < 2 {
			fs := c.PollRecords(ctxT(t), 2)
			if err := fs.Err(); err != nil {
				t.Fatalf("consume %s: %v", tc.topic, err)
			}
			got = append(got, fs.Records()...)
		}
		c.Close()
		for i, r := range got {
			if r.Timestamp.UnixMilli() != tc.want[i] || (r.Attrs.TimestampType() == 1) != tc.logTime {
				t.Errorf("%s record %d: timestamp %d (type %d), want %d (LogAppendTime %v)",
					tc.topic, i, r.Timestamp.UnixMilli(), r.Attrs.TimestampType(), tc.want[i], tc.logTime)
			}
		}
	}
}
