package quorum

import (
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

// TestSubscribeLate: a publisher added after the node caught up gets the
// current image at once, as a delta from the empty image, then every later
// one based on it (Kafka's MetadataLoader installPublishers).
func TestSubscribeLate(t *testing.T) {
	n := startNode(t, fastConfig(t.TempDir()))
	waitController(t, n)
	registerBrokers(t, n, 1)
	createTopic(t, n, "before", 2)
	rec := &recorder{}
	n.Subscribe(rec)
	d, img := rec.first()
	if img == nil {
		t.Fatal("late subscriber got nothing at once")
	}
	if base := d.Base(); base.TopicCount() != 0 || base.BrokerCount() != 0 {
		t.Fatalf("first delta based on %d topics, %d brokers; want the empty image", base.TopicCount(), base.BrokerCount())
	}
	if _, ok := img.Topic("before"); !ok || !img.Equal(n.Image()) {
		t.Fatal("first image is not the node's current image")
	}
	createTopic(t, n, "after", 1)
	wait.Until(t, 20*time.Second, "second publish", func() bool { return rec.count() >= 2 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.deltas[1].Base() != rec.imgs[0] {
		t.Fatal("second delta not based on the first image")
	}
	if _, ok := rec.imgs[len(rec.imgs)-1].Topic("after"); !ok {
		t.Fatal("topic created after subscribing not published")
	}
}

// TestClientSubscribeNeedsFollow: a client reading a local node's image
// publishes nothing, so Subscribe refuses.
func TestClientSubscribeNeedsFollow(t *testing.T) {
	n := startNode(t, fastConfig(t.TempDir()))
	cfg := DefaultClientConfig()
	cfg.Endpoints = []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 19001}}
	cfg.Follow = false
	cfg.Image, cfg.MetadataOffset = n.Image, func() int64 { return n.Image().Offset() }
	c, err := NewClient(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(&recorder{}); err == nil {
		t.Fatal("Subscribe on a non-following client succeeded")
	}
	_ = c.Close()
}
