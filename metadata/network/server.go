package network

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Request is one decoded Kafka request as the Handler sees it.
type Request struct {
	APIKey, Version int16
	CorrelationID   int32
	ClientID        *string      // nil when the client sent a null client id
	Body            kmsg.Request // decoded by kmsg at Version
	Listener        string       // name given to Listen, e.g. "PLAINTEXT"
	RemoteAddr      net.Addr
	// Principal is who sent the request, in Kafka's KafkaPrincipal text
	// form ("User:alice"): AnonymousPrincipal until TLS client
	// authentication or SASL established who is on the connection.
	Principal string
}

// AnonymousPrincipal is the principal of a connection nothing
// authenticated (Kafka's KafkaPrincipal.ANONYMOUS).
const AnonymousPrincipal = "User:ANONYMOUS"

// Handler serves decoded requests. Requests of one connection are handed
// over one at a time, in the order they arrived; requests of different
// connections concurrently. ctx is cancelled when the connection or the
// server closes. A nil response (with a nil error) sends nothing (acks=0
// produce). An error closes the connection. The server sets the response's
// version to the request's. The byte fields of a decoded request alias its
// frame; a Produce request's frame is reused once Handle returns, so a
// Produce handler (and anything it calls) must not keep its bytes (records,
// ...) past that: storage copies them into the log.
type Handler interface {
	Handle(ctx context.Context, req *Request) (kmsg.Response, error)
}

// Server is the Go counterpart of Kafka's SocketServer: it owns listeners
// and connections, frames and decodes requests, calls the Handler and writes
// responses in request order.
type Server struct {
	cfg      Config
	h        Handler
	versions map[int16][2]int16 // nil when h is not a Versioner
	// saslVersions is versions plus SaslHandshake and SaslAuthenticate,
	// which the server answers itself on SASL listeners (sasl.go).
	saslVersions map[int16][2]int16
	logger       *zap.Logger

	ctx    context.Context // cancelled by Close; parent of every connection's
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners []*listener
	conns     map[*conn]struct{}
	started   bool
	closed    bool
	wg        sync.WaitGroup // accept loops, readers, writers
}

type listener struct {
	name string
	ln   net.Listener
	tls  *tls.Config // nil: plaintext (tls.go)

	sasl    []SASLMechanism // WithSASL (sasl.go)
	saslSet bool
}

// NewServer returns a server that serves h. Zero fields of cfg take
// DefaultConfig's values; an invalid cfg makes Listen fail. If h implements
// Versioner, Versions is called once, here.
func NewServer(cfg Config, h Handler, logger *zap.Logger) *Server {
	def := DefaultConfig()
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = def.MaxRequestBytes
	}
	if cfg.ConnectionsMaxIdle == 0 {
		cfg.ConnectionsMaxIdle = def.ConnectionsMaxIdle
	}
	if cfg.ResponseQueue == 0 {
		cfg.ResponseQueue = def.ResponseQueue
	}
	if cfg.SASLMaxReceiveSize == 0 {
		cfg.SASLMaxReceiveSize = def.SASLMaxReceiveSize
	}
	s := &Server{
		cfg:    cfg,
		h:      h,
		logger: logger.Named("network"),
		conns:  make(map[*conn]struct{}),
	}
	if v, ok := h.(Versioner); ok {
		s.versions = v.Versions()
		s.saslVersions = withSASLVersions(v.Versions())
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Listen binds a TCP listener named name (e.g. "PLAINTEXT", "CONTROLLER")
// on addr and returns the bound address (useful with port 0). Connections are
// accepted once Start has been called (at once if it was). opts add SASL
// (WithSASL); TLS comes from Config.TLS.
func (s *Server) Listen(name, addr string, opts ...ListenOption) (net.Addr, error) {
	if err := s.cfg.Validate(); err != nil {
		return nil, err
	}
	l := &listener{name: name}
	for _, o := range opts {
		o(l)
	}
	if err := checkListener(l); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("listen %s on %s: %w", name, addr, ErrClosed)
	}
	for _, l := range s.listeners {
		if l.name == name {
			return nil, fmt.Errorf("listen %s on %s: %w", name, addr, ErrDuplicateListener)
		}
	}
	tc, err := s.serverTLS(name)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s on %s: %w", name, addr, err)
	}
	l.ln, l.tls = ln, tc
	s.listeners = append(s.listeners, l)
	if s.started {
		s.wg.Add(1)
		go s.accept(l)
	}
	s.logger.Info("listening", zap.String("listener", name), zap.Stringer("addr", ln.Addr()), zap.Bool("tls", tc != nil))
	return ln.Addr(), nil
}

// Serve accepts connections from ln as the listener named name, like
// Listen but on a listener the caller made (the quorum's connection-type
// multiplexer shares one port between raft and the Kafka protocol). The
// server owns ln from now on and closes it on Close.
func (s *Server) Serve(name string, ln net.Listener, opts ...ListenOption) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	l := &listener{name: name, ln: ln}
	for _, o := range opts {
		o(l)
	}
	if err := checkListener(l); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("serve %s on %s: %w", name, ln.Addr(), ErrClosed)
	}
	for _, l := range s.listeners {
		if l.name == name {
			return fmt.Errorf("serve %s on %s: %w", name, ln.Addr(), ErrDuplicateListener)
		}
	}
	tc, err := s.serverTLS(name)
	if err != nil {
		return err
	}
	l.tls = tc
	s.listeners = append(s.listeners, l)
	if s.started {
		s.wg.Add(1)
		go s.accept(l)
	}
	s.logger.Info("serving", zap.String("listener", name), zap.Stringer("addr", ln.Addr()))
	return nil
}

// Addr returns the bound address of the listener named name.
func (s *Server) Addr(name string) (net.Addr, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.name == name {
			return l.ln.Addr(), true
		}
	}
	return nil, false
}

// Start begins accepting connections on every listener. Calling it twice,
// or after Close, does nothing.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	for _, l := range s.listeners {
		s.wg.Add(1)
		go s.accept(l)
	}
}

// Close stops the listeners, closes every connection, cancels the contexts
// of in-flight handlers and waits for every goroutine of the server.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	s.cancel()
	var errs []error
	for _, l := range s.listeners {
		if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("close listener %s: %w", l.name, err))
		}
	}
	for c := range s.conns {
		c.abort()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) accept(l *listener) {
	defer s.wg.Done()
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, keep serving.
			s.logger.Warn("accept failed", zap.String("listener", l.name), zap.Error(err))
			t := time.NewTimer(50 * time.Millisecond)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		if l.tls != nil {
			nc = tls.Server(nc, l.tls) // handshake in the reader (tls.go)
		}
		c := &conn{
			s:        s,
			nc:       nc,
			listener: l.name,
			out:      make(chan outFrame, s.cfg.ResponseQueue),
			logger:   s.logger.With(zap.String("listener", l.name), zap.Stringer("remote", nc.RemoteAddr())),

			principal: AnonymousPrincipal,
			sasl:      newSASLConn(l),
		}
		c.ctx, c.cancel = context.WithCancel(s.ctx)
		s.conns[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		go c.read()
		go c.write()
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// conn is one client connection. The reader goroutine owns reading and
// calling the handler; the writer goroutine writes the answers queued on
// out, and the reader writes one itself when none is queued (queued == 0),
// so responses keep request order and only one goroutine writes at a time.
// They share out (reader -> writer, closed by the reader), queued and ctx.
type conn struct {
	s        *Server
	nc       net.Conn
	listener string
	ctx      context.Context
	cancel   context.CancelFunc
	out      chan outFrame // encoded responses; a FileResponse's regions stay in their files
	logger   *zap.Logger
	// principal is the connection's authenticated principal and sasl its
	// authentication state (nil: not a SASL listener); only the reader
	// goroutine touches them.
	principal string
	sasl      *saslConn
	// closeAfter (reader only): close once the queued responses are written.
	closeAfter bool
	// queued counts the frames handed to the writer and not yet written;
	// at 0 the reader may write an answer itself (nothing can overtake it).
	queued atomic.Int32
}

// abort closes the connection at once: in-flight handler contexts are
// cancelled and blocked reads and writes return.
func (c *conn) abort() {
	c.cancel()
	_ = c.nc.Close()
}

// read reads, decodes and handles requests one at a time, and queues their
// responses for the writer. When it returns, the writer sends what is
// queued and closes the connection.
func (c *conn) read() {
	defer c.s.wg.Done()
	defer close(c.out)
	if !c.handshake() {
		return
	}
	var size [4]byte
	for {
		if err := c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.ConnectionsMaxIdle)); err != nil {
			return
		}
		if _, err := io.ReadFull(c.nc, size[:]); err != nil {
			c.logReadEnd(err)
			return
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if limit, key := c.maxFrame(); n > limit || n < 0 {
			c.logger.Debug("closing connection", zap.Error(fmt.Errorf("%w: %d bytes, %s is %d",
				ErrFrameTooLarge, n, key, limit)))
			return
		}
		if n < minFrameSize && !c.rawSASL() {
			c.logger.Debug("closing connection", zap.Error(fmt.Errorf("%w: size %d", ErrFrameTooSmall, n)))
			return
		}
		frame, pooled, err := c.readFrame(n)
		if err != nil {
			c.logReadEnd(err)
			return
		}
		out, ok := c.serve(frame)
		if pooled != nil {
			putFrameBuf(pooled)
		}
		if !ok {
			return
		}
		if out.buf != nil {
			if c.queued.Load() == 0 && out.size() <= inlineWriteMax {
				// Nothing before it is still being written: send it from
				// here, sparing the hand-off to the writer goroutine
				// (a scheduling delay on a busy machine, on every answer).
				if !c.send(out) {
					return
				}
			} else {
				c.queued.Add(1)
				select {
				case c.out <- out:
				case <-c.ctx.Done():
					c.queued.Add(-1)
					out.done()
					return
				}
			}
		}
		if c.closeAfter {
			return
		}
	}
}

// readFrame reads a request frame of n bytes. A Produce frame (api key 0)
// is read into a pooled buffer, returned as pooled, which the caller puts
// back once serve has returned: produce frames carry the records and are
// most of what a broker allocates, and the produce handler keeps none of
// their bytes past Handle (see Handler). Every other frame is a fresh
// allocation its handler may keep parts of (group metadata, SASL tokens).
func (c *conn) readFrame(n int32) (frame []byte, pooled *[]byte, err error) {
	if c.rawSASL() || n < 2 {
		frame = make([]byte, n)
		_, err = io.ReadFull(c.nc, frame)
		return frame, nil, err
	}
	var key [2]byte
	if _, err := io.ReadFull(c.nc, key[:]); err != nil {
		return nil, nil, err
	}
	if binary.BigEndian.Uint16(key[:]) == 0 {
		pooled = getFrameBuf(int(n))
		frame = (*pooled)[:n]
	} else {
		frame = make([]byte, n)
	}
	copy(frame, key[:])
	if _, err := io.ReadFull(c.nc, frame[2:]); err != nil {
		if pooled != nil {
			putFrameBuf(pooled)
		}
		return nil, nil, err
	}
	return frame, pooled, nil
}

// serve handles one frame; it returns the encoded response (a nil buf for
// none) and false when the connection must close.
func (c *conn) serve(frame []byte) (outFrame, bool) {
	if c.rawSASL() {
		return c.serveRawSASL(frame)
	}
	versions := c.s.versions
	if c.sasl != nil {
		versions = c.s.saslVersions
	}
	h, body, err := decodeRequest(frame, versions)
	var resp kmsg.Response
	switch {
	case errors.Is(err, errApiVersionsUnsupported):
		c.logger.Debug("unsupported ApiVersions version, answering v0", zap.Int16("version", h.version))
		resp = unsupportedApiVersions(versions)
	case err != nil:
		c.logger.Debug("closing connection", zap.Int16("api_key", h.key), zap.Int16("version", h.version), zap.Error(err))
		return outFrame{}, false
	default:
		if r, keep, handled := c.gate(h, body); handled {
			if r == nil {
				return outFrame{}, keep
			}
			c.closeAfter = !keep
			resp = r
			break
		}
		req := &Request{
			APIKey: h.key, Version: h.version, CorrelationID: h.correlationID, ClientID: h.clientID,
			Body: body, Listener: c.listener, RemoteAddr: c.nc.RemoteAddr(), Principal: c.principal,
		}
		resp, err = c.handle(req)
		if err != nil {
			if c.ctx.Err() == nil {
				c.logger.Info("handler failed, closing connection", zap.String("api", kmsg.NameForKey(h.key)), zap.Error(err))
			}
			return outFrame{}, false
		}
		if resp == nil {
			return outFrame{}, true
		}
		if resp.Key() != h.key {
			releaseResponse(resp)
			c.logger.Error("closing connection", zap.Error(fmt.Errorf("%w: %s request got a %s response",
				ErrBadResponse, kmsg.NameForKey(h.key), kmsg.NameForKey(resp.Key()))))
			return outFrame{}, false
		}
		resp.SetVersion(h.version)
	}
	if c.sasl != nil {
		addSASLKeys(resp)
	}
	out, err := frameOf(h.correlationID, resp)
	if err != nil {
		releaseResponse(resp)
		c.logger.Error("closing connection", zap.String("api", kmsg.NameForKey(h.key)), zap.Error(err))
		return outFrame{}, false
	}
	return out, true
}

// handle calls the handler; a panic in it closes only this connection.
func (c *conn) handle(req *Request) (resp kmsg.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.logger.Error("handler panicked", zap.String("api", kmsg.NameForKey(req.APIKey)), zap.Any("panic", p), zap.Stack("stack"))
			resp, err = nil, fmt.Errorf("handler panic: %v", p)
		}
	}()
	return c.s.h.Handle(c.ctx, req)
}

func (c *conn) logReadEnd(err error) {
	switch {
	case errors.Is(err, io.EOF), c.ctx.Err() != nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.logger.Debug("closing idle connection", zap.Duration("connections.max.idle.ms", c.s.cfg.ConnectionsMaxIdle))
	default:
		c.logger.Debug("read failed", zap.Error(err))
	}
}

// write sends queued responses in order until the reader closes out, then
// closes the connection. After a failed write it discards the rest. The
// reader writes an answer itself instead when none is queued (read).
func (c *conn) write() {
	defer c.s.wg.Done()
	defer c.s.forget(c)
	defer c.abort()
	failed := false
	for out := range c.out {
		if failed {
			out.done()
		} else {
			failed = !c.send(out)
		}
		c.queued.Add(-1)
	}
}

// inlineWriteMax: the reader writes an answer of at most this many bytes
// itself when the writer has nothing queued (see read).
const inlineWriteMax = 1 << 20

// send writes out and releases it; a failed write closes the connection
// (unblocking the reader and the handler) and reports false. Called by the
// reader while queued is 0, else by the writer: never both at once.
func (c *conn) send(out outFrame) bool {
	err := c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.ConnectionsMaxIdle))
	if err == nil {
		err = writeFrame(c.nc, out)
	}
	out.done()
	if err == nil {
		return true
	}
	if c.ctx.Err() == nil {
		c.logger.Debug("write failed", zap.Error(err))
	}
	c.abort()
	return false
}
