package metadata

import (
	"bytes"
	"cmp"
	"strconv"
	"strings"
)

// This file holds the security parts of the image: SCRAM credentials
// (UserScramCredentialRecord) and ACLs (AccessControlEntryRecord), with
// Kafka's enum numbers (org.apache.kafka.common.acl / .resource /
// .security.scram.internals.ScramMechanism).

// ScramMechanism is Kafka's ScramMechanism type byte.
type ScramMechanism int8

// SCRAM mechanisms (RFC 7677 and Kafka's SCRAM-SHA-512).
const (
	ScramUnknown ScramMechanism = 0
	ScramSHA256  ScramMechanism = 1
	ScramSHA512  ScramMechanism = 2
)

// ScramMechanisms lists the known mechanisms in type order.
var ScramMechanisms = []ScramMechanism{ScramSHA256, ScramSHA512}

// String is the SASL mechanism name ("SCRAM-SHA-256").
func (m ScramMechanism) String() string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	}
	return "UNKNOWN(" + strconv.Itoa(int(m)) + ")"
}

// Valid reports whether m is SCRAM-SHA-256 or SCRAM-SHA-512.
func (m ScramMechanism) Valid() bool { return m == ScramSHA256 || m == ScramSHA512 }

// ParseScramMechanism is the inverse of String (case-sensitive, as Kafka's
// ScramMechanism.forMechanismName).
func ParseScramMechanism(name string) (ScramMechanism, bool) {
	for _, m := range ScramMechanisms {
		if m.String() == name {
			return m, true
		}
	}
	return ScramUnknown, false
}

// Kafka's iteration bounds for both mechanisms (ScramMechanism.minIterations,
// maxIterations).
const (
	ScramMinIterations = 4096
	ScramMaxIterations = 16384
)

// ScramCredential is one user's credential for one mechanism. Immutable once
// in an Image.
type ScramCredential struct {
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// Equal compares field by field.
func (c *ScramCredential) Equal(o *ScramCredential) bool {
	return c.Iterations == o.Iterations && bytes.Equal(c.Salt, o.Salt) &&
		bytes.Equal(c.StoredKey, o.StoredKey) && bytes.Equal(c.ServerKey, o.ServerKey)
}

// ScramEntry names one credential of an image.
type ScramEntry struct {
	User       string
	Mechanism  ScramMechanism
	Credential *ScramCredential
}

// scramKey orders credentials by user, then mechanism.
func scramKey(user string, m ScramMechanism) []byte {
	return append(append([]byte(user), 0), byte(m))
}

// ScramCredentialRecord returns the record that recreates one credential.
func ScramCredentialRecord(user string, m ScramMechanism, c *ScramCredential) *UserScramCredentialRecord {
	return &UserScramCredentialRecord{Name: user, Mechanism: m, Salt: bytes.Clone(c.Salt),
		StoredKey: bytes.Clone(c.StoredKey), ServerKey: bytes.Clone(c.ServerKey), Iterations: c.Iterations}
}

// AclResourceType is Kafka's ResourceType code.
type AclResourceType int8

// Resource types. Unknown and Any never appear in a stored ACL.
const (
	AclResourceUnknown         AclResourceType = 0
	AclResourceAny             AclResourceType = 1
	AclResourceTopic           AclResourceType = 2
	AclResourceGroup           AclResourceType = 3
	AclResourceCluster         AclResourceType = 4
	AclResourceTransactionalID AclResourceType = 5
	AclResourceDelegationToken AclResourceType = 6
	AclResourceUser            AclResourceType = 7
)

// AclPatternType is Kafka's PatternType code.
type AclPatternType int8

// Pattern types. Only Literal and Prefixed are stored; Any and Match are
// filters.
const (
	AclPatternUnknown  AclPatternType = 0
	AclPatternAny      AclPatternType = 1
	AclPatternMatch    AclPatternType = 2
	AclPatternLiteral  AclPatternType = 3
	AclPatternPrefixed AclPatternType = 4
)

// AclOperation is Kafka's AclOperation code.
type AclOperation int8

// Operations. Unknown and Any never appear in a stored ACL.
const (
	AclOpUnknown         AclOperation = 0
	AclOpAny             AclOperation = 1
	AclOpAll             AclOperation = 2
	AclOpRead            AclOperation = 3
	AclOpWrite           AclOperation = 4
	AclOpCreate          AclOperation = 5
	AclOpDelete          AclOperation = 6
	AclOpAlter           AclOperation = 7
	AclOpDescribe        AclOperation = 8
	AclOpClusterAction   AclOperation = 9
	AclOpDescribeConfigs AclOperation = 10
	AclOpAlterConfigs    AclOperation = 11
	AclOpIdempotentWrite AclOperation = 12
	AclOpCreateTokens    AclOperation = 13
	AclOpDescribeTokens  AclOperation = 14
)

// AclPermission is Kafka's AclPermissionType code.
type AclPermission int8

// Permission types. Only Deny and Allow are stored.
const (
	AclPermissionUnknown AclPermission = 0
	AclPermissionAny     AclPermission = 1
	AclPermissionDeny    AclPermission = 2
	AclPermissionAllow   AclPermission = 3
)

// Kafka's enum names (ResourceType.name(), ...), indexed by code.
var (
	resourceTypeNames = []string{"UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"}
	patternTypeNames  = []string{"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"}
	operationNames    = []string{"UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE",
		"CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS"}
	permissionNames = []string{"UNKNOWN", "ANY", "DENY", "ALLOW"}
)

func enumName(names []string, code int8) string {
	if code >= 0 && int(code) < len(names) {
		return names[code]
	}
	return "UNKNOWN(" + strconv.Itoa(int(code)) + ")"
}

// String is Kafka's enum name ("TOPIC").
func (t AclResourceType) String() string { return enumName(resourceTypeNames, int8(t)) }

// String is Kafka's enum name ("LITERAL").
func (t AclPatternType) String() string { return enumName(patternTypeNames, int8(t)) }

// String is Kafka's enum name ("DESCRIBE_CONFIGS").
func (o AclOperation) String() string { return enumName(operationNames, int8(o)) }

// String is Kafka's enum name ("ALLOW").
func (p AclPermission) String() string { return enumName(permissionNames, int8(p)) }

// ClusterResourceName is the name of the one cluster resource ("kafka-cluster").
const ClusterResourceName = "kafka-cluster"

// WildcardResource matches every resource name of a literal ACL ("*").
const WildcardResource = "*"

// WildcardHost matches every host.
const WildcardHost = "*"

// AclBinding is one ACL: a resource pattern and an access control entry
// (Kafka's StandardAcl). Comparable, so it can key a map.
type AclBinding struct {
	ResourceType AclResourceType
	ResourceName string
	PatternType  AclPatternType
	Principal    string
	Host         string
	Operation    AclOperation
	Permission   AclPermission
}

// String is Kafka's StandardAcl.toString form.
func (b AclBinding) String() string {
	return "StandardAcl(resourceType=" + b.ResourceType.String() + ", resourceName=" + b.ResourceName +
		", patternType=" + b.PatternType.String() + ", principal=" + b.Principal + ", host=" + b.Host +
		", operation=" + b.Operation.String() + ", permissionType=" + b.Permission.String() + ")"
}

// Compare orders bindings by resource type, pattern type, resource name,
// principal, host, operation, permission.
func (b AclBinding) Compare(o AclBinding) int {
	return cmp.Or(cmp.Compare(b.ResourceType, o.ResourceType), cmp.Compare(b.PatternType, o.PatternType),
		strings.Compare(b.ResourceName, o.ResourceName), strings.Compare(b.Principal, o.Principal),
		strings.Compare(b.Host, o.Host), cmp.Compare(b.Operation, o.Operation), cmp.Compare(b.Permission, o.Permission))
}

// Validate checks what Kafka's AclControlManager.validateNewAcl checks: a
// concrete resource type, a literal or prefixed pattern, a non-empty
// resource name, a principal of the form "Type:name", a host, a concrete
// operation and ALLOW or DENY. It returns a description of the first
// problem, or "".
func (b AclBinding) Validate() string {
	switch {
	case b.ResourceType < AclResourceTopic || b.ResourceType > AclResourceUser:
		return "resource type " + b.ResourceType.String()
	case b.PatternType != AclPatternLiteral && b.PatternType != AclPatternPrefixed:
		return "pattern type " + b.PatternType.String()
	case b.ResourceName == "":
		return "empty resource name"
	case b.Operation < AclOpAll || b.Operation > AclOpDescribeTokens:
		return "operation " + b.Operation.String()
	case b.Permission != AclPermissionAllow && b.Permission != AclPermissionDeny:
		return "permission type " + b.Permission.String()
	case b.Host == "":
		return "empty host"
	}
	if typ, name, ok := strings.Cut(b.Principal, ":"); !ok || typ == "" || name == "" {
		return "principal " + strconv.Quote(b.Principal) + " is not Type:name"
	}
	return ""
}

// AclEntry is one ACL of an image with its id.
type AclEntry struct {
	ID      Uuid
	Binding AclBinding
}

// AclRecord returns the AccessControlEntryRecord that recreates one ACL.
func AclRecord(id Uuid, b AclBinding) *AccessControlEntryRecord {
	return &AccessControlEntryRecord{ID: id, ResourceType: b.ResourceType, ResourceName: b.ResourceName,
		PatternType: b.PatternType, Principal: b.Principal, Host: b.Host, Operation: b.Operation, Permission: b.Permission}
}

// Binding is the ACL the record describes.
func (r *AccessControlEntryRecord) Binding() AclBinding {
	return AclBinding{ResourceType: r.ResourceType, ResourceName: r.ResourceName, PatternType: r.PatternType,
		Principal: r.Principal, Host: r.Host, Operation: r.Operation, Permission: r.Permission}
}

// ScramCredential returns one user's credential for one mechanism.
func (i *Image) ScramCredential(user string, m ScramMechanism) (*ScramCredential, bool) {
	v, ok := i.scram.Get(scramKey(user, m))
	if !ok {
		return nil, false
	}
	return v.(*ScramCredential), true
}

// ScramCredentials returns every credential, by user then mechanism.
func (i *Image) ScramCredentials() []ScramEntry {
	out := make([]ScramEntry, 0, i.scram.Len())
	i.scram.Root().Walk(func(k []byte, v any) bool {
		out = append(out, ScramEntry{User: string(k[:len(k)-2]), Mechanism: ScramMechanism(k[len(k)-1]), Credential: v.(*ScramCredential)})
		return false
	})
	return out
}

// ScramCount returns the number of credentials (user, mechanism pairs).
func (i *Image) ScramCount() int { return i.scram.Len() }

// Acl returns one ACL by id.
func (i *Image) Acl(id Uuid) (AclBinding, bool) {
	v, ok := i.acls.Get(id[:])
	if !ok {
		return AclBinding{}, false
	}
	return *v.(*AclBinding), true
}

// Acls returns every ACL, by id.
func (i *Image) Acls() []AclEntry {
	out := make([]AclEntry, 0, i.acls.Len())
	i.acls.Root().Walk(func(k []byte, v any) bool {
		var id Uuid
		copy(id[:], k)
		out = append(out, AclEntry{ID: id, Binding: *v.(*AclBinding)})
		return false
	})
	return out
}

// SecurityShared reports whether o holds the very same credentials, ACLs
// and client quotas as i (shared structure: no delta between them touched
// any), a constant-time test that lets a writer skip comparing them.
func (i *Image) SecurityShared(o *Image) bool {
	return i.scram == o.scram && i.acls == o.acls && i.quotas == o.quotas
}

// AclCount returns the number of ACLs.
func (i *Image) AclCount() int { return i.acls.Len() }

// --- Delta ------------------------------------------------------------------

type scramDeltaKey struct {
	user string
	mech ScramMechanism
}

func (d *Delta) scramCredential(k scramDeltaKey) (*ScramCredential, bool) {
	if c, ok := d.scram[k]; ok {
		return c, c != nil
	}
	return d.base.ScramCredential(k.user, k.mech)
}

func (d *Delta) acl(id Uuid) (*AclBinding, bool) {
	if b, ok := d.acls[id]; ok {
		return b, b != nil
	}
	v, ok := d.base.acls.Get(id[:])
	if !ok {
		return nil, false
	}
	return v.(*AclBinding), true
}

// replayScram: a credential replaces the user's earlier one for the same
// mechanism (Kafka's ScramDelta); removing a credential that does not exist
// is an error (ScramControlManager.replay).
func (d *Delta) replayScram(rec Record) error {
	switch r := rec.(type) {
	case *UserScramCredentialRecord:
		switch {
		case r.Name == "":
			return invalid("scram credential: empty user name")
		case !r.Mechanism.Valid():
			return invalid("scram credential for %q: mechanism %d", r.Name, r.Mechanism)
		case r.Iterations <= 0:
			return invalid("scram credential for %q: %d iterations", r.Name, r.Iterations)
		}
		d.scram[scramDeltaKey{r.Name, r.Mechanism}] = &ScramCredential{Salt: bytes.Clone(r.Salt),
			StoredKey: bytes.Clone(r.StoredKey), ServerKey: bytes.Clone(r.ServerKey), Iterations: r.Iterations}
	case *RemoveUserScramCredentialRecord:
		k := scramDeltaKey{r.Name, r.Mechanism}
		if _, ok := d.scramCredential(k); !ok {
			return invalid("remove scram credential %s of %q: none", r.Mechanism, r.Name)
		}
		d.scram[k] = nil
	}
	return nil
}

// replayAcl: an ACL id must be new (AclControlManager.replay refuses an id
// already in use) and the ACL valid; removing an unknown id is an error
// (AclsDelta.replay).
func (d *Delta) replayAcl(rec Record) error {
	switch r := rec.(type) {
	case *AccessControlEntryRecord:
		if r.ID == ZeroUuid {
			return invalid("acl: zero id")
		}
		if _, ok := d.acl(r.ID); ok {
			return invalid("acl %s: id already in use", r.ID)
		}
		b := r.Binding()
		if why := b.Validate(); why != "" {
			return invalid("acl %s: %s", r.ID, why)
		}
		d.acls[r.ID] = &b
	case *RemoveAccessControlEntryRecord:
		if _, ok := d.acl(r.ID); !ok {
			return invalid("remove acl %s: no such acl", r.ID)
		}
		d.acls[r.ID] = nil
	}
	return nil
}

// applySecurity copies the touched credentials and ACLs into next.
func (d *Delta) applySecurity(next *Image) {
	if len(d.scram) > 0 {
		txn := d.base.scram.Txn()
		for k, c := range d.scram {
			if c == nil {
				txn.Delete(scramKey(k.user, k.mech))
			} else {
				txn.Insert(scramKey(k.user, k.mech), c)
			}
		}
		next.scram = txn.Commit()
	}
	if len(d.acls) > 0 {
		txn := d.base.acls.Txn()
		for id, b := range d.acls {
			if b == nil {
				txn.Delete(id[:])
			} else {
				txn.Insert(id[:], b)
			}
		}
		next.acls = txn.Commit()
	}
}

// diffSecurity replays the records that turn prev's credentials and ACLs
// into next's: removals first, then additions and replacements.
func diffSecurity(prev, next *Image, replay func(Record) error) error {
	for _, e := range prev.ScramCredentials() {
		if _, ok := next.ScramCredential(e.User, e.Mechanism); !ok {
			if err := replay(&RemoveUserScramCredentialRecord{Name: e.User, Mechanism: e.Mechanism}); err != nil {
				return err
			}
		}
	}
	for _, a := range prev.Acls() {
		if b, ok := next.Acl(a.ID); !ok || b != a.Binding {
			if err := replay(&RemoveAccessControlEntryRecord{ID: a.ID}); err != nil {
				return err
			}
		}
	}
	for _, e := range next.ScramCredentials() {
		if old, ok := prev.ScramCredential(e.User, e.Mechanism); !ok || !old.Equal(e.Credential) {
			if err := replay(ScramCredentialRecord(e.User, e.Mechanism, e.Credential)); err != nil {
				return err
			}
		}
	}
	for _, a := range next.Acls() {
		if b, ok := prev.Acl(a.ID); !ok || b != a.Binding {
			if err := replay(AclRecord(a.ID, a.Binding)); err != nil {
				return err
			}
		}
	}
	return nil
}

// securityEqual compares credentials and ACLs (ids included).
func (i *Image) securityEqual(o *Image) bool {
	if i.scram.Len() != o.scram.Len() || i.acls.Len() != o.acls.Len() {
		return false
	}
	equal := true
	i.scram.Root().Walk(func(k []byte, v any) bool {
		w, ok := o.scram.Get(k)
		equal = ok && v.(*ScramCredential).Equal(w.(*ScramCredential))
		return !equal
	})
	if !equal {
		return false
	}
	i.acls.Root().Walk(func(k []byte, v any) bool {
		w, ok := o.acls.Get(k)
		equal = ok && *v.(*AclBinding) == *w.(*AclBinding)
		return !equal
	})
	return equal
}
