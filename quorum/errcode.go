package quorum

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// codeTable maps typed errors to the Kafka error codes the controller
// listener answers with; the first match wins. The client (client.go) turns
// codes back into *kerr.Error values, which the broker passes on as they are.
var codeTable = []struct {
	err  error
	code int16
}{
	{ErrNotController, kerr.NotController.Code},
	{ErrClosed, kerr.NotController.Code},
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists.Code},
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	{metadata.ErrInvalidTopic, kerr.InvalidTopicException.Code},
	{metadata.ErrInvalidPartitions, kerr.InvalidPartitions.Code},
	{metadata.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor.Code},
	{metadata.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment.Code},
	{metadata.ErrInvalidConfig, kerr.InvalidConfig.Code},
	{metadata.ErrInvalidRequest, kerr.InvalidRequest.Code},
	{metadata.ErrBrokerNotAvailable, kerr.BrokerNotAvailable.Code},
	{metadata.ErrUnknownBroker, kerr.StaleBrokerEpoch.Code},
	{metadata.ErrStaleBrokerEpoch, kerr.StaleBrokerEpoch.Code},
	{metadata.ErrDuplicateBrokerRegistration, kerr.DuplicateBrokerRegistration.Code},
	{metadata.ErrNotLeader, kerr.NotLeaderForPartition.Code},
	{metadata.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch.Code},
	{metadata.ErrInvalidUpdateEpoch, kerr.InvalidUpdateVersion.Code},
	{metadata.ErrIneligibleReplica, kerr.IneligibleReplica.Code},
	{metadata.ErrUnknownPartition, kerr.UnknownTopicOrPartition.Code},
	{context.DeadlineExceeded, kerr.RequestTimedOut.Code},
	{context.Canceled, kerr.RequestTimedOut.Code},
}

// errorCode is the Kafka code for err (0 for nil): a *kerr.Error's own code,
// else the first codeTable match, else UNKNOWN_SERVER_ERROR.
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

func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

// codeError is the client's view of a code: nil for 0, else the *kerr.Error.
func codeError(code int16) error {
	if code == 0 {
		return nil
	}
	return kerr.ErrorForCode(code)
}
