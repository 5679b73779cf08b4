package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// TestErrorCodeTable pins the code a client sees for each typed error the
// handlers wrap: this package's, the LogManager's, the coordinator's and the
// metadata errors, the request's deadline and anything else.
func TestErrorCodeTable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want *kerr.Error
	}{
		{ErrUnknownTopic, kerr.UnknownTopicOrPartition},
		{ErrUnknownTopicID, kerr.UnknownTopicID},
		{ErrNotLeader, kerr.NotLeaderForPartition},
		{ErrLeaderNotAvailable, kerr.LeaderNotAvailable},
		{ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
		{ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
		{ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
		{ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend},
		{ErrMessageTooLarge, kerr.MessageTooLarge},
		{ErrInvalidRequiredAcks, kerr.InvalidRequiredAcks},
		{ErrTransactionalIDAuthorization, kerr.TransactionalIDAuthorizationFailed},
		{ErrInvalidRequest, kerr.InvalidRequest},
		{ErrDuplicateTopic, kerr.InvalidRequest},
		{ErrFetchSession, kerr.FetchSessionIDNotFound},
		{ErrProducerIDsUnavailable, kerr.CoordinatorLoadInProgress},
		{ErrInvalidConfig, kerr.UnknownServerError},
		{ErrUnsupportedAPI, kerr.UnknownServerError},
		{storage.ErrCorruptMessage, kerr.CorruptMessage},
		{storage.ErrInvalidRecord, kerr.InvalidRecord},
		{storage.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
		{storage.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
		{storage.ErrRecordTooLarge, kerr.MessageTooLarge},
		{storage.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
		{storage.ErrUnknownPartition, kerr.UnknownServerError},
		{storage.ErrClosed, kerr.UnknownServerError},
		{group.ErrCoordinatorUnavailable, kerr.CoordinatorNotAvailable},
		{group.ErrInvalidGroupID, kerr.InvalidGroupID},
		{metadata.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
		{metadata.ErrNotController, kerr.NotController},
		{context.DeadlineExceeded, kerr.RequestTimedOut},
		{errors.New("disk on fire"), kerr.UnknownServerError},
	} {
		if got := errorCode(fmt.Errorf("facts: %w", tc.err)); got != tc.want.Code {
			t.Errorf("%v: code %d, want %d (%s)", tc.err, got, tc.want.Code, tc.want.Message)
		}
	}
}

// TestProducerIDErrors: a controller's own answer is passed on; any other
// failure to get a block is COORDINATOR_LOAD_IN_PROGRESS (retriable).
func TestProducerIDErrors(t *testing.T) {
	for _, tc := range []struct {
		cause error
		want  *kerr.Error
	}{
		{fmt.Errorf("%w (controller: busy)", kerr.NotController), kerr.NotController},
		{errors.New("connection refused"), kerr.CoordinatorLoadInProgress},
		{context.DeadlineExceeded, kerr.CoordinatorLoadInProgress},
	} {
		b := &Broker{pidSem: make(chan struct{}, 1), ctrl: failingPIDs{tc.cause}}
		_, err := b.nextProducerID(context.Background())
		if !errors.Is(err, tc.cause) {
			t.Errorf("%v: error %v does not wrap the cause", tc.cause, err)
		}
		if got := errorCode(err); got != tc.want.Code {
			t.Errorf("%v: code %d, want %d", tc.cause, got, tc.want.Code)
		}
	}
}

// failingPIDs is a Controller whose every call fails with err.
type failingPIDs struct{ err error }

func (f failingPIDs) CreateTopics(_ context.Context, specs []metadata.CreateTopicSpec, _ bool) []error {
	errs := make([]error, len(specs))
	for i := range errs {
		errs[i] = f.err
	}
	return errs
}

func (f failingPIDs) DeleteTopics(_ context.Context, names []string) []error {
	errs := make([]error, len(names))
	for i := range errs {
		errs[i] = f.err
	}
	return errs
}

func (f failingPIDs) AllocateProducerIDs(context.Context, int32) (int64, int64, error) {
	return -1, 0, f.err
}
