package network

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// Code pairs a typed error with the Kafka error code answered for it. A Kafka
// error code is chosen once, here at the network edge, from tables of Codes:
// each package that answers Kafka requests (the broker handlers, the group
// coordinator, the controller listener) keeps a table of its own errors, and
// every one of them uses MetadataCodes for the errors of the shared controller
// logic, so a metadata error gets the same code whichever listener answers.
type Code struct {
	Err  error
	Code int16
}

// MetadataCodes maps the metadata package's sentinel errors to Kafka codes.
var MetadataCodes = []Code{
	{Err: metadata.ErrTopicExists, Code: kerr.TopicAlreadyExists.Code},
	{Err: metadata.ErrUnknownTopic, Code: kerr.UnknownTopicOrPartition.Code},
	{Err: metadata.ErrInvalidTopic, Code: kerr.InvalidTopicException.Code},
	{Err: metadata.ErrInvalidPartitions, Code: kerr.InvalidPartitions.Code},
	{Err: metadata.ErrInvalidReplicationFactor, Code: kerr.InvalidReplicationFactor.Code},
	{Err: metadata.ErrInvalidReplicaAssignment, Code: kerr.InvalidReplicaAssignment.Code},
	{Err: metadata.ErrInvalidConfig, Code: kerr.InvalidConfig.Code},
	{Err: metadata.ErrInvalidRequest, Code: kerr.InvalidRequest.Code},
	{Err: metadata.ErrBrokerNotAvailable, Code: kerr.BrokerNotAvailable.Code},
	{Err: metadata.ErrUnknownBroker, Code: kerr.StaleBrokerEpoch.Code},
	{Err: metadata.ErrStaleBrokerEpoch, Code: kerr.StaleBrokerEpoch.Code},
	{Err: metadata.ErrDuplicateBrokerRegistration, Code: kerr.DuplicateBrokerRegistration.Code},
	{Err: metadata.ErrNotController, Code: kerr.NotController.Code},
	{Err: metadata.ErrNotLeader, Code: kerr.NotLeaderForPartition.Code},
	{Err: metadata.ErrFencedLeaderEpoch, Code: kerr.FencedLeaderEpoch.Code},
	{Err: metadata.ErrInvalidUpdateEpoch, Code: kerr.InvalidUpdateVersion.Code},
	{Err: metadata.ErrIneligibleReplica, Code: kerr.IneligibleReplica.Code},
	{Err: metadata.ErrUnknownPartition, Code: kerr.UnknownTopicOrPartition.Code},
}

// DeadlineCodes maps the end of a request's own context to REQUEST_TIMED_OUT.
var DeadlineCodes = []Code{
	{Err: context.DeadlineExceeded, Code: kerr.RequestTimedOut.Code},
	{Err: context.Canceled, Code: kerr.RequestTimedOut.Code},
}

// ErrorCode picks the Kafka error code for err: 0 for nil; the code of a
// *kerr.Error anywhere in the chain (a controller's own answer, e.g.
// NOT_CONTROLLER, passed on as it is); else the first entry, table by table,
// whose error matches (errors.Is), so more specific tables go first; else
// fallback.
func ErrorCode(err error, fallback int16, tables ...[]Code) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, table := range tables {
		for _, c := range table {
			if errors.Is(err, c.Err) {
				return c.Code
			}
		}
	}
	return fallback
}

// ErrorMessage is the error text for responses that carry one; nil for nil.
func ErrorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
