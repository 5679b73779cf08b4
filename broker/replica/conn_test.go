package replica

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/network"
)

// stubLeader answers ApiVersions with Fetch capped at v12 and every Fetch
// with one partition carrying the request's fetch offset as its record
// bytes; a fetch offset of -1 fails the handler, which closes the
// connection.
type stubLeader struct {
	mu       sync.Mutex
	versions []int16 // Fetch versions seen
	conns    map[string]bool
}

func (s *stubLeader) Handle(_ context.Context, req *network.Request) (kmsg.Response, error) {
	s.mu.Lock()
	s.conns[req.RemoteAddr.String()] = true
	s.mu.Unlock()
	switch body := req.Body.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := body.ResponseKind().(*kmsg.ApiVersionsResponse)
		for _, k := range []struct{ key, max int16 }{{18, 3}, {1, 12}} {
			ak := kmsg.NewApiVersionsResponseApiKey()
			ak.ApiKey, ak.MaxVersion = k.key, k.max
			resp.ApiKeys = append(resp.ApiKeys, ak)
		}
		return resp, nil
	case *kmsg.FetchRequest:
		s.mu.Lock()
		s.versions = append(s.versions, req.Version)
		s.mu.Unlock()
		off := body.Topics[0].Partitions[0].FetchOffset
		if off < 0 {
			return nil, errors.New("stub: fail this connection")
		}
		resp := body.ResponseKind().(*kmsg.FetchResponse)
		t := kmsg.NewFetchResponseTopic()
		t.Topic = body.Topics[0].Topic
		p := kmsg.NewFetchResponseTopicPartition()
		p.HighWatermark = off
		p.RecordBatches = make([]byte, off) // the answer's size follows the offset
		for i := range p.RecordBatches {
			p.RecordBatches[i] = byte(off)
		}
		t.Partitions = append(t.Partitions, p)
		resp.Topics = append(resp.Topics, t)
		return resp, nil
	}
	return nil, errors.New("stub: unexpected request")
}

func fetchAt(off int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = 2
	t := kmsg.NewFetchRequestTopic()
	t.Topic = "t"
	p := kmsg.NewFetchRequestTopicPartition()
	p.FetchOffset = off
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	return req
}

// TestLeaderConnVersionsBufferAndRedial: requests go at the leader's max
// version, answers decode (a smaller one after a larger one reuses the
// buffer), and a connection the leader closed is dialled again by the
// next request.
func TestLeaderConnVersionsBufferAndRedial(t *testing.T) {
	stub := &stubLeader{conns: map[string]bool{}}
	srv := network.NewServer(network.DefaultConfig(), stub, zaptest.NewLogger(t))
	addr, err := srv.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()

	c := &leaderConn{addr: addr.String(), clientID: "test", timeout: 5 * time.Second}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check := func(off int64) {
		t.Helper()
		raw, err := c.Request(ctx, fetchAt(off))
		if err != nil {
			t.Fatalf("fetch at %d: %v", off, err)
		}
		p := raw.(*kmsg.FetchResponse).Topics[0].Partitions[0]
		if p.HighWatermark != off || len(p.RecordBatches) != int(off) || (off > 0 && p.RecordBatches[off-1] != byte(off)) {
			t.Fatalf("fetch at %d answered hw %d with %d record bytes", off, p.HighWatermark, len(p.RecordBatches))
		}
	}
	check(100)
	check(7) // into the buffer of the larger answer
	if _, err := c.Request(ctx, fetchAt(-1)); err == nil {
		t.Fatal("fetch the leader failed: no error")
	}
	check(50) // dials again
	if _, err := c.Request(ctx, kmsg.NewPtrListOffsetsRequest()); err == nil {
		t.Fatal("ListOffsets, which the leader does not list: no error")
	}

	stub.mu.Lock()
	defer stub.mu.Unlock()
	for i, v := range stub.versions {
		if v != 12 {
			t.Fatalf("fetch %d at version %d, want the leader's max 12", i, v)
		}
	}
	if len(stub.versions) != 4 || len(stub.conns) != 2 {
		t.Fatalf("%d fetches on %d connections, want 4 on 2", len(stub.versions), len(stub.conns))
	}
}
