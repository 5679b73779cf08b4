package group

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
)

const gid = "g1"

func joinReq(version int16, member string, instance *string, protos ...string) *kmsg.JoinGroupRequest {
	r := kmsg.NewPtrJoinGroupRequest()
	r.Version, r.Group, r.MemberID, r.InstanceID = version, gid, member, instance
	r.SessionTimeoutMillis, r.RebalanceTimeoutMillis = 10_000, 20_000
	r.ProtocolType = "consumer"
	for _, p := range protos {
		rp := kmsg.NewJoinGroupRequestProtocol()
		rp.Name, rp.Metadata = p, []byte("opaque:"+p+":\x00\xff")
		r.Protocols = append(r.Protocols, rp)
	}
	return r
}

func joinAsync(c *Coordinator, req *kmsg.JoinGroupRequest) <-chan *kmsg.JoinGroupResponse {
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { ch <- c.JoinGroup(context.Background(), Client{ID: "cl", Host: "/127.0.0.1"}, req) }()
	return ch
}

func syncAsync(c *Coordinator, member string, gen int32, assign map[string]string) <-chan *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupRequest()
	r.Version, r.Group, r.MemberID, r.Generation = 5, gid, member, gen
	for m, a := range assign {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = m, []byte(a)
		r.GroupAssignment = append(r.GroupAssignment, ga)
	}
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	go func() { ch <- c.SyncGroup(context.Background(), r) }()
	return ch
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no response")
		panic("unreachable")
	}
}

func heartbeat(c *Coordinator, member string, gen int32, instance *string) int16 {
	r := kmsg.NewPtrHeartbeatRequest()
	r.Version, r.Group, r.MemberID, r.Generation, r.InstanceID = 4, gid, member, gen, instance
	return c.Heartbeat(context.Background(), r).ErrorCode
}

func describe(c *Coordinator) kmsg.DescribeGroupsResponseGroup {
	r := kmsg.NewPtrDescribeGroupsRequest()
	r.Version, r.Groups = 5, []string{gid}
	return c.DescribeGroups(context.Background(), r).Groups[0]
}

func waitState(t *testing.T, c *Coordinator, want State) {
	t.Helper()
	wait.For(t, 10*time.Second, "group state "+want.String(), func() error {
		if s := describe(c).State; s != want.String() {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
}

// waitJoining waits until n members of the group wait in JoinGroup.
func waitJoining(t *testing.T, c *Coordinator, n int) {
	t.Helper()
	wait.For(t, 10*time.Second, fmt.Sprintf("%d members waiting in JoinGroup", n), func() error {
		g, err := c.lockGroup(gid, false, false)
		if err != nil {
			return err
		}
		defer g.mu.Unlock()
		got := 0
		for _, m := range g.members {
			if m.join != nil {
				got++
			}
		}
		if got != n {
			return fmt.Errorf("%d waiting", got)
		}
		return nil
	})
}

func code(t *testing.T, got int16, want *kerr.Error) {
	t.Helper()
	var w int16
	if want != nil {
		w = want.Code
	}
	if got != w {
		t.Fatalf("error code %v, want %v", kerr.ErrorForCode(got), want)
	}
}

// stableSingle makes a one-member Stable group and returns the member id.
func stableSingle(t *testing.T, c *Coordinator) string {
	t.Helper()
	r := recv(t, joinAsync(c, joinReq(3, "", nil, "range")))
	code(t, r.ErrorCode, nil)
	s := recv(t, syncAsync(c, r.MemberID, r.Generation, map[string]string{r.MemberID: "A"}))
	code(t, s.ErrorCode, nil)
	return r.MemberID
}

func TestJoinSyncHeartbeatSingleMember(t *testing.T) {
	log := newMemLog()
	c, _ := newTestCoordinator(t, log, nil)
	r := recv(t, joinAsync(c, joinReq(3, "", nil, "cooperative-sticky", "range")))
	code(t, r.ErrorCode, nil)
	if r.Generation != 1 || r.LeaderID != r.MemberID || *r.Protocol != "cooperative-sticky" || len(r.Members) != 1 {
		t.Fatalf("join response %+v", r)
	}
	if got := string(r.Members[0].ProtocolMetadata); got != "opaque:cooperative-sticky:\x00\xff" {
		t.Fatalf("leader got metadata %q, want it untouched", got)
	}
	waitState(t, c, CompletingRebalance)
	s := recv(t, syncAsync(c, r.MemberID, 1, map[string]string{r.MemberID: "assignment-bytes"}))
	code(t, s.ErrorCode, nil)
	if string(s.MemberAssignment) != "assignment-bytes" {
		t.Fatalf("assignment %q", s.MemberAssignment)
	}
	code(t, heartbeat(c, r.MemberID, 1, nil), nil)
	d := describe(c)
	if d.State != "Stable" || d.Protocol != "cooperative-sticky" || len(d.Members) != 1 ||
		string(d.Members[0].MemberAssignment) != "assignment-bytes" || d.Members[0].ClientID != "cl" {
		t.Fatalf("describe %+v", d)
	}
	// The assignment was written before it was handed out.
	recs := log.records(t, 0)
	if len(recs) != 1 || recs[0].meta == nil || recs[0].meta.Generation != 1 ||
		string(recs[0].meta.Members[0].Assignment) != "assignment-bytes" {
		t.Fatalf("log holds %+v", recs)
	}
}

func TestMemberIDRequired(t *testing.T) { // KIP-394
	c, _ := newTestCoordinator(t, newMemLog(), nil)
	r := recv(t, joinAsync(c, joinReq(4, "", nil, "range")))
	code(t, r.ErrorCode, kerr.MemberIDRequired)
	if r.MemberID == "" {
		t.Fatal("MEMBER_ID_REQUIRED without a member id")
	}
	r2 := recv(t, joinAsync(c, joinReq(4, r.MemberID, nil, "range")))
	code(t, r2.ErrorCode, nil)
	if r2.MemberID != r.MemberID || r2.Generation != 1 {
		t.Fatalf("second join %+v", r2)
	}
	// An id nobody handed out is refused.
	code(t, recv(t, joinAsync(c, joinReq(4, "made-up", nil, "range"))).ErrorCode, kerr.UnknownMemberID)
}

func TestSecondMemberRebalances(t *testing.T) {
	c, _ := newTestCoordinator(t, newMemLog(), nil)
	m1 := stableSingle(t, c)
	// m2 prefers cooperative-sticky, which m1 does not speak: range wins.
	j2 := joinAsync(c, joinReq(3, "", nil, "cooperative-sticky", "range"))
	waitState(t, c, PreparingRebalance)
	code(t, heartbeat(c, m1, 1, nil), kerr.RebalanceInProgress)
	j1 := joinAsync(c, joinReq(3, m1, nil, "range"))
	r1, r2 := recv(t, j1), recv(t, j2)
	code(t, r1.ErrorCode, nil)
	code(t, r2.ErrorCode, nil)
	if r1.Generation != 2 || r2.Generation != 2 || r1.LeaderID != m1 || r2.LeaderID != m1 || *r1.Protocol != "range" {
		t.Fatalf("responses %+v / %+v", r1, r2)
	}
	if len(r1.Members) != 2 || len(r2.Members) != 0 {
		t.Fatalf("leader got %d members, follower %d", len(r1.Members), len(r2.Members))
	}
	// The follower's SyncGroup waits for the leader's.
	s2 := syncAsync(c, r2.MemberID, 2, nil)
	s1 := recv(t, syncAsync(c, m1, 2, map[string]string{m1: "p0-2", r2.MemberID: "p3-5"}))
	if string(s1.MemberAssignment) != "p0-2" || string(recv(t, s2).MemberAssignment) != "p3-5" {
		t.Fatal("wrong assignments")
	}
	// A stale generation is refused.
	code(t, heartbeat(c, m1, 1, nil), kerr.IllegalGeneration)
}

func TestSessionTimeoutExpiresMember(t *testing.T) {
	c, clk := newTestCoordinator(t, newMemLog(), nil)
	m1 := stableSingle(t, c)
	j2 := joinAsync(c, joinReq(3, "", nil, "range"))
	waitState(t, c, PreparingRebalance)
	r1 := recv(t, joinAsync(c, joinReq(3, m1, nil, "range")))
	r2 := recv(t, j2)
	s2 := syncAsync(c, r2.MemberID, 2, nil)
	recv(t, syncAsync(c, m1, 2, map[string]string{m1: "a", r2.MemberID: "b"}))
	recv(t, s2)
	waitState(t, c, Stable)
	// m1 heartbeats, m2 goes silent past its 10 s session.
	for i := 0; i < 2; i++ {
		clk.Advance(4 * time.Second)
		code(t, heartbeat(c, m1, r1.Generation, nil), nil)
	}
	clk.Advance(3 * time.Second) // 11 s since m2's last sign of life
	waitState(t, c, PreparingRebalance)
	code(t, heartbeat(c, r2.MemberID, 2, nil), kerr.UnknownMemberID)
	code(t, heartbeat(c, m1, 2, nil), kerr.RebalanceInProgress)
	r := recv(t, joinAsync(c, joinReq(3, m1, nil, "range")))
	if r.Generation != 3 || len(r.Members) != 1 {
		t.Fatalf("after expiry %+v", r)
	}
}

func TestRebalanceTimeoutDropsSilentMember(t *testing.T) {
	c, clk := newTestCoordinator(t, newMemLog(), nil)
	m1 := stableSingle(t, c)
	j2 := joinAsync(c, joinReq(3, "", nil, "range"))
	waitState(t, c, PreparingRebalance)
	waitJoining(t, c, 1)
	// m1 never rejoins; a waiting member is kept alive across its session
	// timeout, and the rebalance timeout (20 s) ends the phase without m1.
	clk.Advance(21 * time.Second)
	r2 := recv(t, j2)
	code(t, r2.ErrorCode, nil)
	if r2.LeaderID != r2.MemberID || r2.Generation != 2 || len(r2.Members) != 1 {
		t.Fatalf("join %+v", r2)
	}
	code(t, heartbeat(c, m1, 1, nil), kerr.UnknownMemberID)
}

func TestLeaveEmptiesGroup(t *testing.T) {
	log := newMemLog()
	c, _ := newTestCoordinator(t, log, nil)
	m1 := stableSingle(t, c)
	for _, v := range []int16{0, 3} { // v0 names the member, v3+ lists members
		r := kmsg.NewPtrLeaveGroupRequest()
		r.Version, r.Group = v, gid
		if v == 0 {
			r.MemberID = "nobody"
			code(t, c.LeaveGroup(context.Background(), r).ErrorCode, kerr.UnknownMemberID)
			continue
		}
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = m1
		r.Members = append(r.Members, lm)
		resp := c.LeaveGroup(context.Background(), r)
		code(t, resp.ErrorCode, nil)
		code(t, resp.Members[0].ErrorCode, nil)
	}
	waitState(t, c, Empty)
	wait.For(t, 10*time.Second, "empty group metadata written", func() error {
		recs := log.records(t, 0)
		if last := recs[len(recs)-1]; last.meta == nil || len(last.meta.Members) != 0 || last.meta.Generation != 2 {
			return fmt.Errorf("last record %+v", last)
		}
		return nil
	})
}

func TestStaticMemberRejoinKeepsAssignment(t *testing.T) { // KIP-345
	c, _ := newTestCoordinator(t, newMemLog(), nil)
	inst := "instance-1"
	r := recv(t, joinAsync(c, joinReq(5, "", &inst, "range")))
	code(t, r.ErrorCode, nil)
	recv(t, syncAsync(c, r.MemberID, 1, map[string]string{r.MemberID: "mine"}))
	// Restarted process: same instance id, no member id.
	r2 := recv(t, joinAsync(c, joinReq(5, "", &inst, "range")))
	code(t, r2.ErrorCode, nil)
	if r2.MemberID == r.MemberID || r2.Generation != 1 {
		t.Fatalf("rejoin %+v: want a new id at the same generation (no rebalance)", r2)
	}
	waitState(t, c, Stable)
	code(t, heartbeat(c, r.MemberID, 1, &inst), kerr.FencedInstanceID)
	s := recv(t, syncAsync(c, r2.MemberID, 1, nil))
	if string(s.MemberAssignment) != "mine" {
		t.Fatalf("assignment %q", s.MemberAssignment)
	}
	// Leaving by instance id.
	lr := kmsg.NewPtrLeaveGroupRequest()
	lr.Version, lr.Group = 4, gid
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.InstanceID = &inst
	lr.Members = append(lr.Members, lm)
	code(t, c.LeaveGroup(context.Background(), lr).Members[0].ErrorCode, nil)
	waitState(t, c, Empty)
}

func TestInitialRebalanceDelay(t *testing.T) {
	c, clk := newTestCoordinator(t, newMemLog(), func(cfg *Config) { cfg.InitialRebalanceDelay = 3 * time.Second })
	j1 := joinAsync(c, joinReq(3, "", nil, "range"))
	waitJoining(t, c, 1)
	clk.Advance(2 * time.Second)
	j2 := joinAsync(c, joinReq(3, "", nil, "range"))
	waitJoining(t, c, 2)
	select {
	case r := <-j1:
		t.Fatalf("join completed inside the initial delay: %+v", r)
	default:
	}
	// A member arrived during the first window: one more window.
	clk.Advance(1 * time.Second)
	clk.Advance(3 * time.Second)
	r1, r2 := recv(t, j1), recv(t, j2)
	if r1.Generation != 1 || r2.Generation != 1 || len(r1.Members)+len(r2.Members) != 2 {
		t.Fatalf("joins %+v / %+v", r1, r2)
	}
}

func TestResignReleasesWaiters(t *testing.T) {
	c, _ := newTestCoordinator(t, newMemLog(), nil)
	m1 := stableSingle(t, c)
	j2 := joinAsync(c, joinReq(3, "", nil, "range"))
	waitJoining(t, c, 1)
	c.Resign(0)
	code(t, recv(t, j2).ErrorCode, kerr.NotCoordinator)
	code(t, heartbeat(c, m1, 1, nil), kerr.NotCoordinator)
}

func TestRequestErrors(t *testing.T) {
	c, _ := newTestCoordinator(t, newMemLog(), nil)
	m1 := stableSingle(t, c)
	tests := []struct {
		name string
		req  func() *kmsg.JoinGroupRequest
		want *kerr.Error
	}{
		{"session too short", func() *kmsg.JoinGroupRequest {
			r := joinReq(3, "", nil, "range")
			r.SessionTimeoutMillis = 100
			return r
		}, kerr.InvalidSessionTimeout},
		{"empty group id", func() *kmsg.JoinGroupRequest {
			r := joinReq(3, "", nil, "range")
			r.Group = ""
			return r
		}, kerr.InvalidGroupID},
		{"other protocol type", func() *kmsg.JoinGroupRequest {
			r := joinReq(3, "", nil, "range")
			r.ProtocolType = "connect"
			return r
		}, kerr.InconsistentGroupProtocol},
		{"no common protocol", func() *kmsg.JoinGroupRequest { return joinReq(3, "", nil, "roundrobin") }, kerr.InconsistentGroupProtocol},
		{"unknown member", func() *kmsg.JoinGroupRequest { return joinReq(3, "ghost", nil, "range") }, kerr.UnknownMemberID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code(t, recv(t, joinAsync(c, tt.req())).ErrorCode, tt.want)
		})
	}
	code(t, recv(t, syncAsync(c, m1, 7, nil)).ErrorCode, kerr.IllegalGeneration)
	code(t, recv(t, syncAsync(c, "ghost", 1, nil)).ErrorCode, kerr.UnknownMemberID)

	// A group on a partition led elsewhere.
	c2, err := New(c.cfg, newMemLog(), c.logger)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	code(t, c2.Heartbeat(context.Background(), &kmsg.HeartbeatRequest{Group: gid}).ErrorCode, kerr.NotCoordinator)
}

func TestSyncAppendFailureRebalances(t *testing.T) {
	log := newMemLog()
	c, _ := newTestCoordinator(t, log, nil)
	r := recv(t, joinAsync(c, joinReq(3, "", nil, "range")))
	log.mu.Lock()
	log.failNext = fmt.Errorf("disk on fire: %w", ErrNotCoordinator)
	log.mu.Unlock()
	code(t, recv(t, syncAsync(c, r.MemberID, 1, map[string]string{r.MemberID: "x"})).ErrorCode, kerr.NotCoordinator)
	waitState(t, c, PreparingRebalance)
}

func TestErrorCodeTable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int16
	}{
		{nil, 0},
		{fmt.Errorf("x: %w", ErrUnknownMemberID), kerr.UnknownMemberID.Code},
		{fmt.Errorf("x: %w", ErrLoadInProgress), kerr.CoordinatorLoadInProgress.Code},
		{kerr.NotEnoughReplicas, kerr.NotEnoughReplicas.Code},
		{errors.New("anything else"), kerr.CoordinatorNotAvailable.Code},
		{context.DeadlineExceeded, kerr.CoordinatorNotAvailable.Code},
	} {
		if got := errorCode(tt.err); got != tt.want {
			t.Errorf("errorCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
