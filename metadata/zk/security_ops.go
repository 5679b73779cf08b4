package zk

import (
	"maps"
	"slices"

	"github.com/zkraft/zkraft/metadata"
)

// SecurityOps returns the ZooKeeper writes that turn the security metadata
// of prev into next's, as Kafka's ZooKeeper mode lays it out:
//
//   - a user whose SCRAM credentials changed: /config/users/<sanitized>
//     created or set to {"version":1,"config":{<mechanism>: <credential>}}
//     (a user left with none keeps an empty config, so its
//     /config/users/<u>/clients children survive), then a /config/changes
//     notification for users/<sanitized>;
//   - a resource pattern whose ACLs changed: its /kafka-acl (or
//     /kafka-acl-extended/prefixed) znode written with every ACL of next on
//     it, or deleted when none is left, then an /kafka-acl-changes (or
//     /kafka-acl-extended-changes) notification.
//
// ACLs are compared by content, not id. Parent znodes are created as
// needed; every op tolerates replay. ACLs on a resource name that cannot be
// a znode (containing "/") are left out.
//
// Client quotas, which share /config/users/<u> in Kafka, are not in the
// image yet: a SCRAM write replaces that znode's other keys.
func SecurityOps(prev, next *metadata.Image) []Op {
	if prev.SecurityShared(next) {
		return nil // the common case: a delta that touched no credential or ACL
	}
	var ops []Op
	users := map[string]bool{}
	for _, img := range []*metadata.Image{prev, next} {
		for _, e := range img.ScramCredentials() {
			users[e.User] = true
		}
	}
	for _, u := range slices.Sorted(maps.Keys(users)) {
		want := map[string]string{}
		same := true
		for _, m := range metadata.ScramMechanisms {
			a, aok := prev.ScramCredential(u, m)
			b, bok := next.ScramCredential(u, m)
			if aok != bok || aok && !a.Equal(b) {
				same = false
			}
			if bok {
				want[m.String()] = EncodeScramCredential(b)
			}
		}
		if same {
			continue
		}
		ops = append(ops,
			Op{Kind: OpCreate, Path: UserConfigPath(u), Data: EncodeEntityConfig(want), Tolerant: true},
			Op{Kind: OpCreate, Path: ConfigChangesPath + "/" + ConfigChangePrefix,
				Data: EncodeConfigChange(ConfigUsers, SanitizeEntity(u)), Sequential: true})
	}

	before, after := aclsByResource(prev), aclsByResource(next)
	res := slices.Collect(maps.Keys(before))
	for r := range after {
		if _, ok := before[r]; !ok {
			res = append(res, r)
		}
	}
	slices.SortFunc(res, func(a, b AclResource) int {
		return metadata.AclBinding{ResourceType: a.Type, ResourceName: a.Name, PatternType: a.Pattern}.Compare(
			metadata.AclBinding{ResourceType: b.Type, ResourceName: b.Name, PatternType: b.Pattern})
	})
	parents := map[string]bool{}
	parent := func(paths ...string) {
		for _, p := range paths {
			if !parents[p] {
				parents[p] = true
				ops = append(ops, Op{Kind: OpCreate, Path: p, Tolerant: true})
			}
		}
	}
	for _, r := range res {
		path, err := AclResourcePath(r)
		if err != nil {
			continue
		}
		want := after[r]
		if slices.Equal(before[r], want) {
			continue
		}
		typ, _ := ResourceTypeName(r.Type)
		changes := AclChangesPath
		if r.Pattern == metadata.AclPatternLiteral {
			parent(AclPath, AclPath+"/"+typ)
		} else {
			parent(AclExtendedPath, AclPrefixedPath, AclPrefixedPath+"/"+typ)
			changes = AclExtendedChangesPath
		}
		if len(want) == 0 {
			ops = append(ops, Op{Kind: OpDelete, Path: path, Version: -1, Tolerant: true})
		} else {
			ops = append(ops, Op{Kind: OpCreate, Path: path, Data: EncodeAcls(want), Tolerant: true})
		}
		parent(changes)
		ops = append(ops, AclChangeOp(r))
	}
	return ops
}

// aclsByResource groups an image's ACLs by resource pattern, each entry
// once, sorted.
func aclsByResource(img *metadata.Image) map[AclResource][]AclZNodeEntry {
	bs := make([]metadata.AclBinding, 0, img.AclCount())
	for _, a := range img.Acls() {
		bs = append(bs, a.Binding)
	}
	slices.SortFunc(bs, metadata.AclBinding.Compare)
	bs = slices.Compact(bs)
	out := map[AclResource][]AclZNodeEntry{}
	for _, b := range bs {
		r := ResourceOf(b)
		out[r] = append(out[r], EntryOf(b))
	}
	return out
}
