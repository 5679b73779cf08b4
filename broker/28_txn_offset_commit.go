package broker

// TxnOffsetCommit (key 28), versions 0-5 (v3 adds KIP-447's member id,
// generation and instance id; v4 only lets a broker answer
// TRANSACTION_ABORTABLE, which this one never does; v5 is KIP-890 part 2:
// no AddOffsetsToTxn came before it, so the group's __consumer_offsets
// partition is added to the transaction here first, txn_verify.go's
// implicit add: a fenced producer gets INVALID_PRODUCER_EPOCH, an
// unreachable transaction coordinator COORDINATOR_NOT_AVAILABLE, which
// clients retry).
//
// Authorization as KafkaApis.handleTxnOffsetCommitRequest: WRITE on the
// TRANSACTIONAL_ID, else every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
// READ on the group, else GROUP_AUTHORIZATION_FAILED; READ on each topic,
// else its partitions TOPIC_AUTHORIZATION_FAILED; a topic the image does
// not hold answers UNKNOWN_TOPIC_OR_PARTITION. The rest goes to the group
// coordinator (broker/group, txn.go), which writes the offsets as a
// transactional batch of the producer and keeps them pending until the
// transaction's marker (WriteTxnMarkers) decides them.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleTxnOffsetCommit(ctx context.Context, nreq *network.Request, req *kmsg.TxnOffsetCommitRequest) (kmsg.Response, error) {
	all := int16(0)
	switch {
	case !b.authorized(nreq, resTransactionalID, req.TransactionalID, opWrite):
		all = kerr.TransactionalIDAuthorizationFailed.Code
	case !b.authorized(nreq, resGroup, req.Group, opRead):
		all = kerr.GroupAuthorizationFailed.Code
	}
	img := b.Image()
	refused := map[string]int16{}
	if all == 0 {
		denied := b.topicsDenied(nreq, opRead, func(yield func(string) bool) {
			for _, t := range req.Topics {
				if !yield(t.Topic) {
					return
				}
			}
		})
		for _, t := range req.Topics {
			switch _, ok := img.Topic(t.Topic); {
			case denied[t.Topic]:
				refused[t.Topic] = kerr.TopicAuthorizationFailed.Code
			case !ok:
				refused[t.Topic] = kerr.UnknownTopicOrPartition.Code
			}
		}
	}
	allowed := *req
	allowed.Topics = nil
	var out []kmsg.TxnOffsetCommitRequestTopic
	for _, t := range req.Topics {
		if all == 0 && refused[t.Topic] == 0 {
			allowed.Topics = append(allowed.Topics, t)
		} else {
			out = append(out, t)
		}
	}
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	if len(allowed.Topics) > 0 && req.Version >= 5 {
		tp := txn.TopicPartition{Topic: group.OffsetsTopic, Partition: b.groups.PartitionFor(req.Group)}
		if err := b.addWithCoordinator(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, []txn.TopicPartition{tp}, addRetryOffsetCommit); err != nil {
			code := errorCode(err)
			if errors.Is(err, ErrTxnVerifyUnavailable) {
				code = kerr.CoordinatorNotAvailable.Code
			}
			for _, t := range allowed.Topics {
				refused[t.Topic] = code
			}
			out = append(out, allowed.Topics...)
			allowed.Topics = nil
		}
	}
	if len(allowed.Topics) > 0 {
		resp = b.groups.TxnOffsetCommit(ctx, &allowed)
	}
	for _, t := range out {
		code := all
		if code == 0 {
			code = refused[t.Topic]
		}
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
