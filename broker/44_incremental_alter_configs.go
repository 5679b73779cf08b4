package broker

// IncrementalAlterConfigs (key 44), versions 0-1 (KIP-339).
//
// Each resource is authorized as Kafka does: ALTER_CONFIGS on the topic
// for a topic (else TOPIC_AUTHORIZATION_FAILED), on the cluster for a
// broker (else CLUSTER_AUTHORIZATION_FAILED). A broker resource names
// this broker's id or "" (the cluster default, /config/brokers/<default>);
// another id is INVALID_REQUEST, as in Kafka (clients send a broker's
// resource to that broker). BROKER_LOGGER (this broker's log levels) is
// handled here, not forwarded (broker_logger.go). A resource named twice is INVALID_REQUEST. The rest
// go to the ConfigController in one call, which checks them with
// metadata.AlterConfigs (SET, DELETE, APPEND/SUBTRACT of list keys; topic
// keys as CreateTopics checks them, broker keys against the dynamic set,
// read-only keys refused: INVALID_CONFIG / INVALID_REQUEST naming the key)
// and writes them unless validate_only. The change takes effect on every
// broker with the image that carries it (dynamic_config.go, publish.go).
// Served only when the controller implements ConfigController.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleIncrementalAlterConfigs(ctx context.Context, nreq *network.Request, req *kmsg.IncrementalAlterConfigsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	alts := make([]metadata.ConfigAlteration, len(req.Resources))
	for i, r := range req.Resources {
		alts[i] = metadata.ConfigAlteration{ResourceType: int8(r.ResourceType), ResourceName: r.ResourceName}
		for _, c := range r.Configs {
			alts[i].Ops = append(alts[i].Ops, metadata.ConfigOp{Op: metadata.ConfigOpType(c.Op), Name: c.Name, Value: c.Value})
		}
	}
	errs := b.alterConfigs(ctx, nreq, alts, req.ValidateOnly)
	for i, r := range req.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// alterConfigs authorizes and pre-checks each alteration, sends the rest
// to the ConfigController in one call and returns one error per
// alteration.
func (b *Broker) alterConfigs(ctx context.Context, nreq *network.Request, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	errs := make([]error, len(alts))
	count := make(map[metadata.ConfigResource]int, len(alts))
	for _, a := range alts {
		count[metadata.ConfigResource{Type: a.ResourceType, Name: a.ResourceName}]++
	}
	var send []metadata.ConfigAlteration
	var idx []int
	for i, a := range alts {
		res := metadata.ConfigResource{Type: a.ResourceType, Name: a.ResourceName}
		switch {
		case count[res] > 1:
			errs[i] = fmt.Errorf("%w: resource %s is named more than once", ErrInvalidRequest, res)
		case a.ResourceType == metadata.TopicResource && !b.authorized(nreq, resTopic, a.ResourceName, opAlterConfigs):
			errs[i] = fmt.Errorf("%w: ALTER_CONFIGS on topic %q", ErrTopicAuthorization, a.ResourceName)
		case a.ResourceType != metadata.TopicResource && !b.authorizedCluster(nreq, opAlterConfigs):
			errs[i] = fmt.Errorf("%w: ALTER_CONFIGS on the cluster", ErrClusterAuthorization)
		case a.ResourceType == metadata.BrokerLoggerResource:
			errs[i] = b.alterLoggers(a, validateOnly) // this broker's own, never forwarded (broker_logger.go)
		case a.ResourceType == metadata.BrokerResource && a.ResourceName != "" && a.ResourceName != strconv.Itoa(int(b.cfg.NodeID)):
			errs[i] = fmt.Errorf("%w: unexpected broker id, expected %d or empty string, but received %s",
				ErrInvalidRequest, b.cfg.NodeID, a.ResourceName)
		default:
			send = append(send, a)
			idx = append(idx, i)
		}
	}
	if len(send) == 0 {
		return errs
	}
	cctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
	defer cancel()
	cerrs := b.ctrl.(ConfigController).AlterConfigs(cctx, send, validateOnly)
	for j, i := range idx {
		if j < len(cerrs) {
			errs[i] = cerrs[j]
		} else {
			errs[i] = fmt.Errorf("%w: controller gave %d answers for %d resources", ErrInvalidRequest, len(cerrs), len(send))
		}
	}
	return errs
}
