package quorum

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// Partition reassignment (KIP-455) on the active controller: one raft
// entry per request holding a PartitionChangeRecord per partition
// (metadata.AlterPartitionReassignment). Completion rides on AlterPartition
// (alter_partition.go): the ISR change that brings the last target replica
// in sync carries the record that finishes the reassignment.

// AlterPartitionReassignments starts (or, with nil Replicas, cancels) each
// reassignment and returns one error per entry, in input order. A
// partition named twice fails with metadata.ErrInvalidRequest.
func (n *Node) AlterPartitionReassignments(ctx context.Context, rs []metadata.Reassignment) []error {
	errs := make([]error, len(rs))
	seen := map[metadata.TopicPartition]int{}
	for _, r := range rs {
		seen[metadata.TopicPartition{Topic: r.Topic, Partition: r.Partition}]++
	}
	_, err := n.write(ctx, "alter partition reassignments", func(img *metadata.Image) ([]metadata.Record, error) {
		if err := refusePreMigration(img, "alter partition reassignments"); err != nil {
			return nil, err
		}
		var recs []metadata.Record
		for i, r := range rs {
			if seen[metadata.TopicPartition{Topic: r.Topic, Partition: r.Partition}] > 1 {
				errs[i] = fmt.Errorf("reassign %s-%d: named twice in one request: %w", r.Topic, r.Partition, metadata.ErrInvalidRequest)
				continue
			}
			rr, err := metadata.AlterPartitionReassignment(img, r)
			errs[i] = err
			recs = append(recs, rr...)
		}
		return recs, nil
	})
	for i := range errs {
		if err != nil {
			errs[i] = err
		} else if errs[i] == nil {
			n.log.Info("partition reassignment", zap.String("topic", rs[i].Topic), zap.Int32("partition", rs[i].Partition),
				zap.Int32s("target", rs[i].Replicas), zap.Bool("cancel", rs[i].Replicas == nil))
		}
	}
	return errs
}

func reassignmentsOf(body *kmsg.AlterPartitionAssignmentsRequest) []metadata.Reassignment {
	var rs []metadata.Reassignment
	for _, t := range body.Topics {
		for _, p := range t.Partitions {
			rs = append(rs, metadata.Reassignment{Topic: t.Topic, Partition: p.Partition, Replicas: p.Replicas})
		}
	}
	return rs
}

func (h *controllerHandler) alterPartitionReassignments(ctx context.Context, body *kmsg.AlterPartitionAssignmentsRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	errs := h.n.AlterPartitionReassignments(ctx, reassignmentsOf(body))
	i := 0
	for _, t := range body.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode, rp.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
			rt.Partitions = append(rt.Partitions, rp)
			i++
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// AlterPartitionReassignments forwards to the active controller and
// returns once this broker's image shows each accepted change: the
// partition's target replicas are the requested ones (cancellation: no
// reassignment in progress).
func (c *Client) AlterPartitionReassignments(ctx context.Context, rs []metadata.Reassignment) []error {
	errs := make([]error, len(rs))
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = 30000
	idx := map[string]int{}
	for _, r := range rs {
		i, ok := idx[r.Topic]
		if !ok {
			i = len(req.Topics)
			idx[r.Topic] = i
			t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
			t.Topic = r.Topic
			req.Topics = append(req.Topics, t)
		}
		p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		p.Partition, p.Replicas = r.Partition, r.Replicas
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
	}
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		resp := r.(*kmsg.AlterPartitionAssignmentsResponse)
		if isNotController(resp.ErrorCode) {
			return true
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if isNotController(p.ErrorCode) {
					return true
				}
			}
		}
		return false
	})
	if err == nil {
		if r := resp.(*kmsg.AlterPartitionAssignmentsResponse); r.ErrorCode != 0 {
			err = codeErrorMessage(r.ErrorCode, r.ErrorMessage)
		}
	}
	answers := map[metadata.TopicPartition]error{}
	if err == nil {
		for _, t := range resp.(*kmsg.AlterPartitionAssignmentsResponse).Topics {
			for _, p := range t.Partitions {
				answers[metadata.TopicPartition{Topic: t.Topic, Partition: p.Partition}] = codeErrorMessage(p.ErrorCode, p.ErrorMessage)
			}
		}
	}
	for i, r := range rs {
		if err != nil {
			errs[i] = err
			continue
		}
		e, ok := answers[metadata.TopicPartition{Topic: r.Topic, Partition: r.Partition}]
		if !ok {
			e = fmt.Errorf("reassign %s-%d: no answer from the controller: %w", r.Topic, r.Partition, kerr.UnknownServerError)
		}
		errs[i] = e
	}
	if werr := c.waitImage(ctx, func(img *metadata.Image) bool { return metadata.ReassignmentsShown(img, rs, errs) }); werr != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = werr
			}
		}
	}
	return errs
}

// AlterPartitionReassignments implements broker.ReassignController.
func (s *BrokerSource) AlterPartitionReassignments(ctx context.Context, rs []metadata.Reassignment) []error {
	return s.client.AlterPartitionReassignments(ctx, rs)
}

// AlterPartitionReassignments implements broker.ReassignController.
func (s *CombinedSource) AlterPartitionReassignments(ctx context.Context, rs []metadata.Reassignment) []error {
	return s.client.AlterPartitionReassignments(ctx, rs)
}
