package zk

import (
	"maps"
	"slices"
	"strings"

	"github.com/zkraft/zkraft/metadata"
)

// SecurityOps returns the ZooKeeper writes that turn the security metadata
// (SCRAM credentials, ACLs, client quotas) of prev into next's, as Kafka's
// ZooKeeper mode lays it out:
//
//   - an entity whose SCRAM credentials or quotas changed:
//     /config/users/<sanitized> (credentials and user quotas),
//     /config/users/<u>/clients/<c>, /config/clients/<c> or
//     /config/ips/<ip> created or set to its whole config
//     ({"version":1,"config":{"SCRAM-SHA-256":"salt=..","producer_byte_rate":"1048576"}});
//     an entity left with nothing keeps an empty config, so children such
//     as /config/users/<u>/clients survive; then a /config/changes
//     notification for its entity path;
//   - a resource pattern whose ACLs changed: its /kafka-acl (or
//     /kafka-acl-extended/prefixed) znode written with every ACL of next on
//     it, or deleted when none is left, then an /kafka-acl-changes (or
//     /kafka-acl-extended-changes) notification.
//
// ACLs are compared by content, not id. Parent znodes are created as
// needed; every op tolerates replay. ACLs on a resource name that cannot be
// a znode (containing "/") are left out.
//
// A written entity config holds exactly the image's keys: keys the image
// does not model (none today) would be replaced.
func SecurityOps(prev, next *metadata.Image) []Op {
	if prev.SecurityShared(next) {
		return nil // the common case: a delta that touched no credential or ACL
	}
	var ops []Op
	parents := map[string]bool{}
	parent := func(paths ...string) {
		for _, p := range paths {
			if !parents[p] {
				parents[p] = true
				ops = append(ops, Op{Kind: OpCreate, Path: p, Tolerant: true})
			}
		}
	}
	had, want := entityConfigs(prev), entityConfigs(next)
	for p := range had {
		if _, ok := want[p]; !ok {
			want[p] = map[string]string{} // emptied: an empty config keeps the znode and its children
		}
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		if maps.Equal(had[p], want[p]) {
			continue
		}
		if f := strings.Split(p, "/"); len(f) == 4 { // users/<u>/clients/<c>
			parent(ConfigPath+"/"+f[0]+"/"+f[1], ConfigPath+"/"+f[0]+"/"+f[1]+"/"+f[2])
		}
		typ, name, _ := strings.Cut(p, "/")
		ops = append(ops,
			Op{Kind: OpCreate, Path: ConfigPath + "/" + p, Data: EncodeEntityConfig(want[p]), Tolerant: true},
			Op{Kind: OpCreate, Path: ConfigChangesPath + "/" + ConfigChangePrefix,
				Data: EncodeConfigChange(typ, name), Sequential: true})
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
