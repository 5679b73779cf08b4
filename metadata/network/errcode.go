package network

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// A Kafka error code is chosen once, here at the network edge, from one
// table: every package that can fail a Kafka request declares its sentinel
// errors with NewError, so each sentinel carries its code; the metadata
// package, which imports nothing of ours, keeps plain sentinels, and
// metadataCodes below gives theirs. A handler wraps errors with facts and
// turns the error into a code with ErrorCode when it builds the response.
//
// Which code wins when an error wraps several: the outermost one. Lookup
// walks the error tree in the order errors.Is does (the error, then what it
// wraps, depth first, left to right) and stops at the first error that has a
// code, so fmt.Errorf("%w: %w", ErrNotCoordinator, cause) is answered as
// NOT_COORDINATOR whatever cause says, and a wrapper that wants the cause's
// code passed on wraps it without a sentinel of its own.

// Error is a sentinel error that carries the Kafka error code answered for
// it. Declare one per situation in a package's errors.go with NewError and
// compare with errors.Is; two sentinels with the same code stay distinct.
type Error struct {
	msg  string
	code int16
}

// NewError returns a sentinel error with text msg (prefixed with its
// package, "broker: not leader or follower") that the network edge answers
// with code's code.
func NewError(msg string, code *kerr.Error) error { return &Error{msg: msg, code: code.Code} }

func (e *Error) Error() string { return e.msg }

// Code is the Kafka error code answered for e.
func (e *Error) Code() int16 { return e.code }

// metadataCodes gives the codes of the metadata package's sentinels (the
// shared controller logic, so a metadata error gets the same code whichever
// listener answers). A slice, not a map: the errors compared against it may
// be of types that cannot be hashed.
var metadataCodes = []struct {
	err  error
	code *kerr.Error
}{
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists},
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{metadata.ErrInvalidTopic, kerr.InvalidTopicException},
	{metadata.ErrInvalidPartitions, kerr.InvalidPartitions},
	{metadata.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
	{metadata.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
	{metadata.ErrInvalidConfig, kerr.InvalidConfig},
	{metadata.ErrInvalidRequest, kerr.InvalidRequest},
	{metadata.ErrBrokerNotAvailable, kerr.BrokerNotAvailable},
	// Kafka answers a heartbeat or AlterPartition of a broker it does not
	// know as it answers one of an older incarnation.
	{metadata.ErrUnknownBroker, kerr.StaleBrokerEpoch},
	{metadata.ErrStaleBrokerEpoch, kerr.StaleBrokerEpoch},
	{metadata.ErrDuplicateBrokerRegistration, kerr.DuplicateBrokerRegistration},
	{metadata.ErrNotController, kerr.NotController},
	{metadata.ErrNotLeader, kerr.NotLeaderForPartition},
	{metadata.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{metadata.ErrInvalidUpdateEpoch, kerr.InvalidUpdateVersion},
	{metadata.ErrIneligibleReplica, kerr.IneligibleReplica},
	{metadata.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
	{metadata.ErrElectionNotNeeded, kerr.ElectionNotNeeded},
	{metadata.ErrPreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable},
	{metadata.ErrEligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable},
	{metadata.ErrDuplicateResource, kerr.DuplicateResource},
	{metadata.ErrUnsupportedSaslMechanism, kerr.UnsupportedSaslMechanism},
	{metadata.ErrUnacceptableCredential, kerr.UnacceptableCredential},
	{metadata.ErrResourceNotFound, kerr.ResourceNotFound},
	{metadata.ErrNoReassignmentInProgress, kerr.NoReassignmentInProgress},
}

// Lookup returns the code of the outermost error in err's tree that has one:
// an *Error, a *kerr.Error (a controller's answer, passed on as it is) or one
// of the metadata package's sentinels. ok is false when none has a code.
func Lookup(err error) (code int16, ok bool) {
	switch e := err.(type) {
	case nil:
		return 0, false
	case *Error:
		return e.code, true
	case *kerr.Error:
		return e.Code, true
	}
	for _, m := range metadataCodes {
		if err == m.err { // m.err is a pointer: == never panics
			return m.code.Code, true
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return Lookup(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if code, ok := Lookup(e); ok {
				return code, true
			}
		}
	}
	return 0, false
}

// ErrorCode is the Kafka error code for err: 0 for nil; the code Lookup
// finds; else REQUEST_TIMED_OUT when the request's own context ended
// (context.DeadlineExceeded or context.Canceled in the chain); else
// UNKNOWN_SERVER_ERROR. A listener with another policy for errors it cannot
// name (the group coordinator's COORDINATOR_NOT_AVAILABLE) uses Lookup.
func ErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	if code, ok := Lookup(err); ok {
		return code
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return kerr.RequestTimedOut.Code
	}
	return kerr.UnknownServerError.Code
}

// ErrorMessage is the error text for responses that carry one; nil for nil.
func ErrorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
