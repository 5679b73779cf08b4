package broker

// OffsetForLeaderEpoch (key 23), versions 2-4.
//
// For each partition (this broker must lead it; current_leader_epoch is
// checked as in KIP-320: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH) it
// answers the largest leader epoch <= the requested one that this log has
// records for, and the offset where the epoch after it began — the log end
// offset for the latest epoch (KIP-101, KIP-279). An epoch older than
// everything in the log's leader epoch checkpoint answers epoch -1 and
// offset -1. A follower (replica_id >= 0, v3+) truncates its log to the
// answer before fetching; a consumer (replica_id -1) uses it to detect
// truncation after a leader change and gets the offset clamped to the high
// watermark, as Kafka does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/network"
)

func (b *Broker) handleOffsetForLeaderEpoch(_ context.Context, _ *network.Request, req *kmsg.OffsetForLeaderEpochRequest) (kmsg.Response, error) {
	img := b.Image()
	follower := req.Version >= 3 && req.ReplicaID >= 0
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, 0, len(req.Topics))
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetForLeaderEpochResponseTopic()
		t.Topic = rt.Topic
		t.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, 0, len(rt.Partitions))
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			p.Partition = rp.Partition
			p.LeaderEpoch, p.EndOffset = -1, -1
			reg, l, err := b.partitionFor(img, rt.Topic, rp.Partition)
			if err == nil {
				err = checkLeaderEpoch(reg, rp.CurrentLeaderEpoch)
			}
			if err != nil {
				p.ErrorCode = errorCode(err)
				t.Partitions = append(t.Partitions, p)
				continue
			}
			p.LeaderEpoch, p.EndOffset = l.EndOffsetForEpoch(rp.LeaderEpoch)
			if !follower && p.EndOffset >= 0 {
				p.EndOffset = min(p.EndOffset, b.repl.HighWatermark(rt.Topic, rp.Partition, l))
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp, nil
}
