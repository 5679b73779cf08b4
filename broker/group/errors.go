package group

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
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
var codeTable = []network.Code{
	{Err: ErrNotCoordinator, Code: kerr.NotCoordinator.Code},
	{Err: ErrLoadInProgress, Code: kerr.CoordinatorLoadInProgress.Code},
	{Err: ErrCoordinatorUnavailable, Code: kerr.CoordinatorNotAvailable.Code},
	{Err: ErrClosed, Code: kerr.CoordinatorNotAvailable.Code},
	{Err: ErrInvalidGroupID, Code: kerr.InvalidGroupID.Code},
	{Err: ErrUnknownMemberID, Code: kerr.UnknownMemberID.Code},
	{Err: ErrMemberIDRequired, Code: kerr.MemberIDRequired.Code},
	{Err: ErrIllegalGeneration, Code: kerr.IllegalGeneration.Code},
	{Err: ErrRebalanceInProgress, Code: kerr.RebalanceInProgress.Code},
	{Err: ErrInconsistentProtocol, Code: kerr.InconsistentGroupProtocol.Code},
	{Err: ErrInvalidSessionTimeout, Code: kerr.InvalidSessionTimeout.Code},
	{Err: ErrFencedInstanceID, Code: kerr.FencedInstanceID.Code},
	{Err: ErrGroupNotFound, Code: kerr.GroupIDNotFound.Code},
	{Err: ErrNonEmptyGroup, Code: kerr.NonEmptyGroup.Code},
	{Err: ErrSubscribedToTopic, Code: kerr.GroupSubscribedToTopic.Code},
	{Err: ErrMetadataTooLarge, Code: kerr.OffsetMetadataTooLarge.Code},
	{Err: ErrCommitTooLarge, Code: kerr.InvalidCommitOffsetSize.Code},
	{Err: context.DeadlineExceeded, Code: kerr.CoordinatorNotAvailable.Code},
	{Err: context.Canceled, Code: kerr.CoordinatorNotAvailable.Code},
}

// errorCode picks the Kafka code for err: 0 for nil, a *kerr.Error's own
// code, the first matching codeTable entry, else COORDINATOR_NOT_AVAILABLE
// (an append failed for a reason the client can only retry).
func errorCode(err error) int16 {
	return network.ErrorCode(err, kerr.CoordinatorNotAvailable.Code, codeTable)
}

// ErrorCode is errorCode for the broker's handlers (FindCoordinator).
func ErrorCode(err error) int16 { return errorCode(err) }
