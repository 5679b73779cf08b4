package zk

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

func b64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// A credential in the form kafka-configs.sh --alter --add-config
// 'SCRAM-SHA-256=[iterations=4096,password=...]' writes (made-up bytes).
var kafkaScramValue = "salt=MWtxOWR0aDVpc2RtY2tyZW9lM2Zxbm5kMQ==,stored_key=9Vu5g5I4ujq5qiBZoj4lfQXMQ81/xT5bq0Mk/v3wNkE=," +
	"server_key=5EXpRlT/Ny0dbfqwKtw5GvYdp9BcVhLTf8CEW/dy8hc=,iterations=4096"

func TestScramCredentialString(t *testing.T) {
	c, err := DecodeScramCredential(kafkaScramValue)
	if err != nil {
		t.Fatal(err)
	}
	want := &metadata.ScramCredential{Salt: b64("MWtxOWR0aDVpc2RtY2tyZW9lM2Zxbm5kMQ=="),
		StoredKey: b64("9Vu5g5I4ujq5qiBZoj4lfQXMQ81/xT5bq0Mk/v3wNkE="),
		ServerKey: b64("5EXpRlT/Ny0dbfqwKtw5GvYdp9BcVhLTf8CEW/dy8hc="), Iterations: 4096}
	if !c.Equal(want) {
		t.Fatalf("decoded %+v", c)
	}
	if got := EncodeScramCredential(c); got != kafkaScramValue {
		t.Fatalf("encode\n got %s\nwant %s", got, kafkaScramValue)
	}
	// Fields in another order are fine (credentialFromString uses a map).
	if c2, err := DecodeScramCredential("iterations=8192,server_key=AQ==,stored_key=Ag==,salt=Aw=="); err != nil || c2.Iterations != 8192 || c2.Salt[0] != 3 {
		t.Fatalf("reordered: %+v %v", c2, err)
	}
	for _, bad := range []string{"", "salt=AQ==", "salt=AQ==,stored_key=AQ==,server_key=AQ==,iterations=0",
		"salt=!!,stored_key=AQ==,server_key=AQ==,iterations=4096", "salt=AQ==,stored_key=AQ==,server_key=AQ==,iterations=x",
		"salt=AQ==,stored_key,server_key=AQ==,iterations=4096"} {
		if _, err := DecodeScramCredential(bad); !errors.Is(err, ErrCorruptZNode) {
			t.Errorf("DecodeScramCredential(%q) = %v", bad, err)
		}
	}
	// The whole znode: SCRAM keys picked out of the user's config, quota keys ignored.
	cfg, err := DecodeEntityConfig([]byte(`{"version":1,"config":{"SCRAM-SHA-512":"` + kafkaScramValue +
		`","producer_byte_rate":"1024","SCRAM-SHA-256":"` + kafkaScramValue + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := ScramCredentials(cfg)
	if err != nil || len(creds) != 2 || !creds[metadata.ScramSHA512].Equal(want) {
		t.Fatalf("ScramCredentials = %v, %v", creds, err)
	}
}

// TestAclZNodes: Kafka's exact JSON for resource znodes (AclEntry) and the
// two change notification forms (ZkData.scala).
func TestAclZNodes(t *testing.T) {
	entries := []AclZNodeEntry{
		{Principal: "User:alice", Permission: metadata.AclPermissionAllow, Operation: metadata.AclOpRead, Host: "*"},
		{Principal: "User:bob", Permission: metadata.AclPermissionDeny, Operation: metadata.AclOpDescribeConfigs, Host: "10.0.0.1"},
		{Principal: "User:*", Permission: metadata.AclPermissionAllow, Operation: metadata.AclOpIdempotentWrite, Host: "*"},
	}
	want := `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"},` +
		`{"principal":"User:bob","permissionType":"Deny","operation":"DescribeConfigs","host":"10.0.0.1"},` +
		`{"principal":"User:*","permissionType":"Allow","operation":"IdempotentWrite","host":"*"}]}`
	if got := string(EncodeAcls(entries)); got != want {
		t.Fatalf("EncodeAcls\n got %s\nwant %s", got, want)
	}
	back, err := DecodeAcls([]byte(want))
	if err != nil || !reflect.DeepEqual(back, entries) {
		t.Fatalf("DecodeAcls = %+v, %v", back, err)
	}
	// Kafka's own sample (ZkData.scala's comment): other key order, spaces.
	sample := `{"version": 1, "acls": [ { "host":"host1", "permissionType": "Allow","operation": "Read","principal": "User:alice"}]}`
	got, err := DecodeAcls([]byte(sample))
	if err != nil || len(got) != 1 || got[0] != (AclZNodeEntry{Principal: "User:alice", Permission: metadata.AclPermissionAllow,
		Operation: metadata.AclOpRead, Host: "host1"}) {
		t.Fatalf("Kafka sample = %+v, %v", got, err)
	}
	for _, bad := range []string{
		`{"version":2,"acls":[]}`,
		`{"version":1,"acls":[{"principal":"User:a","permissionType":"Any","operation":"Read","host":"*"}]}`,
		`{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Any","host":"*"}]}`,
		`{"version":1,"acls":[{"principal":"alice","permissionType":"Allow","operation":"Read","host":"*"}]}`,
		`{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Read","host":""}]}`,
		`not json`,
	} {
		if _, err := DecodeAcls([]byte(bad)); !errors.Is(err, ErrCorruptZNode) {
			t.Errorf("DecodeAcls(%s) = %v", bad, err)
		}
	}

	paths := []struct {
		r    AclResource
		want string
	}{
		{AclResource{metadata.AclResourceTopic, "orders", metadata.AclPatternLiteral}, "/kafka-acl/Topic/orders"},
		{AclResource{metadata.AclResourceCluster, "kafka-cluster", metadata.AclPatternLiteral}, "/kafka-acl/Cluster/kafka-cluster"},
		{AclResource{metadata.AclResourceTransactionalID, "tx", metadata.AclPatternLiteral}, "/kafka-acl/TransactionalId/tx"},
		{AclResource{metadata.AclResourceGroup, "group-1", metadata.AclPatternPrefixed}, "/kafka-acl-extended/prefixed/Group/group-1"},
		{AclResource{metadata.AclResourceDelegationToken, "t", metadata.AclPatternLiteral}, "/kafka-acl/DelegationToken/t"},
	}
	for _, p := range paths {
		if got, err := AclResourcePath(p.r); err != nil || got != p.want {
			t.Errorf("AclResourcePath(%+v) = %q, %v; want %q", p.r, got, err, p.want)
		}
	}
	for _, bad := range []AclResource{{metadata.AclResourceAny, "x", metadata.AclPatternLiteral},
		{metadata.AclResourceTopic, "x", metadata.AclPatternMatch}, {metadata.AclResourceGroup, "a/b", metadata.AclPatternLiteral}} {
		if _, err := AclResourcePath(bad); !errors.Is(err, ErrTranslate) {
			t.Errorf("AclResourcePath(%+v) = %v", bad, err)
		}
	}

	lit := AclResource{metadata.AclResourceTransactionalID, "tx-1", metadata.AclPatternLiteral}
	op := AclChangeOp(lit)
	if op.Path != "/kafka-acl-changes/acl_changes_" || !op.Sequential || string(op.Data) != "TRANSACTIONAL_ID:tx-1" {
		t.Fatalf("literal change %+v %s", op, op.Data)
	}
	pre := AclResource{metadata.AclResourceTopic, "orders-", metadata.AclPatternPrefixed}
	op = AclChangeOp(pre)
	if op.Path != "/kafka-acl-extended-changes/acl_changes_" ||
		string(op.Data) != `{"version":1,"resourceType":"TOPIC","name":"orders-","patternType":"PREFIXED"}` {
		t.Fatalf("extended change %+v %s", op, op.Data)
	}
	for _, c := range []struct {
		extended bool
		data     string
		want     AclResource
	}{
		{false, "TRANSACTIONAL_ID:tx-1", lit},
		{false, "Topic:a:b", AclResource{metadata.AclResourceTopic, "a:b", metadata.AclPatternLiteral}}, // split at the first ':'
		{true, `{"version":1,"resourceType":"TOPIC","name":"orders-","patternType":"PREFIXED"}`, pre},
	} {
		if got, err := DecodeAclChange(c.extended, []byte(c.data)); err != nil || got != c.want {
			t.Errorf("DecodeAclChange(%s) = %+v, %v", c.data, got, err)
		}
	}
	if _, err := DecodeAclChange(false, []byte("nope")); !errors.Is(err, ErrCorruptZNode) {
		t.Fatal(err)
	}
}

// TestSanitizeEntity: Kafka's Sanitizer (URL encoding, * as %2A, space as %20).
func TestSanitizeEntity(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"alice", "alice"}, {"user-1_a.b", "user-1_a.b"}, {"a b", "a%20b"}, {"a*b", "a%2Ab"},
		{"CN=x,O=y", "CN%3Dx%2CO%3Dy"}, {"a/b", "a%2Fb"}, {"é", "%C3%A9"}, {"a~b", "a%7Eb"}, {"a+b", "a%2Bb"},
	} {
		got := SanitizeEntity(c.in)
		if got != c.want {
			t.Errorf("SanitizeEntity(%q) = %q, want %q", c.in, got, c.want)
		}
		if back, err := DesanitizeEntity(got); err != nil || back != c.in {
			t.Errorf("DesanitizeEntity(%q) = %q, %v", got, back, err)
		}
	}
	if p := UserConfigPath("a b"); p != "/config/users/a%20b" {
		t.Fatal(p)
	}
}

func securityImage(t *testing.T) *metadata.Image {
	t.Helper()
	return replay(t, metadata.EmptyImage(), []metadata.Record{
		&metadata.UserScramCredentialRecord{Name: "alice", Mechanism: metadata.ScramSHA256, Salt: []byte("s1"),
			StoredKey: []byte("k1"), ServerKey: []byte("v1"), Iterations: 4096},
		&metadata.UserScramCredentialRecord{Name: "alice", Mechanism: metadata.ScramSHA512, Salt: []byte("s2"),
			StoredKey: []byte("k2"), ServerKey: []byte("v2"), Iterations: 4096},
		&metadata.UserScramCredentialRecord{Name: "b o b", Mechanism: metadata.ScramSHA512, Salt: []byte("s3"),
			StoredKey: []byte("k3"), ServerKey: []byte("v3"), Iterations: 8192},
		metadata.AclRecord(metadata.RandomUuid(), metadata.AclBinding{ResourceType: metadata.AclResourceTopic, ResourceName: "orders",
			PatternType: metadata.AclPatternLiteral, Principal: "User:alice", Host: "*", Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}),
		metadata.AclRecord(metadata.RandomUuid(), metadata.AclBinding{ResourceType: metadata.AclResourceTopic, ResourceName: "orders",
			PatternType: metadata.AclPatternLiteral, Principal: "User:alice", Host: "*", Operation: metadata.AclOpWrite, Permission: metadata.AclPermissionAllow}),
		metadata.AclRecord(metadata.RandomUuid(), metadata.AclBinding{ResourceType: metadata.AclResourceGroup, ResourceName: "app-",
			PatternType: metadata.AclPatternPrefixed, Principal: "User:alice", Host: "*", Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}),
		metadata.AclRecord(metadata.RandomUuid(), metadata.AclBinding{ResourceType: metadata.AclResourceCluster, ResourceName: metadata.ClusterResourceName,
			PatternType: metadata.AclPatternLiteral, Principal: "User:b o b", Host: "10.1.1.1", Operation: metadata.AclOpAll, Permission: metadata.AclPermissionDeny}),
	})
}

// sameSecurity compares credentials and ACL bindings (not ACL ids).
func sameSecurity(a, b *metadata.Image) bool {
	bind := func(img *metadata.Image) map[metadata.AclBinding]bool {
		m := map[metadata.AclBinding]bool{}
		for _, e := range img.Acls() {
			m[e.Binding] = true
		}
		return m
	}
	if !reflect.DeepEqual(bind(a), bind(b)) || a.ScramCount() != b.ScramCount() {
		return false
	}
	for _, e := range a.ScramCredentials() {
		if c, ok := b.ScramCredential(e.User, e.Mechanism); !ok || !c.Equal(e.Credential) {
			return false
		}
	}
	return true
}

// memSecurity reads the security part of the memory tree as reloadUsers
// and reloadAcls read ZooKeeper.
func (m *memZK) memSecurity(t *testing.T, tr *Tree) {
	t.Helper()
	for p, n := range m.nodes {
		if typ, name, ok := ParseEntityConfigPath(p); ok && typ == ConfigUsers {
			cfg, err := DecodeEntityConfig(n.data)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			creds, err := ScramCredentials(cfg)
			if err != nil {
				t.Fatal(err)
			}
			user, _ := DesanitizeEntity(name)
			if len(creds) > 0 {
				tr.Scram[user] = creds
			}
		}
		for _, store := range []struct {
			root string
			pat  metadata.AclPatternType
		}{{AclPath + "/", metadata.AclPatternLiteral}, {AclPrefixedPath + "/", metadata.AclPatternPrefixed}} {
			rest, ok := strings.CutPrefix(p, store.root)
			typ, name, two := strings.Cut(rest, "/")
			if !ok || !two {
				continue
			}
			rt, _ := ParseResourceType(typ)
			entries, err := DecodeAcls(n.data)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			tr.Acls[AclResource{rt, name, store.pat}] = entries
		}
	}
}

// TestSecurityOpsRoundTrip: image -> SecurityOps -> ZooKeeper -> tree ->
// SecurityRecords gives the same credentials and ACLs, through creation,
// a changed credential, removed credentials and ACLs; every write has its
// change notification, and a tree already equal needs no write.
func TestSecurityOpsRoundTrip(t *testing.T) {
	m := newMemZK()
	img := securityImage(t)
	ops := SecurityOps(metadata.EmptyImage(), img)
	if err := m.apply(ops); err != nil {
		t.Fatal(err)
	}
	readBack := func() *metadata.Image {
		tr := NewTree()
		m.memSecurity(t, tr)
		return replay(t, metadata.EmptyImage(), tr.SecurityRecords(metadata.EmptyImage()))
	}
	if got := readBack(); !sameSecurity(got, img) {
		t.Fatalf("round trip: %v", metadata.WriteImage(got))
	}
	// The exact znodes Kafka would hold.
	if got := string(m.nodes["/kafka-acl/Topic/orders"].data); got != `{"version":1,"acls":[`+
		`{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"},`+
		`{"principal":"User:alice","permissionType":"Allow","operation":"Write","host":"*"}]}` {
		t.Fatalf("/kafka-acl/Topic/orders = %s", got)
	}
	if _, ok := m.nodes["/kafka-acl-extended/prefixed/Group/app-"]; !ok {
		t.Fatal("no prefixed znode")
	}
	if got := string(m.nodes["/config/users/b%20o%20b"].data); got != `{"version":1,"config":{"SCRAM-SHA-512":"salt=czM=,stored_key=azM=,server_key=djM=,iterations=8192"}}` {
		t.Fatalf("/config/users/b%%20o%%20b = %s", got)
	}
	notifs := map[string]int{}
	for p := range m.nodes {
		for _, dir := range []string{ConfigChangesPath, AclChangesPath, AclExtendedChangesPath} {
			if strings.HasPrefix(p, dir+"/") {
				notifs[dir]++
			}
		}
	}
	if notifs[ConfigChangesPath] != 2 || notifs[AclChangesPath] != 2 || notifs[AclExtendedChangesPath] != 1 {
		t.Fatalf("notifications %v", notifs)
	}
	if again := SecurityOps(img, img); len(again) != 0 {
		t.Fatalf("no change gave %v", again)
	}
	// A tree image with content ids and the log's random ids are the same ACLs.
	if zimg := readBack(); len(SecurityOps(zimg, img)) != 0 {
		t.Fatal("ACLs compared by id, not content")
	}

	// Changes: alice's SCRAM-SHA-256 replaced, bob loses his only
	// credential, one topic ACL and the prefixed one go.
	var recs []metadata.Record
	recs = append(recs, &metadata.UserScramCredentialRecord{Name: "alice", Mechanism: metadata.ScramSHA256, Salt: []byte("s9"),
		StoredKey: []byte("k9"), ServerKey: []byte("v9"), Iterations: 4096},
		&metadata.RemoveUserScramCredentialRecord{Name: "b o b", Mechanism: metadata.ScramSHA512})
	for _, a := range img.Acls() {
		if a.Binding.Operation == metadata.AclOpWrite || a.Binding.PatternType == metadata.AclPatternPrefixed {
			recs = append(recs, &metadata.RemoveAccessControlEntryRecord{ID: a.ID})
		}
	}
	ops, err := RecordsToOps(img, recs, 1)
	if err != nil {
		t.Fatal(err)
	}
	next := replay(t, img, recs)
	if err := m.apply(ops); err != nil {
		t.Fatal(err)
	}
	if got := readBack(); !sameSecurity(got, next) {
		t.Fatalf("after changes: %v", metadata.WriteImage(got))
	}
	if _, ok := m.nodes["/kafka-acl-extended/prefixed/Group/app-"]; ok {
		t.Fatal("empty prefixed znode not deleted")
	}
	if got := string(m.nodes["/config/users/b%20o%20b"].data); got != `{"version":1,"config":{}}` {
		t.Fatalf("bob's znode %s", got)
	}
}

// TestSecurityRecordsDiff: a ZooKeeper-mode broker's re-read turns its image
// into the tree's by content: an ACL the image holds under another id is
// kept, duplicates in a znode count once, what the tree lost is removed.
func TestSecurityRecordsDiff(t *testing.T) {
	img := securityImage(t)
	tr := NewTree()
	readOrders := metadata.AclBinding{ResourceType: metadata.AclResourceTopic, ResourceName: "orders",
		PatternType: metadata.AclPatternLiteral, Principal: "User:alice", Host: "*", Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}
	tr.Acls[ResourceOf(readOrders)] = []AclZNodeEntry{EntryOf(readOrders), EntryOf(readOrders)}
	c, _ := img.ScramCredential("alice", metadata.ScramSHA512)
	tr.Scram["alice"] = map[metadata.ScramMechanism]*metadata.ScramCredential{metadata.ScramSHA512: c}
	recs := tr.SecurityRecords(img)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.Type().String())
	}
	// alice SHA-256 and bob removed; 3 of the 4 ACLs removed; nothing added.
	want := []string{"RemoveUserScramCredentialRecord", "RemoveUserScramCredentialRecord",
		"RemoveAccessControlEntryRecord", "RemoveAccessControlEntryRecord", "RemoveAccessControlEntryRecord"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("records %v", kinds)
	}
	next := replay(t, img, recs)
	if next.AclCount() != 1 || next.ScramCount() != 1 || len(tr.SecurityRecords(next)) != 0 {
		t.Fatalf("after the diff: %d acls %d credentials", next.AclCount(), next.ScramCount())
	}
	if AclID(readOrders) != AclID(readOrders) || AclID(readOrders) == metadata.ZeroUuid {
		t.Fatal("AclID is not a stable non-zero id")
	}
}

// TestLoadTreeSecurityRealZooKeeper: a Kafka tree with a SCRAM user (both
// mechanisms, plus a quota key), literal and prefixed ACLs, written with
// Kafka's exact JSON, loads into the right records; a ZooKeeper-mode
// backend sees a new ACL through its change notification and a changed
// user through /config/changes.
func TestLoadTreeSecurityRealZooKeeper(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	create := func(p, data string) {
		t.Helper()
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		for i := range parts {
			sub := "/" + strings.Join(parts[:i+1], "/")
			var d []byte
			if i == len(parts)-1 {
				d = []byte(data)
			}
			if _, err := raw.Create(sub, d, 0, gozk.WorldACL(gozk.PermAll)); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
				t.Fatalf("create %s: %v", sub, err)
			}
		}
	}
	for _, p := range PersistentPaths {
		create("/kafka"+p, "")
	}
	create("/kafka/cluster/id", `{"version":"1","id":"cid"}`)
	create("/kafka/config/users/alice", `{"version":1,"config":{"SCRAM-SHA-256":"`+kafkaScramValue+`","SCRAM-SHA-512":"`+
		kafkaScramValue+`","producer_byte_rate":"1024"}}`)
	create("/kafka/config/users/quota-only", `{"version":1,"config":{"consumer_byte_rate":"1"}}`)
	create("/kafka/kafka-acl/Topic/orders", `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"},`+
		`{"principal":"User:alice","permissionType":"Allow","operation":"Describe","host":"*"}]}`)
	create("/kafka/kafka-acl/Cluster/kafka-cluster", `{"version":1,"acls":[{"principal":"User:admin","permissionType":"Allow","operation":"All","host":"*"}]}`)
	create("/kafka/kafka-acl-extended/prefixed/Group/app-", `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`)
	create("/kafka/kafka-acl-changes", "")
	create("/kafka/kafka-acl-extended-changes", "")

	tree, err := LoadTree(raw, "/kafka", 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tree.Records() {
		switch r := r.(type) {
		case *metadata.UserScramCredentialRecord:
			got = append(got, fmt.Sprintf("scram %s %s %d", r.Name, r.Mechanism, r.Iterations))
		case *metadata.AccessControlEntryRecord:
			if r.ID != AclID(r.Binding()) {
				t.Errorf("acl id %s is not its content id", r.ID)
			}
			got = append(got, fmt.Sprintf("acl %s %s %s %s %s %s", r.ResourceType, r.PatternType, r.ResourceName, r.Principal, r.Operation, r.Permission))
		}
	}
	want := []string{
		"scram alice SCRAM-SHA-256 4096", "scram alice SCRAM-SHA-512 4096",
		"acl TOPIC LITERAL orders User:alice READ ALLOW", "acl TOPIC LITERAL orders User:alice DESCRIBE ALLOW",
		"acl GROUP PREFIXED app- User:alice READ ALLOW", "acl CLUSTER LITERAL kafka-cluster User:admin ALL ALLOW",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("security records\n got %q\nwant %q", got, want)
	}
	img, err := tree.Image()
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := img.ScramCredential("alice", metadata.ScramSHA512); !ok || base64.StdEncoding.EncodeToString(c.StoredKey) != "9Vu5g5I4ujq5qiBZoj4lfQXMQ81/xT5bq0Mk/v3wNkE=" {
		t.Fatalf("alice's credential %+v", c)
	}

	// A ZooKeeper-mode broker follows changes through the notifications.
	b := testBackend(t, s.Addr, 1, func(c *Config) { c.Chroot = "/kafka" })
	wait.For(t, 20*time.Second, "acls in the broker image", func() error {
		if n := b.Image().AclCount(); n != 4 {
			return fmt.Errorf("%d acls", n)
		}
		return nil
	})
	create("/kafka/kafka-acl/Topic/payments", `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Deny","operation":"Write","host":"*"}]}`)
	if _, err := raw.Create("/kafka/kafka-acl-changes/acl_changes_", []byte("TOPIC:payments"), gozk.FlagSequence, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Set("/kafka/config/users/alice", []byte(`{"version":1,"config":{"SCRAM-SHA-512":"`+kafkaScramValue+`"}}`), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Create("/kafka/config/changes/config_change_", EncodeConfigChange(ConfigUsers, "alice"), gozk.FlagSequence, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, "the new acl and alice's removed SCRAM-SHA-256", func() error {
		img := b.Image()
		if n := img.AclCount(); n != 5 {
			return fmt.Errorf("%d acls", n)
		}
		if _, ok := img.ScramCredential("alice", metadata.ScramSHA256); ok {
			return fmt.Errorf("alice still has SCRAM-SHA-256")
		}
		if _, ok := img.ScramCredential("alice", metadata.ScramSHA512); !ok {
			return fmt.Errorf("alice lost SCRAM-SHA-512")
		}
		return nil
	})
}

// TestSecurityOpsRealZooKeeper: SecurityOps into an empty Kafka tree on a
// real ZooKeeper (each op as a fenced write replays it: a create of an
// existing node becomes a set), then LoadTree reads back the same
// credentials and ACLs; removing them empties the znodes again.
func TestSecurityOpsRealZooKeeper(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	if _, err := raw.Create("/kafka", nil, 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, p := range PersistentPaths {
		if _, err := raw.Create("/kafka"+p, nil, 0, gozk.WorldACL(gozk.PermAll)); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	apply := func(ops []Op) {
		t.Helper()
		for _, op := range ops {
			p := "/kafka" + op.Path
			var err error
			switch op.Kind {
			case OpCreate:
				var flags int32
				if op.Sequential {
					flags = gozk.FlagSequence
				}
				_, err = raw.Create(p, op.Data, flags, gozk.WorldACL(gozk.PermAll))
				if errors.Is(err, gozk.ErrNodeExists) && op.Tolerant {
					err = nil
					if op.Data != nil {
						_, err = raw.Set(p, op.Data, -1)
					}
				}
			case OpDelete:
				err = raw.Delete(p, op.Version)
				if errors.Is(err, gozk.ErrNoNode) && op.Tolerant {
					err = nil
				}
			default:
				t.Fatalf("unexpected op %s", op)
			}
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
		}
	}
	img := securityImage(t)
	apply(SecurityOps(metadata.EmptyImage(), img))
	apply(SecurityOps(metadata.EmptyImage(), img)) // replayed: every op tolerates it
	tree, err := LoadTree(raw, "/kafka", 4)
	if err != nil {
		t.Fatal(err)
	}
	back, err := tree.Image()
	if err != nil {
		t.Fatal(err)
	}
	if !sameSecurity(back, img) {
		t.Fatalf("read back %v", metadata.WriteImage(back))
	}
	apply(SecurityOps(img, metadata.EmptyImage()))
	tree, err = LoadTree(raw, "/kafka", 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Scram) != 0 || len(tree.Acls) != 0 {
		t.Fatalf("after removal: %d users, %d acl znodes", len(tree.Scram), len(tree.Acls))
	}
	if _, _, err := raw.Get("/kafka/kafka-acl/Topic/orders"); !errors.Is(err, gozk.ErrNoNode) {
		t.Fatalf("empty acl znode left: %v", err)
	}
}
