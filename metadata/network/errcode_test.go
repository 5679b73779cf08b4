package network

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

func TestErrorCode(t *testing.T) {
	errOwn := errors.New("own")
	own := []Code{{Err: errOwn, Code: kerr.NotCoordinator.Code}, {Err: metadata.ErrUnknownTopic, Code: kerr.UnknownTopicID.Code}}
	tests := []struct {
		name string
		err  error
		want int16
	}{
		{"nil is no error", nil, 0},
		{"kerr in the chain wins", fmt.Errorf("create: %w", kerr.NotController), kerr.NotController.Code},
		{"own table first", fmt.Errorf("x: %w", metadata.ErrUnknownTopic), kerr.UnknownTopicID.Code},
		{"metadata table", fmt.Errorf("x: %w", metadata.ErrTopicExists), kerr.TopicAlreadyExists.Code},
		{"own sentinel", fmt.Errorf("x: %w", errOwn), kerr.NotCoordinator.Code},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), kerr.RequestTimedOut.Code},
		{"fallback", errors.New("something else"), kerr.UnknownServerError.Code},
	}
	for _, tc := range tests {
		if got := ErrorCode(tc.err, kerr.UnknownServerError.Code, own, MetadataCodes, DeadlineCodes); got != tc.want {
			t.Errorf("%s: ErrorCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
	if ErrorMessage(nil) != nil || *ErrorMessage(errOwn) != "own" {
		t.Error("ErrorMessage")
	}
}
