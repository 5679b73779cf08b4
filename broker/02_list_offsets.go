package broker

// ListOffsets (key 2), versions 1-7.
//
// Per partition (this broker must lead it; v4+ checks current_leader_epoch
// as in KIP-320), the timestamp selects:
//
//	-2 (earliest)       the log start offset
//	-1 (latest)         the high watermark, or with isolation_level 1
//	                    (read_committed, v2+) the last stable offset, so
//	                    consumers never see an offset they could not fetch
//	-3 (max timestamp)  v7+, KIP-734, approximated by the newest batch: its
//	                    max timestamp and last offset. Exact when producers'
//	                    timestamps grow, which CreateTime usually does.
//	>= 0                the first offset whose timestamp is >= it, from the
//	                    time index; offset -1 and timestamp -1 when none is
//	                    below the high watermark (the LSO for read_committed).
//
// Leader epochs of returned offsets are reported as -1 (unknown), so
// clients skip KIP-320 validation of them.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

const (
	timestampLatest   = -1
	timestampEarliest = -2
	timestampMax      = -3
)

func (b *Broker) handleListOffsets(_ context.Context, nreq *network.Request, req *kmsg.ListOffsetsRequest) (kmsg.Response, error) {
	img := b.Image()
	deny := b.topicAuthorizer(nreq, req.ReplicaID >= 0, opDescribe)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, 0, len(req.Topics))
	for _, rt := range req.Topics {
		t := kmsg.NewListOffsetsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewListOffsetsResponseTopicPartition()
			p.Partition = rp.Partition
			p.LeaderEpoch = -1
			var off, ts int64
			var err error
			if deny != nil {
				err = deny(rt.Topic)
			}
			if err == nil {
				off, ts, err = b.listOffset(img, rt.Topic, rp, req.IsolationLevel == 1)
			}
			if err != nil {
				p.ErrorCode = errorCode(err)
				off, ts = -1, -1
			}
			p.Offset, p.Timestamp = off, ts
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp, nil
}

func (b *Broker) listOffset(img *metadata.Image, topic string, rp kmsg.ListOffsetsRequestTopicPartition, committed bool) (offset, ts int64, err error) {
	reg, l, err := b.partitionFor(img, topic, rp.Partition)
	if err != nil {
		return -1, -1, err
	}
	if err := checkLeaderEpoch(reg, rp.CurrentLeaderEpoch); err != nil {
		return -1, -1, err
	}
	hw := b.repl.HighWatermark(topic, rp.Partition, l)
	if committed {
		hw = l.LastStableOffset(hw) // the last fetchable offset (Kafka's fetchOffsetByTimestamp)
	}
	switch rp.Timestamp {
	case timestampEarliest:
		return l.LogStartOffset(), -1, nil
	case timestampLatest:
		return hw, -1, nil
	case timestampMax:
		return maxTimestampOffset(l, hw)
	}
	if rp.Timestamp < 0 {
		return -1, -1, fmt.Errorf("%w: list offsets timestamp %d", ErrInvalidRequest, rp.Timestamp)
	}
	off, found, ok := l.OffsetForTimestamp(rp.Timestamp)
	if !ok || off >= hw {
		return -1, -1, nil
	}
	return off, found, nil
}

// maxTimestampOffset reads the newest committed batch and returns its last
// offset and max timestamp; -1, -1 for an empty log.
func maxTimestampOffset(l *storage.Log, hw int64) (int64, int64, error) {
	if hw <= l.LogStartOffset() {
		return -1, -1, nil
	}
	data, err := l.Read(hw-1, 1, hw)
	if err != nil {
		return -1, -1, fmt.Errorf("read last batch below %d: %w", hw, err)
	}
	if len(data) < storage.BatchHeaderSize {
		return -1, -1, nil
	}
	h, err := storage.ParseBatchHeader(data)
	if err != nil {
		return -1, -1, fmt.Errorf("last batch below %d: %w", hw, err)
	}
	return h.LastOffset(), h.MaxTimestamp, nil
}
