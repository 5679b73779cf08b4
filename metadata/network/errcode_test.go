package network

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// uncomparable is an error type that cannot be a map key or compared with ==.
type uncomparable struct{ facts []string }

func (u uncomparable) Error() string { return fmt.Sprint(u.facts) }

func TestErrorCode(t *testing.T) {
	errOwn := NewError("own: not coordinator", kerr.NotCoordinator)
	errOther := NewError("own: rebalancing", kerr.RebalanceInProgress)
	errPlain := errors.New("own: no code")
	tests := []struct {
		name string
		err  error
		want int16
	}{
		{"nil is no error", nil, 0},
		{"own sentinel", errOwn, kerr.NotCoordinator.Code},
		{"own sentinel wrapped", fmt.Errorf("group %q: %w", "g", errOwn), kerr.NotCoordinator.Code},
		{"kerr", fmt.Errorf("create: %w", kerr.NotController), kerr.NotController.Code},
		{"kerr with the controller's message", fmt.Errorf("%w (controller: %s)", kerr.InvalidConfig, "bad key"), kerr.InvalidConfig.Code},
		{"metadata sentinel", fmt.Errorf("x: %w", metadata.ErrTopicExists), kerr.TopicAlreadyExists.Code},
		{"metadata unknown broker is a stale epoch", metadata.ErrUnknownBroker, kerr.StaleBrokerEpoch.Code},
		{"outermost wins over the cause", fmt.Errorf("%w: %w", errOwn, errOther), kerr.NotCoordinator.Code},
		{"outermost wins over a kerr cause", fmt.Errorf("%w: %w", errOwn, kerr.NotController), kerr.NotCoordinator.Code},
		{"outermost wins over a metadata cause", fmt.Errorf("%w: %w", errOther, metadata.ErrUnknownTopic), kerr.RebalanceInProgress.Code},
		{"a sentinel without a code passes the cause's on", fmt.Errorf("%w (%w)", errPlain, kerr.BrokerIDNotRegistered), kerr.BrokerIDNotRegistered.Code},
		{"joined: first with a code", errors.Join(errors.New("ctx"), errOther, errOwn), kerr.RebalanceInProgress.Code},
		{"coded cause beats the deadline", fmt.Errorf("%w: %w", context.DeadlineExceeded, errOwn), kerr.NotCoordinator.Code},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), kerr.RequestTimedOut.Code},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), kerr.RequestTimedOut.Code},
		{"uncomparable errors do not panic", fmt.Errorf("x: %w", uncomparable{[]string{"a"}}), kerr.UnknownServerError.Code},
		{"uncomparable joined before a code", errors.Join(uncomparable{}, errOwn), kerr.NotCoordinator.Code},
		{"fallback", errors.New("something else"), kerr.UnknownServerError.Code},
	}
	for _, tc := range tests {
		if got := ErrorCode(tc.err); got != tc.want {
			t.Errorf("%s: ErrorCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
	if ErrorMessage(nil) != nil || *ErrorMessage(errOwn) != "own: not coordinator" {
		t.Error("ErrorMessage")
	}
}

func TestLookup(t *testing.T) {
	if _, ok := Lookup(context.DeadlineExceeded); ok {
		t.Error("Lookup(deadline) found a code; the deadline is ErrorCode's fallback")
	}
	if _, ok := Lookup(nil); ok {
		t.Error("Lookup(nil) found a code")
	}
	if code, ok := Lookup(fmt.Errorf("a: %w", fmt.Errorf("b: %w", metadata.ErrNotLeader))); !ok || code != kerr.NotLeaderForPartition.Code {
		t.Errorf("Lookup(nested metadata.ErrNotLeader) = %d, %v", code, ok)
	}
	e := NewError("x", kerr.NotCoordinator)
	var ne *Error
	if !errors.As(fmt.Errorf("w: %w", e), &ne) || ne.Code() != kerr.NotCoordinator.Code || ne.Error() != "x" {
		t.Errorf("errors.As(*Error) = %v", ne)
	}
	if errors.Is(NewError("x", kerr.NotCoordinator), e) {
		t.Error("two sentinels with the same code and text compare equal")
	}
}

// TestMetadataCodes: every metadata sentinel a controller answers with has
// its code; the codec and replay errors do not (UNKNOWN_SERVER_ERROR).
func TestMetadataCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want *kerr.Error
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
		{metadata.ErrUnknownBroker, kerr.StaleBrokerEpoch},
		{metadata.ErrStaleBrokerEpoch, kerr.StaleBrokerEpoch},
		{metadata.ErrDuplicateBrokerRegistration, kerr.DuplicateBrokerRegistration},
		{metadata.ErrNotController, kerr.NotController},
		{metadata.ErrNotLeader, kerr.NotLeaderForPartition},
		{metadata.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
		{metadata.ErrInvalidUpdateEpoch, kerr.InvalidUpdateVersion},
		{metadata.ErrIneligibleReplica, kerr.IneligibleReplica},
		{metadata.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
		{metadata.ErrDuplicateResource, kerr.DuplicateResource},
		{metadata.ErrUnsupportedSaslMechanism, kerr.UnsupportedSaslMechanism},
		{metadata.ErrUnacceptableCredential, kerr.UnacceptableCredential},
		{metadata.ErrResourceNotFound, kerr.ResourceNotFound},
		{metadata.ErrCorruptRecord, kerr.UnknownServerError},
		{metadata.ErrInvalidRecord, kerr.UnknownServerError},
	} {
		if got := ErrorCode(fmt.Errorf("facts: %w", tc.err)); got != tc.want.Code {
			t.Errorf("%v: code %d, want %d (%s)", tc.err, got, tc.want.Code, tc.want.Message)
		}
	}
}
