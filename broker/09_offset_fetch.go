package broker

// OffsetFetch (key 9), versions 0-8.
//
// Handled by the group coordinator: committed offsets of the requested
// partitions (or all, with null topics at v2+), -1 where none is
// committed. v8 batches groups (KIP-709). With require_stable (v7+, KIP-447)
// a partition whose transactional offset commit awaits its marker answers
// UNSTABLE_OFFSET_COMMIT (the client retries); without it, such offsets are
// simply not visible yet.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleOffsetFetch(ctx context.Context, req *network.Request, body *kmsg.OffsetFetchRequest) (kmsg.Response, error) {
	resp := b.groups.OffsetFetch(ctx, body)
	if !b.authorizing() {
		return resp, nil
	}
	// DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED; DESCRIBE on
	// each topic: a named one is TOPIC_AUTHORIZATION_FAILED, an
	// all-topics answer leaves it out (Kafka's authorizedPartitions).
	denied := kerr.TopicAuthorizationFailed.Code
	if body.Version < 8 {
		if !b.authorized(req, resGroup, body.Group, opDescribe) {
			return &kmsg.OffsetFetchResponse{Version: body.Version, ErrorCode: kerr.GroupAuthorizationFailed.Code}, nil
		}
		out := resp.Topics[:0]
		for _, t := range resp.Topics {
			if !b.authorizedQuietly(req, resTopic, t.Topic, opDescribe) {
				if body.Topics == nil {
					continue
				}
				for i := range t.Partitions {
					p := &t.Partitions[i]
					p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode = -1, -1, nil, denied
				}
			}
			out = append(out, t)
		}
		resp.Topics = out
		return resp, nil
	}
	all := map[string]bool{}
	for _, g := range body.Groups {
		all[g.Group] = g.Topics == nil
	}
	for gi := range resp.Groups {
		g := &resp.Groups[gi]
		if !b.authorized(req, resGroup, g.Group, opDescribe) {
			g.Topics, g.ErrorCode = nil, kerr.GroupAuthorizationFailed.Code
			continue
		}
		out := g.Topics[:0]
		for _, t := range g.Topics {
			if !b.authorizedQuietly(req, resTopic, t.Topic, opDescribe) {
				if all[g.Group] {
					continue
				}
				for i := range t.Partitions {
					p := &t.Partitions[i]
					p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode = -1, -1, nil, denied
				}
			}
			out = append(out, t)
		}
		g.Topics = out
	}
	return resp, nil
}
