package broker

// AlterPartitionReassignments (key 45), version 0 (KIP-455).
//
// Needs ALTER on the cluster, else every partition is
// CLUSTER_AUTHORIZATION_FAILED. The partitions go to the ReassignController
// in one call: in quorum mode the active controller writes a
// PartitionChangeRecord per partition (adding and removing replicas), in
// ZooKeeper mode the request goes to the /controller broker, which writes
// the topic znode's adding_replicas/removing_replicas. The data moves
// afterwards: the new replicas fetch, join the ISR, and the controller
// then drops the old ones (whose brokers delete the log). A null replica
// list cancels (NO_REASSIGNMENT_IN_PROGRESS when there is nothing to
// cancel); an empty list, a broker listed twice or an unknown broker is
// INVALID_REPLICA_ASSIGNMENT. Served (with key 46) only when the
// controller implements ReassignController.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// ReassignController is the optional part of Controller that reassigns
// partitions (AlterPartitionReassignments, key 45).
//
// Contract: AlterPartitionReassignments validates each entry with
// metadata.AlterPartitionReassignment against the controller's image and
// returns one error per entry, in input order, once this node's image
// shows each accepted change (metadata.ReassignmentsShown); it does not
// wait for the data to move. A failed call reports its error for every
// entry. Must return once ctx is done; safe for concurrent use.
type ReassignController interface {
	AlterPartitionReassignments(ctx context.Context, rs []metadata.Reassignment) []error
}

func (b *Broker) handleAlterPartitionReassignments(ctx context.Context, req *network.Request, body *kmsg.AlterPartitionAssignmentsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	var rs []metadata.Reassignment
	for _, t := range body.Topics {
		for _, p := range t.Partitions {
			rs = append(rs, metadata.Reassignment{Topic: t.Topic, Partition: p.Partition, Replicas: p.Replicas})
		}
	}
	errs := make([]error, len(rs))
	if !b.authorizedCluster(req, opAlter) {
		for i := range errs {
			errs[i] = kerr.ClusterAuthorizationFailed
		}
	} else if len(rs) > 0 {
		ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
		defer cancel()
		errs = b.ctrl.(ReassignController).AlterPartitionReassignments(ctx, rs)
	}
	i := 0
	for _, t := range body.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition = p.Partition
			var err error
			if i < len(errs) {
				err = errs[i]
			}
			rp.ErrorCode, rp.ErrorMessage = errorCode(err), errorMessage(err)
			rt.Partitions = append(rt.Partitions, rp)
			i++
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
