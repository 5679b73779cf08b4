package quorum

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

// maxResponseBytes bounds a response frame read from a controller.
const maxResponseBytes = 256 << 20

// ctrlConn is one Kafka-protocol connection from a broker to a controller
// (TLS and SASL as sec says, set up by network.ClientSecurity.Dial):
// one request in flight at a time (mu), framed by kmsg's RequestFormatter,
// response bodies decoded by kmsg. A failed request closes the connection;
// the next request dials again.
type ctrlConn struct {
	addr     string
	clientID string
	sec      network.ClientSecurity // TLS and SASL of the controller listener

	mu   sync.Mutex
	nc   net.Conn
	corr int32
}

func (c *ctrlConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
}

// request sends req (its version already set) and returns the response.
func (c *ctrlConn) request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc == nil {
		nc, err := c.sec.Dial(ctx, c.addr)
		if err != nil {
			return nil, err
		}
		c.nc = nc
	}
	c.corr++
	resp, err := network.RoundTrip(ctx, c.nc, c.clientID, c.corr, req, maxResponseBytes, nil)
	if err != nil {
		_ = c.nc.Close()
		c.nc = nil
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", c.addr, err)
	}
	return resp, nil
}
