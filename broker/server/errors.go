package server

import "errors"

var (
	// ErrInvalidConfig: a Config field is out of range (the message names the key).
	ErrInvalidConfig = errors.New("server: invalid config")
	// ErrSourceStopped: the Source's loop (Runner) returned while the node was serving.
	ErrSourceStopped = errors.New("server: metadata source stopped")
)
