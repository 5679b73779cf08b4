package group

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"
)

func commitReq(member string, gen int32, topic string, offsets map[int32]int64) *kmsg.OffsetCommitRequest {
	r := kmsg.NewPtrOffsetCommitRequest()
	r.Version, r.Group, r.MemberID, r.Generation = 8, gid, member, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	for p, o := range offsets {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		md := fmt.Sprintf("md-%d", p)
		rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = p, o, 3, &md
		rt.Partitions = append(rt.Partitions, rp)
	}
	r.Topics = append(r.Topics, rt)
	return r
}

func commitCodes(resp *kmsg.OffsetCommitResponse) []int16 {
	var out []int16
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

// fetchAll returns topic/partition -> offset for the group (v8, all topics).
func fetchAll(t *testing.T, c *Coordinator) map[string]int64 {
	t.Helper()
	r := kmsg.NewPtrOffsetFetchRequest()
	r.Version = 8
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = gid
	r.Groups = append(r.Groups, rg)
	resp := c.OffsetFetch(context.Background(), r)
	if resp.Groups[0].ErrorCode != 0 {
		t.Fatalf("offset fetch: %v", kerr.ErrorForCode(resp.Groups[0].ErrorCode))
	}
	out := map[string]int64{}
	for _, tp := range resp.Groups[0].Topics {
		for _, p := range tp.Partitions {
			out[fmt.Sprintf("%s-%d", tp.Topic, p.Partition)] = p.Offset
		}
	}
	return out
}

func TestOffsetsCommitFetchReloadDelete(t *testing.T) {
	log := newMemLog()
	c, _ := newTestCoordinator(t, log, nil)
	m1 := stableSingle(t, c)

	for _, tt := range []struct {
		name   string
		member string
		gen    int32
		want   *kerr.Error
	}{
		{"member at its generation", m1, 1, nil},
		{"stale generation", m1, 0, kerr.IllegalGeneration},
		{"unknown member", "ghost", 1, kerr.UnknownMemberID},
		{"simple commit to a group with members", "", -1, kerr.UnknownMemberID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.OffsetCommit(context.Background(), commitReq(tt.member, tt.gen, "orders", map[int32]int64{0: 10, 1: 20}))
			for _, got := range commitCodes(resp) {
				code(t, got, tt.want)
			}
		})
	}
	if got := fetchAll(t, c); got["orders-0"] != 10 || got["orders-1"] != 20 || len(got) != 2 {
		t.Fatalf("fetched %v", got)
	}
	// v1 fetch of a partition without a commit: -1, no error.
	r := kmsg.NewPtrOffsetFetchRequest()
	r.Version, r.Group = 1, gid
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = "orders", []int32{0, 5}
	r.Topics = append(r.Topics, rt)
	fr := c.OffsetFetch(context.Background(), r)
	if p := fr.Topics[0].Partitions; p[0].Offset != 10 || p[0].LeaderEpoch != 3 || *p[0].Metadata != "md-0" || p[1].Offset != -1 {
		t.Fatalf("v1 fetch %+v", p)
	}

	// Restart: a new coordinator over the same log sees the offsets and the
	// Stable group with its member and generation.
	c.Close()
	c2, _ := newTestCoordinator(t, log, nil)
	if got := fetchAll(t, c2); got["orders-0"] != 10 || got["orders-1"] != 20 {
		t.Fatalf("after reload fetched %v", got)
	}
	d := describe(c2)
	if d.State != "Stable" || len(d.Members) != 1 || d.Members[0].MemberID != m1 || string(d.Members[0].MemberAssignment) != "A" {
		t.Fatalf("after reload %+v", d)
	}
	code(t, heartbeat(c2, m1, 1, nil), nil)

	// Deleting a group with members is refused; once empty it works and the
	// tombstones make the group disappear on the next load too.
	dr := kmsg.NewPtrDeleteGroupsRequest()
	dr.Version, dr.Groups = 2, []string{gid}
	code(t, c2.DeleteGroups(context.Background(), dr).Groups[0].ErrorCode, kerr.NonEmptyGroup)
	lr := kmsg.NewPtrLeaveGroupRequest()
	lr.Version, lr.Group, lr.MemberID = 1, gid, m1
	code(t, c2.LeaveGroup(context.Background(), lr).ErrorCode, nil)
	waitState(t, c2, Empty)
	code(t, c2.DeleteGroups(context.Background(), dr).Groups[0].ErrorCode, nil)
	code(t, c2.DeleteGroups(context.Background(), dr).Groups[0].ErrorCode, kerr.GroupIDNotFound)
	if d := describe(c2); d.State != "Dead" {
		t.Fatalf("deleted group is %s", d.State)
	}
	c2.Close()
	c3, _ := newTestCoordinator(t, log, nil)
	if got := fetchAll(t, c3); len(got) != 0 {
		t.Fatalf("deleted group's offsets came back: %v", got)
	}
	lg := c3.ListGroups(context.Background(), kmsg.NewPtrListGroupsRequest())
	if len(lg.Groups) != 0 {
		t.Fatalf("deleted group listed: %+v", lg.Groups)
	}
}

func TestSimpleCommitAndOffsetDelete(t *testing.T) {
	c, _ := newTestCoordinator(t, newMemLog(), nil)
	for _, got := range commitCodes(c.OffsetCommit(context.Background(), commitReq("", -1, "t", map[int32]int64{0: 5}))) {
		code(t, got, nil)
	}
	lr := kmsg.NewPtrListGroupsRequest()
	lr.Version, lr.StatesFilter = 4, []string{"empty"}
	if lg := c.ListGroups(context.Background(), lr); len(lg.Groups) != 1 || lg.Groups[0].GroupState != "Empty" {
		t.Fatalf("list %+v", lg)
	}
	r := kmsg.NewPtrOffsetDeleteRequest()
	r.Group = gid
	rt := kmsg.NewOffsetDeleteRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetDeleteRequestTopicPartition()
	rt.Partitions = append(rt.Partitions, rp)
	r.Topics = append(r.Topics, rt)
	resp := c.OffsetDelete(context.Background(), r)
	code(t, resp.ErrorCode, nil)
	if got := fetchAll(t, c); len(got) != 0 {
		t.Fatalf("after OffsetDelete %v", got)
	}
}

func TestOffsetDeleteRefusesSubscribedTopic(t *testing.T) { // KIP-496
	c, _ := newTestCoordinator(t, newMemLog(), nil)
	md := kmsg.ConsumerMemberMetadata{Topics: []string{"orders"}}
	req := joinReq(3, "", nil, "range")
	req.Protocols[0].Metadata = md.AppendTo(nil)
	r := recv(t, joinAsync(c, req))
	recv(t, syncAsync(c, r.MemberID, 1, nil))
	c.OffsetCommit(context.Background(), commitReq(r.MemberID, 1, "orders", map[int32]int64{0: 1}))
	dr := kmsg.NewPtrOffsetDeleteRequest()
	dr.Group = gid
	rt := kmsg.NewOffsetDeleteRequestTopic()
	rt.Topic = "orders"
	rt.Partitions = append(rt.Partitions, kmsg.NewOffsetDeleteRequestTopicPartition())
	dr.Topics = append(dr.Topics, rt)
	code(t, c.OffsetDelete(context.Background(), dr).Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic)
}

func TestLoadSkipsGarbageAndHonoursTombstones(t *testing.T) {
	log := newMemLog()
	ctx := context.Background()
	v := committed{offset: 7, leaderEpoch: -1, metadata: "m"}
	for _, recs := range [][]record{
		{{key: offsetKey("a", "t", 0), value: offsetValue(v)}, {key: offsetKey("b", "t", 0), value: offsetValue(v)}},
		{{key: []byte{0x7f, 0x7f, 1}, value: []byte("junk")}}, // unknown key version
		{{key: offsetKey("a", "t", 0)}},                       // tombstone
	} {
		if _, err := log.Append(ctx, 0, appendBatch(nil, recs, 1)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.NumPartitions = 1
	c, err := New(cfg, log, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	loaded, n, err := c.replay(0, make(chan struct{}))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(loaded["a"].offsets) != 0 || loaded["b"].offsets[topicPartition{"t", 0}].offset != 7 {
		t.Fatalf("replayed %d records: a=%+v b=%+v", n, loaded["a"], loaded["b"])
	}
}

func TestConfigValidateNamesKey(t *testing.T) {
	for _, tt := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.NumPartitions = 0 }, "offsets.topic.num.partitions"},
		{func(c *Config) { c.InitialRebalanceDelay = -1 }, "group.initial.rebalance.delay.ms"},
		{func(c *Config) { c.MaxSessionTimeout = 1 }, "group.max.session.timeout.ms"},
		{func(c *Config) { c.AppendTimeout = 0 }, "offsets.commit.timeout.ms"},
	} {
		cfg := DefaultConfig()
		tt.mut(&cfg)
		if err := cfg.Validate(); err == nil || !contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want it to name %s", err, tt.want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
