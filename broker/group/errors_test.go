package group

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/broker/storage"
)

// TestSentinelCodes pins the code a client sees for each of the
// coordinator's errors, and that a log failure is answered as a retriable
// COORDINATOR_NOT_AVAILABLE whatever its own code (Kafka's
// GroupMetadataManager), unless the log says this is not the coordinator.
func TestSentinelCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want *kerr.Error
	}{
		{ErrNotCoordinator, kerr.NotCoordinator},
		{ErrLoadInProgress, kerr.CoordinatorLoadInProgress},
		{ErrCoordinatorUnavailable, kerr.CoordinatorNotAvailable},
		{ErrClosed, kerr.CoordinatorNotAvailable},
		{ErrInvalidGroupID, kerr.InvalidGroupID},
		{ErrUnknownMemberID, kerr.UnknownMemberID},
		{ErrMemberIDRequired, kerr.MemberIDRequired},
		{ErrIllegalGeneration, kerr.IllegalGeneration},
		{ErrRebalanceInProgress, kerr.RebalanceInProgress},
		{ErrInconsistentProtocol, kerr.InconsistentGroupProtocol},
		{ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout},
		{ErrFencedInstanceID, kerr.FencedInstanceID},
		{ErrGroupNotFound, kerr.GroupIDNotFound},
		{ErrNonEmptyGroup, kerr.NonEmptyGroup},
		{ErrSubscribedToTopic, kerr.GroupSubscribedToTopic},
		{ErrMetadataTooLarge, kerr.OffsetMetadataTooLarge},
		{ErrCommitTooLarge, kerr.InvalidCommitOffsetSize},
		{ErrCorruptRecord, kerr.CoordinatorNotAvailable},
		{context.Canceled, kerr.CoordinatorNotAvailable},
	} {
		if got := errorCode(fmt.Errorf("facts: %w", tc.err)); got != tc.want.Code {
			t.Errorf("%v: code %d, want %d (%s)", tc.err, got, tc.want.Code, tc.want.Message)
		}
	}
}

// failingLog is a Log whose appends fail with err.
type failingLog struct{ err error }

func (f failingLog) Append(context.Context, int32, []byte) (int64, error) { return 0, f.err }
func (f failingLog) Read(int32, int64, int32) ([]byte, error)             { return nil, nil }
func (f failingLog) Bounds(int32) (int64, int64, error)                   { return 0, 0, nil }

func TestAppendErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want *kerr.Error
	}{
		{fmt.Errorf("no local log: %w", ErrNotCoordinator), kerr.NotCoordinator},
		{fmt.Errorf("append: %w", storage.ErrRecordTooLarge), kerr.CoordinatorNotAvailable},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), kerr.CoordinatorNotAvailable},
		{errors.New("disk on fire"), kerr.CoordinatorNotAvailable},
	} {
		c, err := New(DefaultConfig(), failingLog{tc.err}, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.appendRecords(context.Background(), 0, []record{{key: offsetKey("g", "t", 0)}})
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: error %v does not wrap the log's", tc.err, err)
		}
		if got := errorCode(err); got != tc.want.Code {
			t.Errorf("%v: code %d, want %d", tc.err, got, tc.want.Code)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
