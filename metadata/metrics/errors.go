package metrics

import "errors"

var (
	// ErrInvalidListener: zkraft.metrics.listener is not http://host:port.
	ErrInvalidListener = errors.New("metrics: invalid listener")
	// ErrNotReady: /readyz answers 503 (the error names the reason).
	ErrNotReady = errors.New("metrics: not ready")
)
