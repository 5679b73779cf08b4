package network

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/wait"
)

// fetchFixture is a fetch response of two topics with data, empty and
// errored partitions, aborted transactions and (v12+) tagged fields, whose
// record bytes come from regions of one file.
type fetchFixture struct {
	file    *os.File
	content []byte
}

func newFetchFixture(t *testing.T) *fetchFixture {
	t.Helper()
	content := make([]byte, 300<<10)
	_, _ = rand.Read(content)
	p := filepath.Join(t.TempDir(), "segment.log")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &fetchFixture{file: f, content: content}
}

// regions per partition index: nil = no data, else ranges of the file.
var fixtureRegions = [][][2]int64{
	{{0, 1000}},
	nil,
	{{5000, 70000}, {100000, 200000}}, // spans two "segments"
	{{299 << 10, 1 << 10}},
	{{17, 1}},
}

// response builds the fixture at version v; with fr it attaches regions,
// else it holds the bytes inline.
func (fx *fetchFixture) response(v int16, fr *FileResponse) *kmsg.FetchResponse {
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(v)
	resp.ThrottleMillis, resp.ErrorCode, resp.SessionID = 7, 0, 12345
	resp.Topics = make([]kmsg.FetchResponseTopic, 2)
	for ti := range resp.Topics {
		t := &resp.Topics[ti]
		*t = kmsg.NewFetchResponseTopic()
		t.Topic = []string{"alpha", "beta-topic"}[ti]
		t.TopicID = [16]byte{byte(ti + 1), 2, 3}
		t.Partitions = make([]kmsg.FetchResponseTopicPartition, len(fixtureRegions))
		for pi, regs := range fixtureRegions {
			p := &t.Partitions[pi]
			*p = kmsg.NewFetchResponseTopicPartition()
			p.Partition = int32(pi)
			p.HighWatermark, p.LastStableOffset, p.LogStartOffset = 1000+int64(pi), 900, 3
			p.PreferredReadReplica = -1
			p.RecordBatches = []byte{}
			if pi == 1 {
				p.ErrorCode = 6
				p.HighWatermark, p.LastStableOffset, p.LogStartOffset = -1, -1, -1
			}
			if pi == 3 {
				at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
				at.ProducerID, at.FirstOffset = 99, 5
				p.AbortedTransactions = append(p.AbortedTransactions, at)
				p.DivergingEpoch.Epoch, p.DivergingEpoch.EndOffset = 4, 77
				p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = 2, 9
			}
			if regs == nil {
				continue
			}
			if fr == nil {
				for _, r := range regs {
					p.RecordBatches = append(p.RecordBatches, fx.content[r[0]:r[0]+r[1]]...)
				}
				continue
			}
			var frs []FileRegion
			for _, r := range regs {
				frs = append(frs, FileRegion{File: fx.file, Off: r[0], Len: r[1]})
			}
			p.RecordBatches = fr.Attach(frs...)
		}
	}
	return resp
}

func (fx *fetchFixture) fileResponse(v int16) *FileResponse {
	fr := NewFileResponse(nil)
	fr.Response = fx.response(v, fr)
	return fr
}

// TestFileResponseFraming: for every Fetch version the broker serves
// (4-13, flexible from 12), the frame a FileResponse sends (regions spliced
// in by sendfile over TCP and by the pooled copy over a pipe) is byte for
// byte kmsg's encoding of the same response with the bytes inline, and
// kmsg decodes it back field by field.
func TestFileResponseFraming(t *testing.T) {
	fx := newFetchFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for v := int16(4); v <= 13; v++ {
		want := appendResponse(nil, 42, fx.response(v, nil))
		for _, path := range []string{"sendfile", "wrapped", "copy"} {
			fr := fx.fileResponse(v)
			var released atomic.Int32
			fr.OnRelease(func() { released.Add(1) })
			out, err := frameOf(42, fr)
			if err != nil {
				t.Fatalf("v%d: %v", v, err)
			}
			got := sendOver(t, ln, path, out)
			out.done()
			out.done()
			if released.Load() != 1 {
				t.Fatalf("v%d %s: released %d times, want 1", v, path, released.Load())
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("v%d %s: frame differs from kmsg's (%d vs %d bytes)", v, path, len(got), len(want))
			}
			decoded := kmsg.NewPtrFetchResponse()
			decoded.SetVersion(v)
			body := got[8:]
			if v >= 12 {
				body = body[1:]
			}
			if err := decoded.ReadFrom(body); err != nil {
				t.Fatalf("v%d %s: kmsg decode: %v", v, path, err)
			}
			ref := kmsg.NewPtrFetchResponse()
			ref.SetVersion(v)
			if err := ref.ReadFrom(want[8+boolInt(v >= 12):]); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(decoded, ref) {
				t.Fatalf("v%d %s: decoded fields differ", v, path)
			}
			for ti, tp := range decoded.Topics {
				for pi, p := range tp.Partitions {
					var data []byte
					for _, r := range fixtureRegions[pi] {
						data = append(data, fx.content[r[0]:r[0]+r[1]]...)
					}
					if !bytes.Equal(p.RecordBatches, data) || p.Partition != int32(pi) || tp.Topic != []string{"alpha", "beta-topic"}[ti] && v < 13 {
						t.Fatalf("v%d %s: topic %d partition %d: wrong fields", v, path, ti, pi)
					}
				}
			}
		}
		// Materialize and AppendTo give the same bytes.
		fr := fx.fileResponse(v)
		if body := fr.AppendTo(nil); !bytes.Equal(body, want[8+boolInt(v >= 12):]) {
			t.Fatalf("v%d: AppendTo differs", v)
		}
		m, err := fx.fileResponse(v).Materialize()
		if err != nil {
			t.Fatal(err)
		}
		if got := appendResponse(nil, 42, m); !bytes.Equal(got, want) {
			t.Fatalf("v%d: Materialize differs", v)
		}
	}
}

// sendOver writes out with writeFrame on a TCP connection (sendfile), one
// behind a TCPConner wrapper (sendfile) or a pipe (pooled copy) and returns what the other end read.
func sendOver(t *testing.T, ln net.Listener, path string, out outFrame) []byte {
	t.Helper()
	var w, r net.Conn
	if path == "sendfile" || path == "wrapped" {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		w, r = s, c
		if path == "wrapped" {
			w = tcpWrapper{s}
		}
	} else {
		w, r = net.Pipe()
	}
	defer r.Close()
	errc := make(chan error, 1)
	go func() {
		errc <- writeFrame(w, out)
		w.Close()
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("%s: writeFrame: %v", path, err)
	}
	return got
}

// tcpWrapper hides the *net.TCPConn as the quorum's peeked conns do.
type tcpWrapper struct{ net.Conn }

func (w tcpWrapper) TCPConn() *net.TCPConn { return w.Conn.(*net.TCPConn) }

// truncHandler answers Fetch with a FileResponse over a file it truncates
// before the writer sends it (when trunc is set).
type truncHandler struct {
	fx       *fetchFixture
	path     string
	trunc    bool
	released atomic.Int32
}

func (h *truncHandler) Handle(_ context.Context, req *Request) (kmsg.Response, error) {
	f, err := os.Open(h.path)
	if err != nil {
		return nil, err
	}
	fr := NewFileResponse(nil)
	fr.Response = h.fx.response(req.Version, fr)
	fr.OnRelease(func() { h.released.Add(1) })
	if h.trunc {
		if err := os.Truncate(h.fx.file.Name(), 100); err != nil {
			return nil, err
		}
	}
	_ = f.Close()
	return fr, nil
}

// TestFileResponseServed: through the server, a FileResponse arrives whole
// and its files are released; one whose file was truncated meanwhile
// closes the connection instead of sending a torn frame.
func TestFileResponseServed(t *testing.T) {
	fx := newFetchFixture(t)
	h := &truncHandler{fx: fx, path: fx.file.Name()}
	s := NewServer(Config{}, h, zaptest.NewLogger(t))
	addr, err := s.Listen("PLAINTEXT", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close()
	c := dial(t, addr.String())
	req := kmsg.NewPtrFetchRequest()
	c.send(req, 11, 5)
	resp := kmsg.NewPtrFetchResponse()
	if corr := c.recv(resp, 11); corr != 5 || !bytes.Equal(resp.Topics[1].Partitions[2].RecordBatches[:10], fx.content[5000:5010]) {
		t.Fatalf("corr %d or wrong record bytes", corr)
	}
	wait.Until(t, 20*time.Second, "first response released", func() bool { return h.released.Load() == 1 })

	h.trunc = true
	c.send(req, 11, 6)
	_ = c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, _ := io.ReadAll(c.nc)
	want := appendResponse(nil, 6, fx.response(11, nil))
	if len(got) >= len(want) {
		t.Fatalf("read %d bytes, want the connection closed before a whole %d-byte frame", len(got), len(want))
	}
	wait.Until(t, 20*time.Second, "truncated response released", func() bool { return h.released.Load() == 2 })
}

// TestFileResponseOverTLS: on a TLS listener the regions go through the
// pooled copy (never sendfile under the encryption) and arrive whole.
func TestFileResponseOverTLS(t *testing.T) {
	p := newPKI(t)
	fx := newFetchFixture(t)
	h := &truncHandler{fx: fx, path: fx.file.Name()}
	cfg := DefaultConfig()
	cfg.TLS = map[string]TLSSettings{"SSL": p.server(ClientAuthNone)}
	s := NewServer(cfg, h, zaptest.NewLogger(t))
	addr, err := s.Listen("SSL", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, err := p.client(t, nil, nil).Dial(ctx, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := &rawConn{t: t, nc: nc}
	for corr, v := range []int16{11, 12} {
		c.send(kmsg.NewPtrFetchRequest(), v, int32(corr))
		resp := kmsg.NewPtrFetchResponse()
		if got := c.recv(resp, v); got != int32(corr) {
			t.Fatalf("v%d: correlation id %d", v, got)
		}
		want := fx.response(v, nil)
		for ti := range want.Topics {
			for pi := range want.Topics[ti].Partitions {
				if !bytes.Equal(resp.Topics[ti].Partitions[pi].RecordBatches, want.Topics[ti].Partitions[pi].RecordBatches) {
					t.Fatalf("v%d: topic %d partition %d: record bytes differ", v, ti, pi)
				}
			}
		}
	}
	wait.Until(t, 20*time.Second, "both answers released", func() bool { return h.released.Load() == 2 })
}
