package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata/network"
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
var codeTable = []network.Code{
	// this package
	{Err: ErrUnknownTopic, Code: kerr.UnknownTopicOrPartition.Code},
	{Err: ErrUnknownTopicID, Code: kerr.UnknownTopicID.Code},
	{Err: ErrNotLeader, Code: kerr.NotLeaderForPartition.Code},
	{Err: ErrLeaderNotAvailable, Code: kerr.LeaderNotAvailable.Code},
	{Err: ErrFencedLeaderEpoch, Code: kerr.FencedLeaderEpoch.Code},
	{Err: ErrUnknownLeaderEpoch, Code: kerr.UnknownLeaderEpoch.Code},
	{Err: ErrNotEnoughReplicas, Code: kerr.NotEnoughReplicas.Code},
	{Err: ErrNotEnoughReplicasAfterAppend, Code: kerr.NotEnoughReplicasAfterAppend.Code},
	{Err: ErrMessageTooLarge, Code: kerr.MessageTooLarge.Code},
	{Err: ErrInvalidRequiredAcks, Code: kerr.InvalidRequiredAcks.Code},
	// Kafka answers a principal that may not use transactional ids with
	// this fatal, non-retriable code; clients surface it clearly.
	{Err: ErrTransactions, Code: kerr.TransactionalIDAuthorizationFailed.Code},
	{Err: ErrInvalidRequest, Code: kerr.InvalidRequest.Code},
	{Err: ErrDuplicateTopic, Code: kerr.InvalidRequest.Code},
	{Err: ErrFetchSession, Code: kerr.FetchSessionIDNotFound.Code},
	// Kafka's ProducerIdManager answers this (retriable) while a block is pending.
	{Err: ErrProducerIDsUnavailable, Code: kerr.CoordinatorLoadInProgress.Code},

	// storage (LogManager)
	{Err: storage.ErrCorruptMessage, Code: kerr.CorruptMessage.Code},
	{Err: storage.ErrInvalidRecord, Code: kerr.InvalidRecord.Code},
	{Err: storage.ErrOutOfOrderSequence, Code: kerr.OutOfOrderSequenceNumber.Code},
	{Err: storage.ErrInvalidProducerEpoch, Code: kerr.InvalidProducerEpoch.Code},
	{Err: storage.ErrRecordTooLarge, Code: kerr.MessageTooLarge.Code},
	{Err: storage.ErrOffsetOutOfRange, Code: kerr.OffsetOutOfRange.Code},
}

// errorCode picks the Kafka error code for err (see network.ErrorCode): this
// package's and the LogManager's errors, then the metadata errors, then the
// request's own deadline; anything else is UNKNOWN_SERVER_ERROR.
func errorCode(err error) int16 {
	return network.ErrorCode(err, kerr.UnknownServerError.Code, codeTable, network.MetadataCodes, network.DeadlineCodes)
}

// errorMessage is the error text for responses that carry one; nil for nil.
func errorMessage(err error) *string { return network.ErrorMessage(err) }
