package broker

// WriteTxnMarkers (key 27), versions 0-1: the transaction coordinator's
// request to a partition leader to end a producer's transaction
// (KafkaApis.handleWriteTxnMarkersRequest). It is an inter-broker request:
// with authorization on it needs CLUSTER_ACTION on the cluster, else every
// partition answers CLUSTER_AUTHORIZATION_FAILED.
//
// Per marker and partition this broker must lead the partition
// (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION); the ISR must hold
// min.insync.replicas (NOT_ENOUGH_REPLICAS). storage.Log.AppendMarker
// writes the commit or abort control batch stamped with the partition's
// leader epoch, the producer id and epoch and the coordinator epoch
// (INVALID_PRODUCER_EPOCH for an older producer epoch,
// TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch); it is
// replicated like any batch, and the answer waits until the ISR holds it
// (acks=all, up to markerTimeout). For a __consumer_offsets partition the
// group coordinator then materializes or drops the transaction's pending
// offset commits (Kafka's GroupMetadataManager.handleTxnCompletion).

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata/network"
)

// markerTimeout bounds the wait for a marker's replication (Kafka uses
// request.timeout.ms, 30 s by default).
const markerTimeout = 30 * time.Second

func (b *Broker) handleWriteTxnMarkers(ctx context.Context, nreq *network.Request, req *kmsg.WriteTxnMarkersRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	var reqErr error
	if b.authorizing() && !b.authorizedCluster(nreq, opClusterAction) {
		reqErr = fmt.Errorf("%w: CLUSTER_ACTION on the cluster", ErrClusterAuthorization)
	}
	wctx, cancel := context.WithTimeout(ctx, markerTimeout)
	defer cancel()
	img := b.Image()
	for _, m := range req.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		marker := storage.Marker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, CoordinatorEpoch: m.CoordinatorEpoch, Commit: m.Committed}
		for _, mt := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = mt.Topic
			settings := b.topicSettings(img, mt.Topic)
			for _, part := range mt.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition = part
				err := reqErr
				if err == nil {
					err = b.writeMarker(wctx, mt.Topic, part, marker, settings)
				}
				rp.ErrorCode = errorCode(err)
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return resp, nil
}

// writeMarker appends m to one partition this broker leads and waits until
// it is committed.
func (b *Broker) writeMarker(ctx context.Context, topic string, partition int32, m storage.Marker, s topicSettings) error {
	reg, l, err := b.partitionFor(b.Image(), topic, partition)
	if err != nil {
		return err
	}
	if int32(len(reg.ISR)) < s.minInsyncReplicas {
		return fmt.Errorf("%w: %s-%d has ISR %v, min.insync.replicas is %d", ErrNotEnoughReplicas, topic, partition, reg.ISR, s.minInsyncReplicas)
	}
	res, err := l.AppendMarker(m, reg.LeaderEpoch)
	if err != nil {
		return fmt.Errorf("write txn marker to %s-%d: %w", topic, partition, err)
	}
	if err := b.repl.WaitCommitted(ctx, topic, partition, reg, res.LastOffset+1); err != nil {
		return fmt.Errorf("write txn marker to %s-%d: %w", topic, partition, err)
	}
	if topic == group.OffsetsTopic {
		b.completeGroupTxn(partition, m.ProducerID, m.Commit)
	}
	return nil
}
