package metadata

import (
	"errors"
	"reflect"
	"testing"
)

func scramRec(user string, m ScramMechanism, salt byte) *UserScramCredentialRecord {
	return &UserScramCredentialRecord{Name: user, Mechanism: m, Salt: []byte{salt}, StoredKey: []byte{salt, 1},
		ServerKey: []byte{salt, 2}, Iterations: 4096}
}

func aclRec(id byte, typ AclResourceType, name string, pat AclPatternType, principal string, op AclOperation, perm AclPermission) *AccessControlEntryRecord {
	return &AccessControlEntryRecord{ID: testID(id), ResourceType: typ, ResourceName: name, PatternType: pat,
		Principal: principal, Host: WildcardHost, Operation: op, Permission: perm}
}

// TestSecurityImageGolden: Image1 + records = Image2 for SCRAM credentials
// and ACLs, replayed through every intermediate image, and the ImageWriter
// round trip of each.
func TestSecurityImageGolden(t *testing.T) {
	img1 := replayAll(t, image1(t),
		scramRec("alice", ScramSHA256, 0x10),
		scramRec("alice", ScramSHA512, 0x11),
		scramRec("bob", ScramSHA256, 0x20),
		aclRec(1, AclResourceTopic, "a", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow),
		aclRec(2, AclResourceGroup, "g-", AclPatternPrefixed, "User:alice", AclOpRead, AclPermissionAllow),
		aclRec(3, AclResourceCluster, ClusterResourceName, AclPatternLiteral, "User:bob", AclOpAll, AclPermissionDeny),
	)
	if img1.ScramCount() != 3 || img1.AclCount() != 3 {
		t.Fatalf("image1: %d credentials, %d acls", img1.ScramCount(), img1.AclCount())
	}
	changes := []Record{
		scramRec("alice", ScramSHA256, 0x30), // replaces
		&RemoveUserScramCredentialRecord{Name: "bob", Mechanism: ScramSHA256},
		&RemoveAccessControlEntryRecord{ID: testID(2)},
		aclRec(4, AclResourceTransactionalID, "tx", AclPatternLiteral, "User:*", AclOpWrite, AclPermissionAllow),
	}
	want := replayAll(t, image1(t),
		scramRec("alice", ScramSHA256, 0x30),
		scramRec("alice", ScramSHA512, 0x11),
		aclRec(1, AclResourceTopic, "a", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow),
		aclRec(3, AclResourceCluster, ClusterResourceName, AclPatternLiteral, "User:bob", AclOpAll, AclPermissionDeny),
		aclRec(4, AclResourceTransactionalID, "tx", AclPatternLiteral, "User:*", AclOpWrite, AclPermissionAllow),
	)
	img := img1
	for i, r := range changes {
		img = replayAll(t, img, r)
		if back := replayAll(t, EmptyImage(), WriteImage(img)...); !back.Equal(img) {
			t.Fatalf("after change %d: WriteImage round trip differs", i)
		}
	}
	if !img.Equal(want) || !replayAll(t, img1, changes...).Equal(want) {
		t.Fatalf("image2 differs:\n got %v\nwant %v", WriteImage(img), WriteImage(want))
	}
	if img.Equal(img1) {
		t.Fatal("Equal ignores credentials and acls")
	}
	if img.SecurityShared(img1) || !img.SecurityShared(replayAll(t, img, &NoOpRecord{})) {
		t.Fatal("SecurityShared")
	}
	// image1 is unchanged.
	if c, ok := img1.ScramCredential("bob", ScramSHA256); !ok || c.Salt[0] != 0x20 {
		t.Fatalf("image1 mutated: %v %v", c, ok)
	}
	if _, ok := img1.Acl(testID(2)); !ok {
		t.Fatal("image1 lost acl 2")
	}
	c, ok := img.ScramCredential("alice", ScramSHA256)
	if !ok || !c.Equal(&ScramCredential{Salt: []byte{0x30}, StoredKey: []byte{0x30, 1}, ServerKey: []byte{0x30, 2}, Iterations: 4096}) {
		t.Fatalf("alice SCRAM-SHA-256 = %+v, %v", c, ok)
	}
	var users []string
	for _, e := range img.ScramCredentials() {
		users = append(users, e.User+"/"+e.Mechanism.String())
	}
	if !reflect.DeepEqual(users, []string{"alice/SCRAM-SHA-256", "alice/SCRAM-SHA-512"}) {
		t.Fatalf("ScramCredentials %v", users)
	}
	b, ok := img.Acl(testID(4))
	if !ok || b.ResourceType != AclResourceTransactionalID || b.Principal != "User:*" {
		t.Fatalf("acl 4 = %+v %v", b, ok)
	}
	// ImageWriter: ACLs then SCRAM, after everything else (Kafka's MetadataImage.write).
	recs := WriteImage(img)
	var tail []string
	for _, r := range recs[len(recs)-5:] {
		tail = append(tail, r.Type().String())
	}
	if !reflect.DeepEqual(tail, []string{"AccessControlEntryRecord", "AccessControlEntryRecord", "AccessControlEntryRecord",
		"UserScramCredentialRecord", "UserScramCredentialRecord"}) {
		t.Fatalf("WriteImage tail %v", tail)
	}
}

func TestSecurityReplayErrors(t *testing.T) {
	base := replayAll(t, EmptyImage(), scramRec("alice", ScramSHA256, 1),
		aclRec(1, AclResourceTopic, "a", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow))
	good := aclRec(2, AclResourceTopic, "a", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow)
	mod := func(f func(r *AccessControlEntryRecord)) Record {
		r := *good
		f(&r)
		return &r
	}
	tests := []struct {
		name string
		rec  Record
	}{
		{"scram empty user", scramRec("", ScramSHA256, 1)},
		{"scram unknown mechanism", scramRec("x", ScramUnknown, 1)},
		{"scram mechanism 3", scramRec("x", 3, 1)},
		{"scram no iterations", &UserScramCredentialRecord{Name: "x", Mechanism: ScramSHA256}},
		{"remove unknown user", &RemoveUserScramCredentialRecord{Name: "bob", Mechanism: ScramSHA256}},
		{"remove unknown mechanism", &RemoveUserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA512}},
		{"acl id in use", mod(func(r *AccessControlEntryRecord) { r.ID = testID(1) })},
		{"acl zero id", mod(func(r *AccessControlEntryRecord) { r.ID = ZeroUuid })},
		{"acl resource ANY", mod(func(r *AccessControlEntryRecord) { r.ResourceType = AclResourceAny })},
		{"acl resource 8", mod(func(r *AccessControlEntryRecord) { r.ResourceType = 8 })},
		{"acl pattern MATCH", mod(func(r *AccessControlEntryRecord) { r.PatternType = AclPatternMatch })},
		{"acl empty name", mod(func(r *AccessControlEntryRecord) { r.ResourceName = "" })},
		{"acl operation ANY", mod(func(r *AccessControlEntryRecord) { r.Operation = AclOpAny })},
		{"acl operation 15", mod(func(r *AccessControlEntryRecord) { r.Operation = 15 })},
		{"acl permission ANY", mod(func(r *AccessControlEntryRecord) { r.Permission = AclPermissionAny })},
		{"acl principal without type", mod(func(r *AccessControlEntryRecord) { r.Principal = "alice" })},
		{"acl empty host", mod(func(r *AccessControlEntryRecord) { r.Host = "" })},
		{"remove unknown acl", &RemoveAccessControlEntryRecord{ID: testID(7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDelta(base)
			if err := d.Replay(tt.rec); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("Replay = %v, want ErrInvalidRecord", err)
			}
			if !d.Apply().Equal(base) {
				t.Fatal("a refused record changed the image")
			}
		})
	}
	// Removing what the same delta added is fine; removing twice is not.
	d := NewDelta(base)
	for _, r := range []Record{good, &RemoveAccessControlEntryRecord{ID: good.ID}} {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Replay(&RemoveAccessControlEntryRecord{ID: good.ID}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("second remove: %v", err)
	}
}

func TestSecurityEnumNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{AclResourceTransactionalID.String(), "TRANSACTIONAL_ID"},
		{AclPatternPrefixed.String(), "PREFIXED"},
		{AclOpDescribeConfigs.String(), "DESCRIBE_CONFIGS"},
		{AclOpDescribeTokens.String(), "DESCRIBE_TOKENS"},
		{AclPermissionDeny.String(), "DENY"},
		{AclOperation(99).String(), "UNKNOWN(99)"},
		{ScramSHA512.String(), "SCRAM-SHA-512"},
		{aclRec(1, AclResourceTopic, "a", AclPatternLiteral, "User:x", AclOpRead, AclPermissionAllow).Binding().String(),
			"StandardAcl(resourceType=TOPIC, resourceName=a, patternType=LITERAL, principal=User:x, host=*, operation=READ, permissionType=ALLOW)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if m, ok := ParseScramMechanism("SCRAM-SHA-256"); !ok || m != ScramSHA256 {
		t.Fatal("ParseScramMechanism")
	}
	if _, ok := ParseScramMechanism("scram-sha-256"); ok {
		t.Fatal("mechanism names are case-sensitive")
	}
}

// FullDelta carries credentials and ACLs; DeltaBetween replays their
// differences on prev (an ACL whose content changed under the same id is
// removed and added again) rather than falling back to the full delta.
func TestSecurityDeltaBetween(t *testing.T) {
	prev := replayAll(t, image1(t),
		scramRec("alice", ScramSHA256, 1), scramRec("bob", ScramSHA256, 2),
		aclRec(1, AclResourceTopic, "a", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow),
		aclRec(2, AclResourceTopic, "b", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow))
	next := replayAll(t, image1(t),
		scramRec("alice", ScramSHA256, 9), scramRec("carol", ScramSHA512, 3),
		aclRec(1, AclResourceTopic, "a", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow),
		aclRec(2, AclResourceTopic, "b", AclPatternLiteral, "User:alice", AclOpWrite, AclPermissionAllow),
		aclRec(3, AclResourceGroup, "g", AclPatternPrefixed, "User:bob", AclOpRead, AclPermissionDeny))
	if full := FullDelta(next).Apply(); !full.Equal(next) {
		t.Fatal("FullDelta drops credentials or ACLs")
	}
	d := DeltaBetween(prev, next)
	if d.Base() != prev {
		t.Fatal("fell back to the full delta")
	}
	if !d.Apply().Equal(next) {
		t.Fatal("prev + delta != next")
	}
	onlySecurity := replayAll(t, EmptyImage(), scramRec("x", ScramSHA256, 1))
	if d := DeltaBetween(onlySecurity, next); d.Base() != onlySecurity || !d.Apply().Equal(next) {
		t.Fatal("a prev holding only credentials is not empty")
	}
}
