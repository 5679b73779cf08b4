package broker

// TxnOffsetCommit (key 28), versions 0-4 (v3 adds KIP-447's member id,
// generation and instance id; v4 only lets a broker answer
// TRANSACTION_ABORTABLE, which this one never does).
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

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

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
