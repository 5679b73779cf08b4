package broker

// OffsetForLeaderEpoch (key 23), versions 2-4.
//
// For each partition (this broker must lead it; current_leader_epoch is
// checked as in KIP-320: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH) it
// answers as Kafka's Partition.lastOffsetForLeaderEpoch does: the largest
// leader epoch <= the requested one that this log has records for, and the
// offset where the epoch after it began — the log end offset for the latest
// epoch (KIP-101, KIP-279); see storage.Log.EndOffsetForEpoch for the edge
// cases. Followers (replica_id >= 0, v3+) and consumers (replica_id -1) get
// the same answer, as in Kafka, which always answers from the leader's log
// (fetchOnlyFromLeader): a follower truncates its log to it before fetching,
// a consumer (KIP-320) compares it with the offset it consumed up to and
// reports a truncation only if the answer is below that.
//
// In particular the answer is not clamped to the high watermark. A new
// leader's high watermark lags its log end until the followers catch up,
// while a consumer may have read up to the old leader's high watermark,
// which can be above the new leader's: clamping would tell it records it
// has read were truncated when they were not (it would then rewind and read
// them again). Its next fetch, above the high watermark but within the log,
// waits for the high watermark instead (see readPartition).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleOffsetForLeaderEpoch(_ context.Context, nreq *network.Request, req *kmsg.OffsetForLeaderEpochRequest) (kmsg.Response, error) {
	img := b.Image()
	deny := b.topicAuthorizer(nreq, req.Version >= 3 && req.ReplicaID >= 0, opDescribe)
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
			var reg *metadata.PartitionRegistration
			var l *storage.Log
			var err error
			if deny != nil {
				err = deny(rt.Topic)
			}
			if err == nil {
				reg, l, err = b.partitionFor(img, rt.Topic, rp.Partition)
			}
			if err == nil {
				err = checkLeaderEpoch(reg, rp.CurrentLeaderEpoch)
			}
			if err != nil {
				p.ErrorCode = errorCode(err)
				t.Partitions = append(t.Partitions, p)
				continue
			}
			p.LeaderEpoch, p.EndOffset = l.EndOffsetForEpoch(rp.LeaderEpoch)
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp, nil
}
