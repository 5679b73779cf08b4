package broker

// DeleteAcls (key 31), versions 0-3.
//
// Needs ALTER on the cluster, else every filter's result is
// CLUSTER_AUTHORIZATION_FAILED. The filters go to the SecurityController
// in one call, which removes every ACL any filter matches
// (metadata.DeleteAcls, Kafka's AclBindingFilter rules) and reports, per
// filter, the ACLs it matched. A filter with an UNKNOWN value is
// INVALID_REQUEST. v0 filters are LITERAL. Served only when the controller
// implements SecurityController.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDeleteAcls(ctx context.Context, req *network.Request, body *kmsg.DeleteACLsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DeleteACLsResponse)
	resp.Results = make([]kmsg.DeleteACLsResponseResult, len(body.Filters))
	for i := range resp.Results {
		resp.Results[i] = kmsg.NewDeleteACLsResponseResult()
	}
	if !b.authorizedCluster(req, opAlter) {
		for i := range resp.Results {
			resp.Results[i].ErrorCode = kerr.ClusterAuthorizationFailed.Code
		}
		return resp, nil
	}
	if len(body.Filters) == 0 {
		return resp, nil
	}
	filters := make([]metadata.AclFilter, len(body.Filters))
	for i, f := range body.Filters {
		filters[i] = metadata.AclFilter{
			ResourceType: metadata.AclResourceType(f.ResourceType), ResourceName: f.ResourceName,
			PatternType: metadata.AclPatternType(f.ResourcePatternType), Principal: f.Principal, Host: f.Host,
			Operation: metadata.AclOperation(f.Operation), Permission: metadata.AclPermission(f.PermissionType),
		}
		if body.Version == 0 {
			filters[i].PatternType = metadata.AclPatternLiteral
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
	defer cancel()
	results := b.ctrl.(SecurityController).DeleteAcls(ctx, filters)
	for i := range resp.Results {
		if i >= len(results) {
			resp.Results[i].ErrorCode = kerr.UnknownServerError.Code
			continue
		}
		r := results[i]
		if r.Err != nil {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = errorCode(r.Err), errorMessage(r.Err)
			continue
		}
		for _, a := range r.Matched {
			ab := a.Binding
			m := kmsg.NewDeleteACLsResponseResultMatchingACL()
			m.ResourceType, m.ResourceName = kmsg.ACLResourceType(ab.ResourceType), ab.ResourceName
			m.ResourcePatternType = kmsg.ACLResourcePatternType(ab.PatternType)
			m.Principal, m.Host = ab.Principal, ab.Host
			m.Operation, m.PermissionType = kmsg.ACLOperation(ab.Operation), kmsg.ACLPermissionType(ab.Permission)
			resp.Results[i].MatchingACLs = append(resp.Results[i].MatchingACLs, m)
		}
	}
	return resp, nil
}
