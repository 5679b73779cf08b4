package quorum

import (
	"context"
	"fmt"

	"github.com/zkraft/zkraft/metadata"
)

// AlterPartition commits an ISR change asked for by a partition leader
// (KIP-497) and returns the registration the leader should adopt. The
// request is validated against the latest applied image by
// metadata.AlterPartition: a stale leader epoch fails with
// metadata.ErrFencedLeaderEpoch, a stale partition epoch with
// metadata.ErrInvalidUpdateEpoch (the leader then re-reads its image), an
// ISR holding fenced or foreign brokers with metadata.ErrIneligibleReplica.
// A request that changes nothing writes nothing and returns the current
// registration. It implements replica.Controller.
func (n *Node) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	var reg *metadata.PartitionRegistration
	what := fmt.Sprintf("alter partition %s-%d", req.TopicID, req.Partition)
	res, err := n.write(ctx, what, func(img *metadata.Image) ([]metadata.Record, error) {
		if err := refusePreMigration(img, what); err != nil {
			return nil, err
		}
		r, recs, err := metadata.AlterPartition(img, req)
		if err != nil {
			return nil, err
		}
		reg = r
		// KIP-455: the ISR change that brings the last target replica in
		// sync finishes the reassignment in the same entry.
		if done := metadata.CompleteReassignment(img, req.TopicID, req.Partition, r); done != nil {
			recs = append(recs, done)
		}
		return recs, nil
	})
	if err != nil {
		return nil, err
	}
	// Prefer what the log actually applied: it is the registration every
	// broker will see in its next image.
	if t, ok := res.Image.TopicByID(req.TopicID); ok {
		if p, ok := t.Partitions[req.Partition]; ok && p.PartitionEpoch >= reg.PartitionEpoch {
			return p, nil
		}
	}
	return reg, nil
}
