package broker

// ListGroups (key 16), versions 0-5.
//
// Handled by the group coordinator: the groups whose offsets partition this
// broker leads, filtered by state (v4) and type (v5, all "classic").

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleListGroups(ctx context.Context, req *network.Request, body *kmsg.ListGroupsRequest) (kmsg.Response, error) {
	resp := b.groups.ListGroups(ctx, body)
	// DESCRIBE on the cluster lists every group; otherwise only the
	// groups the principal may DESCRIBE (Kafka's rule).
	if !b.authorizing() || b.authorizedQuietly(req, resCluster, metadata.ClusterResourceName, opDescribe) {
		return resp, nil
	}
	out := resp.Groups[:0]
	for _, g := range resp.Groups {
		if b.authorizedQuietly(req, resGroup, g.Group, opDescribe) {
			out = append(out, g)
		}
	}
	resp.Groups = out
	return resp, nil
}
