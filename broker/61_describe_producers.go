package broker

// DescribeProducers (key 61), version 0 (KIP-664): the active producers of
// each partition this broker leads, from its producer state (storage):
// id, epoch, last sequence, last timestamp, coordinator epoch of the last
// marker and the first offset of the ongoing transaction (-1 when none).
// READ on the topic, else TOPIC_AUTHORIZATION_FAILED, as Kafka's
// KafkaApis.handleDescribeProducersRequest; not the leader ->
// NOT_LEADER_OR_FOLLOWER; unknown -> UNKNOWN_TOPIC_OR_PARTITION.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeProducers(_ context.Context, nreq *network.Request, req *kmsg.DescribeProducersRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	img := b.Image()
	for _, rt := range req.Topics {
		t := kmsg.NewDescribeProducersResponseTopic()
		t.Topic = rt.Topic
		var topicErr error
		if !b.authorized(nreq, resTopic, rt.Topic, opRead) {
			topicErr = fmt.Errorf("%w: READ on topic %q", ErrTopicAuthorization, rt.Topic)
		}
		for _, part := range rt.Partitions {
			p := kmsg.NewDescribeProducersResponseTopicPartition()
			p.Partition = part
			err := topicErr
			if err == nil {
				_, l, perr := b.partitionFor(img, rt.Topic, part)
				err = perr
				if err == nil {
					for _, pi := range l.Producers() {
						ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
						ap.ProducerID, ap.ProducerEpoch, ap.LastSequence = pi.ProducerID, int32(pi.ProducerEpoch), pi.LastSequence
						ap.LastTimestamp, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = pi.LastTimestamp, pi.CoordinatorEpoch, pi.CurrentTxnStartOffset
						p.ActiveProducers = append(p.ActiveProducers, ap)
					}
				}
			}
			if err != nil {
				p.ErrorCode, p.ErrorMessage = errorCode(err), errorMessage(err)
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp, nil
}
