package broker

// AlterClientQuotas (key 49), versions 0-1.
//
// Needs ALTER_CONFIGS on the cluster, else every entry is
// CLUSTER_AUTHORIZATION_FAILED. The entries go to the QuotaController in
// one call, which validates each with metadata.AlterClientQuotas (known
// entity types and keys, positive values, whole numbers for byte and
// connection rates: INVALID_REQUEST otherwise) and writes them unless
// validate_only. Quotas are stored and shown (DescribeClientQuotas), not
// enforced. Served only when the controller implements QuotaController.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleAlterClientQuotas(ctx context.Context, req *network.Request, body *kmsg.AlterClientQuotasRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	alts := make([]metadata.QuotaAlteration, len(body.Entries))
	for i, e := range body.Entries {
		for _, p := range e.Entity {
			alts[i].Entity = append(alts[i].Entity, metadata.QuotaEntityData{EntityType: p.Type, EntityName: p.Name})
		}
		alts[i].Entity = metadata.NewQuotaEntity(alts[i].Entity...)
		for _, op := range e.Ops {
			alts[i].Ops = append(alts[i].Ops, metadata.QuotaOp{Key: op.Key, Value: op.Value, Remove: op.Remove})
		}
	}
	var errs []error
	if !b.authorizedCluster(req, metadata.AclOpAlterConfigs) {
		errs = make([]error, len(alts))
		for i := range errs {
			errs[i] = kerr.ClusterAuthorizationFailed
		}
	} else if len(alts) > 0 {
		ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
		defer cancel()
		errs = b.ctrl.(QuotaController).AlterClientQuotas(ctx, alts, body.ValidateOnly)
	}
	for i, e := range body.Entries {
		re := kmsg.NewAlterClientQuotasResponseEntry()
		for _, p := range e.Entity {
			ee := kmsg.NewAlterClientQuotasResponseEntryEntity()
			ee.Type, ee.Name = p.Type, p.Name
			re.Entity = append(re.Entity, ee)
		}
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		re.ErrorCode, re.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Entries = append(resp.Entries, re)
	}
	return resp, nil
}
