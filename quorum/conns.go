package quorum

import (
	"net"
	"sync"
)

// connSet remembers open connections so that a component's close can end
// goroutines blocked reading them (hashicorp's NetworkTransport and
// memberlist leave theirs blocked in Read). Closing a tracked connection
// forgets it; after closeAll, track closes what it is given and returns nil.
type connSet struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

// track remembers c; nil means the set is already closed (c is closed).
func (s *connSet) track(c net.Conn) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return nil
	}
	if s.conns == nil {
		s.conns = make(map[*trackedConn]struct{})
	}
	tc := &trackedConn{Conn: c, set: s}
	s.conns[tc] = struct{}{}
	return tc
}

// closeAll closes every tracked connection and refuses new ones.
func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		_ = c.Conn.Close()
	}
	s.conns = nil
}

type trackedConn struct {
	net.Conn
	set *connSet
}

func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.conns, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}
