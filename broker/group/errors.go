package group

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
)

// Sentinel errors of the coordinator. Each one a client can be answered with
// carries its Kafka code (network.NewError); they are wrapped with facts and
// turned into codes once, by errorCode, when a response is built.
var (
	ErrInvalidConfig          = errors.New("group: invalid config")
	ErrNotCoordinator         = network.NewError("group: not the coordinator for this group", kerr.NotCoordinator)
	ErrLoadInProgress         = network.NewError("group: offsets partition is still loading", kerr.CoordinatorLoadInProgress)
	ErrCoordinatorUnavailable = network.NewError("group: coordinator not available", kerr.CoordinatorNotAvailable)
	ErrInvalidGroupID         = network.NewError("group: invalid group id", kerr.InvalidGroupID)
	ErrUnknownMemberID        = network.NewError("group: unknown member id", kerr.UnknownMemberID)
	ErrMemberIDRequired       = network.NewError("group: member id required", kerr.MemberIDRequired)
	ErrIllegalGeneration      = network.NewError("group: illegal generation", kerr.IllegalGeneration)
	ErrRebalanceInProgress    = network.NewError("group: rebalance in progress", kerr.RebalanceInProgress)
	ErrInconsistentProtocol   = network.NewError("group: inconsistent group protocol", kerr.InconsistentGroupProtocol)
	ErrInvalidSessionTimeout  = network.NewError("group: invalid session timeout", kerr.InvalidSessionTimeout)
	ErrFencedInstanceID       = network.NewError("group: fenced instance id", kerr.FencedInstanceID)
	ErrGroupNotFound          = network.NewError("group: group id not found", kerr.GroupIDNotFound)
	ErrNonEmptyGroup          = network.NewError("group: group is not empty", kerr.NonEmptyGroup)
	ErrSubscribedToTopic      = network.NewError("group: group is subscribed to the topic", kerr.GroupSubscribedToTopic)
	ErrMetadataTooLarge       = network.NewError("group: offset metadata too large", kerr.OffsetMetadataTooLarge)
	// ErrUnstableOffsetCommit: OffsetFetch with require_stable while a
	// transactional commit of the partition awaits its marker (KIP-447).
	ErrUnstableOffsetCommit = network.NewError("group: unstable offset commit", kerr.UnstableOffsetCommit)
	// ErrCorruptRecord: a __consumer_offsets record did not decode (while
	// loading a partition; no request is answered with it).
	ErrCorruptRecord  = errors.New("group: corrupt __consumer_offsets record")
	ErrClosed         = network.NewError("group: coordinator closed", kerr.CoordinatorNotAvailable)
	ErrCommitTooLarge = network.NewError("group: commit too large for the offsets log", kerr.InvalidCommitOffsetSize)
)

// errorCode picks the Kafka code for err: 0 for nil, else the code of the
// outermost error that carries one (network.Lookup), else
// COORDINATOR_NOT_AVAILABLE — an append failed or timed out for a reason the
// client can only retry, after looking the coordinator up again (Kafka's
// GroupMetadataManager). appendRecords wraps the log's errors in
// ErrCoordinatorUnavailable, so a storage or replication code never leaks
// into a group response.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	if code, ok := network.Lookup(err); ok {
		return code
	}
	return kerr.CoordinatorNotAvailable.Code
}
