package topics

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Sentinel errors. Callers match them with errors.Is; the wrapped messages
// carry the facts (topic, address, API).
var (
	// ErrUsage: bad command line; the message says what is wrong.
	ErrUsage = errors.New("topics: usage")
	// ErrConnect: no broker of --bootstrap-server answered.
	ErrConnect = errors.New("topics: no broker of --bootstrap-server answered")
	// ErrUnsupported: the broker does not offer an API the command needs;
	// the message names the API and its key.
	ErrUnsupported = errors.New("topics: unsupported by the broker")
	// ErrNoTopic: a --topic regular expression matched no topic (without
	// --if-exists).
	ErrNoTopic = errors.New("topics: no such topic")
	// ErrBadResponse: the broker's answer does not fit the request (a
	// topic missing from it).
	ErrBadResponse = errors.New("topics: unexpected response")
)

// KafkaError is an error code the broker answered for one topic.
type KafkaError struct {
	Op      string // "create topic", "delete topic", "describe topic", "alter topic"
	Topic   string
	Code    int16
	Message string // the broker's error message; "" when it sent none
}

// Error reads "create topic orders: TOPIC_ALREADY_EXISTS: <message>", with
// kerr's description of the code when the broker sent no message, and the
// code's name said once when the message repeats it.
func (e *KafkaError) Error() string {
	name := fmt.Sprintf("error code %d", e.Code)
	desc := ""
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(e.Code), &ke) && ke.Code == e.Code {
		name, desc = ke.Message, ke.Description
	}
	if e.Message != "" {
		// Some brokers (zkraft among them) send kerr's own "NAME: description".
		desc = strings.TrimPrefix(e.Message, name+": ")
	}
	if desc == "" {
		return fmt.Sprintf("%s %s: %s", e.Op, e.Topic, name)
	}
	return fmt.Sprintf("%s %s: %s: %s", e.Op, e.Topic, name, desc)
}

// Unwrap returns the kerr error of the code, so errors.Is(err,
// kerr.TopicAlreadyExists) works.
func (e *KafkaError) Unwrap() error { return kerr.ErrorForCode(e.Code) }

// kafkaErr returns a *KafkaError for a non-zero code, else nil.
func kafkaErr(op, topic string, code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	e := &KafkaError{Op: op, Topic: topic, Code: code}
	if msg != nil {
		e.Message = *msg
	}
	return e
}
