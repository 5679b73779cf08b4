package group

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// State is a classic group's state (Kafka's GroupState).
type State int8

// The five states of Kafka's classic group state machine (doc.go has the
// transitions).
const (
	Empty State = iota
	PreparingRebalance
	CompletingRebalance
	Stable
	Dead
)

// String is the name Kafka reports in DescribeGroups and ListGroups.
func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	case Dead:
		return "Dead"
	default:
		return fmt.Sprintf("State(%d)", int8(s))
	}
}

type topicPartition struct {
	topic     string
	partition int32
}

// protocol is one assignor a member supports, with its opaque metadata
// (passed to the leader untouched).
type protocol struct {
	name     string
	metadata []byte
}

// member is one group member. All fields are guarded by its group's mu.
type member struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	rebalanceTimeout time.Duration
	sessionTimeout   time.Duration
	protocols        []protocol
	assignment       []byte

	join        chan *kmsg.JoinGroupResponse // non-nil while a JoinGroup waits
	joinVersion int16
	sync        chan *kmsg.SyncGroupResponse // non-nil while a SyncGroup waits

	hb    Timer // session timeout
	hbSeq uint64
}

func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

func sameProtocols(a, b []protocol) bool {
	return slices.EqualFunc(a, b, func(x, y protocol) bool { return x.name == y.name && bytes.Equal(x.metadata, y.metadata) })
}

// pendingMember is a member id handed out with MEMBER_ID_REQUIRED (KIP-394)
// and not yet used to join.
type pendingMember struct{ timer Timer }

// group is one classic group. Lock order: writeMu, then mu, then the
// coordinator's mu. Nothing blocks while holding mu.
type group struct {
	id        string
	partition int32

	// writeMu serializes appends of this group's records so that the log
	// order of its records is the order in which memory was updated.
	writeMu sync.Mutex

	mu           sync.Mutex
	state        State
	stateTime    int64 // ms
	unloaded     bool  // partition resigned or coordinator closed
	protocolType string
	protocol     string
	generation   int32
	leader       string
	members      map[string]*member
	pending      map[string]*pendingMember
	static       map[string]string // group.instance.id -> member id
	offsets      map[topicPartition]committed
	// pendingTxn holds the transactional offset commits (TxnOffsetCommit)
	// written to the log but not yet decided, by producer id; a marker
	// moves them into offsets or drops them (txn.go).
	pendingTxn map[int64]map[topicPartition]committed

	rebalanceTimer Timer // join (PreparingRebalance) or sync (CompletingRebalance) deadline
	rebalanceSeq   uint64
	initialDelay   bool // in the initial-rebalance-delay phase
	newMemberAdded bool
	syncing        bool // the leader's assignment is being written
}

func newGroup(id string, p int32, nowMs int64) *group {
	return &group{
		id: id, partition: p, state: Empty, stateTime: nowMs,
		members: make(map[string]*member), pending: make(map[string]*pendingMember),
		static: make(map[string]string), offsets: make(map[topicPartition]committed),
	}
}

func (c *Coordinator) transition(g *group, s State) {
	g.state = s
	g.stateTime = c.nowMs()
}

// newMemberID is Kafka's format: client id, a dash, a random UUID.
func newMemberID(clientID string) string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", clientID, u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// sortedMemberIDs returns the member ids in order (deterministic output).
func (g *group) sortedMemberIDs() []string {
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// supports reports whether a member with protocolType and protocols could
// join: the type matches and one protocol is supported by every other
// member (Kafka's supportsProtocols).
func (g *group) supports(protocolType string, protocols []protocol, except string) bool {
	others := 0
	for id := range g.members {
		if id != except {
			others++
		}
	}
	if others == 0 {
		return protocolType != "" && len(protocols) > 0
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range protocols {
		all := true
		for id, m := range g.members {
			if id != except && !hasProtocol(m, p.name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func hasProtocol(m *member, name string) bool {
	for _, p := range m.protocols {
		if p.name == name {
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol every member supports that most members
// prefer (Kafka's selectProtocol); ties go to the leader's preference order.
func (g *group) selectProtocol() string {
	ids := g.sortedMemberIDs()
	var candidates []string
	if lm := g.members[g.leader]; lm != nil {
		for _, p := range lm.protocols {
			candidates = append(candidates, p.name)
		}
	} else if len(ids) > 0 {
		for _, p := range g.members[ids[0]].protocols {
			candidates = append(candidates, p.name)
		}
	}
	candidates = slices.DeleteFunc(candidates, func(name string) bool {
		for _, m := range g.members {
			if !hasProtocol(m, name) {
				return true
			}
		}
		return false
	})
	votes := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.protocols {
			if slices.Contains(candidates, p.name) {
				votes[p.name]++
				break
			}
		}
	}
	best, bestVotes := "", -1
	for _, name := range candidates {
		if votes[name] > bestVotes {
			best, bestVotes = name, votes[name]
		}
	}
	return best
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

func (g *group) allJoined() bool {
	if len(g.pending) > 0 {
		return false
	}
	for _, m := range g.members {
		if m.join == nil {
			return false
		}
	}
	return true
}

// joinResponse is m's answer at the end of a join phase; the leader gets
// every member's metadata for the chosen protocol.
func (g *group) joinResponse(m *member, version int16, withMembers bool) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.Version = version
	r.Generation = g.generation
	pt, pn := g.protocolType, g.protocol
	r.ProtocolType, r.Protocol = &pt, &pn
	r.LeaderID = g.leader
	r.MemberID = m.id
	if withMembers {
		for _, id := range g.sortedMemberIDs() {
			om := g.members[id]
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = om.id, om.instanceID, om.metadataFor(g.protocol)
			r.Members = append(r.Members, rm)
		}
	}
	return r
}

// joinError is the JoinGroup answer failing with err (its code, errorCode).
func joinError(version int16, memberID string, err error) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.Version, r.ErrorCode, r.MemberID, r.Generation = version, errorCode(err), memberID, -1
	return r
}

// syncError is the SyncGroup answer failing with err (its code, errorCode).
func syncError(version int16, err error) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	r.Version, r.ErrorCode = version, errorCode(err)
	return r
}

// answerJoin releases m's waiting JoinGroup, if any. g.mu held.
func (m *member) answerJoin(r *kmsg.JoinGroupResponse) {
	if m.join != nil {
		m.join <- r
		m.join = nil
	}
}

// answerSync releases m's waiting SyncGroup, if any. g.mu held.
func (m *member) answerSync(r *kmsg.SyncGroupResponse) {
	if m.sync != nil {
		m.sync <- r
		m.sync = nil
	}
}

// addMember adds m to g. g.mu held.
func (c *Coordinator) addMember(g *group, m *member) {
	g.members[m.id] = m
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	if g.leader == "" || g.members[g.leader] == nil {
		g.leader = m.id
	}
	g.newMemberAdded = true
	c.scheduleHeartbeat(g, m)
}

// dropMember removes m, answering its waiting calls with err. g.mu held.
func (c *Coordinator) dropMember(g *group, m *member, err error) {
	if m.hb != nil {
		m.hb.Stop()
	}
	m.hbSeq++
	m.answerJoin(joinError(m.joinVersion, m.id, err))
	m.answerSync(syncError(0, err))
	delete(g.members, m.id)
	if m.instanceID != nil && g.static[*m.instanceID] == m.id {
		delete(g.static, *m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
		if ids := g.sortedMemberIDs(); len(ids) > 0 {
			g.leader = ids[0]
		}
	}
}

// memberGone removes m (left or expired) and moves the group on. g.mu held.
func (c *Coordinator) memberGone(g *group, m *member, reason string) {
	c.dropMember(g, m, fmt.Errorf("%w: %q %s", ErrUnknownMemberID, m.id, reason))
	c.logger.Info("member left group", zap.String("group", g.id), zap.String("member", m.id), zap.String("reason", reason))
	switch g.state {
	case Stable, CompletingRebalance:
		c.prepareRebalance(g, "member "+m.id+" "+reason)
		c.tryCompleteJoin(g)
	case PreparingRebalance:
		c.tryCompleteJoin(g)
	}
}

// stopRebalanceTimer cancels the join or sync deadline. g.mu held.
func (g *group) stopRebalanceTimer() {
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
		g.rebalanceTimer = nil
	}
	g.rebalanceSeq++
}

// armRebalanceTimer runs fire with g.mu held after d unless re-armed or
// stopped first. g.mu held.
func (c *Coordinator) armRebalanceTimer(g *group, d time.Duration, fire func()) {
	g.stopRebalanceTimer()
	seq := g.rebalanceSeq
	g.rebalanceTimer = c.after(d, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.unloaded || g.rebalanceSeq != seq {
			return
		}
		g.rebalanceTimer = nil
		fire()
	})
}

// scheduleHeartbeat (re)starts m's session timeout. g.mu held.
func (c *Coordinator) scheduleHeartbeat(g *group, m *member) {
	if m.hb != nil {
		m.hb.Stop()
	}
	m.hbSeq++
	seq := m.hbSeq
	m.hb = c.after(m.sessionTimeout, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.unloaded || g.members[m.id] != m || m.hbSeq != seq {
			return
		}
		if m.join != nil {
			// A member waiting in JoinGroup is alive (Kafka's shouldKeepAlive).
			c.scheduleHeartbeat(g, m)
			return
		}
		c.memberGone(g, m, "session timeout")
	})
}

// prepareRebalance starts a join phase. g.mu held.
func (c *Coordinator) prepareRebalance(g *group, reason string) {
	if g.state == CompletingRebalance {
		for _, m := range g.members {
			m.assignment = nil
			m.answerSync(syncError(0, fmt.Errorf("%w: %s", ErrRebalanceInProgress, reason)))
		}
	}
	wasEmpty := g.state == Empty
	c.transition(g, PreparingRebalance)
	c.logger.Info("preparing rebalance", zap.String("group", g.id), zap.Int32("generation", g.generation), zap.String("reason", reason))
	if delay := c.cfg.InitialRebalanceDelay; wasEmpty && delay > 0 {
		g.initialDelay = true
		g.newMemberAdded = false
		c.armInitialDelay(g, delay, max(g.maxRebalanceTimeout()-delay, 0))
		return
	}
	g.initialDelay = false
	c.armRebalanceTimer(g, g.maxRebalanceTimeout(), func() { c.completeJoin(g) })
}

// armInitialDelay is Kafka's InitialDelayedJoin: wait delay; if members
// kept arriving and time remains, wait again. g.mu held.
func (c *Coordinator) armInitialDelay(g *group, delay, remaining time.Duration) {
	c.armRebalanceTimer(g, delay, func() {
		if g.newMemberAdded && remaining > 0 {
			g.newMemberAdded = false
			d := min(c.cfg.InitialRebalanceDelay, remaining)
			c.armInitialDelay(g, d, remaining-d)
			return
		}
		g.initialDelay = false
		c.completeJoin(g)
	})
}

// tryCompleteJoin ends the join phase early once every member rejoined.
// g.mu held.
func (c *Coordinator) tryCompleteJoin(g *group) {
	if g.state == PreparingRebalance && !g.initialDelay && g.allJoined() {
		c.completeJoin(g)
	}
}

// completeJoin ends a join phase: members that did not rejoin are dropped,
// the generation advances, the protocol is chosen and every waiting member
// is answered (the leader with the member list). g.mu held.
func (c *Coordinator) completeJoin(g *group) {
	if g.state != PreparingRebalance {
		return
	}
	g.stopRebalanceTimer()
	g.initialDelay = false
	for _, id := range g.sortedMemberIDs() {
		if m := g.members[id]; m.join == nil {
			c.logger.Info("member did not rejoin in time", zap.String("group", g.id), zap.String("member", id))
			c.dropMember(g, m, fmt.Errorf("%w: %q did not rejoin group %q in time", ErrUnknownMemberID, id, g.id))
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.protocol, g.leader = "", ""
		c.transition(g, Empty)
		c.logger.Info("group is empty", zap.String("group", g.id), zap.Int32("generation", g.generation))
		c.persistGroupAsync(g)
		return
	}
	c.rebalances.Add(1)
	g.protocol = g.selectProtocol()
	if g.members[g.leader] == nil {
		g.leader = g.sortedMemberIDs()[0]
	}
	c.transition(g, CompletingRebalance)
	c.logger.Info("group rebalanced", zap.String("group", g.id), zap.Int32("generation", g.generation),
		zap.String("protocol", g.protocol), zap.String("leader", g.leader), zap.Int("members", len(g.members)))
	for _, m := range g.members {
		m.answerJoin(g.joinResponse(m, m.joinVersion, m.id == g.leader))
		c.scheduleHeartbeat(g, m)
	}
	gen := g.generation
	c.armRebalanceTimer(g, g.maxRebalanceTimeout(), func() { c.syncTimeout(g, gen) })
}

// syncTimeout drops members that never sent SyncGroup for generation gen
// and rebalances (Kafka's pending-sync expiry). g.mu held.
func (c *Coordinator) syncTimeout(g *group, gen int32) {
	if g.state != CompletingRebalance || g.generation != gen || g.syncing {
		return
	}
	for _, id := range g.sortedMemberIDs() {
		if m := g.members[id]; m.sync == nil {
			c.dropMember(g, m, fmt.Errorf("%w: %q did not sync group %q in time", ErrUnknownMemberID, id, g.id))
		}
	}
	c.prepareRebalance(g, "members did not sync in time")
	c.tryCompleteJoin(g)
}

// unloadGroup releases everything waiting on g: the partition moved away or
// the coordinator is closing. g must already be out of the coordinator's map.
func (c *Coordinator) unloadGroup(g *group) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.unloaded = true
	g.stopRebalanceTimer()
	for id, p := range g.pending {
		p.timer.Stop()
		delete(g.pending, id)
	}
	gone := fmt.Errorf("%w: group %q was unloaded", ErrNotCoordinator, g.id)
	for _, m := range g.members {
		if m.hb != nil {
			m.hb.Stop()
		}
		m.hbSeq++
		m.answerJoin(joinError(m.joinVersion, m.id, gone))
		m.answerSync(syncError(0, gone))
	}
}

// metadataValue encodes g as a GroupMetadataValue (v3). assign, when not
// nil, replaces the members' assignments (a pending SyncGroup). g.mu held.
func (g *group) metadataValue(assign map[string][]byte) []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		p := g.protocol
		v.Protocol = &p
	}
	if g.leader != "" {
		l := g.leader
		v.Leader = &l
	}
	v.CurrentStateTimestamp = g.stateTime
	for _, id := range g.sortedMemberIDs() {
		m := g.members[id]
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.InstanceID, vm.ClientID, vm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		vm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		vm.Subscription = m.metadataFor(g.protocol)
		if vm.Subscription == nil {
			vm.Subscription = []byte{}
		}
		vm.Assignment = m.assignment
		if assign != nil {
			vm.Assignment = assign[id]
		}
		if vm.Assignment == nil {
			vm.Assignment = []byte{}
		}
		v.Members = append(v.Members, vm)
	}
	return v.AppendTo(nil)
}

// persistGroupAsync writes g's metadata in the background (a transition to
// Empty or a static member's new id: nobody waits for it). g.mu held.
func (c *Coordinator) persistGroupAsync(g *group) {
	c.goTracked(func() {
		g.writeMu.Lock()
		defer g.writeMu.Unlock()
		g.mu.Lock()
		if g.unloaded || g.state == Dead {
			g.mu.Unlock()
			return
		}
		rec := record{key: groupKey(g.id), value: g.metadataValue(nil)}
		p := g.partition
		g.mu.Unlock()
		if _, err := c.appendRecords(c.lifetime, p, []record{rec}); err != nil {
			c.logger.Warn("write group metadata failed", zap.String("group", g.id), zap.Error(err))
		}
	})
}

// restoreGroup rebuilds a group from replayed records: with members it is
// Stable (their sessions restart now), without them Empty.
func (c *Coordinator) restoreGroup(id string, p int32, lg *loadedGroup) *group {
	g := newGroup(id, p, c.nowMs())
	g.offsets = lg.offsets
	g.pendingTxn = lg.pendingTxn
	meta := lg.meta
	if meta == nil {
		return g
	}
	g.protocolType, g.generation = meta.ProtocolType, meta.Generation
	if meta.Protocol != nil {
		g.protocol = *meta.Protocol
	}
	if meta.Leader != nil {
		g.leader = *meta.Leader
	}
	if meta.CurrentStateTimestamp > 0 {
		g.stateTime = meta.CurrentStateTimestamp
	}
	for _, vm := range meta.Members {
		m := &member{
			id: vm.MemberID, instanceID: vm.InstanceID, clientID: vm.ClientID, clientHost: vm.ClientHost,
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			protocols:        []protocol{{name: g.protocol, metadata: vm.Subscription}},
			assignment:       vm.Assignment,
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		g.members[m.id] = m
		if m.instanceID != nil {
			g.static[*m.instanceID] = m.id
		}
	}
	if len(g.members) > 0 {
		g.state = Stable
		if g.members[g.leader] == nil {
			g.leader = g.sortedMemberIDs()[0]
		}
	} else {
		g.leader = ""
	}
	return g
}
