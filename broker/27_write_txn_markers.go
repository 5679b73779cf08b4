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
// (acks=all, up to markerTimeout; every marker of the request is appended
// before the first wait). For a __consumer_offsets partition the
// group coordinator then materializes or drops the transaction's pending
// offset commits (Kafka's GroupMetadataManager.handleTxnCompletion).

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
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
	// Every marker is appended first, then the answers wait for the ISR:
	// the partitions replicate in parallel.
	var waits []markerWait
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
					var w markerWait
					w, err = b.appendMarker(mt.Topic, part, marker, settings)
					w.at = [3]int{len(resp.Markers), len(rm.Topics), len(rt.Partitions)}
					if err == nil {
						waits = append(waits, w)
					}
				}
				rp.ErrorCode = errorCode(err)
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	for _, w := range waits {
		p := &resp.Markers[w.at[0]].Topics[w.at[1]].Partitions[w.at[2]]
		if err := b.repl.WaitCommitted(wctx, w.topic, w.partition, w.reg, w.end); err != nil {
			p.ErrorCode = errorCode(fmt.Errorf("write txn marker to %s-%d: %w", w.topic, w.partition, err))
			continue
		}
		if w.topic == group.OffsetsTopic {
			b.completeGroupTxn(w.partition, w.marker.ProducerID, w.marker.Commit)
		}
	}
	return resp, nil
}

// markerWait is an appended marker waiting for its ISR.
type markerWait struct {
	topic     string
	partition int32
	reg       *metadata.PartitionRegistration
	end       int64
	marker    storage.Marker
	at        [3]int // marker, topic, partition index in the response
}

// appendMarker appends m to one partition this broker leads.
func (b *Broker) appendMarker(topic string, partition int32, m storage.Marker, s topicSettings) (markerWait, error) {
	reg, l, err := b.partitionFor(b.Image(), topic, partition)
	if err != nil {
		return markerWait{}, err
	}
	if int32(len(reg.ISR)) < s.minInsyncReplicas {
		return markerWait{}, fmt.Errorf("%w: %s-%d has ISR %v, min.insync.replicas is %d", ErrNotEnoughReplicas, topic, partition, reg.ISR, s.minInsyncReplicas)
	}
	res, err := l.AppendMarker(m, reg.LeaderEpoch)
	if err != nil {
		return markerWait{}, fmt.Errorf("write txn marker to %s-%d: %w", topic, partition, err)
	}
	return markerWait{topic: topic, partition: partition, reg: reg, end: res.LastOffset + 1, marker: m}, nil
}
