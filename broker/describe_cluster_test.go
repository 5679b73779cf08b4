package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDescribeCluster checks DescribeCluster through a kgo client (which
// negotiates the version with ApiVersions): the listener's unfenced brokers,
// the cluster id and controller id; and that a broker refuses to describe
// controllers.
func TestDescribeCluster(t *testing.T) {
	h := newHarness(t, nil)
	h.ctrl.register(t, 2, nil) // no PLAINTEXT endpoint: not listed
	cl := h.client()

	req := kmsg.NewPtrDescribeClusterRequest()
	req.EndpointType = endpointTypeBroker
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Version != 1 {
		t.Fatalf("negotiated version %d, want 1", resp.Version)
	}
	if resp.ErrorCode != 0 || resp.ClusterID != "zkraft-test-cluster" || resp.ControllerID != 1 || resp.EndpointType != endpointTypeBroker {
		t.Fatalf("response %+v", resp)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 || resp.Brokers[0].Host != "127.0.0.1" || resp.Brokers[0].Port == 0 {
		t.Fatalf("brokers %+v", resp.Brokers)
	}

	ctl := kmsg.NewPtrDescribeClusterRequest()
	ctl.Version, ctl.EndpointType = 1, 2
	got := h.handle(ctl).(*kmsg.DescribeClusterResponse)
	if got.ErrorCode != kerr.UnsupportedEndpointType.Code || len(got.Brokers) != 0 {
		t.Fatalf("controllers from a broker: %+v", got)
	}
}
