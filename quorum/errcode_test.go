package quorum

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// TestErrorCodeTable pins the codes the controller listener answers: this
// package's sentinels, the metadata errors (the same as the broker
// listener's), the request's deadline and anything else.
func TestErrorCodeTable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want *kerr.Error
	}{
		{ErrNotController, kerr.NotController},
		{ErrClosed, kerr.NotController},
		{fmt.Errorf("%w: raft: %w", ErrNotController, errors.New("leadership lost")), kerr.NotController},
		{fmt.Errorf("create topics: %w (%w)", ErrPreMigration, ErrNotController), kerr.NotController},
		{fmt.Errorf("register: %w (%w)", ErrPreMigration, kerr.BrokerIDNotRegistered), kerr.BrokerIDNotRegistered},
		{ErrCorruptEntry, kerr.UnknownServerError},
		{metadata.ErrTopicExists, kerr.TopicAlreadyExists},
		{metadata.ErrStaleBrokerEpoch, kerr.StaleBrokerEpoch},
		{context.DeadlineExceeded, kerr.RequestTimedOut},
		{errors.New("disk on fire"), kerr.UnknownServerError},
	} {
		if got := errorCode(fmt.Errorf("facts: %w", tc.err)); got != tc.want.Code {
			t.Errorf("%v: code %d, want %d (%s)", tc.err, got, tc.want.Code, tc.want.Message)
		}
	}
}
