package broker

// DeleteGroups (key 42), versions 0-2.
//
// Handled by the group coordinator: an Empty group's offsets and metadata
// are tombstoned in __consumer_offsets; a group with members answers
// NON_EMPTY_GROUP.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDeleteGroups(ctx context.Context, req *network.Request, body *kmsg.DeleteGroupsRequest) (kmsg.Response, error) {
	// DELETE on each group, else its result is GROUP_AUTHORIZATION_FAILED.
	if !b.authorizing() {
		return b.groups.DeleteGroups(ctx, body), nil
	}
	allowed := *body
	allowed.Groups = nil
	for _, g := range body.Groups {
		if b.authorized(req, resGroup, g, opDelete) {
			allowed.Groups = append(allowed.Groups, g)
		}
	}
	byGroup := map[string]kmsg.DeleteGroupsResponseGroup{}
	if len(allowed.Groups) > 0 {
		for _, g := range b.groups.DeleteGroups(ctx, &allowed).Groups {
			byGroup[g.Group] = g
		}
	}
	resp := body.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, name := range body.Groups {
		g, ok := byGroup[name]
		if !ok {
			g = kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = name, kerr.GroupAuthorizationFailed.Code
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}
