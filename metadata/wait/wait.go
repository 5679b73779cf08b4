package wait

import (
	"testing"
	"time"
)

const (
	firstPause = time.Millisecond
	maxPause   = 50 * time.Millisecond
)

// For calls cond until it returns nil. If timeout passes first, it fails t
// with what, the timeout and cond's last error.
func For(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := poll(timeout, cond); err != nil {
		t.Fatalf("%s: not true after %s: %v", what, timeout, err)
	}
}

// Until calls cond until it returns true. If timeout passes first, it fails
// t with what and the timeout.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := poll(timeout, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}); err != nil {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

type notYet struct{}

func (notYet) Error() string { return "condition not true" }

var errNotYet error = notYet{}

// poll calls cond until it returns nil or timeout passes; it returns cond's
// last error (nil once it held).
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	pause := firstPause
	for {
		err := cond()
		if err == nil || !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, maxPause)
	}
}
