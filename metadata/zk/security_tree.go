package zk

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// This file turns the security part of a Tree into records and reads it
// from ZooKeeper.

// Bindings lists the tree's ACLs, each once, in binding order.
func (t *Tree) Bindings() []metadata.AclBinding {
	seen := map[metadata.AclBinding]bool{}
	var out []metadata.AclBinding
	for r, entries := range t.Acls {
		for _, e := range entries {
			b := e.Binding(r)
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, metadata.AclBinding.Compare)
	return out
}

// SecurityRecords returns the records that turn img's SCRAM credentials,
// ACLs and client quotas (QuotaRecords, last) into the tree's: removals of
// what the tree lacks, then every
// credential that is new or changed (by user, then mechanism) and every ACL
// whose binding img does not hold (id AclID). ACLs are matched by content,
// so an ACL of img with another id (written by the log) is kept.
func (t *Tree) SecurityRecords(img *metadata.Image) []metadata.Record {
	var out []metadata.Record
	for _, e := range img.ScramCredentials() {
		if _, ok := t.Scram[e.User][e.Mechanism]; !ok {
			out = append(out, &metadata.RemoveUserScramCredentialRecord{Name: e.User, Mechanism: e.Mechanism})
		}
	}
	want := map[metadata.AclBinding]bool{}
	for _, b := range t.Bindings() {
		want[b] = true
	}
	have := map[metadata.AclBinding]bool{}
	for _, a := range img.Acls() {
		if !want[a.Binding] || have[a.Binding] {
			out = append(out, &metadata.RemoveAccessControlEntryRecord{ID: a.ID})
			continue
		}
		have[a.Binding] = true
	}
	for _, user := range slices.Sorted(maps.Keys(t.Scram)) {
		for _, m := range metadata.ScramMechanisms {
			c, ok := t.Scram[user][m]
			if !ok {
				continue
			}
			if old, ok := img.ScramCredential(user, m); ok && old.Equal(c) {
				continue
			}
			out = append(out, metadata.ScramCredentialRecord(user, m, c))
		}
	}
	for _, b := range t.Bindings() {
		if !have[b] {
			out = append(out, metadata.AclRecord(AclID(b), b))
		}
	}
	return append(out, t.QuotaRecords(img)...)
}

// reloadAcls reads every resource znode under /kafka-acl and
// /kafka-acl-extended/prefixed (Kafka's AclAuthorizer.loadCache), and sets
// the watches on both change paths again.
func (s *syncer) reloadAcls() error {
	for _, p := range []string{AclChangesPath, AclExtendedChangesPath} {
		if _, _, _, err := s.conn.ChildrenW(s.abs(p)); errors.Is(err, gozk.ErrNoNode) {
			if _, _, _, err := s.conn.ExistsW(s.abs(p)); err != nil {
				return fmt.Errorf("watch %s: %w", p, err)
			}
		} else if err != nil {
			return fmt.Errorf("list %s: %w", p, err)
		}
	}
	var res []AclResource
	var paths []string
	for _, store := range []struct {
		root    string
		pattern metadata.AclPatternType
	}{{AclPath, metadata.AclPatternLiteral}, {AclPrefixedPath, metadata.AclPatternPrefixed}} {
		types, _, err := s.conn.Children(s.abs(store.root))
		if errors.Is(err, gozk.ErrNoNode) {
			continue
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", store.root, err)
		}
		for _, typ := range types {
			rt, ok := ParseResourceType(typ)
			if !ok {
				s.log.Warn("ignoring acl znode", zap.String("path", store.root+"/"+typ))
				continue
			}
			names, _, err := s.conn.Children(s.abs(store.root + "/" + typ))
			if err != nil && !errors.Is(err, gozk.ErrNoNode) {
				return fmt.Errorf("list %s/%s: %w", store.root, typ, err)
			}
			for _, n := range names {
				res = append(res, AclResource{Type: rt, Name: n, Pattern: store.pattern})
				paths = append(paths, store.root+"/"+typ+"/"+n)
			}
		}
	}
	acls := map[AclResource][]AclZNodeEntry{}
	for i, r := range s.fetch(paths, func(int) bool { return false }) {
		if errors.Is(r.err, gozk.ErrNoNode) {
			continue
		}
		if r.err != nil {
			return fmt.Errorf("read %s: %w", paths[i], r.err)
		}
		entries, err := DecodeAcls(r.data)
		if err != nil {
			s.log.Warn("ignoring acl znode", zap.String("path", paths[i]), zap.Error(err))
			continue
		}
		if len(entries) > 0 {
			acls[res[i]] = entries
		}
	}
	s.tree.Acls = acls
	s.dirty.security = true
	return nil
}

// isAclChangePath: an event on either change path (or its creation).
func isAclChangePath(p string) bool {
	return p == AclChangesPath || p == AclExtendedChangesPath ||
		strings.HasPrefix(p, AclChangesPath+"/") || strings.HasPrefix(p, AclExtendedChangesPath+"/")
}
