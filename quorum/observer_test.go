package quorum

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/network"
)

func TestParseBootstrap(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string // substring; "" = ok
	}{
		{in: "127.0.0.1:9093", want: []string{"127.0.0.1:9093"}},
		{in: " h1:1 , h2:2,", want: []string{"h1:1", "h2:2"}},
		{in: "", wantErr: "empty"},
		{in: ",", wantErr: "empty"},
		{in: "h1:1,nope", wantErr: `"nope"`},
	}
	for _, tc := range tests {
		got, err := ParseBootstrap(tc.in)
		if tc.wantErr != "" {
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: %v, want ErrInvalidConfig containing %s", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestObserverConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		tweak  func(*ObserverConfig)
		badKey string
	}{
		{"default", func(*ObserverConfig) {}, ""},
		{"no bootstrap", func(c *ObserverConfig) { c.Bootstrap = nil }, "bootstrap controllers"},
		{"bad address", func(c *ObserverConfig) { c.Bootstrap = []string{"x"} }, "bootstrap controller \"x\""},
		{"request timeout", func(c *ObserverConfig) { c.RequestTimeout = 0 }, "request timeout"},
		{"timeout", func(c *ObserverConfig) { c.Timeout = -time.Second }, "timeout"},
	}
	for _, tc := range tests {
		c := DefaultObserverConfig()
		tc.tweak(&c)
		err := c.Validate()
		if tc.badKey == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), tc.badKey) {
			t.Errorf("%s: %v, want ErrInvalidConfig naming %s", tc.name, err, tc.badKey)
		}
	}
}

// fakeController answers an observer's requests from canned functions.
type fakeController struct {
	fetch func(offset int64) kmsg.FetchResponseTopicPartition
}

func (f *fakeController) Handle(_ context.Context, req *network.Request) (kmsg.Response, error) {
	switch body := req.Body.(type) {
	case *kmsg.DescribeClusterRequest:
		r := kmsg.NewPtrDescribeClusterResponse()
		r.ClusterID, r.ControllerID = "fake-cluster", 7
		return r, nil
	case *kmsg.FetchRequest:
		r := kmsg.NewPtrFetchResponse()
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = body.Topics[0].Topic
		rt.Partitions = append(rt.Partitions, f.fetch(body.Topics[0].Partitions[0].FetchOffset))
		r.Topics = append(r.Topics, rt)
		return r, nil
	}
	return nil, fmt.Errorf("fake controller: api %d: %w", req.APIKey, ErrUnsupportedAPI)
}

func startFake(t *testing.T, f *fakeController) string {
	t.Helper()
	srv := network.NewServer(network.DefaultConfig(), f, zaptest.NewLogger(t))
	addr, err := srv.Listen("CONTROLLER", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Close() })
	return addr.String()
}

// TestReadMetadataLogDamage: a batch with a bad CRC ends the read; the
// entries before it are returned with an error naming the controller.
func TestReadMetadataLogDamage(t *testing.T) {
	good := appendEntryBatch(nil, 1, 1, []byte("first"))
	bad := appendEntryBatch(nil, 2, 1, []byte("second"))
	bad[len(bad)-1] ^= 0xff // the CRC no longer matches
	addr := startFake(t, &fakeController{fetch: func(offset int64) kmsg.FetchResponseTopicPartition {
		p := kmsg.NewFetchResponseTopicPartition()
		p.HighWatermark = 3
		if offset == 1 {
			p.RecordBatches = append(append([]byte(nil), good...), bad...)
		}
		return p
	}})
	cfg := DefaultObserverConfig()
	cfg.Bootstrap = []string{addr}
	l, err := ReadMetadataLog(testCtx(t), cfg, zaptest.NewLogger(t))
	if !errors.Is(err, ErrCorruptEntry) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err %v, want ErrCorruptEntry naming %s", err, addr)
	}
	if l == nil || len(l.Entries) != 1 || string(l.Entries[0].Data) != "first" || l.ClusterID != "fake-cluster" || l.ControllerID != 7 {
		t.Fatalf("log %+v, want the entry before the damage", l)
	}
}

// TestReadMetadataLogNotController: a controller that keeps answering
// NOT_CONTROLLER is given up after the timeout, named with the leader it names.
func TestReadMetadataLogNotController(t *testing.T) {
	addr := startFake(t, &fakeController{fetch: func(int64) kmsg.FetchResponseTopicPartition {
		p := kmsg.NewFetchResponseTopicPartition()
		p.ErrorCode = kerr.NotController.Code
		return p
	}})
	cfg := DefaultObserverConfig()
	cfg.Bootstrap, cfg.Timeout = []string{addr}, 300*time.Millisecond
	l, err := ReadMetadataLog(testCtx(t), cfg, zaptest.NewLogger(t))
	if l != nil || !errors.Is(err, ErrNoActiveController) || !strings.Contains(err.Error(), addr+": not the active controller (controller 7 is)") {
		t.Fatalf("%v, %v; want ErrNoActiveController naming %s and controller 7", l, err, addr)
	}
}
