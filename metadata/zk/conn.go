package zk

import (
	"time"

	gozk "github.com/go-zookeeper/zk"
)

// CloseWait closes a go-zookeeper connection and waits, at most timeout, until
// the library's own goroutines have ended. Conn.Close returns at once while its
// send and receive loops are still running (and may still log); the library
// closes the event channel Connect returned only after they have returned, so
// draining it to its close is the wait. A component's Close uses this to leave
// no goroutine behind.
func CloseWait(conn *gozk.Conn, events <-chan gozk.Event, timeout time.Duration) {
	conn.Close()
	if events == nil {
		return
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline.C:
			return
		}
	}
}

// closeWaitTimeout bounds CloseWait in Backend.Close: the library's loops end
// within a send/receive timeout once the connection is closed.
const closeWaitTimeout = 10 * time.Second
