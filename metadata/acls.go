package metadata

import (
	"fmt"
	"strings"
)

// This file is the pure controller logic of CreateAcls, DescribeAcls and
// DeleteAcls (Kafka's AclControlManager and the validation of its
// AclApis): (Image, request) -> records and per-entry results.

// AclFilter selects ACLs (Kafka's AclBindingFilter). AclResourceAny,
// AclPatternAny, AclOpAny and AclPermissionAny match every value; a nil
// name, principal or host matches any. AclPatternMatch with a name selects
// the ACLs that would apply to that resource: a literal ACL of the same
// name, the literal wildcard "*", and prefixed ACLs the name starts with.
type AclFilter struct {
	ResourceType AclResourceType
	ResourceName *string
	PatternType  AclPatternType
	Principal    *string
	Host         *string
	Operation    AclOperation
	Permission   AclPermission
}

// Matches is Kafka's AclBindingFilter.matches.
func (f AclFilter) Matches(b AclBinding) bool {
	if f.ResourceType != AclResourceAny && f.ResourceType != b.ResourceType {
		return false
	}
	if f.PatternType != AclPatternAny && f.PatternType != AclPatternMatch && f.PatternType != b.PatternType {
		return false
	}
	if f.ResourceName != nil {
		name := *f.ResourceName
		switch {
		case f.PatternType == AclPatternAny || f.PatternType == b.PatternType:
			if name != b.ResourceName {
				return false
			}
		case b.PatternType == AclPatternLiteral: // MATCH
			if name != b.ResourceName && b.ResourceName != WildcardResource {
				return false
			}
		case b.PatternType == AclPatternPrefixed: // MATCH
			if !strings.HasPrefix(name, b.ResourceName) {
				return false
			}
		default:
			return false
		}
	}
	return (f.Principal == nil || *f.Principal == b.Principal) &&
		(f.Host == nil || *f.Host == b.Host) &&
		(f.Operation == AclOpAny || f.Operation == b.Operation) &&
		(f.Permission == AclPermissionAny || f.Permission == b.Permission)
}

// validate is AclControlManager.validateFilter: no UNKNOWN value (and no
// out-of-range code).
func (f AclFilter) validate() error {
	switch {
	case f.ResourceType <= AclResourceUnknown || f.ResourceType > AclResourceUser:
		return fmt.Errorf("acl filter: resource type %s: %w", f.ResourceType, ErrInvalidRequest)
	case f.PatternType <= AclPatternUnknown || f.PatternType > AclPatternPrefixed:
		return fmt.Errorf("acl filter: pattern type %s: %w", f.PatternType, ErrInvalidRequest)
	case f.Operation <= AclOpUnknown || f.Operation > AclOpDescribeTokens:
		return fmt.Errorf("acl filter: operation %s: %w", f.Operation, ErrInvalidRequest)
	case f.Permission <= AclPermissionUnknown || f.Permission > AclPermissionAllow:
		return fmt.Errorf("acl filter: permission type %s: %w", f.Permission, ErrInvalidRequest)
	}
	return nil
}

// validateNewAcl is AclControlManager.validateNewAcl plus AclApis' checks:
// a concrete resource type, LITERAL or PREFIXED, a non-empty name,
// "kafka-cluster" for the cluster, a concrete operation, ALLOW or DENY, a
// principal with a type ("User:alice") and a host.
func validateNewAcl(b AclBinding) error {
	if why := b.Validate(); why != "" {
		return fmt.Errorf("create acl: %s: %w", why, ErrInvalidRequest)
	}
	if b.ResourceType == AclResourceCluster && b.ResourceName != ClusterResourceName {
		return fmt.Errorf("create acl: the only valid name for the CLUSTER resource is %s, not %q: %w",
			ClusterResourceName, b.ResourceName, ErrInvalidRequest)
	}
	return nil
}

// CreateAcls returns one AccessControlEntryRecord per new ACL (ids from
// newID, never one in use) and one result per binding (nil = created or
// already present). An ACL equal to one in img or earlier in the request
// is not written again and succeeds, as in Kafka.
func CreateAcls(img *Image, bindings []AclBinding, newID func() Uuid) ([]Record, []error) {
	have := map[AclBinding]bool{}
	used := map[Uuid]bool{}
	for _, a := range img.Acls() {
		have[a.Binding] = true
		used[a.ID] = true
	}
	var recs []Record
	errs := make([]error, len(bindings))
	for i, b := range bindings {
		if err := validateNewAcl(b); err != nil {
			errs[i] = err
			continue
		}
		if have[b] {
			continue
		}
		id := ZeroUuid
		for try := 0; try < 100 && (id == ZeroUuid || used[id]); try++ {
			id = newID()
		}
		if id == ZeroUuid || used[id] {
			errs[i] = fmt.Errorf("create acl: no unused id from the id source: %w", ErrInvalidRequest)
			continue
		}
		have[b], used[id] = true, true
		recs = append(recs, AclRecord(id, b))
	}
	return recs, errs
}

// DescribeAcls returns the ACLs of img that match f, by id.
func DescribeAcls(img *Image, f AclFilter) ([]AclEntry, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	var out []AclEntry
	for _, a := range img.Acls() {
		if f.Matches(a.Binding) {
			out = append(out, a)
		}
	}
	return out, nil
}

// DeleteAclsResult is what one DeleteAcls filter matched (or why it failed).
type DeleteAclsResult struct {
	Matched []AclEntry
	Err     error
}

// DeleteAcls returns one RemoveAccessControlEntryRecord per ACL matched by
// any filter (once, however many filters match it) and, per filter, the
// ACLs it matched (Kafka's AclControlManager.deleteAcls: an ACL matched by
// two filters is reported under both).
func DeleteAcls(img *Image, filters []AclFilter) ([]Record, []DeleteAclsResult) {
	acls := img.Acls()
	removed := map[Uuid]bool{}
	var recs []Record
	out := make([]DeleteAclsResult, len(filters))
	for i, f := range filters {
		if err := f.validate(); err != nil {
			out[i].Err = err
			continue
		}
		for _, a := range acls {
			if !f.Matches(a.Binding) {
				continue
			}
			if !removed[a.ID] {
				removed[a.ID] = true
				recs = append(recs, &RemoveAccessControlEntryRecord{ID: a.ID})
			}
			out[i].Matched = append(out[i].Matched, a)
		}
	}
	return recs, out
}

// AclsPresent reports whether img holds an ACL equal to each binding (by
// content, whatever its id): a CreateAcls has reached img.
func AclsPresent(img *Image, bindings []AclBinding) bool {
	have := map[AclBinding]bool{}
	for _, a := range img.Acls() {
		have[a.Binding] = true
	}
	for _, b := range bindings {
		if !have[b] {
			return false
		}
	}
	return true
}

// AclsAbsent reports whether img holds no ACL equal to any binding: a
// DeleteAcls has reached img.
func AclsAbsent(img *Image, bindings []AclBinding) bool {
	gone := map[AclBinding]bool{}
	for _, b := range bindings {
		gone[b] = true
	}
	for _, a := range img.Acls() {
		if gone[a.Binding] {
			return false
		}
	}
	return true
}
