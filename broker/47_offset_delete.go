package broker

// OffsetDelete (key 47), version 0.
//
// Handled by the group coordinator (KIP-496): tombstones the offsets of
// topics no member subscribes to; subscribed ones answer
// GROUP_SUBSCRIBED_TO_TOPIC.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleOffsetDelete(ctx context.Context, req *network.Request, body *kmsg.OffsetDeleteRequest) (kmsg.Response, error) {
	// DELETE on the group, else GROUP_AUTHORIZATION_FAILED; READ on each
	// topic, else its partitions are TOPIC_AUTHORIZATION_FAILED.
	if !b.authorizing() {
		return b.groups.OffsetDelete(ctx, body), nil
	}
	if !b.authorized(req, resGroup, body.Group, opDelete) {
		resp := body.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	allowed := *body
	allowed.Topics = nil
	var refused []kmsg.OffsetDeleteRequestTopic
	for _, t := range body.Topics {
		if b.authorized(req, resTopic, t.Topic, opRead) {
			allowed.Topics = append(allowed.Topics, t)
		} else {
			refused = append(refused, t)
		}
	}
	resp := b.groups.OffsetDelete(ctx, &allowed)
	for _, t := range refused {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, kerr.TopicAuthorizationFailed.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
