package meta

import (
	"strings"
	"testing"

	"github.com/zkraft/zkraft/metadata"
)

// TestTreeSecurity: /image/acls/byId/<id> shows Kafka's StandardAcl text,
// /image/scram/<mechanism>/<user> the salt and iterations but never the
// stored or server key.
func TestTreeSecurity(t *testing.T) {
	id := metadata.Uuid{1, 2, 3}
	d := metadata.NewDelta(metadata.EmptyImage())
	for _, r := range []metadata.Record{
		&metadata.AccessControlEntryRecord{ID: id, ResourceType: metadata.AclResourceTopic, ResourceName: "foo",
			PatternType: metadata.AclPatternLiteral, Principal: "User:alice", Host: "*",
			Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow},
		&metadata.UserScramCredentialRecord{Name: "alice", Mechanism: metadata.ScramSHA512, Salt: []byte{0xab, 0xcd},
			StoredKey: []byte{0xde, 0xad}, ServerKey: []byte{0xbe, 0xef}, Iterations: 4096},
	} {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	nodes := Flatten(BuildTree(&State{Image: d.Apply()}, &Log{Dir: "/x"}), "")
	acl, ok := nodes["/image/acls/byId/"+id.String()]
	if !ok || acl.Text != "StandardAcl(resourceType=TOPIC, resourceName=foo, patternType=LITERAL, principal=User:alice, host=*, operation=READ, permissionType=ALLOW)" {
		t.Fatalf("acl node %+v", acl)
	}
	sc, ok := nodes["/image/scram/SCRAM-SHA-512/alice"]
	if !ok || sc.Text != "ScramCredentialData(salt=abcd, storedKey=[hidden], serverKey=[hidden], iterations=4096)" {
		t.Fatalf("scram node %+v", sc)
	}
	for p, n := range nodes {
		if strings.Contains(n.Text, "dead") || strings.Contains(n.Text, "beef") {
			t.Fatalf("%s shows a key: %s", p, n.Text)
		}
	}
}
