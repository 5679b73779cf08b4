package quorum

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"
)

// One TCP port per controller (its controller.quorum.voters address)
// carries both raft and the Kafka-protocol controller listener. A raft
// connection starts with the byte connRaft, which the dialing side writes;
// anything else is a Kafka client and its first byte is given back to it:
//
//	raft:  | 0xA1 | hashicorp raft NetworkTransport stream ...
//	kafka: | size int32 BE (first byte 0x00..0x7F) | request ...
//
// A Kafka frame starts with a non-negative int32 size, so its first byte is
// at most 0x7F and can never be 0xA1: Kafka clients connect unchanged.
const connRaft byte = 0xA1

// connGossip opens a memberlist gossip connection (gossip_transport.go):
//
//	gossip: | 0xA2 | kind 'P' (packets) or 'S' (stream) | ...
//
// The same byte is sorted out of a broker's Kafka listener (ListenShared),
// so gossip needs no port of its own on any node.
const connGossip byte = 0xA2

// muxHandshakeTimeout bounds how long an accepted connection may take to
// send its first byte before it is dropped.
const muxHandshakeTimeout = 10 * time.Second

// mux accepts on one TCP listener and sorts connections by their first
// byte. It owns one accept goroutine and one short goroutine per connection
// still in its handshake; close waits for all of them.
type mux struct {
	ln    net.Listener
	conns connSet // raft connections, closed by close (raft leaves them open)
	log   *zap.Logger
	raft  *muxListener
	kafka *muxListener
	// gossip gets connections opening with connGossip while gossipOn is
	// set (startGossip); before that, and on a node without gossip, they
	// are closed.
	gossip   *muxListener
	gossipOn atomic.Bool
	wg       sync.WaitGroup
	once     sync.Once
	closed   chan struct{}
}

func newMux(addr string, log *zap.Logger) (*mux, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("quorum: listen on %s: %w", addr, err)
	}
	return newMuxOn(ln, log), nil
}

// newMuxOn sorts the connections of ln, which it owns from now on.
func newMuxOn(ln net.Listener, log *zap.Logger) *mux {
	m := &mux{ln: ln, log: log, closed: make(chan struct{})}
	m.raft = &muxListener{m: m, ch: make(chan net.Conn), done: make(chan struct{})}
	m.kafka = &muxListener{m: m, ch: make(chan net.Conn), done: make(chan struct{})}
	m.gossip = &muxListener{m: m, ch: make(chan net.Conn), done: make(chan struct{})}
	m.wg.Add(1)
	go m.accept()
	return m
}

func (m *mux) accept() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.log.Warn("accept failed", zap.Error(err))
			select {
			case <-m.closed:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		m.wg.Add(1)
		go m.sort(c)
	}
}

// sort reads the first byte of c and hands c to the raft or Kafka side.
func (m *mux) sort(c net.Conn) {
	defer m.wg.Done()
	_ = c.SetReadDeadline(time.Now().Add(muxHandshakeTimeout))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	dst := m.kafka
	switch b[0] {
	case connRaft:
		dst = m.raft
		if c = m.conns.track(c); c == nil {
			return
		}
	case connGossip:
		if !m.gossipOn.Load() {
			_ = c.Close()
			return
		}
		dst = m.gossip // the gossip transport tracks and closes its connections
	default:
		c = &peekedConn{Conn: c, first: b[:]}
	}
	select {
	case dst.ch <- c:
	case <-dst.done:
		_ = c.Close()
	case <-m.closed:
		_ = c.Close()
	}
}

func (m *mux) close() {
	m.once.Do(func() {
		close(m.closed)
		_ = m.ln.Close()
	})
	m.wg.Wait()
	m.conns.closeAll()
}

// muxListener is one side of the mux as a net.Listener. Closing it stops
// that side only; the node closes the mux itself last.
type muxListener struct {
	m    *mux
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

var _ net.Listener = (*muxListener)(nil)

func (l *muxListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.m.closed:
		return nil, net.ErrClosed
	}
}

func (l *muxListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *muxListener) Addr() net.Addr { return l.m.ln.Addr() }

// peekedConn gives back the byte the mux read.
type peekedConn struct {
	net.Conn
	first []byte
}

// TCPConn lets the network server's writer send fetched records with
// sendfile on the socket itself (network.TCPConner); writes need no
// unwrapping, only reads are peeked.
func (c *peekedConn) TCPConn() *net.TCPConn {
	tc, _ := c.Conn.(*net.TCPConn)
	return tc
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// raftStream is raft's StreamLayer on the mux: it accepts the raft side and
// dials other voters with the connRaft byte first.
type raftStream struct {
	*muxListener
	advertise net.Addr
	tls       *raftTLS // nil: plaintext raft (raft_tls.go)
}

// Accept returns the next raft connection, the server side of TLS when
// raft runs over TLS.
func (s *raftStream) Accept() (net.Conn, error) {
	c, err := s.muxListener.Accept()
	if err != nil {
		return nil, err
	}
	return s.tls.wrapAccepted(c), nil
}

var _ raft.StreamLayer = (*raftStream)(nil)

func (s *raftStream) Addr() net.Addr {
	if s.advertise != nil {
		return s.advertise
	}
	return s.muxListener.Addr()
}

func (s *raftStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{connRaft}); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("quorum: raft handshake with %s: %w", addr, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	tc := s.m.conns.track(c)
	if tc == nil {
		return nil, fmt.Errorf("quorum: dial %s: %w", addr, net.ErrClosed)
	}
	sc, err := s.tls.wrapDialled(tc, string(addr), timeout)
	if err != nil {
		_ = tc.Close()
		return nil, err
	}
	return sc, nil
}
