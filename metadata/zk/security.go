package zk

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/zkraft/zkraft/metadata"
)

// This file holds the ZooKeeper form of the security metadata, as Kafka's
// ZooKeeper mode writes it (ZkData.scala, ScramCredentialUtils,
// AclEntry, SecurityUtils):
//
//	/config/users/<sanitized user>   {"version":1,"config":{"SCRAM-SHA-256":
//	                                 "salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=4096", ...}}
//	/kafka-acl/<Type>/<name>         {"version":1,"acls":[{"principal":"User:alice",
//	                                 "permissionType":"Allow","operation":"Read","host":"*"}]}
//	/kafka-acl-extended/prefixed/<Type>/<name>   the same, for prefixed patterns
//	/kafka-acl-changes/acl_changes_<seq>         "TOPIC:foo" (literal patterns)
//	/kafka-acl-extended-changes/acl_changes_<seq>
//	                                 {"version":1,"resourceType":"TOPIC","name":"foo","patternType":"PREFIXED"}
//
// <Type> is SecurityUtils.resourceTypeName: Topic, Group, Cluster,
// TransactionalId, DelegationToken, User.

// ACL paths (ZkAclStore, ZkAclChangeStore).
const (
	AclPath                = "/kafka-acl"
	AclExtendedPath        = "/kafka-acl-extended"
	AclPrefixedPath        = AclExtendedPath + "/prefixed"
	AclChangesPath         = "/kafka-acl-changes"
	AclExtendedChangesPath = "/kafka-acl-extended-changes"
	// AclChangePrefix names the children of both change paths (ZooKeeper
	// appends a 10-digit sequence number).
	AclChangePrefix = "acl_changes_"
)

// AclResource is one resource pattern: the znode holding its ACLs.
type AclResource struct {
	Type    metadata.AclResourceType
	Name    string
	Pattern metadata.AclPatternType // AclPatternLiteral or AclPatternPrefixed
}

// ResourceOf is the resource pattern of a binding.
func ResourceOf(b metadata.AclBinding) AclResource {
	return AclResource{Type: b.ResourceType, Name: b.ResourceName, Pattern: b.PatternType}
}

// AclZNodeEntry is one element of a resource znode's "acls" array.
type AclZNodeEntry struct {
	Principal  string
	Permission metadata.AclPermission
	Operation  metadata.AclOperation
	Host       string
}

// Binding joins a resource and an entry.
func (e AclZNodeEntry) Binding(r AclResource) metadata.AclBinding {
	return metadata.AclBinding{ResourceType: r.Type, ResourceName: r.Name, PatternType: r.Pattern,
		Principal: e.Principal, Host: e.Host, Operation: e.Operation, Permission: e.Permission}
}

// EntryOf is the znode entry of a binding.
func EntryOf(b metadata.AclBinding) AclZNodeEntry {
	return AclZNodeEntry{Principal: b.Principal, Permission: b.Permission, Operation: b.Operation, Host: b.Host}
}

var (
	zkResourceTypes = map[metadata.AclResourceType]string{
		metadata.AclResourceTopic: "Topic", metadata.AclResourceGroup: "Group", metadata.AclResourceCluster: "Cluster",
		metadata.AclResourceTransactionalID: "TransactionalId", metadata.AclResourceDelegationToken: "DelegationToken",
		metadata.AclResourceUser: "User",
	}
	camelBoundary = regexp.MustCompile(`([a-z])([A-Z])`)
)

// pascal is SecurityUtils.toPascalCase: "DESCRIBE_CONFIGS" -> "DescribeConfigs".
func pascal(enumName string) string {
	var b strings.Builder
	for _, w := range strings.Split(enumName, "_") {
		if w == "" {
			continue
		}
		b.WriteString(w[:1])
		b.WriteString(strings.ToLower(w[1:]))
	}
	return b.String()
}

// enumOf is SecurityUtils' inverse: "DescribeConfigs", "DESCRIBE_CONFIGS"
// and "describeConfigs" all name DESCRIBE_CONFIGS; lo..hi bound the codes
// accepted.
func enumOf(name string, lo, hi int8, nameOf func(int8) string) (int8, bool) {
	upper := strings.ToUpper(camelBoundary.ReplaceAllString(name, "${1}_${2}"))
	for c := lo; c <= hi; c++ {
		if nameOf(c) == upper {
			return c, true
		}
	}
	return 0, false
}

// ResourceTypeName is the <Type> of an ACL path ("TransactionalId").
func ResourceTypeName(t metadata.AclResourceType) (string, bool) {
	n, ok := zkResourceTypes[t]
	return n, ok
}

// ParseResourceType reads a <Type> path element or a change event's type
// ("Topic" or "TOPIC").
func ParseResourceType(s string) (metadata.AclResourceType, bool) {
	c, ok := enumOf(s, int8(metadata.AclResourceTopic), int8(metadata.AclResourceUser),
		func(c int8) string { return metadata.AclResourceType(c).String() })
	return metadata.AclResourceType(c), ok
}

// AclResourcePath is /kafka-acl/<Type>/<name> (literal) or
// /kafka-acl-extended/prefixed/<Type>/<name>.
func AclResourcePath(r AclResource) (string, error) {
	typ, ok := ResourceTypeName(r.Type)
	if !ok {
		return "", fmt.Errorf("acl resource type %s: %w", r.Type, ErrTranslate)
	}
	if r.Name == "" || strings.Contains(r.Name, "/") {
		return "", fmt.Errorf("acl resource name %q has no znode: %w", r.Name, ErrTranslate)
	}
	switch r.Pattern {
	case metadata.AclPatternLiteral:
		return AclPath + "/" + typ + "/" + r.Name, nil
	case metadata.AclPatternPrefixed:
		return AclPrefixedPath + "/" + typ + "/" + r.Name, nil
	}
	return "", fmt.Errorf("acl pattern type %s: %w", r.Pattern, ErrTranslate)
}

type aclEntryJSON struct {
	Principal      string `json:"principal"`
	PermissionType string `json:"permissionType"`
	Operation      string `json:"operation"`
	Host           string `json:"host"`
}

type aclsJSON struct {
	Version int            `json:"version"`
	Acls    []aclEntryJSON `json:"acls"`
}

// EncodeAcls writes a resource znode (AclEntry.toJsonCompatibleMap).
func EncodeAcls(entries []AclZNodeEntry) []byte {
	v := aclsJSON{Version: 1, Acls: make([]aclEntryJSON, len(entries))}
	for i, e := range entries {
		v.Acls[i] = aclEntryJSON{Principal: e.Principal, PermissionType: pascal(e.Permission.String()),
			Operation: pascal(e.Operation.String()), Host: e.Host}
	}
	b, _ := json.Marshal(v)
	return b
}

// DecodeAcls reads a resource znode. Every entry needs a principal of the
// form Type:name, a host, ALLOW or DENY and a concrete operation.
func DecodeAcls(data []byte) ([]AclZNodeEntry, error) {
	const what = "/kafka-acl/<Type>/<name>"
	var v aclsJSON
	if err := decodeStrict(what, data, &v); err != nil {
		return nil, err
	}
	if v.Version != 1 {
		return nil, corrupt(what, "version %d", v.Version)
	}
	out := make([]AclZNodeEntry, 0, len(v.Acls))
	for i, a := range v.Acls {
		perm, ok := enumOf(a.PermissionType, int8(metadata.AclPermissionDeny), int8(metadata.AclPermissionAllow),
			func(c int8) string { return metadata.AclPermission(c).String() })
		if !ok {
			return nil, corrupt(what, "acl %d: permissionType %q", i, a.PermissionType)
		}
		op, ok := enumOf(a.Operation, int8(metadata.AclOpAll), int8(metadata.AclOpDescribeTokens),
			func(c int8) string { return metadata.AclOperation(c).String() })
		if !ok {
			return nil, corrupt(what, "acl %d: operation %q", i, a.Operation)
		}
		if typ, name, ok := strings.Cut(a.Principal, ":"); !ok || typ == "" || name == "" {
			return nil, corrupt(what, "acl %d: principal %q", i, a.Principal)
		}
		if a.Host == "" {
			return nil, corrupt(what, "acl %d: empty host", i)
		}
		out = append(out, AclZNodeEntry{Principal: a.Principal, Permission: metadata.AclPermission(perm),
			Operation: metadata.AclOperation(op), Host: a.Host})
	}
	return out, nil
}

// AclChangeOp is the change notification that makes Kafka's ZooKeeper-mode
// brokers re-read one resource (AclChangeNode): "TOPIC:foo" under
// /kafka-acl-changes for literal patterns, the ExtendedAclChangeEvent JSON
// under /kafka-acl-extended-changes otherwise.
func AclChangeOp(r AclResource) Op {
	if r.Pattern == metadata.AclPatternLiteral {
		return Op{Kind: OpCreate, Path: AclChangesPath + "/" + AclChangePrefix, Sequential: true,
			Data: []byte(r.Type.String() + ":" + r.Name)}
	}
	b, _ := json.Marshal(struct {
		Version      int    `json:"version"`
		ResourceType string `json:"resourceType"`
		Name         string `json:"name"`
		PatternType  string `json:"patternType"`
	}{1, r.Type.String(), r.Name, r.Pattern.String()})
	return Op{Kind: OpCreate, Path: AclExtendedChangesPath + "/" + AclChangePrefix, Sequential: true, Data: b}
}

// DecodeAclChange reads either form of change notification.
func DecodeAclChange(extended bool, data []byte) (AclResource, error) {
	const what = "/kafka-acl-changes/acl_changes_<n>"
	if !extended {
		typ, name, ok := strings.Cut(string(data), ":")
		rt, known := ParseResourceType(typ)
		if !ok || !known || name == "" {
			return AclResource{}, corrupt(what, "%q is not ResourceType:name", data)
		}
		return AclResource{Type: rt, Name: name, Pattern: metadata.AclPatternLiteral}, nil
	}
	var v struct {
		Version      int    `json:"version"`
		ResourceType string `json:"resourceType"`
		Name         string `json:"name"`
		PatternType  string `json:"patternType"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return AclResource{}, corrupt(what, "%v", err)
	}
	rt, ok := ParseResourceType(v.ResourceType)
	pt, pok := enumOf(v.PatternType, int8(metadata.AclPatternLiteral), int8(metadata.AclPatternPrefixed),
		func(c int8) string { return metadata.AclPatternType(c).String() })
	if v.Version != 1 || !ok || !pok || v.Name == "" {
		return AclResource{}, corrupt(what, "extended change %s", data)
	}
	return AclResource{Type: rt, Name: v.Name, Pattern: metadata.AclPatternType(pt)}, nil
}

// AclID is the id an ACL read from ZooKeeper gets: the first 16 bytes of
// the SHA-256 of its fields. ZooKeeper stores no ACL ids (Kafka's
// migration draws random ones); a content id makes every read of the same
// tree give the same records, so a ZooKeeper-mode image, the migration load
// and SYNC_KRAFT_TO_ZK agree without remembering ids.
func AclID(b metadata.AclBinding) metadata.Uuid {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s\x00%d\x00%s\x00%s\x00%d\x00%d", b.ResourceType, b.ResourceName, b.PatternType,
		b.Principal, b.Host, b.Operation, b.Permission)
	var id metadata.Uuid
	copy(id[:], h.Sum(nil))
	if id == metadata.ZeroUuid || id == metadata.MetadataTopicID {
		id[0] ^= 0x80
	}
	return id
}

// SCRAM credential strings (ScramCredentialUtils).
const (
	scramSalt       = "salt"
	scramStoredKey  = "stored_key"
	scramServerKey  = "server_key"
	scramIterations = "iterations"
)

// EncodeScramCredential is ScramCredentialUtils.credentialToString:
// "salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>" (standard
// base64 with padding), the value of the mechanism's key in
// /config/users/<user>.
func EncodeScramCredential(c *metadata.ScramCredential) string {
	enc := base64.StdEncoding.EncodeToString
	return scramSalt + "=" + enc(c.Salt) + "," + scramStoredKey + "=" + enc(c.StoredKey) + "," +
		scramServerKey + "=" + enc(c.ServerKey) + "," + scramIterations + "=" + strconv.Itoa(int(c.Iterations))
}

// DecodeScramCredential is ScramCredentialUtils.credentialFromString: all
// four fields, in any order, iterations a positive integer.
func DecodeScramCredential(s string) (*metadata.ScramCredential, error) {
	const what = "/config/users/<user> SCRAM credential"
	fields := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, corrupt(what, "field %q is not key=value", kv)
		}
		fields[k] = v
	}
	var c metadata.ScramCredential
	var err error
	for _, f := range []struct {
		key string
		dst *[]byte
	}{{scramSalt, &c.Salt}, {scramStoredKey, &c.StoredKey}, {scramServerKey, &c.ServerKey}} {
		v, ok := fields[f.key]
		if !ok {
			return nil, corrupt(what, "no %s", f.key)
		}
		if *f.dst, err = base64.StdEncoding.DecodeString(v); err != nil {
			return nil, corrupt(what, "%s: %v", f.key, err)
		}
	}
	n, err := strconv.ParseInt(fields[scramIterations], 10, 32)
	if err != nil || n <= 0 {
		return nil, corrupt(what, "iterations %q", fields[scramIterations])
	}
	c.Iterations = int32(n)
	return &c, nil
}

// ScramCredentials picks the SCRAM mechanisms out of a /config/users/<user>
// config (the other keys are client quotas). A credential that does not
// parse is an error.
func ScramCredentials(cfg map[string]string) (map[metadata.ScramMechanism]*metadata.ScramCredential, error) {
	out := map[metadata.ScramMechanism]*metadata.ScramCredential{}
	for _, m := range metadata.ScramMechanisms {
		v, ok := cfg[m.String()]
		if !ok {
			continue
		}
		c, err := DecodeScramCredential(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		out[m] = c
	}
	return out, nil
}

// SanitizeEntity is Kafka's Sanitizer.sanitize for a config entity name
// (users: the principal name): URL encoding in UTF-8 with "*" as %2A and
// space as %20, so any name is one znode.
func SanitizeEntity(name string) string {
	enc := url.QueryEscape(name) // Java's URLEncoder keeps A-Za-z0-9 . - * _ and writes space as +
	var b strings.Builder
	for i := 0; i < len(enc); i++ {
		switch c := enc[i]; c {
		case '*':
			b.WriteString("%2A")
		case '+':
			b.WriteString("%20")
		case '~': // Java's URLEncoder escapes it; Go's does not
			b.WriteString("%7E")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DesanitizeEntity is Sanitizer.desanitize (URL decoding).
func DesanitizeEntity(name string) (string, error) {
	s, err := url.QueryUnescape(name)
	if err != nil {
		return "", fmt.Errorf("entity name %q: %w", name, ErrCorruptZNode)
	}
	return s, nil
}

// UserConfigPath is /config/users/<sanitized user>.
func UserConfigPath(user string) string { return EntityConfigPath(ConfigUsers, SanitizeEntity(user)) }
