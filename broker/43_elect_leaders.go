package broker

// ElectLeaders (key 43), versions 0-2.
//
// Needs ALTER on the cluster, else the answer (v1+: its top-level code)
// and every partition are CLUSTER_AUTHORIZATION_FAILED. v0 elects
// PREFERRED; v1+ carries the election type (KIP-460: PREFERRED or
// UNCLEAN). A null topic list means every partition, and the answer then
// leaves out the ones that needed no election. The PartitionController
// decides with metadata.ElectLeaders (ELECTION_NOT_NEEDED,
// PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE,
// UNKNOWN_TOPIC_OR_PARTITION) and returns once this broker's image shows
// the new leaders. Served only when the controller implements
// PartitionController.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleElectLeaders(ctx context.Context, req *network.Request, body *kmsg.ElectLeadersRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.ElectLeadersResponse)
	typ := metadata.ElectPreferred
	if body.Version >= 1 {
		typ = metadata.ElectionType(body.ElectionType)
	}
	var parts []metadata.TopicPartition
	if body.Topics != nil {
		parts = []metadata.TopicPartition{}
		for _, t := range body.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, metadata.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	var results []metadata.ElectionResult
	if !b.authorizedCluster(req, opAlter) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		for _, tp := range parts {
			results = append(results, metadata.ElectionResult{TopicPartition: tp, Err: kerr.ClusterAuthorizationFailed})
		}
	} else if parts == nil || len(parts) > 0 {
		ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
		defer cancel()
		results = b.ctrl.(PartitionController).ElectLeaders(ctx, typ, parts)
	}
	byTopic := map[string]int{}
	for _, r := range results {
		i, ok := byTopic[r.Topic]
		if !ok {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = r.Topic
			resp.Topics = append(resp.Topics, rt)
			i = len(resp.Topics) - 1
			byTopic[r.Topic] = i
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = r.Partition
		rp.ErrorCode, rp.ErrorMessage = errorCode(r.Err), errorMessage(r.Err)
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return resp, nil
}
