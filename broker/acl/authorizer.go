package acl

import (
	"github.com/zkraft/zkraft/metadata"
)

// WildcardPrincipal matches every user principal (Kafka's "User:*").
const WildcardPrincipal = "User:*"

// Action is one operation on one resource.
type Action struct {
	ResourceType metadata.AclResourceType // Topic, Group, Cluster, TransactionalId, ...
	ResourceName string                   // metadata.ClusterResourceName for the cluster
	Operation    metadata.AclOperation
}

// Result is an authorization decision.
type Result int8

// Decisions.
const (
	Denied Result = iota
	Allowed
)

func (r Result) String() string {
	if r == Allowed {
		return "ALLOWED"
	}
	return "DENIED"
}

// Decision says what was decided and why (for the broker's authorizer log).
type Decision struct {
	Result Result
	// Reason: "super user", "allow acl", "deny acl", "no matching acl",
	// "no acl found" (allowed by allow.everyone.if.no.acl.found).
	Reason string
	// Acl is the ACL that decided, for "allow acl" and "deny acl".
	Acl *metadata.AclBinding
}

// Allowed is Result == Allowed.
func (d Decision) Allowed() bool { return d.Result == Allowed }

// index holds one resource type's ACLs by pattern.
type index struct {
	literal  map[string][]metadata.AclBinding // name ("*" included) -> acls
	prefixed map[string][]metadata.AclBinding // prefix -> acls
}

// Authorizer decides actions against one image's ACLs. Immutable.
type Authorizer struct {
	cfg   Config
	super map[string]bool
	types map[metadata.AclResourceType]*index
	count int
}

// New builds an authorizer over acls (Image.Acls()).
func New(acls []metadata.AclEntry, cfg Config) *Authorizer {
	a := &Authorizer{cfg: cfg, super: map[string]bool{}, types: map[metadata.AclResourceType]*index{}, count: len(acls)}
	for _, p := range cfg.SuperUsers {
		a.super[p] = true
	}
	for _, e := range acls {
		b := e.Binding
		ix := a.types[b.ResourceType]
		if ix == nil {
			ix = &index{literal: map[string][]metadata.AclBinding{}, prefixed: map[string][]metadata.AclBinding{}}
			a.types[b.ResourceType] = ix
		}
		switch b.PatternType {
		case metadata.AclPatternLiteral:
			ix.literal[b.ResourceName] = append(ix.literal[b.ResourceName], b)
		case metadata.AclPatternPrefixed:
			ix.prefixed[b.ResourceName] = append(ix.prefixed[b.ResourceName], b)
		}
	}
	return a
}

// FromImage builds an authorizer over an image's ACLs.
func FromImage(img *metadata.Image, cfg Config) *Authorizer { return New(img.Acls(), cfg) }

// AclCount is the number of ACLs the authorizer holds.
func (a *Authorizer) AclCount() int { return a.count }

// IsSuperUser reports whether principal is in super.users.
func (a *Authorizer) IsSuperUser(principal string) bool { return a.super[principal] }

// Authorize decides whether principal ("User:alice"), connecting from host
// (the client's IP address as text), may do act.
func (a *Authorizer) Authorize(principal, host string, act Action) Decision {
	if a.super[principal] {
		return Decision{Result: Allowed, Reason: "super user"}
	}
	var allow *metadata.AclBinding
	found := false
	check := func(acls []metadata.AclBinding) *metadata.AclBinding {
		for i := range acls {
			b := &acls[i]
			found = true
			if b.Principal != principal && b.Principal != WildcardPrincipal {
				continue
			}
			if b.Host != metadata.WildcardHost && b.Host != host {
				continue
			}
			if b.Permission == metadata.AclPermissionDeny {
				if b.Operation == metadata.AclOpAll || b.Operation == act.Operation {
					return b
				}
				continue
			}
			if allow == nil && implies(b.Operation, act.Operation) {
				allow = b
			}
		}
		return nil
	}
	if ix := a.types[act.ResourceType]; ix != nil {
		sections := [][]metadata.AclBinding{ix.literal[act.ResourceName]}
		if act.ResourceName != metadata.WildcardResource {
			sections = append(sections, ix.literal[metadata.WildcardResource])
		}
		for i := 1; i <= len(act.ResourceName); i++ {
			sections = append(sections, ix.prefixed[act.ResourceName[:i]])
		}
		for _, s := range sections {
			if deny := check(s); deny != nil {
				return Decision{Result: Denied, Reason: "deny acl", Acl: deny}
			}
		}
	}
	switch {
	case allow != nil:
		return Decision{Result: Allowed, Reason: "allow acl", Acl: allow}
	case !found && a.cfg.AllowEveryoneIfNoACLFound:
		return Decision{Result: Allowed, Reason: "no acl found"}
	}
	return Decision{Result: Denied, Reason: "no matching acl"}
}

// implies reports whether an ALLOW ACL for op grants want: the same
// operation, ALL, or Kafka's implied operations (READ, WRITE, DELETE and
// ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS).
func implies(op, want metadata.AclOperation) bool {
	switch {
	case op == want || op == metadata.AclOpAll:
		return true
	case want == metadata.AclOpDescribe:
		return op == metadata.AclOpRead || op == metadata.AclOpWrite || op == metadata.AclOpDelete || op == metadata.AclOpAlter
	case want == metadata.AclOpDescribeConfigs:
		return op == metadata.AclOpAlterConfigs
	}
	return false
}

// AuthorizeByResourceType decides whether principal may do op on at least
// one resource of type typ (Kafka's Authorizer.authorizeByResourceType,
// KIP-679: InitProducerId asks it for WRITE on any topic instead of
// IDEMPOTENT_WRITE on the cluster). Rules, as Kafka's default
// implementation: allowed if Authorize allows op on the resource named
// "hardcode" (super users; allow.everyone.if.no.acl.found when no ACL
// matches that name; a wildcard or "h..." prefix ACL); denied by an applicable DENY on the literal
// wildcard "*"; else allowed if an applicable ALLOW on the literal
// wildcard exists, or an applicable ALLOW on a literal name that is
// neither denied literally nor under a denied prefix, or on a prefix no
// shorter-or-equal denied prefix covers. Only the operation itself or
// ALL applies here: implied operations are not considered, as in Kafka.
func (a *Authorizer) AuthorizeByResourceType(principal, host string, typ metadata.AclResourceType, op metadata.AclOperation) Decision {
	// Kafka first authorizes a hard-coded name: super users, and
	// allow.everyone.if.no.acl.found when no ACL matches that name.
	if d := a.Authorize(principal, host, Action{ResourceType: typ, ResourceName: "hardcode", Operation: op}); d.Allowed() {
		return d
	}
	ix := a.types[typ]
	if ix == nil {
		return Decision{Result: Denied, Reason: "no matching acl"}
	}
	applies := func(b *metadata.AclBinding) bool {
		return (b.Principal == principal || b.Principal == WildcardPrincipal) &&
			(b.Host == metadata.WildcardHost || b.Host == host) &&
			(b.Operation == op || b.Operation == metadata.AclOpAll)
	}
	denyLiteral, denyPrefix := map[string]bool{}, map[string]bool{}
	var allows []*metadata.AclBinding
	var wildcardAllow *metadata.AclBinding
	for _, section := range []map[string][]metadata.AclBinding{ix.literal, ix.prefixed} {
		for _, acls := range section {
			for i := range acls {
				b := &acls[i]
				if !applies(b) {
					continue
				}
				literal := b.PatternType == metadata.AclPatternLiteral
				switch {
				case b.Permission == metadata.AclPermissionDeny && literal && b.ResourceName == metadata.WildcardResource:
					return Decision{Result: Denied, Reason: "deny acl", Acl: b}
				case b.Permission == metadata.AclPermissionDeny && literal:
					denyLiteral[b.ResourceName] = true
				case b.Permission == metadata.AclPermissionDeny:
					denyPrefix[b.ResourceName] = true
				case literal && b.ResourceName == metadata.WildcardResource:
					wildcardAllow = b
				default:
					allows = append(allows, b)
				}
			}
		}
	}
	if wildcardAllow != nil {
		return Decision{Result: Allowed, Reason: "allow acl", Acl: wildcardAllow}
	}
	for _, b := range allows {
		if b.PatternType == metadata.AclPatternLiteral && denyLiteral[b.ResourceName] {
			continue
		}
		dominated := false
		for i := 1; i <= len(b.ResourceName) && !dominated; i++ {
			dominated = denyPrefix[b.ResourceName[:i]]
		}
		if !dominated {
			return Decision{Result: Allowed, Reason: "allow acl", Acl: b}
		}
	}
	return Decision{Result: Denied, Reason: "no matching acl"}
}
