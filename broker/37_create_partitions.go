package broker

// CreatePartitions (key 37), versions 0-3.
//
// Per topic it needs ALTER on the topic (TOPIC_AUTHORIZATION_FAILED); a
// topic named twice is INVALID_REQUEST. The rest go to the
// PartitionController in one call (quorum mode: the active controller
// appends PartitionRecords; ZooKeeper mode: this broker rewrites
// /brokers/topics/<t> and the controller creates the new partitions'
// states), which validates each with metadata.CreatePartitions:
// INVALID_PARTITIONS when the count is not larger,
// INVALID_REPLICA_ASSIGNMENT for a bad manual assignment,
// UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION for a topic queued
// for deletion. validate_only writes nothing. Served only when the
// controller implements PartitionController.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleCreatePartitions(ctx context.Context, req *network.Request, body *kmsg.CreatePartitionsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.CreatePartitionsResponse)
	errs := make([]error, len(body.Topics))
	seen := map[string]int{}
	for _, t := range body.Topics {
		seen[t.Topic]++
	}
	var specs []metadata.CreatePartitionsSpec
	var idx []int
	for i, t := range body.Topics {
		switch {
		case seen[t.Topic] > 1:
			errs[i] = fmt.Errorf("create partitions of %q: duplicate topic in request: %w", t.Topic, kerr.InvalidRequest)
		case !b.authorized(req, resTopic, t.Topic, opAlter):
			errs[i] = kerr.TopicAuthorizationFailed
		default:
			spec := metadata.CreatePartitionsSpec{Topic: t.Topic, Count: t.Count}
			if t.Assignment != nil {
				spec.Assignments = make([][]int32, len(t.Assignment))
				for j, a := range t.Assignment {
					spec.Assignments[j] = a.Replicas
				}
			}
			specs = append(specs, spec)
			idx = append(idx, i)
		}
	}
	if len(specs) > 0 {
		ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
		defer cancel()
		res := b.ctrl.(PartitionController).CreatePartitions(ctx, specs, body.ValidateOnly)
		for j, i := range idx {
			if j < len(res) {
				errs[i] = res[j]
			} else {
				errs[i] = fmt.Errorf("create partitions of %q: no answer: %w", specs[j].Topic, kerr.UnknownServerError)
			}
		}
	}
	for i, t := range body.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		rt.ErrorCode, rt.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
