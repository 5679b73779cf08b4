package quorum

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
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
	nc := c.nc
	fail := func(err error) (kmsg.Response, error) {
		_ = nc.Close()
		c.nc = nil
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	} else {
		_ = nc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()

	c.corr++
	corr := c.corr
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID(c.clientID))
	if _, err := nc.Write(f.AppendRequest(nil, req, corr)); err != nil {
		return fail(fmt.Errorf("write %s to %s: %w", kmsg.NameForKey(req.Key()), c.addr, err))
	}
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		return fail(fmt.Errorf("read response from %s: %w", c.addr, err))
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > maxResponseBytes {
		return fail(fmt.Errorf("response of %d bytes from %s", n, c.addr))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(nc, buf); err != nil {
		return fail(fmt.Errorf("read response from %s: %w", c.addr, err))
	}
	if got := int32(binary.BigEndian.Uint32(buf)); got != corr {
		return fail(fmt.Errorf("response correlation id %d from %s, want %d", got, c.addr, corr))
	}
	body := buf[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != 18 { // ApiVersions keeps header v0
		r := kbin.Reader{Src: body}
		kmsg.SkipTags(&r)
		if !r.Ok() {
			return fail(fmt.Errorf("response header tags from %s: %w", c.addr, ErrBadResponse))
		}
		body = r.Src
	}
	if err := resp.ReadFrom(body); err != nil {
		return fail(fmt.Errorf("decode %s response from %s: %w", kmsg.NameForKey(req.Key()), c.addr, err))
	}
	return resp, nil
}
