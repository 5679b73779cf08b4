package topics

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestKafkaError(t *testing.T) {
	tests := []struct {
		err  *KafkaError
		want string
		is   error
	}{
		{&KafkaError{Op: "create topic", Topic: "orders", Code: kerr.TopicAlreadyExists.Code, Message: "Topic 'orders' already exists."},
			"create topic orders: TOPIC_ALREADY_EXISTS: Topic 'orders' already exists.", kerr.TopicAlreadyExists},
		{&KafkaError{Op: "delete topic", Topic: "x", Code: kerr.UnknownTopicOrPartition.Code},
			"delete topic x: UNKNOWN_TOPIC_OR_PARTITION: " + kerr.UnknownTopicOrPartition.Description, kerr.UnknownTopicOrPartition},
		{&KafkaError{Op: "create topic", Topic: "o", Code: kerr.InvalidConfig.Code, Message: "INVALID_CONFIG: Configuration is invalid."},
			"create topic o: INVALID_CONFIG: Configuration is invalid.", kerr.InvalidConfig},
		{&KafkaError{Op: "alter topic", Topic: "y", Code: 30000, Message: "odd"},
			"alter topic y: error code 30000: odd", kerr.UnknownServerError},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, tc.is) {
			t.Errorf("%v: errors.Is(%v) = false", tc.err, tc.is)
		}
	}
	if kafkaErr("create topic", "t", 0, nil) != nil {
		t.Error("code 0 must be no error")
	}
}
