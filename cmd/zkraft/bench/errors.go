package bench

import "errors"

// Sentinel errors of the bench command. Callers match them with errors.Is; the wrapped
// message carries the facts (which flag, which child, which address).
var (
	// ErrUsage: a bad subcommand, flag or flag value. The message names the flag.
	ErrUsage = errors.New("bench: usage")
	// ErrBrokerStart: a spawned broker child did not start or did not become ready.
	ErrBrokerStart = errors.New("bench: broker did not start")
	// ErrTopic: the benchmark topic could not be created or did not become ready.
	ErrTopic = errors.New("bench: topic not ready")
	// ErrProduce: a run did not get every record acknowledged.
	ErrProduce = errors.New("bench: produce failed")
	// ErrConsume: a consume run could not fill its topic or read it all back.
	ErrConsume = errors.New("bench: consume failed")
)
