package broker

// ListPartitionReassignments (key 46), version 0 (KIP-455).
//
// Answered from this broker's image, which holds each partition's adding
// and removing replicas in both metadata modes (Kafka asks its
// controller, whose view the image follows). Needs DESCRIBE on the
// cluster, else CLUSTER_AUTHORIZATION_FAILED. Null topics lists every
// reassignment in progress; named partitions that are unknown or not
// being reassigned are left out, as Kafka does. Served with key 45.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleListPartitionReassignments(_ context.Context, req *network.Request, body *kmsg.ListPartitionReassignmentsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if !b.authorizedCluster(req, opDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	var want []metadata.TopicPartition
	if body.Topics != nil {
		want = []metadata.TopicPartition{}
		for _, t := range body.Topics {
			for _, p := range t.Partitions {
				want = append(want, metadata.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	for _, o := range metadata.OngoingReassignments(b.Image(), want) {
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != o.Topic {
			rt := kmsg.NewListPartitionReassignmentsResponseTopic()
			rt.Topic = o.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
		rp.Partition, rp.Replicas = o.Partition, o.Replicas
		rp.AddingReplicas, rp.RemovingReplicas = nonNil(o.AddingReplicas), nonNil(o.RemovingReplicas)
		rt := &resp.Topics[len(resp.Topics)-1]
		rt.Partitions = append(rt.Partitions, rp)
	}
	return resp, nil
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}
