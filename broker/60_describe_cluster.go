package broker

// DescribeCluster (key 60), versions 0-1 (Kafka 3.9's range; KIP-700).
//
// The answer is Metadata's broker half: the unfenced brokers with an
// endpoint on the listener the request came in on, the cluster id, and this
// broker as the controller id (admin requests sent to it are forwarded to
// the real controller, as in Metadata). v1 carries the endpoint type
// (KIP-919): a broker answers only for brokers (1); asking it for
// controllers (2) gets UNSUPPORTED_ENDPOINT_TYPE, as Kafka's brokers answer.
// Authorized operations are not computed (INT32_MIN), as in Metadata.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

// endpointTypeBroker is DescribeCluster's endpoint_type for brokers (KIP-919).
const endpointTypeBroker = 1

func (b *Broker) handleDescribeCluster(_ context.Context, nreq *network.Request, req *kmsg.DescribeClusterRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = req.EndpointType
	if req.Version >= 1 && req.EndpointType != endpointTypeBroker {
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		resp.ErrorMessage = strPtr("a broker describes brokers only (endpoint_type 1); ask a controller listener for controllers")
		return resp, nil
	}
	img := b.Image()
	for _, mb := range b.metadataBrokers(img, nreq.Listener) {
		db := kmsg.NewDescribeClusterResponseBroker()
		db.NodeID, db.Host, db.Port, db.Rack = mb.NodeID, mb.Host, mb.Port, mb.Rack
		resp.Brokers = append(resp.Brokers, db)
	}
	resp.ClusterID = img.ClusterID()
	if resp.ClusterID == "" {
		resp.ClusterID = b.cfg.ClusterID
	}
	resp.ControllerID = b.cfg.NodeID
	resp.ClusterAuthorizedOperations = -2147483648
	return resp, nil
}
