package broker

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// Sentinel errors of this package. Handlers wrap them with facts; the Kafka
// code is chosen once, by errorCode, when the response is built.
var (
	ErrInvalidConfig                = errors.New("broker: invalid config")
	ErrUnknownTopic                 = errors.New("broker: unknown topic or partition")
	ErrUnknownTopicID               = errors.New("broker: unknown topic id")
	ErrNotLeader                    = errors.New("broker: not leader or follower")
	ErrLeaderNotAvailable           = errors.New("broker: leader not available")
	ErrFencedLeaderEpoch            = errors.New("broker: fenced leader epoch")
	ErrUnknownLeaderEpoch           = errors.New("broker: unknown leader epoch")
	ErrNotEnoughReplicas            = errors.New("broker: not enough in-sync replicas")
	ErrNotEnoughReplicasAfterAppend = errors.New("broker: not enough in-sync replicas after append")
	ErrMessageTooLarge              = errors.New("broker: message too large")
	ErrInvalidRequiredAcks          = errors.New("broker: invalid required acks")
	ErrTransactions                 = errors.New("broker: transactions are not implemented")
	ErrInvalidRequest               = errors.New("broker: invalid request")
	ErrDuplicateTopic               = errors.New("broker: topic named twice in one request")
	ErrFetchSession                 = errors.New("broker: fetch session not found")
	ErrUnsupportedAPI               = errors.New("broker: unsupported api key")
	ErrProducerIDsUnavailable       = errors.New("broker: no producer id block available")
)

// codeTable maps typed errors to Kafka error codes. The first entry whose
// sentinel matches (errors.Is) wins, so more specific errors come first.
var codeTable = []struct {
	err  error
	code int16
}{
	// this package
	{ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	{ErrUnknownTopicID, kerr.UnknownTopicID.Code},
	{ErrNotLeader, kerr.NotLeaderForPartition.Code},
	{ErrLeaderNotAvailable, kerr.LeaderNotAvailable.Code},
	{ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch.Code},
	{ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch.Code},
	{ErrNotEnoughReplicas, kerr.NotEnoughReplicas.Code},
	{ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend.Code},
	{ErrMessageTooLarge, kerr.MessageTooLarge.Code},
	{ErrInvalidRequiredAcks, kerr.InvalidRequiredAcks.Code},
	// Kafka answers a principal that may not use transactional ids with
	// this fatal, non-retriable code; clients surface it clearly.
	{ErrTransactions, kerr.TransactionalIDAuthorizationFailed.Code},
	{ErrInvalidRequest, kerr.InvalidRequest.Code},
	{ErrDuplicateTopic, kerr.InvalidRequest.Code},
	{ErrFetchSession, kerr.FetchSessionIDNotFound.Code},
	// Kafka's ProducerIdManager answers this (retriable) while a block is pending.
	{ErrProducerIDsUnavailable, kerr.CoordinatorLoadInProgress.Code},

	// storage (LogManager)
	{storage.ErrCorruptMessage, kerr.CorruptMessage.Code},
	{storage.ErrInvalidRecord, kerr.InvalidRecord.Code},
	{storage.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber.Code},
	{storage.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch.Code},
	{storage.ErrRecordTooLarge, kerr.MessageTooLarge.Code},
	{storage.ErrOffsetOutOfRange, kerr.OffsetOutOfRange.Code},

	// metadata (controller logic)
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists.Code},
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	{metadata.ErrInvalidTopic, kerr.InvalidTopicException.Code},
	{metadata.ErrInvalidPartitions, kerr.InvalidPartitions.Code},
	{metadata.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor.Code},
	{metadata.ErrInvalidConfig, kerr.InvalidConfig.Code},
	{metadata.ErrBrokerNotAvailable, kerr.BrokerNotAvailable.Code},

	// the request's own deadline
	{context.DeadlineExceeded, kerr.RequestTimedOut.Code},
	{context.Canceled, kerr.RequestTimedOut.Code},
}

// errorCode picks the Kafka error code for err: 0 for nil, the code of a
// *kerr.Error anywhere in the chain (a Controller may choose one, e.g.
// NOT_CONTROLLER), else the first matching entry of codeTable, else
// UNKNOWN_SERVER_ERROR.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, e := range codeTable {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return kerr.UnknownServerError.Code
}

// errorMessage is the error text for responses that carry one; nil for nil.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
