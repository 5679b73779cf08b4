package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"
)

// memberlist's transport carried over an existing TCP port (a voter port or
// a broker's Kafka listener): no UDP, no port of its own. A connection
// opens with connGossip and a kind byte:
//
//	stream:  | 0xA2 | 'S' | memberlist stream (push/pull, TCP ping) ...
//	packets: | 0xA2 | 'P' | uint8 n | sender host:port (n bytes) | frame | frame | ...
//	frame:   | uint32 BE len (1..gossipMaxPacket) | one memberlist packet (len bytes) |
//
// Packets go over one long-lived connection per destination, written by one
// sender goroutine from a bounded queue: WriteTo never blocks, and a packet
// that finds the queue full, the peer unreachable or the write failing is
// dropped (memberlist's packet path is best effort; probes retry, indirect
// probes and TCP pings back them up). The sender's advertised address rides
// in the packet connection's header because memberlist answers packets to
// their From address and an accepted connection's remote port is ephemeral.
const (
	gossipKindStream byte = 'S'
	gossipKindPacket byte = 'P'

	gossipMaxPacket    = 64 << 10 // memberlist packets are ~1.4 KB (UDPBufferSize)
	gossipQueueLen     = 64       // packets queued per destination
	gossipMaxPeers     = 1024     // destinations with a sender at once
	gossipDialTimeout  = time.Second
	gossipWriteTimeout = time.Second
	gossipPeerIdle     = 30 * time.Second // a sender idle this long closes its connection and ends
	gossipReadIdle     = 2 * time.Minute  // an inbound packet connection silent this long is dropped
)

// gossipAddr is the advertised address of a packet's sender.
type gossipAddr string

func (a gossipAddr) Network() string { return "tcp" }
func (a gossipAddr) String() string  { return string(a) }

// gossipTransport is a memberlist.Transport over connections handed over by
// a mux. It owns: one accept goroutine, one goroutine per inbound connection
// (a stream's until memberlist takes it, a packet connection's for its
// life), and one sender goroutine per destination with queued packets.
// Shutdown closes every connection and waits for all of them.
type gossipTransport struct {
	log  *zap.Logger
	ln   net.Listener // the mux's gossip side
	self string       // advertised host:port
	ip   net.IP
	port int

	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	done     chan struct{}
	// dialCtx is cancelled by Shutdown and ends dials in flight. (Like
	// Node.stopCtx, a context kept in a struct because it is the
	// transport's lifetime, not a request's.)
	dialCtx context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	conns connSet // every open connection, in and out

	mu     sync.Mutex
	closed bool
	peers  map[string]*gossipPeer
}

var _ memberlist.Transport = (*gossipTransport)(nil)

// newGossipTransport starts accepting on ln; advertise is the host:port
// (host an IP) other nodes dial to reach this one.
func newGossipTransport(ln net.Listener, advertise string, log *zap.Logger) (*gossipTransport, error) {
	host, portStr, err := net.SplitHostPort(advertise)
	if err != nil {
		return nil, fmt.Errorf("quorum: gossip advertise address %q: %w: %w", advertise, err, ErrInvalidConfig)
	}
	ip := net.ParseIP(host)
	port, perr := net.LookupPort("tcp", portStr)
	if ip == nil || perr != nil || port == 0 || len(advertise) > 255 {
		return nil, fmt.Errorf("quorum: gossip advertise address %q is not ip:port: %w", advertise, ErrInvalidConfig)
	}
	t := &gossipTransport{
		log: log, ln: ln, self: advertise, ip: ip, port: port,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		done:     make(chan struct{}),
		peers:    map[string]*gossipPeer{},
	}
	t.dialCtx, t.cancel = context.WithCancel(context.Background())
	t.wg.Add(1)
	go t.accept()
	return t, nil
}

func (t *gossipTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return t.ip, t.port, nil
}

func (t *gossipTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }
func (t *gossipTransport) StreamCh() <-chan net.Conn           { return t.streamCh }

// WriteTo queues one packet for addr and returns at once.
func (t *gossipTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	now := time.Now()
	if len(b) == 0 || len(b) > gossipMaxPacket {
		return now, fmt.Errorf("quorum: gossip packet of %d bytes to %s: must be 1..%d", len(b), addr, gossipMaxPacket)
	}
	pkt := append([]byte(nil), b...) // memberlist may reuse b
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return now, fmt.Errorf("quorum: gossip packet to %s: %w", addr, ErrClosed)
	}
	p, ok := t.peers[addr]
	if !ok {
		if len(t.peers) >= gossipMaxPeers {
			return now, fmt.Errorf("quorum: gossip packet to %s: %d destinations already", addr, len(t.peers))
		}
		p = &gossipPeer{t: t, addr: addr, queue: make(chan []byte, gossipQueueLen)}
		t.peers[addr] = p
		t.wg.Add(1)
		go p.run()
	}
	select {
	case p.queue <- pkt:
		return now, nil
	default:
		return now, fmt.Errorf("quorum: gossip packet to %s dropped: %d queued", addr, gossipQueueLen)
	}
}

// DialTimeout opens a stream connection to addr.
func (t *gossipTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.dial(addr, timeout, []byte{connGossip, gossipKindStream})
}

// dial connects to addr, writes preface and tracks the connection.
func (t *gossipTransport) dial(addr string, timeout time.Duration, preface []byte) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(t.dialCtx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write(preface); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("quorum: gossip handshake with %s: %w", addr, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	tc := t.conns.track(c)
	if tc == nil {
		return nil, fmt.Errorf("quorum: gossip dial %s: %w", addr, ErrClosed)
	}
	return tc, nil
}

// Shutdown stops accepting, closes every connection and waits for the
// transport's goroutines.
func (t *gossipTransport) Shutdown() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.wg.Wait()
		return nil
	}
	t.closed = true
	close(t.done)
	t.cancel()
	_ = t.ln.Close()
	t.mu.Unlock()
	t.conns.closeAll()
	t.wg.Wait()
	return nil
}

func (t *gossipTransport) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-t.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if c = t.conns.track(c); c == nil {
			return
		}
		t.wg.Add(1)
		go t.serve(c)
	}
}

// serve reads the kind byte of an inbound connection (connGossip was read
// by the mux) and hands a stream to memberlist or reads packets.
func (t *gossipTransport) serve(c net.Conn) {
	defer t.wg.Done()
	_ = c.SetReadDeadline(time.Now().Add(muxHandshakeTimeout))
	var kind [1]byte
	if _, err := io.ReadFull(c, kind[:]); err != nil {
		_ = c.Close()
		return
	}
	switch kind[0] {
	case gossipKindStream:
		_ = c.SetReadDeadline(time.Time{})
		select {
		case t.streamCh <- c:
		case <-t.done:
			_ = c.Close()
		}
	case gossipKindPacket:
		t.readPackets(c)
	default:
		t.log.Debug("gossip connection of unknown kind", zap.Uint8("kind", kind[0]), zap.Stringer("remote", c.RemoteAddr()))
		_ = c.Close()
	}
}

// readPackets delivers the frames of one packet connection until it fails.
func (t *gossipTransport) readPackets(c net.Conn) {
	defer c.Close()
	from, err := readGossipPacketHeader(c)
	if err != nil {
		t.log.Debug("bad gossip packet connection", zap.Stringer("remote", c.RemoteAddr()), zap.Error(err))
		return
	}
	addr := gossipAddr(from)
	for {
		_ = c.SetReadDeadline(time.Now().Add(gossipReadIdle))
		buf, err := readGossipFrame(c)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.log.Debug("gossip packet connection ended", zap.String("from", from), zap.Error(err))
			}
			return
		}
		select {
		case t.packetCh <- &memberlist.Packet{Buf: buf, From: addr, Timestamp: time.Now()}:
		case <-t.done:
			return
		}
	}
}

// gossipPeer sends the packets queued for one destination over one
// connection, redialled after a failure.
type gossipPeer struct {
	t     *gossipTransport
	addr  string
	queue chan []byte
	conn  net.Conn
}

func (p *gossipPeer) run() {
	defer p.t.wg.Done()
	defer func() {
		if p.conn != nil {
			_ = p.conn.Close()
		}
	}()
	idle := time.NewTimer(gossipPeerIdle)
	defer idle.Stop()
	for {
		select {
		case <-p.t.done:
			return
		case pkt := <-p.queue:
			p.send(pkt)
			idle.Reset(gossipPeerIdle) // go >= 1.23 timers: no stale tick to drain
		case <-idle.C:
			if p.retire() {
				return
			}
			idle.Reset(gossipPeerIdle)
		}
	}
}

// retire removes an idle peer unless WriteTo queued a packet meanwhile.
func (p *gossipPeer) retire() bool {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	if len(p.queue) > 0 {
		return false
	}
	delete(p.t.peers, p.addr)
	return true
}

// send writes one frame, dialling first if needed; a failure drops the
// packet and the connection.
func (p *gossipPeer) send(pkt []byte) {
	if p.conn == nil {
		c, err := p.t.dial(p.addr, gossipDialTimeout, appendGossipPacketHeader(nil, p.t.self))
		if err != nil {
			p.t.log.Debug("gossip packet dropped", zap.String("to", p.addr), zap.Error(err))
			return
		}
		p.conn = c
	}
	_ = p.conn.SetWriteDeadline(time.Now().Add(gossipWriteTimeout))
	if _, err := p.conn.Write(appendGossipFrame(nil, pkt)); err != nil {
		p.t.log.Debug("gossip packet dropped", zap.String("to", p.addr), zap.Error(err))
		_ = p.conn.Close()
		p.conn = nil
	}
}

// appendGossipPacketHeader appends a packet connection's preface:
// 0xA2 'P' uint8(len(from)) from. from is at most 255 bytes (checked by
// newGossipTransport).
func appendGossipPacketHeader(b []byte, from string) []byte {
	b = append(b, connGossip, gossipKindPacket, byte(len(from)))
	return append(b, from...)
}

// readGossipPacketHeader reads what follows 0xA2 'P': the sender's address.
func readGossipPacketHeader(r io.Reader) (string, error) {
	var n [1]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return "", fmt.Errorf("quorum: gossip packet header: %w", err)
	}
	from := make([]byte, n[0])
	if _, err := io.ReadFull(r, from); err != nil {
		return "", fmt.Errorf("quorum: gossip packet header: %w", err)
	}
	if _, _, err := net.SplitHostPort(string(from)); err != nil {
		return "", fmt.Errorf("quorum: gossip packet header: sender %q: %w: %w", from, err, ErrBadGossipFrame)
	}
	return string(from), nil
}

func appendGossipFrame(b, pkt []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(pkt)))
	return append(b, pkt...)
}

// readGossipFrame reads one frame. io.EOF only at a frame boundary.
func readGossipFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("quorum: gossip frame header: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > gossipMaxPacket {
		return nil, fmt.Errorf("quorum: gossip frame of %d bytes, want 1..%d: %w", n, gossipMaxPacket, ErrBadGossipFrame)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // a header without its body is no clean end
		}
		return nil, fmt.Errorf("quorum: gossip frame of %d bytes: %w", n, err)
	}
	return buf, nil
}
