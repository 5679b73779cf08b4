package group

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit runs Kafka's OffsetCommit (v0-v8). A group member commits at
// its generation; generation -1 (or v0) is a "simple" commit, allowed while
// the group has no members. Offsets are written to __consumer_offsets and
// become visible to OffsetFetch once committed there.
func (c *Coordinator) OffsetCommit(_ context.Context, req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	codes := make([][]int16, len(req.Topics))
	for i, t := range req.Topics {
		codes[i] = make([]int16, len(t.Partitions))
	}
	setAll := func(code int16) {
		for i := range codes {
			for j := range codes[i] {
				codes[i][j] = code
			}
		}
	}
	defer func() {
		for i, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for j, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, codes[i][j]
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	}()

	simple := req.Version == 0 || req.Generation < 0
	g, err := c.lockGroup(req.Group, simple, true)
	if errors.Is(err, ErrGroupNotFound) {
		err = fmt.Errorf("%w: %w", ErrIllegalGeneration, err)
	}
	if err != nil {
		setAll(errorCode(err))
		return resp
	}
	defer g.writeMu.Unlock()
	if err := c.checkCommit(g, req, simple); err != nil {
		g.mu.Unlock()
		setAll(errorCode(err))
		return resp
	}
	now := c.nowMs()
	var recs []record
	var where [][2]int
	var values []committed
	for i, t := range req.Topics {
		for j, p := range t.Partitions {
			md := ""
			if p.Metadata != nil {
				md = *p.Metadata
			}
			if len(md) > c.cfg.MaxMetadataBytes {
				codes[i][j] = errorCode(ErrMetadataTooLarge)
				continue
			}
			le := p.LeaderEpoch
			if req.Version < 6 {
				le = -1
			}
			v := committed{offset: p.Offset, leaderEpoch: le, metadata: md, timestamp: now}
			recs = append(recs, record{key: offsetKey(g.id, t.Topic, p.Partition), value: offsetValue(v)})
			where = append(where, [2]int{i, j})
			values = append(values, v)
		}
	}
	part := g.partition
	g.mu.Unlock()

	first, err := c.appendRecords(context.Background(), part, recs)
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, w := range where {
		if err != nil {
			codes[w[0]][w[1]] = errorCode(err)
			continue
		}
		t := req.Topics[w[0]]
		v := values[k]
		v.logOffset = first + int64(k)
		g.offsets[topicPartition{t.Topic, t.Partitions[w[1]].Partition}] = v
	}
	return resp
}

// checkCommit applies Kafka's rules for who may commit. g.mu held.
func (c *Coordinator) checkCommit(g *group, req *kmsg.OffsetCommitRequest, simple bool) error {
	if simple {
		if g.state != Empty {
			return fmt.Errorf("%w: simple commit to group %q, which has members", ErrUnknownMemberID, g.id)
		}
		return nil
	}
	m, err := c.checkMember(g, req.MemberID, req.InstanceID, req.Generation)
	if err != nil {
		return err
	}
	if g.state == CompletingRebalance {
		return fmt.Errorf("%w: group %q awaits its assignment", ErrRebalanceInProgress, g.id)
	}
	c.scheduleHeartbeat(g, m)
	return nil
}

// OffsetFetch runs Kafka's OffsetFetch (v0-v8; v8 batches groups). Nil
// topics (v2+) means every committed partition. A partition without a
// commit answers offset -1.
func (c *Coordinator) OffsetFetch(_ context.Context, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			var topics []requested
			if rg.Topics != nil {
				topics = make([]requested, 0, len(rg.Topics))
				for _, t := range rg.Topics {
					topics = append(topics, requested{t.Topic, t.Partitions})
				}
			}
			res, err := c.fetchOffsets(rg.Group, topics, rg.Topics == nil, req.RequireStable)
			out := kmsg.NewOffsetFetchResponseGroup()
			out.Group, out.ErrorCode = rg.Group, errorCode(err)
			for _, t := range res {
				ot := kmsg.NewOffsetFetchResponseGroupTopic()
				ot.Topic = t.topic
				for _, p := range t.partitions {
					op := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					op.Partition, op.Offset, op.LeaderEpoch, op.Metadata, op.ErrorCode = p.partition, p.offset, p.leaderEpoch, p.metadata, p.code
					ot.Partitions = append(ot.Partitions, op)
				}
				out.Topics = append(out.Topics, ot)
			}
			resp.Groups = append(resp.Groups, out)
		}
		return resp
	}
	var topics []requested
	all := req.Topics == nil && req.Version >= 2
	for _, t := range req.Topics {
		topics = append(topics, requested{t.Topic, t.Partitions})
	}
	res, err := c.fetchOffsets(req.Group, topics, all, req.Version >= 7 && req.RequireStable)
	code := errorCode(err)
	if err != nil && req.Version < 2 {
		// v0-v1 have no group-level error: report it on every partition.
		res = nil
		for _, t := range topics {
			ft := fetchedTopic{topic: t.topic}
			for _, p := range t.partitions {
				ft.partitions = append(ft.partitions, fetchedPartition{partition: p, offset: -1, leaderEpoch: -1, code: code})
			}
			res = append(res, ft)
		}
	}
	resp.ErrorCode = code
	for _, t := range res {
		ot := kmsg.NewOffsetFetchResponseTopic()
		ot.Topic = t.topic
		for _, p := range t.partitions {
			op := kmsg.NewOffsetFetchResponseTopicPartition()
			op.Partition, op.Offset, op.LeaderEpoch, op.Metadata, op.ErrorCode = p.partition, p.offset, p.leaderEpoch, p.metadata, p.code
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	return resp
}

type requested struct {
	topic      string
	partitions []int32
}

type fetchedTopic struct {
	topic      string
	partitions []fetchedPartition
}

type fetchedPartition struct {
	partition   int32
	offset      int64
	leaderEpoch int32
	metadata    *string
	code        int16
}

// fetchOffsets reads one group's committed offsets: the requested
// partitions, or every committed one when all is set. An unknown group has
// no offsets (not an error, as in Kafka). With stable (require_stable,
// v7+), a partition with a transactional commit awaiting its marker
// answers UNSTABLE_OFFSET_COMMIT and offset -1, as Kafka's getOffsets.
func (c *Coordinator) fetchOffsets(groupID string, topics []requested, all, stable bool) ([]fetchedTopic, error) {
	g, err := c.lockGroup(groupID, false, false)
	offsets := map[topicPartition]committed{}
	switch {
	case errors.Is(err, ErrGroupNotFound):
	case err != nil:
		return nil, err
	default:
		offsets = g.offsets
		defer g.mu.Unlock()
	}
	if all {
		byTopic := map[string][]int32{}
		for tp := range offsets {
			byTopic[tp.topic] = append(byTopic[tp.topic], tp.partition)
		}
		topics = topics[:0]
		for t, ps := range byTopic {
			slices.Sort(ps)
			topics = append(topics, requested{t, ps})
		}
		slices.SortFunc(topics, func(a, b requested) int {
			if a.topic < b.topic {
				return -1
			}
			if a.topic > b.topic {
				return 1
			}
			return 0
		})
	}
	out := make([]fetchedTopic, 0, len(topics))
	for _, t := range topics {
		ft := fetchedTopic{topic: t.topic}
		for _, p := range t.partitions {
			fp := fetchedPartition{partition: p, offset: -1, leaderEpoch: -1}
			empty := ""
			fp.metadata = &empty
			if o, ok := offsets[topicPartition{t.topic, p}]; ok {
				md := o.metadata
				fp.offset, fp.leaderEpoch, fp.metadata = o.offset, o.leaderEpoch, &md
			}
			if stable && g != nil && g.hasPendingTxn(topicPartition{t.topic, p}) {
				fp.offset, fp.leaderEpoch, fp.code = -1, -1, errorCode(ErrUnstableOffsetCommit)
			}
			ft.partitions = append(ft.partitions, fp)
		}
		out = append(out, ft)
	}
	return out, nil
}

// OffsetDelete runs Kafka's OffsetDelete (v0, KIP-496): it removes committed
// offsets of topics the group is not subscribed to, writing tombstones.
func (c *Coordinator) OffsetDelete(_ context.Context, req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	g, err := c.lockGroup(req.Group, false, true)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp
	}
	defer g.writeMu.Unlock()
	subscribed, err := g.subscribedTopics()
	if err != nil {
		g.mu.Unlock()
		resp.ErrorCode = errorCode(err)
		return resp
	}
	var recs []record
	var gone []topicPartition
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			tp := topicPartition{t.Topic, p.Partition}
			switch {
			case subscribed[t.Topic]:
				rp.ErrorCode = errorCode(ErrSubscribedToTopic)
			default:
				if _, ok := g.offsets[tp]; ok {
					recs = append(recs, record{key: offsetKey(g.id, tp.topic, tp.partition)})
					gone = append(gone, tp)
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	part := g.partition
	g.mu.Unlock()
	if _, err := c.appendRecords(context.Background(), part, recs); err != nil {
		resp.ErrorCode = errorCode(err)
		resp.Topics = nil
		return resp
	}
	g.mu.Lock()
	for _, tp := range gone {
		delete(g.offsets, tp)
	}
	g.mu.Unlock()
	return resp
}

// subscribedTopics is the union of the members' subscriptions when the
// group uses the consumer protocol. A non-empty group of another protocol
// type cannot tell, so it refuses (NON_EMPTY_GROUP, as Kafka). g.mu held.
func (g *group) subscribedTopics() (map[string]bool, error) {
	out := map[string]bool{}
	if g.state == Empty {
		return out, nil
	}
	if g.protocolType != "consumer" {
		return nil, fmt.Errorf("%w: group %q of type %q is %s", ErrNonEmptyGroup, g.id, g.protocolType, g.state)
	}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			continue // undecodable subscription: it cannot protect a topic
		}
		for _, t := range md.Topics {
			out[t] = true
		}
	}
	return out, nil
}
