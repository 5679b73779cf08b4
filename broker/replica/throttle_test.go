package replica

import (
	"testing"
	"time"

	"github.com/zkraft/zkraft/metadata"
)

// TestThrottleBucket: KIP-73's rate as a token bucket on a fake clock —
// a full second's burst, debt after an overdraw, refilled at the rate and
// never above the burst; no rate means never exceeded and nothing charged.
func TestThrottleBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(func() time.Time { return now })
	th.record(1 << 30)
	if th.exceeded() || th.wait() != 0 {
		t.Fatal("unlimited throttle exceeded")
	}
	th.setRate(1000) // 1000 B/s, burst 1000
	if th.exceeded() {
		t.Fatal("a new rate starts with a full bucket")
	}
	th.record(2500) // 1500 in debt
	if !th.exceeded() {
		t.Fatal("not exceeded after overdrawing")
	}
	if w := th.wait(); w < 1500*time.Millisecond || w > 1510*time.Millisecond {
		t.Fatalf("wait %v, want about 1.5s", w)
	}
	now = now.Add(time.Second)
	if !th.exceeded() {
		t.Fatal("500 B still owed after a second")
	}
	now = now.Add(600 * time.Millisecond)
	if th.exceeded() {
		t.Fatal("still exceeded once the debt is paid")
	}
	now = now.Add(time.Hour) // saved up: capped at the burst
	th.record(1001)
	if !th.exceeded() {
		t.Fatal("the bucket held more than one second's worth")
	}
	th.setRate(0)
	if th.exceeded() {
		t.Fatal("rate removed but still throttled")
	}
}

// TestThrottledReplica: "*" and "p:b" lists, as Kafka's
// ThrottledReplicaListValidator accepts them, matched on partition and
// this broker only.
func TestThrottledReplica(t *testing.T) {
	id := metadata.Uuid{1}
	img := metadata.EmptyImage()
	d := metadata.NewDelta(img)
	for _, r := range []metadata.Record{
		&metadata.TopicRecord{Name: "t", TopicID: id},
		&metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: "t", Name: metadata.FollowerThrottledReplicasKey, Value: strPtr("0:4, 1:5,2:4")},
		&metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: "t", Name: metadata.LeaderThrottledReplicasKey, Value: strPtr("*")},
	} {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	img = d.Apply()
	for _, tt := range []struct {
		key  string
		p, b int32
		want bool
	}{
		{metadata.FollowerThrottledReplicasKey, 0, 4, true},
		{metadata.FollowerThrottledReplicasKey, 1, 5, true},
		{metadata.FollowerThrottledReplicasKey, 2, 4, true},
		{metadata.FollowerThrottledReplicasKey, 1, 4, false},
		{metadata.FollowerThrottledReplicasKey, 3, 4, false},
		{metadata.LeaderThrottledReplicasKey, 7, 1, true},
	} {
		if got := throttledReplica(img, "t", tt.key, tt.p, tt.b); got != tt.want {
			t.Errorf("%s %d:%d = %v, want %v", tt.key, tt.p, tt.b, got, tt.want)
		}
	}
	if throttledReplica(img, "other", metadata.LeaderThrottledReplicasKey, 0, 1) {
		t.Error("a topic without the config is throttled")
	}
}

func strPtr(s string) *string { return &s }
