package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"
)

func TestFrameBufClass(t *testing.T) {
	for _, tt := range []struct{ n, class int }{
		{0, 0}, {1, 0}, {4096, 0}, {4097, 1}, {8192, 1}, {1 << 20, 8}, {1<<20 + 1, 9}, {16 << 20, 12}, {16<<20 + 1, -1},
	} {
		if got := frameBufClass(tt.n); got != tt.class {
			t.Errorf("frameBufClass(%d) = %d, want %d", tt.n, got, tt.class)
		}
		b := getFrameBuf(tt.n)
		if len(*b) < tt.n {
			t.Errorf("getFrameBuf(%d) has %d bytes", tt.n, len(*b))
		}
		putFrameBuf(b)
	}
}

// produceEcho answers a Produce with one partition whose error message
// describes its records (length and a checksum of the bytes), and a
// Metadata request with its topic as the cluster id.
type produceEcho struct{}

func (produceEcho) Handle(_ context.Context, req *Request) (kmsg.Response, error) {
	switch body := req.Body.(type) {
	case *kmsg.ProduceRequest:
		resp := body.ResponseKind().(*kmsg.ProduceResponse)
		recs := body.Topics[0].Partitions[0].Records
		t := kmsg.NewProduceResponseTopic()
		t.Topic = body.Topics[0].Topic
		p := kmsg.NewProduceResponseTopicPartition()
		p.ErrorMessage = kmsg.StringPtr(describe(recs))
		t.Partitions = append(t.Partitions, p)
		resp.Topics = append(resp.Topics, t)
		return resp, nil
	case *kmsg.MetadataRequest:
		resp := body.ResponseKind().(*kmsg.MetadataResponse)
		resp.ClusterID = body.Topics[0].Topic
		return resp, nil
	}
	return nil, errors.New("unexpected request")
}

func describe(b []byte) string {
	var sum uint64
	for i, c := range b {
		sum = sum*31 + uint64(c) + uint64(i)
	}
	return fmt.Sprintf("%d:%x", len(b), sum)
}

// TestProduceFramesPooled sends produce requests of shrinking and growing
// sizes on one connection, with other requests between them: each handler
// sees its own request's bytes though the frames share pooled buffers.
func TestProduceFramesPooled(t *testing.T) {
	s := NewServer(DefaultConfig(), produceEcho{}, zaptest.NewLogger(t))
	addr, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close()
	c := dial(t, addr.(*net.TCPAddr).String())
	for i, n := range []int{300_000, 5_000, 70_000, 5_000, 1 << 20, 10} {
		recs := bytes.Repeat([]byte{byte(i + 1)}, n)
		recs[n/2] = 0xee
		req := kmsg.NewPtrProduceRequest()
		req.Acks = 1
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = recs
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		c.send(req, 8, int32(2*i)) // v8+: error messages
		resp := kmsg.NewPtrProduceResponse()
		if corr := c.recv(resp, 8); corr != int32(2*i) {
			t.Fatalf("produce %d: correlation id %d", i, corr)
		}
		if got, want := *resp.Topics[0].Partitions[0].ErrorMessage, describe(recs); got != want {
			t.Fatalf("produce %d of %d bytes: handler saw %s, want %s", i, n, got, want)
		}
		topic := fmt.Sprintf("between-%d", i)
		c.send(metadataFor(topic), 12, int32(2*i+1))
		mresp := kmsg.NewPtrMetadataResponse()
		c.recv(mresp, 12)
		if mresp.ClusterID == nil || *mresp.ClusterID != topic {
			t.Fatalf("metadata after produce %d: cluster id %v", i, mresp.ClusterID)
		}
	}
}
