package group

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// DescribeGroups runs Kafka's DescribeGroups (v0-v5). An unknown group is
// reported as Dead without an error, as Kafka does. Members carry their
// metadata and assignment only while the group is Stable.
func (c *Coordinator) DescribeGroups(_ context.Context, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		resp.Groups = append(resp.Groups, c.describe(id))
	}
	return resp
}

func (c *Coordinator) describe(id string) kmsg.DescribeGroupsResponseGroup {
	out := kmsg.NewDescribeGroupsResponseGroup()
	out.Group = id
	g, err := c.lockGroup(id, false, false)
	switch {
	case errors.Is(err, ErrGroupNotFound):
		out.State = Dead.String()
		return out
	case err != nil:
		out.ErrorCode = errorCode(err)
		return out
	}
	defer g.mu.Unlock()
	out.State, out.ProtocolType = g.state.String(), g.protocolType
	stable := g.state == Stable
	if stable {
		out.Protocol = g.protocol
	}
	for _, mid := range g.sortedMemberIDs() {
		m := g.members[mid]
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		dm.ProtocolMetadata, dm.MemberAssignment = []byte{}, []byte{}
		if stable {
			if md := m.metadataFor(g.protocol); md != nil {
				dm.ProtocolMetadata = md
			}
			if m.assignment != nil {
				dm.MemberAssignment = m.assignment
			}
		}
		out.Members = append(out.Members, dm)
	}
	return out
}

// ListGroups runs Kafka's ListGroups (v0-v5): the groups of every loaded
// partition, filtered by state (v4+) and type (v5+; all groups here are
// "classic"). While a partition loads it answers COORDINATOR_LOAD_IN_PROGRESS.
func (c *Coordinator) ListGroups(_ context.Context, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	c.mu.Lock()
	for p, ps := range c.partitions {
		if !ps.loaded {
			c.mu.Unlock()
			resp.ErrorCode = errorCode(fmt.Errorf("%s-%d: %w", OffsetsTopic, p, ErrLoadInProgress))
			return resp
		}
	}
	c.mu.Unlock()
	match := func(filter []string, v string) bool {
		return len(filter) == 0 || slices.ContainsFunc(filter, func(f string) bool { return strings.EqualFold(f, v) })
	}
	groups := c.snapshotGroups()
	slices.SortFunc(groups, func(a, b *group) int { return strings.Compare(a.id, b.id) })
	for _, g := range groups {
		g.mu.Lock()
		state, ptype, gone := g.state, g.protocolType, g.unloaded
		g.mu.Unlock()
		if gone || state == Dead || !match(req.StatesFilter, state.String()) || !match(req.TypesFilter, "classic") {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.id, ptype, state.String(), "classic"
		resp.Groups = append(resp.Groups, lg)
	}
	return resp
}

// DeleteGroups runs Kafka's DeleteGroups (v0-v2): an Empty group's offsets
// and metadata are tombstoned in __consumer_offsets and the group is gone.
func (c *Coordinator) DeleteGroups(_ context.Context, req *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group = id
		dg.ErrorCode = errorCode(c.deleteGroup(id))
		resp.Groups = append(resp.Groups, dg)
	}
	return resp
}

func (c *Coordinator) deleteGroup(id string) error {
	g, err := c.lockGroup(id, false, true)
	if err != nil {
		return err
	}
	defer g.writeMu.Unlock()
	if g.state != Empty {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q is %s with %d members", ErrNonEmptyGroup, id, g.state, len(g.members))
	}
	recs := make([]record, 0, len(g.offsets)+1)
	for tp := range g.offsets {
		recs = append(recs, record{key: offsetKey(g.id, tp.topic, tp.partition)})
	}
	recs = append(recs, record{key: groupKey(g.id)})
	// Dead while the tombstones are written: joins and commits answer
	// COORDINATOR_NOT_AVAILABLE and retry.
	c.transition(g, Dead)
	part := g.partition
	g.mu.Unlock()
	_, err = c.appendRecords(context.Background(), part, recs)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		c.transition(g, Empty)
		return err
	}
	c.removeGroupLocked(g)
	c.logger.Info("deleted group", zap.String("group", id), zap.Int("offsets", len(g.offsets)))
	return nil
}
