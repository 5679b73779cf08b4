package broker

// CreateAcls (key 30), versions 0-3.
//
// Needs ALTER on the cluster, else every creation is
// CLUSTER_AUTHORIZATION_FAILED. The creations go to the SecurityController
// in one call (quorum mode: the active controller writes
// AccessControlEntryRecords; ZooKeeper mode: this broker writes
// /kafka-acl[-extended] znodes and their change notifications), which
// validates each with metadata.CreateAcls: an invalid one is
// INVALID_REQUEST, an ACL that already exists succeeds. v0 creations are
// LITERAL. Served only when the controller implements SecurityController.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleCreateAcls(ctx context.Context, req *network.Request, body *kmsg.CreateACLsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.CreateACLsResponse)
	resp.Results = make([]kmsg.CreateACLsResponseResult, len(body.Creations))
	for i := range resp.Results {
		resp.Results[i] = kmsg.NewCreateACLsResponseResult()
	}
	if !b.authorizedCluster(req, opAlter) {
		for i := range resp.Results {
			resp.Results[i].ErrorCode = kerr.ClusterAuthorizationFailed.Code
		}
		return resp, nil
	}
	if len(body.Creations) == 0 {
		return resp, nil
	}
	bindings := make([]metadata.AclBinding, len(body.Creations))
	for i, c := range body.Creations {
		bindings[i] = metadata.AclBinding{
			ResourceType: metadata.AclResourceType(c.ResourceType), ResourceName: c.ResourceName,
			PatternType: metadata.AclPatternType(c.ResourcePatternType), Principal: c.Principal, Host: c.Host,
			Operation: metadata.AclOperation(c.Operation), Permission: metadata.AclPermission(c.PermissionType),
		}
		if body.Version == 0 {
			bindings[i].PatternType = metadata.AclPatternLiteral
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
	defer cancel()
	errs := b.ctrl.(SecurityController).CreateAcls(ctx, bindings)
	for i := range resp.Results {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = errorCode(err), errorMessage(err)
	}
	return resp, nil
}
