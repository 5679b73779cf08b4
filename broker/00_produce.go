package broker

// Produce (key 0), versions 3-12.
//
// Records must be v2 record batches (every version from 3 sends them). For
// each partition this broker must be the leader (else
// NOT_LEADER_OR_FOLLOWER; an unknown topic or partition gives
// UNKNOWN_TOPIC_OR_PARTITION, after an auto-create attempt when
// auto.create.topics.enable is on). The batches go to storage.Log.Append
// stamped with the partition's leader epoch; its typed errors become Kafka
// codes through errors.go (corrupt -> CORRUPT_MESSAGE, sequence gap ->
// OUT_OF_ORDER_SEQUENCE_NUMBER, old producer epoch ->
// INVALID_PRODUCER_EPOCH, ...). A duplicate of one of a producer's last five
// batches is a success carrying the original base offset, and nothing is
// appended (KIP-98 idempotence).
//
// acks: 0 sends no response at all; 1 answers after the local append; -1
// (all) first refuses with NOT_ENOUGH_REPLICAS when the ISR is smaller than
// min.insync.replicas, appends, then waits on Replication.WaitCommitted up
// to the request's timeout (REQUEST_TIMED_OUT on expiry). Anything else is
// INVALID_REQUIRED_ACKS.
//
// Transactional batches (KIP-98) are appended like idempotent ones; the
// partition's producer state (storage) begins the producer's transaction
// at its first transactional batch, which holds the last stable offset
// back until the coordinator's marker (WriteTxnMarkers) ends it. A batch
// with an older producer epoch than the partition has seen is
// INVALID_PRODUCER_EPOCH (Kafka answers PRODUCER_FENCED from the
// coordinator, not here, since KIP-588), a non-transactional batch inside
// an ongoing transaction INVALID_TXN_STATE. With authorization on, a
// request carrying a transactional id needs WRITE on that
// TRANSACTIONAL_ID (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every
// partition), as KafkaApis.handleProduceRequest. The first transactional
// batch of a producer on a partition is verified with the transaction
// coordinator first (KIP-890 part 1, txn_verify.go): INVALID_TXN_STATE when
// the coordinator never added the partition to the transaction. A v12
// request (KIP-890 part 2) comes without AddPartitionsToTxn: the
// coordinator is asked to add the partition instead (same answers).
// v8+ responses carry the error message. v10+ answers to
// NOT_LEADER_OR_FOLLOWER carry the current leader and its endpoint
// (KIP-951, leaderHints).

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// committedWait is an acks=all partition waiting for its ISR.
type committedWait struct {
	p        *kmsg.ProduceResponseTopicPartition
	topic    string
	reg      *metadata.PartitionRegistration
	end      int64
	original int64
}

func (b *Broker) handleProduce(ctx context.Context, nreq *network.Request, req *kmsg.ProduceRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	var reqErr error
	switch {
	case req.TransactionID != nil && b.authorizing() && !b.authorized(nreq, resTransactionalID, *req.TransactionID, opWrite):
		reqErr = fmt.Errorf("%w: WRITE on transactional id %q", ErrTransactionalIDAuthorization, *req.TransactionID)
	case req.Acks != 0 && req.Acks != 1 && req.Acks != -1:
		reqErr = fmt.Errorf("%w: acks = %d", ErrInvalidRequiredAcks, req.Acks)
	}

	// WRITE on each topic, else TOPIC_AUTHORIZATION_FAILED per partition.
	denied := b.topicsDenied(nreq, opWrite, func(yield func(string) bool) {
		for _, t := range req.Topics {
			if !yield(t.Topic) {
				return
			}
		}
	})
	img := b.Image()
	if reqErr == nil && b.cfg.AutoCreateTopics {
		var missing []string
		seen := map[string]bool{}
		for _, t := range req.Topics {
			if _, ok := img.Topic(t.Topic); !ok && !seen[t.Topic] && !denied[t.Topic] &&
				metadata.ValidateTopicName(t.Topic) == nil && b.mayCreateTopic(nreq, t.Topic) {
				seen[t.Topic] = true
				missing = append(missing, t.Topic)
			}
		}
		if len(missing) > 0 {
			b.autoCreate(ctx, missing)
			img = b.Image()
		}
	}

	var verified map[txn.TopicPartition]error
	if reqErr == nil {
		verified = b.verifyTxnProduce(ctx, img, req) // KIP-890 part 1 (txn_verify.go)
	}
	var waits []committedWait
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(req.Topics))
	for _, rt := range req.Topics {
		t := kmsg.NewProduceResponseTopic()
		t.Topic = rt.Topic
		t.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		settings := b.topicSettings(img, rt.Topic)
		for i, rp := range rt.Partitions {
			p := &t.Partitions[i]
			*p = kmsg.NewProduceResponseTopicPartition()
			p.Partition = rp.Partition
			err := reqErr
			if err == nil && denied[rt.Topic] {
				err = fmt.Errorf("%w: WRITE on topic %q", ErrTopicAuthorization, rt.Topic)
			}
			if err == nil {
				err = verified[txn.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}]
			}
			var reg *metadata.PartitionRegistration
			var res storage.AppendResult
			if err == nil {
				reg, res, err = b.appendPartition(img, rt.Topic, rp, req.Acks, settings)
			}
			if err != nil {
				p.ErrorCode = errorCode(err)
				p.ErrorMessage = errorMessage(err)
				p.BaseOffset, p.LogAppendTime, p.LogStartOffset = -1, -1, -1
				continue
			}
			p.BaseOffset, p.LogAppendTime, p.LogStartOffset = res.FirstOffset, res.LogAppendTime, res.LogStartOffset
			if req.Acks == -1 {
				waits = append(waits, committedWait{p: p, topic: rt.Topic, reg: reg, end: res.LastOffset + 1})
			}
		}
		resp.Topics = append(resp.Topics, t)
	}
	if req.Acks == 0 {
		return nil, nil
	}
	if len(waits) > 0 {
		wctx := ctx
		if req.TimeoutMillis > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMillis)*time.Millisecond)
			defer cancel()
		}
		for _, w := range waits {
			if err := b.repl.WaitCommitted(wctx, w.topic, w.p.Partition, w.reg, w.end); err != nil {
				w.p.ErrorCode = errorCode(err)
				w.p.ErrorMessage = errorMessage(err)
			}
		}
	}
	if req.Version >= 10 {
		b.leaderHints(resp, nreq.Listener)
	}
	return resp, nil
}

// leaderHints fills KIP-951's CurrentLeader of every NOT_LEADER_OR_FOLLOWER
// partition from the latest image, and NodeEndpoints with those leaders'
// endpoints on the request's listener, so a client moves to the new leader
// at once instead of waiting for a metadata refresh (which franz-go spaces
// by its 5 s metadata min age). A partition without a leader, or one the
// image still names this broker leader of, gets no hint.
func (b *Broker) leaderHints(resp *kmsg.ProduceResponse, listener string) {
	img := b.Image()
	var hinted map[int32]bool
	for ti := range resp.Topics {
		rt := &resp.Topics[ti]
		t, ok := img.Topic(rt.Topic)
		if !ok {
			continue
		}
		for pi := range rt.Partitions {
			p := &rt.Partitions[pi]
			if p.ErrorCode != kerr.NotLeaderForPartition.Code {
				continue
			}
			reg, ok := t.Partitions[p.Partition]
			if !ok || reg.Leader < 0 || reg.Leader == b.cfg.NodeID {
				continue
			}
			p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = reg.Leader, reg.LeaderEpoch
			if hinted == nil {
				hinted = map[int32]bool{}
			}
			hinted[reg.Leader] = true
		}
	}
	for _, mb := range b.metadataBrokers(img, listener) {
		if hinted[mb.NodeID] {
			pb := kmsg.NewProduceResponseBroker()
			pb.NodeID, pb.Host, pb.Port, pb.Rack = mb.NodeID, mb.Host, mb.Port, mb.Rack
			resp.Brokers = append(resp.Brokers, pb)
		}
	}
}

// appendPartition appends one partition's batches to the local log.
func (b *Broker) appendPartition(img *metadata.Image, topic string, rp kmsg.ProduceRequestTopicPartition,
	acks int16, s topicSettings) (*metadata.PartitionRegistration, storage.AppendResult, error) {
	reg, l, err := b.partitionFor(img, topic, rp.Partition)
	if err != nil {
		return nil, storage.AppendResult{}, err
	}
	if int64(len(rp.Records)) > int64(s.maxMessageBytes)+recordBatchOverhead {
		return nil, storage.AppendResult{}, fmt.Errorf("%w: %d bytes to %s-%d, max.message.bytes is %d",
			ErrMessageTooLarge, len(rp.Records), topic, rp.Partition, s.maxMessageBytes)
	}
	if acks == -1 && int32(len(reg.ISR)) < s.minInsyncReplicas {
		return nil, storage.AppendResult{}, fmt.Errorf("%w: %s-%d has ISR %v, min.insync.replicas is %d",
			ErrNotEnoughReplicas, topic, rp.Partition, reg.ISR, s.minInsyncReplicas)
	}
	res, err := l.Append(rp.Records, reg.LeaderEpoch)
	if err != nil {
		return nil, res, fmt.Errorf("append to %s-%d: %w", topic, rp.Partition, err)
	}
	return reg, res, nil
}

// recordBatchOverhead is the log overhead (base offset + length) Kafka does
// not count against max.message.bytes.
const recordBatchOverhead = 12

// topicSettings are the effective per-topic values the handlers consult.
type topicSettings struct {
	minInsyncReplicas int32
	maxMessageBytes   int32
}

// topicSettings resolves the broker defaults overridden by the topic's
// configs in img. Unparseable overrides (the controller validates them, so
// this means a newer writer) fall back to the default.
func (b *Broker) topicSettings(img *metadata.Image, topic string) topicSettings {
	eff := b.effective()
	s := topicSettings{minInsyncReplicas: eff.cfg.MinInsyncReplicas, maxMessageBytes: eff.cfg.MessageMaxBytes}
	cfgs := img.Configs(metadata.TopicResource, topic)
	if v, ok := cfgs["min.insync.replicas"]; ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n > 0 {
			s.minInsyncReplicas = int32(n)
		}
	}
	if v, ok := cfgs["max.message.bytes"]; ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n > 0 {
			s.maxMessageBytes = int32(n)
		}
	}
	return s
}
