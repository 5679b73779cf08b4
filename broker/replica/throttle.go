package replica

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zkraft/zkraft/metadata"
)

// Replication throttles (KIP-73, Kafka's ReplicationQuotaManager), as
// partition reassignment uses them: a broker's
// follower.replication.throttled.rate bounds the bytes per second its
// fetchers copy for throttled replicas, its leader.replication.throttled.rate
// the bytes per second it serves to followers of throttled replicas. A
// replica is throttled on this broker when the topic's
// follower.replication.throttled.replicas (fetching side) or
// leader.replication.throttled.replicas (serving side) names
// "partition:thisBroker", or is "*". Unthrottled replicas are never
// slowed and never charged.
//
// The rates are dynamic broker configs (this broker's, else the cluster
// default) read from each image. A throttled fetch skips a partition while
// the bucket is in debt: the follower leaves it out of its next Fetch, the
// leader answers it without records.

// throttle is a token bucket of bytes: rate tokens a second, at most one
// second's worth saved up (the burst), and in debt after a read larger
// than what was left, which later reads wait out. Safe for concurrent use.
type throttle struct {
	mu     sync.Mutex
	rate   float64 // bytes per second; 0 = unlimited
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newThrottle(now func() time.Time) *throttle { return &throttle{now: now} }

// setRate sets bytes per second (<= 0 or MaxInt64: unlimited). A new
// rate starts with a full bucket.
func (t *throttle) setRate(rate int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := float64(rate)
	if rate <= 0 || rate == math.MaxInt64 {
		r = 0
	}
	if r == t.rate {
		return
	}
	t.rate, t.tokens, t.last = r, r, t.now()
}

// refillLocked adds the tokens earned since the last call, up to the burst.
func (t *throttle) refillLocked() {
	now := t.now()
	if d := now.Sub(t.last); d > 0 {
		t.tokens = min(t.rate, t.tokens+d.Seconds()*t.rate)
	}
	t.last = now
}

// exceeded reports whether the bucket is in debt (a throttled read must
// wait); never with no rate.
func (t *throttle) exceeded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate == 0 {
		return false
	}
	t.refillLocked()
	return t.tokens <= 0
}

// wait is how long until the bucket is out of debt (0 if it is).
func (t *throttle) wait() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate == 0 {
		return 0
	}
	t.refillLocked()
	if t.tokens > 0 {
		return 0
	}
	return time.Duration((-t.tokens + 1) / t.rate * float64(time.Second))
}

// record charges n bytes.
func (t *throttle) record(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate == 0 {
		return
	}
	t.refillLocked()
	t.tokens -= float64(n)
}

// throttledReplica reports whether the topic config key ("*" or
// "p:b,p:b") names partition p on broker b.
func throttledReplica(img *metadata.Image, topic, key string, p, b int32) bool {
	v, ok := img.Configs(metadata.TopicResource, topic)[key]
	if !ok {
		return false
	}
	v = strings.TrimSpace(v)
	if v == "*" {
		return true
	}
	for _, e := range strings.Split(v, ",") {
		ps, bs, ok := strings.Cut(strings.TrimSpace(e), ":")
		if !ok {
			continue
		}
		pp, err1 := strconv.ParseInt(strings.TrimSpace(ps), 10, 32)
		bb, err2 := strconv.ParseInt(strings.TrimSpace(bs), 10, 32)
		if err1 == nil && err2 == nil && int32(pp) == p && int32(bb) == b {
			return true
		}
	}
	return false
}

// brokerRate is the broker config key's value for broker id in img (its
// own, else the cluster default); 0 when unset or unparseable.
func brokerRate(img *metadata.Image, id int32, key string) int64 {
	v, _, ok := metadata.BrokerConfigValue(img, id, key)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// applyThrottles takes the rates of a new image.
func (m *Manager) applyThrottles(img *metadata.Image) {
	m.leaderQuota.setRate(brokerRate(img, m.cfg.NodeID, metadata.LeaderReplicationThrottledRateKey))
	m.followerQuota.setRate(brokerRate(img, m.cfg.NodeID, metadata.FollowerReplicationThrottledRateKey))
}

// followerThrottled reports whether this broker's copy of tp is a
// throttled follower replica.
func (m *Manager) followerThrottled(topic string, partition int32) bool {
	return throttledReplica(m.img.Load(), topic, metadata.FollowerThrottledReplicasKey, partition, m.cfg.NodeID)
}

// LeaderThrottled implements broker.LeaderThrottler: a follower's fetch of
// the partition gets no records now (its replica here is a throttled
// leader replica and leader.replication.throttled.rate is used up).
func (m *Manager) LeaderThrottled(topic string, partition int32) bool {
	if !throttledReplica(m.img.Load(), topic, metadata.LeaderThrottledReplicasKey, partition, m.cfg.NodeID) {
		return false
	}
	return m.leaderQuota.exceeded()
}

// RecordLeaderThrottled implements broker.LeaderThrottler: n record bytes
// were served to a follower; a throttled replica's are charged.
func (m *Manager) RecordLeaderThrottled(topic string, partition int32, n int) {
	if n > 0 && throttledReplica(m.img.Load(), topic, metadata.LeaderThrottledReplicasKey, partition, m.cfg.NodeID) {
		m.leaderQuota.record(n)
	}
}
