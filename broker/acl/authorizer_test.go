package acl

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/zkraft/zkraft/metadata"
)

type m = metadata.AclBinding

const (
	topic   = metadata.AclResourceTopic
	group   = metadata.AclResourceGroup
	cluster = metadata.AclResourceCluster
	txn     = metadata.AclResourceTransactionalID
	lit     = metadata.AclPatternLiteral
	pre     = metadata.AclPatternPrefixed
	allow   = metadata.AclPermissionAllow
	deny    = metadata.AclPermissionDeny
)

func acl(typ metadata.AclResourceType, name string, pat metadata.AclPatternType, principal, host string,
	op metadata.AclOperation, perm metadata.AclPermission) m {
	return m{ResourceType: typ, ResourceName: name, PatternType: pat, Principal: principal, Host: host, Operation: op, Permission: perm}
}

func entries(bs ...m) []metadata.AclEntry {
	out := make([]metadata.AclEntry, len(bs))
	for i, b := range bs {
		out[i] = metadata.AclEntry{ID: metadata.Uuid{byte(i + 1)}, Binding: b}
	}
	return out
}

// TestAuthorize is a table of Kafka's StandardAuthorizer rules
// (StandardAuthorizerData.authorize / findResult and the cases of
// StandardAuthorizerTest), each row citing the rule it checks.
func TestAuthorize(t *testing.T) {
	acls := entries(
		acl(topic, "orders", lit, "User:alice", "*", metadata.AclOpRead, allow),
		acl(topic, "orders", lit, "User:alice", "*", metadata.AclOpWrite, allow),
		acl(topic, "orders", lit, "User:mallory", "*", metadata.AclOpAll, deny),
		acl(topic, "logs-", pre, "User:bob", "*", metadata.AclOpRead, allow),
		acl(topic, "logs-secret", lit, "User:bob", "*", metadata.AclOpRead, deny),
		acl(topic, "*", lit, "User:carol", "*", metadata.AclOpDescribe, allow),
		acl(topic, "public", lit, "User:*", "*", metadata.AclOpRead, allow),
		acl(topic, "public", lit, "User:dave", "*", metadata.AclOpRead, deny),
		acl(topic, "hosts", lit, "User:alice", "10.0.0.1", metadata.AclOpRead, allow),
		acl(topic, "cfg", lit, "User:alice", "*", metadata.AclOpAlterConfigs, allow),
		acl(topic, "del", lit, "User:alice", "*", metadata.AclOpDelete, allow),
		acl(topic, "alt", lit, "User:alice", "*", metadata.AclOpAlter, allow),
		acl(topic, "noimply", lit, "User:alice", "*", metadata.AclOpRead, allow),
		acl(topic, "noimply", lit, "User:alice", "*", metadata.AclOpDescribe, deny),
		acl(topic, "denyread", lit, "User:alice", "*", metadata.AclOpDescribe, allow),
		acl(topic, "denyread", lit, "User:alice", "*", metadata.AclOpRead, deny),
		acl(group, "app-", pre, "User:alice", "*", metadata.AclOpRead, allow),
		acl(cluster, metadata.ClusterResourceName, lit, "User:ops", "*", metadata.AclOpAlterConfigs, allow),
		acl(txn, "tx-1", lit, "User:alice", "*", metadata.AclOpWrite, allow),
		acl(topic, "hostdeny", lit, "User:alice", "*", metadata.AclOpRead, allow),
		acl(topic, "hostdeny", lit, "User:alice", "10.9.9.9", metadata.AclOpRead, deny),
	)
	cfg := Config{SuperUsers: []string{"User:admin"}}
	a := New(acls, cfg)
	open := New(acls, Config{AllowEveryoneIfNoACLFound: true})
	type row struct {
		rule      string
		az        *Authorizer
		principal string
		host      string
		act       Action
		want      Result
		reason    string
	}
	act := func(typ metadata.AclResourceType, name string, op metadata.AclOperation) Action {
		return Action{ResourceType: typ, ResourceName: name, Operation: op}
	}
	const h = "192.168.0.7"
	rows := []row{
		{"literal allow", a, "User:alice", h, act(topic, "orders", metadata.AclOpRead), Allowed, "allow acl"},
		{"literal allow, another operation", a, "User:alice", h, act(topic, "orders", metadata.AclOpDelete), Denied, "no matching acl"},
		{"another principal", a, "User:bob", h, act(topic, "orders", metadata.AclOpRead), Denied, "no matching acl"},
		{"deny ALL denies every operation", a, "User:mallory", h, act(topic, "orders", metadata.AclOpDescribe), Denied, "deny acl"},
		{"prefixed allow", a, "User:bob", h, act(topic, "logs-app", metadata.AclOpRead), Allowed, "allow acl"},
		{"prefixed equal to the name", a, "User:bob", h, act(topic, "logs-", metadata.AclOpRead), Allowed, "allow acl"},
		{"prefixed does not match a shorter name", a, "User:bob", h, act(topic, "logs", metadata.AclOpRead), Denied, "no matching acl"},
		{"literal deny beats prefixed allow (deny wins)", a, "User:bob", h, act(topic, "logs-secret", metadata.AclOpRead), Denied, "deny acl"},
		{"literal * matches any topic", a, "User:carol", h, act(topic, "anything", metadata.AclOpDescribe), Allowed, "allow acl"},
		{"literal * only for its own resource type", a, "User:carol", h, act(group, "anything", metadata.AclOpDescribe), Denied, "no matching acl"},
		{"User:* matches everyone", a, "User:erin", h, act(topic, "public", metadata.AclOpRead), Allowed, "allow acl"},
		{"a deny for one user beats User:* allow", a, "User:dave", h, act(topic, "public", metadata.AclOpRead), Denied, "deny acl"},
		{"host must match", a, "User:alice", h, act(topic, "hosts", metadata.AclOpRead), Denied, "no matching acl"},
		{"host matches", a, "User:alice", "10.0.0.1", act(topic, "hosts", metadata.AclOpRead), Allowed, "allow acl"},
		{"deny from one host only", a, "User:alice", "10.9.9.9", act(topic, "hostdeny", metadata.AclOpRead), Denied, "deny acl"},
		{"allow from other hosts", a, "User:alice", h, act(topic, "hostdeny", metadata.AclOpRead), Allowed, "allow acl"},
		{"READ implies DESCRIBE", a, "User:alice", h, act(topic, "orders", metadata.AclOpDescribe), Allowed, "allow acl"},
		{"DELETE implies DESCRIBE", a, "User:alice", h, act(topic, "del", metadata.AclOpDescribe), Allowed, "allow acl"},
		{"ALTER implies DESCRIBE", a, "User:alice", h, act(topic, "alt", metadata.AclOpDescribe), Allowed, "allow acl"},
		{"ALTER_CONFIGS implies DESCRIBE_CONFIGS", a, "User:alice", h, act(topic, "cfg", metadata.AclOpDescribeConfigs), Allowed, "allow acl"},
		{"ALTER_CONFIGS does not imply DESCRIBE", a, "User:alice", h, act(topic, "cfg", metadata.AclOpDescribe), Denied, "no matching acl"},
		{"READ does not imply WRITE", a, "User:alice", h, act(topic, "noimply", metadata.AclOpWrite), Denied, "no matching acl"},
		{"deny DESCRIBE beats READ's implied DESCRIBE", a, "User:alice", h, act(topic, "noimply", metadata.AclOpDescribe), Denied, "deny acl"},
		{"deny READ does not deny DESCRIBE (implication is for ALLOW only)", a, "User:alice", h, act(topic, "denyread", metadata.AclOpDescribe), Allowed, "allow acl"},
		{"group prefixed", a, "User:alice", h, act(group, "app-consumers", metadata.AclOpRead), Allowed, "allow acl"},
		{"cluster", a, "User:ops", h, act(cluster, metadata.ClusterResourceName, metadata.AclOpDescribeConfigs), Allowed, "allow acl"},
		{"cluster, not implied", a, "User:ops", h, act(cluster, metadata.ClusterResourceName, metadata.AclOpClusterAction), Denied, "no matching acl"},
		{"transactional id", a, "User:alice", h, act(txn, "tx-1", metadata.AclOpDescribe), Allowed, "allow acl"},
		{"super user bypasses deny", a, "User:admin", h, act(topic, "orders", metadata.AclOpAll), Allowed, "super user"},
		{"super user is exact", a, "User:admin2", h, act(topic, "orders", metadata.AclOpRead), Denied, "no matching acl"},
		{"no acl at all: denied by default", a, "User:alice", h, act(group, "nothing", metadata.AclOpRead), Denied, "no matching acl"},
		{"no acl at all: allow.everyone.if.no.acl.found", open, "User:alice", h, act(group, "nothing", metadata.AclOpRead), Allowed, "no acl found"},
		{"allow.everyone: a resource with acls for others is still denied", open, "User:zed", h, act(topic, "orders", metadata.AclOpRead), Denied, "no matching acl"},
		{"allow.everyone: a prefixed acl counts as an acl of the resource", open, "User:zed", h, act(topic, "logs-x", metadata.AclOpRead), Denied, "no matching acl"},
		{"allow.everyone: the wildcard acl counts too", open, "User:zed", h, act(topic, "zzz", metadata.AclOpRead), Denied, "no matching acl"},
		{"allow.everyone: other resource types' acls do not count", open, "User:zed", h, act(metadata.AclResourceUser, "x", metadata.AclOpAlter), Allowed, "no acl found"},
	}
	for _, r := range rows {
		t.Run(r.rule, func(t *testing.T) {
			d := r.az.Authorize(r.principal, r.host, r.act)
			if d.Result != r.want || d.Reason != r.reason {
				t.Fatalf("%s %s on %s %q from %s = %s (%s), want %s (%s)", r.principal, r.act.Operation, r.act.ResourceType,
					r.act.ResourceName, r.host, d.Result, d.Reason, r.want, r.reason)
			}
			if (d.Reason == "allow acl" || d.Reason == "deny acl") != (d.Acl != nil) {
				t.Fatalf("decision %+v: acl missing or extra", d)
			}
		})
	}
}

func TestFromImageAndConfig(t *testing.T) {
	d := metadata.NewDelta(metadata.EmptyImage())
	if err := d.Replay(metadata.AclRecord(metadata.Uuid{9}, acl(topic, "t", lit, "User:a", "*", metadata.AclOpRead, allow))); err != nil {
		t.Fatal(err)
	}
	a := FromImage(d.Apply(), DefaultConfig())
	if a.AclCount() != 1 || !a.Authorize("User:a", "h", Action{topic, "t", metadata.AclOpRead}).Allowed() {
		t.Fatal("FromImage")
	}
	if got := ParseSuperUsers(" User:admin ; User:broker;;"); !reflect.DeepEqual(got, []string{"User:admin", "User:broker"}) {
		t.Fatalf("ParseSuperUsers %q", got)
	}
	if err := (Config{SuperUsers: []string{"User:admin"}}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"admin", "User:", ":x"} {
		if err := (Config{SuperUsers: []string{bad}}).Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("super user %q: %v", bad, err)
		}
	}
	for _, n := range AuthorizerClassNames {
		if !KnownAuthorizer(n) {
			t.Fatal(n)
		}
	}
	if KnownAuthorizer("com.example.MyAuthorizer") {
		t.Fatal("unknown authorizer accepted")
	}
	if fmt.Sprint(Allowed, Denied) != "ALLOWED DENIED" {
		t.Fatal(fmt.Sprint(Allowed, Denied))
	}
}

// TestAuthorizeByResourceType: Kafka's Authorizer.authorizeByResourceType
// (KIP-679), the cases of AuthorizerTest.testAuthorizeByResourceType*.
func TestAuthorizeByResourceType(t *testing.T) {
	const h = "10.0.0.5"
	w := metadata.AclOpWrite
	type row struct {
		rule string
		acls []m
		cfg  Config
		who  string
		want Result
	}
	rows := []row{
		{"no acls: denied", nil, Config{}, "User:a", Denied},
		{"no acls: allow.everyone.if.no.acl.found", nil, Config{AllowEveryoneIfNoACLFound: true}, "User:a", Allowed},
		{"super user", []m{acl(topic, "*", lit, "User:a", "*", w, deny)}, Config{SuperUsers: []string{"User:a"}}, "User:a", Allowed},
		{"literal allow", []m{acl(topic, "t1", lit, "User:a", "*", w, allow)}, Config{}, "User:a", Allowed},
		{"another user's allow", []m{acl(topic, "t1", lit, "User:b", "*", w, allow)}, Config{}, "User:a", Denied},
		{"User:* allow", []m{acl(topic, "t1", lit, "User:*", "*", w, allow)}, Config{}, "User:a", Allowed},
		{"other host", []m{acl(topic, "t1", lit, "User:a", "10.9.9.9", w, allow)}, Config{}, "User:a", Denied},
		{"ALL allows", []m{acl(topic, "t1", lit, "User:a", "*", metadata.AclOpAll, allow)}, Config{}, "User:a", Allowed},
		{"implied operations do not count", []m{acl(topic, "t1", lit, "User:a", "*", metadata.AclOpRead, allow)}, Config{}, "User:a", Denied},
		{"literal allow denied literally", []m{acl(topic, "t1", lit, "User:a", "*", w, allow), acl(topic, "t1", lit, "User:a", "*", w, deny)}, Config{}, "User:a", Denied},
		{"literal allow under a denied prefix", []m{acl(topic, "t1", lit, "User:a", "*", w, allow), acl(topic, "t", pre, "User:a", "*", w, deny)}, Config{}, "User:a", Denied},
		{"literal allow beside an unrelated deny", []m{acl(topic, "t1", lit, "User:a", "*", w, allow), acl(topic, "t2", lit, "User:a", "*", w, deny)}, Config{}, "User:a", Allowed},
		{"prefixed allow under a shorter denied prefix", []m{acl(topic, "abc", pre, "User:a", "*", w, allow), acl(topic, "ab", pre, "User:a", "*", w, deny)}, Config{}, "User:a", Denied},
		{"prefixed allow over a longer denied prefix", []m{acl(topic, "ab", pre, "User:a", "*", w, allow), acl(topic, "abc", pre, "User:a", "*", w, deny)}, Config{}, "User:a", Allowed},
		{"prefixed allow, literal deny of the same name", []m{acl(topic, "ab", pre, "User:a", "*", w, allow), acl(topic, "ab", lit, "User:a", "*", w, deny)}, Config{}, "User:a", Allowed},
		{"wildcard deny wins", []m{acl(topic, "t1", lit, "User:a", "*", w, allow), acl(topic, "*", lit, "User:a", "*", w, deny)}, Config{}, "User:a", Denied},
		{"wildcard allow", []m{acl(topic, "*", lit, "User:a", "*", w, allow), acl(topic, "t", pre, "User:a", "*", w, deny)}, Config{}, "User:a", Allowed},
		{"other resource types do not count", []m{acl(group, "g", lit, "User:a", "*", w, allow)}, Config{AllowEveryoneIfNoACLFound: true}, "User:a", Allowed},
		{"allow.everyone: no acl matches the hard-coded name", []m{acl(topic, "t1", lit, "User:b", "*", w, allow)}, Config{AllowEveryoneIfNoACLFound: true}, "User:a", Allowed},
		{"allow.everyone: a wildcard acl for others counts", []m{acl(topic, "*", lit, "User:b", "*", w, allow)}, Config{AllowEveryoneIfNoACLFound: true}, "User:a", Denied},
	}
	for _, r := range rows {
		t.Run(r.rule, func(t *testing.T) {
			d := New(entries(r.acls...), r.cfg).AuthorizeByResourceType(r.who, h, topic, w)
			if d.Result != r.want {
				t.Fatalf("%s WRITE on any topic = %s (%s), want %s", r.who, d.Result, d.Reason, r.want)
			}
		})
	}
}
