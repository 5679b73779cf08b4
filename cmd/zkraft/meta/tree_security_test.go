package meta

import (
	"strings"
	"testing"

	"github.com/zkraft/zkraft/metadata"
	zkmeta "github.com/zkraft/zkraft/metadata/zk"
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
		&metadata.ClientQuotaRecord{Entity: []metadata.QuotaEntityData{{EntityType: "user", EntityName: strPtr("alice")}, {EntityType: "client-id"}},
			Key: "producer_byte_rate", Value: 1048576},
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
	if q, ok := nodes["/image/clientQuotas/client-id=<default>,user=alice/producer_byte_rate"]; !ok || q.Text != "1048576" {
		t.Fatalf("quota node %+v", q)
	}
	for p, n := range nodes {
		if strings.Contains(n.Text, "dead") || strings.Contains(n.Text, "beef") {
			t.Fatalf("%s shows a key: %s", p, n.Text)
		}
	}
}

// TestZkChangesSecurity: zk-diff compares SCRAM credentials and ACLs; ACLs
// by content, since the tree's ids (zk.AclID) are not the log's.
func TestZkChangesSecurity(t *testing.T) {
	_, l, st := fixtureImage(t)
	b := metadata.AclBinding{ResourceType: metadata.AclResourceTopic, ResourceName: "orders", PatternType: metadata.AclPatternLiteral,
		Principal: "User:alice", Host: "*", Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}
	cred := &metadata.ScramCredential{Salt: []byte{1}, StoredKey: []byte{2}, ServerKey: []byte{3}, Iterations: 4096}
	d := metadata.NewDelta(st.Image)
	for _, r := range []metadata.Record{metadata.AclRecord(metadata.RandomUuid(), b),
		metadata.ScramCredentialRecord("alice", metadata.ScramSHA256, cred)} {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	st = &State{Image: d.Apply(), At: st.At, From: st.From}
	tree := zkTreeOf(st.Image)
	tree.Acls[zkmeta.ResourceOf(b)] = []zkmeta.AclZNodeEntry{zkmeta.EntryOf(b)}
	tree.Scram["alice"] = map[metadata.ScramMechanism]*metadata.ScramCredential{metadata.ScramSHA256: cred}
	if same, err := ZkChanges(st, l, tree); err != nil || len(same) != 0 {
		t.Fatalf("same content differs: %+v %v", same, err)
	}
	delete(tree.Acls, zkmeta.ResourceOf(b))
	tree.Scram["alice"] = map[metadata.ScramMechanism]*metadata.ScramCredential{metadata.ScramSHA256: {Salt: []byte{1},
		StoredKey: []byte{2}, ServerKey: []byte{3}, Iterations: 8192}}
	changes, err := ZkChanges(st, l, tree)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Op+" "+c.Path)
	}
	want := []string{"removed /image/acls/byId/" + b.String(), "changed /image/scram/SCRAM-SHA-256/alice"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func strPtr(s string) *string { return &s }
