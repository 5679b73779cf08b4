package group

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Sentinel errors of the coordinator. They are wrapped with facts and turned
// into Kafka error codes once, by errorCode, when a response is built.
var (
	ErrInvalidConfig          = errors.New("group: invalid config")
	ErrNotCoordinator         = errors.New("group: not the coordinator for this group")
	ErrLoadInProgress         = errors.New("group: offsets partition is still loading")
	ErrCoordinatorUnavailable = errors.New("group: coordinator not available")
	ErrInvalidGroupID         = errors.New("group: invalid group id")
	ErrUnknownMemberID        = errors.New("group: unknown member id")
	ErrMemberIDRequired       = errors.New("group: member id required")
	ErrIllegalGeneration      = errors.New("group: illegal generation")
	ErrRebalanceInProgress    = errors.New("group: rebalance in progress")
	ErrInconsistentProtocol   = errors.New("group: inconsistent group protocol")
	ErrInvalidSessionTimeout  = errors.New("group: invalid session timeout")
	ErrFencedInstanceID       = errors.New("group: fenced instance id")
	ErrGroupNotFound          = errors.New("group: group id not found")
	ErrNonEmptyGroup          = errors.New("group: group is not empty")
	ErrSubscribedToTopic      = errors.New("group: group is subscribed to the topic")
	ErrMetadataTooLarge       = errors.New("group: offset metadata too large")
	ErrCorruptRecord          = errors.New("group: corrupt __consumer_offsets record")
	ErrClosed                 = errors.New("group: coordinator closed")
	ErrCommitTooLarge         = errors.New("group: commit too large for the offsets log")
)

// codeTable maps the sentinels (and the log's errors) to Kafka error codes.
// Append failures follow Kafka's GroupMetadataManager: a lost leadership is
// NOT_COORDINATOR, anything transient is COORDINATOR_NOT_AVAILABLE, so the
// client looks the coordinator up again and retries.
var codeTable = []struct {
	err  error
	code int16
}{
	{ErrNotCoordinator, kerr.NotCoordinator.Code},
	{ErrLoadInProgress, kerr.CoordinatorLoadInProgress.Code},
	{ErrCoordinatorUnavailable, kerr.CoordinatorNotAvailable.Code},
	{ErrClosed, kerr.CoordinatorNotAvailable.Code},
	{ErrInvalidGroupID, kerr.InvalidGroupID.Code},
	{ErrUnknownMemberID, kerr.UnknownMemberID.Code},
	{ErrMemberIDRequired, kerr.MemberIDRequired.Code},
	{ErrIllegalGeneration, kerr.IllegalGeneration.Code},
	{ErrRebalanceInProgress, kerr.RebalanceInProgress.Code},
	{ErrInconsistentProtocol, kerr.InconsistentGroupProtocol.Code},
	{ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout.Code},
	{ErrFencedInstanceID, kerr.FencedInstanceID.Code},
	{ErrGroupNotFound, kerr.GroupIDNotFound.Code},
	{ErrNonEmptyGroup, kerr.NonEmptyGroup.Code},
	{ErrSubscribedToTopic, kerr.GroupSubscribedToTopic.Code},
	{ErrMetadataTooLarge, kerr.OffsetMetadataTooLarge.Code},
	{ErrCommitTooLarge, kerr.InvalidCommitOffsetSize.Code},
	{context.DeadlineExceeded, kerr.CoordinatorNotAvailable.Code},
	{context.Canceled, kerr.CoordinatorNotAvailable.Code},
}

// errorCode picks the Kafka code for err: 0 for nil, a *kerr.Error's own
// code, the first matching codeTable entry, else COORDINATOR_NOT_AVAILABLE
// (an append failed for a reason the client can only retry).
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
	return kerr.CoordinatorNotAvailable.Code
}

// ErrorCode is errorCode for the broker's handlers (FindCoordinator).
func ErrorCode(err error) int16 { return errorCode(err) }
