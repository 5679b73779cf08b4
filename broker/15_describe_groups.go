package broker

// DescribeGroups (key 15), versions 0-5.
//
// Handled by the group coordinator: state, protocol and members (with
// metadata and assignment once Stable). Unknown groups answer state Dead.
// Authorized operations are not computed (no ACLs).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeGroups(ctx context.Context, req *network.Request, body *kmsg.DescribeGroupsRequest) (kmsg.Response, error) {
	// DESCRIBE on each group, else its entry is GROUP_AUTHORIZATION_FAILED.
	if !b.authorizing() {
		return b.groups.DescribeGroups(ctx, body), nil
	}
	allowed := *body
	allowed.Groups = nil
	for _, g := range body.Groups {
		if b.authorized(req, resGroup, g, opDescribe) {
			allowed.Groups = append(allowed.Groups, g)
		}
	}
	byGroup := map[string]kmsg.DescribeGroupsResponseGroup{}
	if len(allowed.Groups) > 0 {
		for _, g := range b.groups.DescribeGroups(ctx, &allowed).Groups {
			byGroup[g.Group] = g
		}
	}
	resp := body.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, name := range body.Groups {
		g, ok := byGroup[name]
		if !ok {
			g = kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = name, kerr.GroupAuthorizationFailed.Code
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}
