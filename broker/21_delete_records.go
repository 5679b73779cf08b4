package broker

// DeleteRecords (key 21), versions 0-2.
//
// Served by the partition's leader, not the controller (Kafka's
// ReplicaManager.deleteRecords): per partition it needs DELETE on the
// topic (TOPIC_AUTHORIZATION_FAILED otherwise), this broker must lead it
// (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION), and the offset
// must be at most the high watermark (-1 means the high watermark;
// OFFSET_OUT_OF_RANGE otherwise). The log start offset moves there
// (storage.Log.DeleteRecordsBefore: never back, segments wholly below it
// deleted, POLICY_VIOLATION for a compact-only topic) and the answer's
// low watermark is the new log start. The log starts are checkpointed
// (log-start-offset-checkpoint) before the answer. Followers learn the new
// start from the LogStartOffset of their next Fetch answer; unlike Kafka
// the answer does not wait for them (no DelayedDeleteRecords purgatory).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDeleteRecords(_ context.Context, req *network.Request, body *kmsg.DeleteRecordsRequest) (kmsg.Response, error) {
	img := b.Image()
	deny := b.topicAuthorizer(req, false, opDelete)
	resp := body.ResponseKind().(*kmsg.DeleteRecordsResponse)
	moved := false
	for _, rt := range body.Topics {
		t := kmsg.NewDeleteRecordsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewDeleteRecordsResponseTopicPartition()
			p.Partition, p.LowWatermark = rp.Partition, -1
			var err error
			if deny != nil {
				err = deny(rt.Topic)
			}
			if err == nil {
				var low int64
				if low, err = b.deleteRecords(img, rt.Topic, rp.Partition, rp.Offset); err == nil {
					p.LowWatermark, moved = low, true
				}
			}
			p.ErrorCode = errorCode(err)
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	if moved {
		if err := b.logs.CheckpointLogStartOffsets(); err != nil {
			b.logger.Warn("checkpoint log start offsets", zap.Error(err))
		}
	}
	return resp, nil
}

func (b *Broker) deleteRecords(img *metadata.Image, topic string, partition int32, offset int64) (int64, error) {
	_, l, err := b.partitionFor(img, topic, partition)
	if err != nil {
		return -1, err
	}
	low, err := l.DeleteRecordsBefore(offset, b.repl.HighWatermark(topic, partition, l))
	if err != nil {
		return -1, err
	}
	b.logger.Info("deleted records", zap.String("topic", topic), zap.Int32("partition", partition), zap.Int64("low_watermark", low))
	return low, nil
}
