package group

import "time"

// Clock is the coordinator's source of time and timers, so tests can drive
// session and rebalance timeouts with a fake.
//
// Contract: AfterFunc runs f once, on a goroutine of the clock's choosing,
// after d, unless the returned Timer is stopped first. f must not be
// called with any lock of the caller held.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it did.
	Stop() bool
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
