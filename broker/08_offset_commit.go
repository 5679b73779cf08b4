package broker

// OffsetCommit (key 8), versions 0-8.
//
// Handled by the group coordinator (broker/group): a member commits at its
// generation, a "simple" commit (generation -1, v0) while the group has no
// members. The offsets are appended to the group's __consumer_offsets
// partition (acks=all) before the answer. v9+ (KIP-848 member epochs) is
// not offered.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleOffsetCommit(ctx context.Context, req *network.Request, body *kmsg.OffsetCommitRequest) (kmsg.Response, error) {
	// READ on the group, else every partition GROUP_AUTHORIZATION_FAILED;
	// READ on each topic, else its partitions TOPIC_AUTHORIZATION_FAILED
	// and nothing of it is committed.
	groupOK := b.authorized(req, resGroup, body.Group, opRead)
	var denied map[string]bool
	if groupOK {
		denied = b.topicsDenied(req, opRead, func(yield func(string) bool) {
			for _, t := range body.Topics {
				if !yield(t.Topic) {
					return
				}
			}
		})
	}
	if groupOK && len(denied) == 0 {
		return b.groups.OffsetCommit(ctx, body), nil
	}
	allowed := *body
	allowed.Topics = nil
	var refused []kmsg.OffsetCommitRequestTopic
	for _, t := range body.Topics {
		if groupOK && !denied[t.Topic] {
			allowed.Topics = append(allowed.Topics, t)
		} else {
			refused = append(refused, t)
		}
	}
	resp := body.ResponseKind().(*kmsg.OffsetCommitResponse)
	if len(allowed.Topics) > 0 {
		resp = b.groups.OffsetCommit(ctx, &allowed)
	}
	code := kerr.TopicAuthorizationFailed.Code
	if !groupOK {
		code = kerr.GroupAuthorizationFailed.Code
	}
	for _, t := range refused {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
