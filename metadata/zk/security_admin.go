package zk

// The security writes of a ZooKeeper-mode broker (CreateAcls,
// DeleteAcls, AlterUserScramCredentials), made as Kafka's ZooKeeper-mode
// brokers make them (AclAuthorizer.createAcls / deleteAcls and
// AdminZkClient.changeUserOrUserClientIdConfig): validated with
// metadata's pure logic against this broker's image, then straight
// ZooKeeper writes — the /kafka-acl[-extended] znodes of each changed
// resource and an /kafka-acl[-extended]-changes notification, or
// /config/users/<user> written whole with a /config/changes notification
// (SecurityOps of the image before and after). Every broker follows the
// notifications into its image; each call returns once this broker's
// image shows the change.
//
// This broker's security writes are serialized (secMu). Each ACL
// resource znode is a read-modify-write conditional on its version, as
// Kafka's AclAuthorizer.updateResourceAcls makes it: the znode is read,
// this call's change (the ACLs it adds, the ACLs it removes) applied to
// what it holds — not to this broker's image, which may lag another
// broker's write — and the result written with SetData(version), or
// Create when there was none, or Delete(version) when no ACL is left; a
// BadVersion / NodeExists / NoNode retries (casZnode, cas.go). So two
// brokers changing the ACLs of one resource at once both land.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// CreateAcls writes each new ACL's resource znode (metadata.CreateAcls)
// and returns one error per binding.
func (b *Backend) CreateAcls(ctx context.Context, bindings []metadata.AclBinding) []error {
	b.secMu.Lock()
	defer b.secMu.Unlock()
	img := b.Image()
	recs, errs := metadata.CreateAcls(img, bindings, metadata.RandomUuid)
	var created []metadata.AclBinding
	for i, err := range errs {
		if err == nil {
			created = append(created, bindings[i])
		}
	}
	err := b.writeSecurity(ctx, "create acls", img, recs, func(img *metadata.Image) bool {
		return metadata.AclsPresent(img, created)
	})
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}

// DeleteAcls rewrites (or deletes) the resource znodes of every matched
// ACL (metadata.DeleteAcls) and returns what each filter matched.
func (b *Backend) DeleteAcls(ctx context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult {
	b.secMu.Lock()
	defer b.secMu.Unlock()
	img := b.Image()
	recs, out := metadata.DeleteAcls(img, filters)
	var gone []metadata.AclBinding
	for _, r := range out {
		for _, a := range r.Matched {
			gone = append(gone, a.Binding)
		}
	}
	err := b.writeSecurity(ctx, "delete acls", img, recs, func(img *metadata.Image) bool {
		return metadata.AclsAbsent(img, gone)
	})
	for i := range out {
		if out[i].Err == nil {
			out[i].Err = err
		}
	}
	return out
}

// AlterScramCredentials writes /config/users/<user> of each user that
// passes metadata.AlterScramCredentials and returns one result per user.
func (b *Backend) AlterScramCredentials(ctx context.Context, dels []metadata.ScramDeletion, ups []metadata.ScramUpsertion) []metadata.ScramAlterResult {
	b.secMu.Lock()
	defer b.secMu.Unlock()
	img := b.Image()
	recs, out := metadata.AlterScramCredentials(img, dels, ups)
	err := b.writeSecurity(ctx, "alter scram credentials", img, recs, func(img *metadata.Image) bool {
		return metadata.ScramAltered(img, dels, ups, out)
	})
	for i := range out {
		if out[i].Err == nil {
			out[i].Err = err
		}
	}
	return out
}

// writeSecurity replays recs onto img, writes the znodes that turn img's
// security metadata into the result's (SecurityOps) as client writes,
// then waits until this broker's image satisfies done.
func (b *Backend) writeSecurity(ctx context.Context, what string, img *metadata.Image, recs []metadata.Record, done func(*metadata.Image) bool) error {
	if len(recs) == 0 {
		return nil
	}
	conn, err := b.session()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	d := metadata.NewDelta(img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	next := d.Apply()
	ops := SecurityOps(img, next)
	had := entityConfigs(img)
	var aclHad, aclWant map[AclResource][]AclZNodeEntry
	var aclPaths map[string]AclResource
	for _, op := range ops {
		var err error
		if rel, ok := entityConfigOp(op); ok {
			// /config/users/<u>, /config/clients/<c>, ...: merged into the
			// znode as it is, at its version (configs_admin.go), so a
			// concurrent SCRAM or quota write of another broker to the same
			// entity is kept.
			var want map[string]string
			if want, err = DecodeEntityConfig(op.Data); err == nil {
				err = b.mergeEntityConfig(conn, op.Path, had[rel], want)
			}
		} else if aclResourceOp(op) {
			// /kafka-acl[-extended/prefixed]/<Type>/<name>: this change
			// applied to the znode as it is, at its version, so another
			// broker's concurrent change of the same resource is kept.
			if aclPaths == nil {
				aclHad, aclWant, aclPaths = aclsByResource(img), aclsByResource(next), map[string]AclResource{}
				for _, m := range []map[AclResource][]AclZNodeEntry{aclHad, aclWant} {
					for r := range m {
						if p, perr := AclResourcePath(r); perr == nil {
							aclPaths[p] = r
						}
					}
				}
			}
			r := aclPaths[op.Path]
			err = b.mergeAcls(ctx, conn, op.Path, aclHad[r], aclWant[r])
		} else {
			err = b.clientOp(conn, op)
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", what, op, err)
		}
	}
	b.log.Info("wrote security metadata", zap.String("what", what), zap.Int("znode_ops", len(ops)))
	return b.waitImage(ctx, what, done)
}

// aclResourceOp reports whether op writes (or deletes) an ACL resource
// znode, not a parent nor a change notification.
func aclResourceOp(op Op) bool {
	if op.Sequential || (op.Kind == OpCreate && op.Data == nil) || (op.Kind != OpCreate && op.Kind != OpDelete) {
		return false
	}
	return strings.HasPrefix(op.Path, AclPath+"/") || strings.HasPrefix(op.Path, AclPrefixedPath+"/")
}

// mergeAcls writes the change from had to want (ACLs added, ACLs
// removed) onto the ACL resource znode at path as ZooKeeper holds it
// (casZnode): ACLs another writer added in between are kept, ACLs it
// removed stay removed unless this change adds them. When no ACL is
// left the znode is deleted at its version, as Kafka does. A change that
// is already there writes nothing.
func (b *Backend) mergeAcls(ctx context.Context, conn *gozk.Conn, path string, had, want []AclZNodeEntry) error {
	added, removed := map[AclZNodeEntry]bool{}, map[AclZNodeEntry]bool{}
	for _, e := range want {
		added[e] = true
	}
	for _, e := range had {
		if added[e] {
			delete(added, e) // kept, not added
		} else {
			removed[e] = true
		}
	}
	_, _, err := b.casZnode(ctx, conn, path, func(data []byte, exists bool) ([]byte, bool, error) {
		var cur []AclZNodeEntry
		if exists {
			var err error
			if cur, err = DecodeAcls(data); err != nil {
				return nil, false, err
			}
		}
		next := make([]AclZNodeEntry, 0, len(cur)+len(added))
		seen := map[AclZNodeEntry]bool{}
		changed := false
		for _, e := range cur {
			switch {
			case removed[e] || seen[e]:
				changed = true
			default:
				seen[e] = true
				next = append(next, e)
			}
		}
		for _, e := range want { // in want's (sorted) order
			if added[e] && !seen[e] {
				seen[e] = true
				next = append(next, e)
				changed = true
			}
		}
		switch {
		case len(next) == 0:
			return nil, exists, nil // delete (or nothing to delete)
		case !changed && exists:
			return nil, false, nil
		}
		return EncodeAcls(next), true, nil
	})
	return err
}

// clientOp runs one op as a client write (clientWrite), tolerating as the
// op allows: an existing node of a tolerant create is set, a missing node
// of a tolerant delete is skipped.
func (b *Backend) clientOp(conn *gozk.Conn, op Op) error {
	_, err := b.clientWrite(conn, b.request(op))
	switch {
	case err == nil:
		return nil
	case op.Tolerant && op.Kind == OpCreate && errors.Is(err, gozk.ErrNodeExists):
		if op.Data == nil {
			return nil
		}
		set := op
		set.Kind, set.Version = OpSet, -1
		return b.clientOp(conn, set)
	case op.Tolerant && op.Kind == OpDelete && errors.Is(err, gozk.ErrNoNode):
		return nil
	}
	return err
}

// AlterClientQuotas writes the entity config znode of each entry that
// passes metadata.AlterClientQuotas (with its SCRAM keys, whole, and a
// /config/changes notification; nothing with validateOnly) and returns
// one error per entry.
func (b *Backend) AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error {
	b.secMu.Lock()
	defer b.secMu.Unlock()
	img := b.Image()
	recs, errs := metadata.AlterClientQuotas(img, alts)
	if validateOnly {
		return errs
	}
	err := b.writeSecurity(ctx, "alter client quotas", img, recs, func(img *metadata.Image) bool {
		return metadata.QuotasAltered(img, alts, errs)
	})
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}
