package broker

// AlterConfigs (key 33), versions 0-2: the pre-KIP-339 form, which
// replaces a resource's whole dynamic config set — every key the request
// does not name is removed, as in Kafka. Authorization, resource checks
// and validation are IncrementalAlterConfigs' (44_incremental_alter_configs.go);
// every entry is a SET, so a null value is INVALID_REQUEST. Served only
// when the controller implements ConfigController.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleAlterConfigs(ctx context.Context, nreq *network.Request, req *kmsg.AlterConfigsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	alts := make([]metadata.ConfigAlteration, len(req.Resources))
	for i, r := range req.Resources {
		alts[i] = metadata.ConfigAlteration{ResourceType: int8(r.ResourceType), ResourceName: r.ResourceName, Replace: true}
		for _, c := range r.Configs {
			alts[i].Ops = append(alts[i].Ops, metadata.ConfigOp{Op: metadata.ConfigOpSet, Name: c.Name, Value: c.Value})
		}
	}
	errs := b.alterConfigs(ctx, nreq, alts, req.ValidateOnly)
	for i, r := range req.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}
