package network

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// BenchmarkRoundTrip measures one ApiVersions request/response on one
// connection, sequentially (framing, kmsg decode/encode, two goroutines).
func BenchmarkRoundTrip(b *testing.B) {
	h := newFakeHandler()
	s := NewServer(Config{}, h, zap.NewNop())
	addr, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Close()
	c := dial(b, addr.String())
	req := kmsg.NewPtrApiVersionsRequest()
	resp := kmsg.NewPtrApiVersionsResponse()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.send(req, 3, int32(i))
		c.recv(resp, 3)
	}
	b.StopTimer()
	c.nc.Close()
}
