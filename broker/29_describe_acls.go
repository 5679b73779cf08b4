package broker

// DescribeAcls (key 29), versions 0-3.
//
// Answered from this broker's image (Kafka's brokers answer from their
// authorizer's copy of the ACLs), grouped by resource pattern. Needs
// DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED. A filter with
// an UNKNOWN value is INVALID_REQUEST. v0 has no pattern type: its filter
// is LITERAL and prefixed ACLs are not shown, as in Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeAcls(_ context.Context, req *network.Request, body *kmsg.DescribeACLsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DescribeACLsResponse)
	if !b.authorizedCluster(req, opDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	f := metadata.AclFilter{
		ResourceType: metadata.AclResourceType(body.ResourceType), ResourceName: body.ResourceName,
		PatternType: metadata.AclPatternType(body.ResourcePatternType), Principal: body.Principal, Host: body.Host,
		Operation: metadata.AclOperation(body.Operation), Permission: metadata.AclPermission(body.PermissionType),
	}
	if body.Version == 0 {
		f.PatternType = metadata.AclPatternLiteral
	}
	acls, err := metadata.DescribeAcls(b.Image(), f)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
		return resp, nil
	}
	type pattern struct {
		typ  metadata.AclResourceType
		name string
		pat  metadata.AclPatternType
	}
	index := map[pattern]int{}
	for _, a := range acls {
		ab := a.Binding
		p := pattern{ab.ResourceType, ab.ResourceName, ab.PatternType}
		i, ok := index[p]
		if !ok {
			r := kmsg.NewDescribeACLsResponseResource()
			r.ResourceType, r.ResourceName = kmsg.ACLResourceType(p.typ), p.name
			r.ResourcePatternType = kmsg.ACLResourcePatternType(p.pat)
			i = len(resp.Resources)
			index[p] = i
			resp.Resources = append(resp.Resources, r)
		}
		e := kmsg.NewDescribeACLsResponseResourceACL()
		e.Principal, e.Host = ab.Principal, ab.Host
		e.Operation, e.PermissionType = kmsg.ACLOperation(ab.Operation), kmsg.ACLPermissionType(ab.Permission)
		resp.Resources[i].ACLs = append(resp.Resources[i].ACLs, e)
	}
	return resp, nil
}
