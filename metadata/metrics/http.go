package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// ParseListener parses zkraft.metrics.listener, http://host:port, into
// the address to bind. Only http is served (scrapes stay on a trusted
// network, as Kafka's JMX exporter agents do).
func ParseListener(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrInvalidListener, v, err)
	}
	if u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("%w: %q is not http://host:port", ErrInvalidListener, v)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrInvalidListener, v, err)
	}
	return u.Host, nil
}

// Health is what /readyz answers: not ready with a reason until the node
// says otherwise (Set), and while any check fails. Safe for concurrent use.
type Health struct {
	mu     sync.Mutex
	reason string // "" = ready as far as the node's own steps go
	checks []func() error
}

// NewHealth returns a Health that is not ready: "starting".
func NewHealth() *Health { return &Health{reason: "starting"} }

// Set records the node's state: "" once it serves, else why it does not
// ("starting: waiting for the metadata source", "shutting down").
func (h *Health) Set(reason string) {
	h.mu.Lock()
	h.reason = reason
	h.mu.Unlock()
}

// AddCheck adds a condition that must hold (nil) for the node to be
// ready, run on each /readyz request once Set("") was called.
func (h *Health) AddCheck(check func() error) {
	h.mu.Lock()
	h.checks = append(h.checks, check)
	h.mu.Unlock()
}

// Ready is nil when the node is ready, else ErrNotReady with the reason.
func (h *Health) Ready() error {
	h.mu.Lock()
	reason, checks := h.reason, h.checks
	h.mu.Unlock()
	if reason != "" {
		return fmt.Errorf("%w: %s", ErrNotReady, reason)
	}
	for _, c := range checks {
		if err := c(); err != nil {
			return fmt.Errorf("%w: %w", ErrNotReady, err)
		}
	}
	return nil
}

// Server serves /metrics (reg, Prometheus text or protobuf), /healthz
// (200 while the process runs) and /readyz (200 "ready", or 503 with the
// reason) on one listener. It owns one goroutine, the http.Server's Serve
// loop (and the server's per-connection goroutines), which Close ends and
// waits for.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	err  error // Serve's error, read after done
}

// Listen binds addr and starts serving.
func Listen(addr string, reg *Registry, health *Health, logger *zap.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg.Gatherer(), promhttp.HandlerOpts{
		ErrorLog:      zap.NewStdLog(logger.Named("metrics")),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := health.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintln(w, err.Error())
			return
		}
		_, _ = fmt.Fprintln(w, "ready")
	})
	s := &Server{ln: ln, done: make(chan struct{}), srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(logger.Named("metrics")),
	}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	logger.Info("metrics listener started", zap.String("addr", ln.Addr().String()))
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the listener, lets in-flight scrapes finish (at most 2 s)
// and waits for the Serve goroutine.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	return errors.Join(err, s.err)
}
