package broker

// DescribeClientQuotas (key 48), versions 0-1.
//
// Answered from this broker's image (KIP-546; Kafka's
// ClientQuotasImage.describe): each component names an entity type and
// matches an exact name (0), the default entity (1) or any entity of the
// type, the default included (2); every component must hold for an entity, and strict
// asks for entities with no other parts. A type named twice, an unknown
// match type or an exact match without a name is INVALID_REQUEST. Needs
// DESCRIBE_CONFIGS on the cluster, else the top-level error is
// CLUSTER_AUTHORIZATION_FAILED. Quotas are stored and shown, not enforced.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeClientQuotas(_ context.Context, req *network.Request, body *kmsg.DescribeClientQuotasRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !b.authorizedCluster(req, opDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	type match struct {
		any  bool    // match type 2: any entity of the type
		name *string // nil: the default entity
	}
	want := map[string]match{}
	invalid := func(msg string) (kmsg.Response, error) {
		resp.ErrorCode, resp.ErrorMessage = kerr.InvalidRequest.Code, strPtr(msg)
		return resp, nil
	}
	for _, c := range body.Components {
		if _, dup := want[c.EntityType]; dup {
			return invalid("entity type " + c.EntityType + " specified more than once")
		}
		switch c.MatchType {
		case 0:
			if c.Match == nil {
				return invalid("an exact match of entity type " + c.EntityType + " needs a name")
			}
			want[c.EntityType] = match{name: c.Match}
		case 1:
			want[c.EntityType] = match{}
		case 2:
			want[c.EntityType] = match{any: true}
		default:
			return invalid("unknown match type for entity type " + c.EntityType)
		}
	}
	for _, e := range b.Image().ClientQuotas() {
		if body.Strict && len(e.Entity) != len(want) {
			continue
		}
		ok := true
		for typ, m := range want {
			name, isDefault, present := e.Entity.Name(typ)
			switch {
			case !present:
				ok = false
			case m.any:
			case m.name == nil:
				ok = ok && isDefault
			default:
				ok = ok && !isDefault && name == *m.name
			}
		}
		if !ok || len(e.Quotas) == 0 {
			continue
		}
		entry := kmsg.NewDescribeClientQuotasResponseEntry()
		for _, p := range e.Entity {
			ee := kmsg.NewDescribeClientQuotasResponseEntryEntity()
			ee.Type, ee.Name = p.EntityType, p.EntityName
			entry.Entity = append(entry.Entity, ee)
		}
		for _, k := range sortedKeys(e.Quotas) {
			v := kmsg.NewDescribeClientQuotasResponseEntryValue()
			v.Key, v.Value = k, e.Quotas[k]
			entry.Values = append(entry.Values, v)
		}
		resp.Entries = append(resp.Entries, entry)
	}
	return resp, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
