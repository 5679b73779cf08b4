package replica

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

// maxResponseBytes bounds one response frame from a leader (franz-go's
// default BrokerMaxReadBytes).
const maxResponseBytes = 100 << 20

// keepBufferBytes: a read buffer grown past this by one large answer is
// dropped after it, not kept for the fetcher's lifetime.
const keepBufferBytes = 16 << 20

// leaderConn is the fetcher's connection to one leader (Kafka's
// ReplicaFetcherBlockingSend): one request at a time, written and read by
// the calling goroutine itself, so a fetch round costs no goroutine
// hand-off on this side (franz-go's client passes each request to a writer
// goroutine and each response back from a reader goroutine, which on a
// loaded machine adds a scheduling delay to every acks=all produce), and
// responses are read into one buffer reused from round to round (a
// response's byte fields, the fetched record batches, alias it until the
// next Request). Requests are encoded and responses decoded by kmsg, at
// the highest version both sides support (ApiVersions on connect).
// TLS and SASL as sec says (network.ClientSecurity.Dial). A failed request
// closes the connection; the next one dials again.
type leaderConn struct {
	addr     string
	clientID string
	sec      network.ClientSecurity
	timeout  time.Duration // dial and ApiVersions bound

	nc       net.Conn
	corr     int32
	versions map[int16]int16 // the leader's max version per API key
	bufs     network.Buffers
}

var _ source = (*leaderConn)(nil)

func (m *Manager) dialLeader(addr string) (source, error) {
	return &leaderConn{
		addr:     addr,
		clientID: fmt.Sprintf("zkraft-replica-fetcher-%d", m.cfg.NodeID),
		sec:      m.cfg.Security,
		timeout:  m.cfg.SocketTimeout,
		bufs:     network.Buffers{Keep: keepBufferBytes},
	}, nil
}

// Close closes the connection (a later Request dials again).
func (c *leaderConn) Close() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
}

// Request sends req at the highest version both sides support and returns
// its response, valid until the next Request (its byte slices alias the
// read buffer). Not safe for concurrent use: the fetcher goroutine owns it.
func (c *leaderConn) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	if c.nc == nil {
		if err := c.connect(ctx); err != nil {
			return nil, err
		}
	}
	max, ok := c.versions[req.Key()]
	if !ok {
		return nil, fmt.Errorf("leader %s does not support %s", c.addr, kmsg.NameForKey(req.Key()))
	}
	req.SetVersion(min(max, req.MaxVersion()))
	return c.roundTrip(ctx, req)
}

// connect dials and learns the leader's versions.
func (c *leaderConn) connect(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	nc, err := c.sec.Dial(dctx, c.addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", c.addr, err)
	}
	c.nc = nc
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "zkraft", "1"
	raw, err := c.roundTrip(dctx, av)
	if err != nil {
		return err
	}
	resp := raw.(*kmsg.ApiVersionsResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		c.Close()
		return fmt.Errorf("ApiVersions from %s: %w", c.addr, err)
	}
	c.versions = make(map[int16]int16, len(resp.ApiKeys))
	for _, k := range resp.ApiKeys {
		c.versions[k.ApiKey] = k.MaxVersion
	}
	return nil
}

func (c *leaderConn) roundTrip(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c.corr++
	resp, err := network.RoundTrip(ctx, c.nc, c.clientID, c.corr, req, maxResponseBytes, &c.bufs)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", c.addr, err)
	}
	return resp, nil
}
