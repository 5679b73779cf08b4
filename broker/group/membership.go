package group

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

func millis(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }

// JoinGroup runs Kafka's JoinGroup (v0-v9): it adds or updates the member
// and blocks until the join phase completes (or ctx ends), answering the
// generation, the chosen protocol and, to the leader, every member's
// metadata. v4+ first answers MEMBER_ID_REQUIRED with the id to use
// (KIP-394); a known group.instance.id replaces its old member (KIP-345).
func (c *Coordinator) JoinGroup(ctx context.Context, cl Client, req *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	fail := func(err error) *kmsg.JoinGroupResponse { return joinError(req.Version, req.MemberID, err) }
	session := millis(req.SessionTimeoutMillis)
	rebalance := millis(req.RebalanceTimeoutMillis)
	if req.Version == 0 || rebalance <= 0 {
		rebalance = session
	}
	if session < c.cfg.MinSessionTimeout || session > c.cfg.MaxSessionTimeout {
		return fail(fmt.Errorf("%w: %s outside [%s, %s]", ErrInvalidSessionTimeout, session, c.cfg.MinSessionTimeout, c.cfg.MaxSessionTimeout))
	}
	protos := make([]protocol, len(req.Protocols))
	for i, p := range req.Protocols {
		protos[i] = protocol{name: p.Name, metadata: p.Metadata}
	}
	g, err := c.lockGroup(req.Group, req.MemberID == "", false)
	if errors.Is(err, ErrGroupNotFound) {
		err = fmt.Errorf("%w: %w", ErrUnknownMemberID, err)
	}
	if err != nil {
		return fail(err)
	}
	m := &member{
		id: req.MemberID, instanceID: req.InstanceID, clientID: cl.ID, clientHost: cl.Host,
		rebalanceTimeout: rebalance, sessionTimeout: session, protocols: protos, joinVersion: req.Version,
	}
	wait, resp, err := c.join(g, m, req.ProtocolType)
	g.mu.Unlock()
	switch {
	case err != nil:
		return fail(err)
	case resp != nil:
		return resp
	}
	select {
	case r := <-wait:
		return r
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// join is JoinGroup under g.mu: either an immediate response (or error) or
// a channel that the end of the join phase answers. in carries the
// request's member fields (id may be empty).
func (c *Coordinator) join(g *group, in *member, protocolType string) (<-chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse, error) {
	if !g.supports(protocolType, in.protocols, in.id) {
		return nil, nil, fmt.Errorf("%w: type %q with %d protocols does not match group %q (type %q)",
			ErrInconsistentProtocol, protocolType, len(in.protocols), g.id, g.protocolType)
	}
	if len(g.members) == 0 {
		g.protocolType = protocolType
	}
	ch := make(chan *kmsg.JoinGroupResponse, 1)

	if in.id == "" {
		in.id = newMemberID(in.clientID)
		if in.instanceID != nil {
			if oldID, ok := g.static[*in.instanceID]; ok {
				return c.replaceStatic(g, oldID, in, ch)
			}
		} else if in.joinVersion >= 4 {
			// KIP-394: hand out the id and let the client join with it.
			c.addPending(g, in.id, in.sessionTimeout)
			return nil, joinError(in.joinVersion, in.id, fmt.Errorf("%w: join again as %q", ErrMemberIDRequired, in.id)), nil
		}
		c.addAndRebalance(g, in, ch, "new member "+in.id+" joined")
		return ch, nil, nil
	}

	if p, ok := g.pending[in.id]; ok {
		p.timer.Stop()
		delete(g.pending, in.id)
		c.addAndRebalance(g, in, ch, "new member "+in.id+" joined")
		return ch, nil, nil
	}
	m := g.members[in.id]
	if in.instanceID != nil {
		if cur, ok := g.static[*in.instanceID]; ok && cur != in.id {
			return nil, nil, fmt.Errorf("%w: instance %q is member %q now, not %q", ErrFencedInstanceID, *in.instanceID, cur, in.id)
		}
	}
	if m == nil {
		return nil, nil, fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, in.id, g.id)
	}
	switch g.state {
	case PreparingRebalance:
		c.updateMember(m, in, ch)
		c.tryCompleteJoin(g)
		return ch, nil, nil
	case CompletingRebalance:
		if sameProtocols(m.protocols, in.protocols) {
			// A retried join of the current generation: answer it again.
			return nil, g.joinResponse(m, in.joinVersion, m.id == g.leader), nil
		}
		c.updateMember(m, in, ch)
		c.prepareRebalance(g, "member "+m.id+" changed its protocols")
		c.tryCompleteJoin(g)
		return ch, nil, nil
	case Stable:
		if m.id != g.leader && sameProtocols(m.protocols, in.protocols) {
			c.scheduleHeartbeat(g, m)
			return nil, g.joinResponse(m, in.joinVersion, false), nil
		}
		c.updateMember(m, in, ch)
		c.prepareRebalance(g, "leader or changed member "+m.id+" rejoined")
		c.tryCompleteJoin(g)
		return ch, nil, nil
	default:
		return nil, nil, fmt.Errorf("%w: %q, group %q is %s", ErrUnknownMemberID, in.id, g.id, g.state)
	}
}

// updateMember copies a rejoining member's request fields into m and makes
// it wait for the join phase. A JoinGroup still waiting from an earlier
// connection is released first. g.mu held.
func (c *Coordinator) updateMember(m, in *member, ch chan *kmsg.JoinGroupResponse) {
	m.answerJoin(joinError(m.joinVersion, m.id, fmt.Errorf("%w: %q joined again", ErrRebalanceInProgress, m.id)))
	m.protocols, m.sessionTimeout, m.rebalanceTimeout = in.protocols, in.sessionTimeout, in.rebalanceTimeout
	m.clientID, m.clientHost, m.joinVersion = in.clientID, in.clientHost, in.joinVersion
	m.join = ch
}

// addAndRebalance adds a new member waiting on ch. g.mu held.
func (c *Coordinator) addAndRebalance(g *group, m *member, ch chan *kmsg.JoinGroupResponse, reason string) {
	m.join = ch
	c.addMember(g, m)
	if g.state != PreparingRebalance {
		c.prepareRebalance(g, reason)
	}
	c.tryCompleteJoin(g)
}

// addPending remembers a member id handed out with MEMBER_ID_REQUIRED until
// it joins or its session timeout passes. g.mu held.
func (c *Coordinator) addPending(g *group, id string, session time.Duration) {
	p := &pendingMember{}
	g.pending[id] = p
	p.timer = c.after(session, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.unloaded || g.pending[id] != p {
			return
		}
		delete(g.pending, id)
		c.tryCompleteJoin(g)
	})
}

// replaceStatic gives a known group.instance.id a new member id (KIP-345):
// the old member's waiting calls are fenced; a Stable group with unchanged
// protocols keeps its assignment without a rebalance. g.mu held.
func (c *Coordinator) replaceStatic(g *group, oldID string, in *member, ch chan *kmsg.JoinGroupResponse) (<-chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse, error) {
	old := g.members[oldID]
	if old == nil {
		delete(g.static, *in.instanceID)
		c.addAndRebalance(g, in, ch, "static member "+*in.instanceID+" joined")
		return ch, nil, nil
	}
	unchanged := sameProtocols(old.protocols, in.protocols)
	wasLeader := g.leader == oldID
	c.dropMember(g, old, fmt.Errorf("%w: instance %q is member %q now", ErrFencedInstanceID, *in.instanceID, in.id))
	in.assignment = old.assignment
	g.members[in.id] = in
	g.static[*in.instanceID] = in.id
	if wasLeader || g.leader == "" {
		g.leader = in.id
	}
	c.scheduleHeartbeat(g, in)
	c.logger.Info("static member rejoined", zap.String("group", g.id), zap.String("instance", *in.instanceID),
		zap.String("old", oldID), zap.String("new", in.id))
	switch g.state {
	case Stable:
		if unchanged {
			c.persistGroupAsync(g)
			skip := in.joinVersion >= 9 && g.leader == in.id
			r := g.joinResponse(in, in.joinVersion, skip)
			r.SkipAssignment = skip
			return nil, r, nil
		}
		in.join = ch
		c.prepareRebalance(g, "static member "+*in.instanceID+" changed its protocols")
	case CompletingRebalance:
		in.join = ch
		c.prepareRebalance(g, "static member "+*in.instanceID+" rejoined during sync")
	default:
		in.join = ch
	}
	c.tryCompleteJoin(g)
	return ch, nil, nil
}

// SyncGroup runs Kafka's SyncGroup (v0-v5): the leader hands in the
// assignment, which is written to __consumer_offsets before anyone gets
// theirs; followers wait for it.
func (c *Coordinator) SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	fail := func(err error) *kmsg.SyncGroupResponse { return syncError(req.Version, err) }
	g, err := c.lockGroup(req.Group, false, false)
	if errors.Is(err, ErrGroupNotFound) {
		err = fmt.Errorf("%w: %w", ErrUnknownMemberID, err)
	}
	if err != nil {
		return fail(err)
	}
	m, err := c.checkMember(g, req.MemberID, req.InstanceID, req.Generation)
	if err == nil && (req.ProtocolType != nil && *req.ProtocolType != g.protocolType ||
		req.Protocol != nil && *req.Protocol != g.protocol) {
		err = fmt.Errorf("%w: sync names %v/%v, group has %q/%q", ErrInconsistentProtocol, req.ProtocolType, req.Protocol, g.protocolType, g.protocol)
	}
	if err != nil {
		g.mu.Unlock()
		return fail(err)
	}
	switch g.state {
	case PreparingRebalance:
		g.mu.Unlock()
		return fail(ErrRebalanceInProgress)
	case Stable:
		c.scheduleHeartbeat(g, m)
		r := g.syncResponse(req.Version, m.assignment)
		g.mu.Unlock()
		return r
	case CompletingRebalance:
	default:
		g.mu.Unlock()
		return fail(fmt.Errorf("%w: group %q is %s", ErrUnknownMemberID, g.id, g.state))
	}
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	m.answerSync(syncError(req.Version, fmt.Errorf("%w: %q synced again", ErrRebalanceInProgress, m.id)))
	m.sync = ch
	c.scheduleHeartbeat(g, m)
	lead := m.id == g.leader && !g.syncing
	gen := g.generation
	if lead {
		g.syncing = true
	}
	g.mu.Unlock()
	if lead {
		assign := make(map[string][]byte, len(req.GroupAssignment))
		for _, a := range req.GroupAssignment {
			assign[a.MemberID] = a.MemberAssignment
		}
		c.completeSync(g, gen, assign)
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

func (g *group) syncResponse(version int16, assignment []byte) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	r.Version = version
	pt, pn := g.protocolType, g.protocol
	r.ProtocolType, r.Protocol = &pt, &pn
	r.MemberAssignment = assignment
	if r.MemberAssignment == nil {
		r.MemberAssignment = []byte{}
	}
	return r
}

// completeSync writes generation gen's assignment, then makes the group
// Stable and answers every waiting SyncGroup. If the group moved on
// meanwhile, whoever moved it answered the waiters.
func (c *Coordinator) completeSync(g *group, gen int32, assign map[string][]byte) {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	g.mu.Lock()
	if g.unloaded || g.state != CompletingRebalance || g.generation != gen {
		if g.generation == gen {
			g.syncing = false
		}
		g.mu.Unlock()
		return
	}
	rec := record{key: groupKey(g.id), value: g.metadataValue(assign)}
	p := g.partition
	g.mu.Unlock()
	_, err := c.appendRecords(c.lifetime, p, []record{rec})
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.generation == gen {
		g.syncing = false
	}
	if g.unloaded || g.state != CompletingRebalance || g.generation != gen {
		return
	}
	if err != nil {
		c.logger.Warn("write group assignment failed", zap.String("group", g.id), zap.Int32("generation", gen), zap.Error(err))
		for _, m := range g.members {
			m.answerSync(syncError(0, err))
		}
		c.prepareRebalance(g, "assignment could not be written")
		return
	}
	g.stopRebalanceTimer()
	for id, m := range g.members {
		m.assignment = assign[id]
	}
	c.transition(g, Stable)
	for _, m := range g.members {
		m.answerSync(g.syncResponse(0, m.assignment))
	}
	c.logger.Info("group stable", zap.String("group", g.id), zap.Int32("generation", gen))
}

// checkMember validates a member's id, instance id and generation against
// g. g.mu held.
func (c *Coordinator) checkMember(g *group, memberID string, instanceID *string, generation int32) (*member, error) {
	if instanceID != nil {
		if cur, ok := g.static[*instanceID]; ok && cur != memberID {
			return nil, fmt.Errorf("%w: instance %q is member %q, not %q", ErrFencedInstanceID, *instanceID, cur, memberID)
		}
	}
	m := g.members[memberID]
	if m == nil {
		return nil, fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, memberID, g.id)
	}
	if generation != g.generation {
		return nil, fmt.Errorf("%w: %d, group %q is at %d", ErrIllegalGeneration, generation, g.id, g.generation)
	}
	return m, nil
}

// Heartbeat runs Kafka's Heartbeat (v0-v4): it restarts the member's
// session timeout and tells it whether a rebalance is under way.
func (c *Coordinator) Heartbeat(_ context.Context, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	g, err := c.lockGroup(req.Group, false, false)
	if errors.Is(err, ErrGroupNotFound) {
		err = fmt.Errorf("%w: %w", ErrUnknownMemberID, err)
	}
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp
	}
	defer g.mu.Unlock()
	if g.state == Empty {
		resp.ErrorCode = errorCode(ErrUnknownMemberID)
		return resp
	}
	m, err := c.checkMember(g, req.MemberID, req.InstanceID, req.Generation)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp
	}
	c.scheduleHeartbeat(g, m)
	if g.state == PreparingRebalance {
		resp.ErrorCode = errorCode(ErrRebalanceInProgress)
	}
	return resp
}

// LeaveGroup runs Kafka's LeaveGroup (v0-v5; v3+ batches members, static
// members by instance id). Each departure triggers a rebalance.
func (c *Coordinator) LeaveGroup(_ context.Context, req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	leaving := req.Members
	if req.Version < 3 {
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = req.MemberID
		leaving = []kmsg.LeaveGroupRequestMember{lm}
	}
	g, err := c.lockGroup(req.Group, false, false)
	if errors.Is(err, ErrGroupNotFound) {
		err = fmt.Errorf("%w: %w", ErrUnknownMemberID, err)
		if req.Version >= 3 {
			for _, lm := range leaving {
				rm := kmsg.NewLeaveGroupResponseMember()
				rm.MemberID, rm.InstanceID, rm.ErrorCode = lm.MemberID, lm.InstanceID, errorCode(err)
				resp.Members = append(resp.Members, rm)
			}
			return resp
		}
	}
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp
	}
	defer g.mu.Unlock()
	for _, lm := range leaving {
		code := errorCode(c.leave(g, lm.MemberID, lm.InstanceID))
		if req.Version < 3 {
			resp.ErrorCode = code
			continue
		}
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = lm.MemberID, lm.InstanceID, code
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

// leave removes one member. g.mu held.
func (c *Coordinator) leave(g *group, memberID string, instanceID *string) error {
	if instanceID != nil {
		cur, ok := g.static[*instanceID]
		switch {
		case !ok:
			return fmt.Errorf("%w: instance %q in group %q", ErrUnknownMemberID, *instanceID, g.id)
		case memberID != "" && memberID != cur:
			return fmt.Errorf("%w: instance %q is member %q, not %q", ErrFencedInstanceID, *instanceID, cur, memberID)
		}
		memberID = cur
	}
	if p, ok := g.pending[memberID]; ok {
		p.timer.Stop()
		delete(g.pending, memberID)
		c.tryCompleteJoin(g)
		return nil
	}
	m := g.members[memberID]
	if m == nil {
		return fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, memberID, g.id)
	}
	c.memberGone(g, m, "left")
	return nil
}
