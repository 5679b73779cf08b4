package zk

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestBackendSecurityWrites: a ZooKeeper-mode broker's CreateAcls,
// DeleteAcls and AlterScramCredentials write Kafka's znodes with their
// notifications (another broker follows them into its image), return once
// the writer's own image shows them, and report per-entry errors.
func TestBackendSecurityWrites(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	b1 := testBackend(t, s.Addr, 1)
	b2 := testBackend(t, s.Addr, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	lit := metadata.AclBinding{ResourceType: metadata.AclResourceTopic, ResourceName: "orders", PatternType: metadata.AclPatternLiteral,
		Principal: "User:alice", Host: "*", Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}
	pre := metadata.AclBinding{ResourceType: metadata.AclResourceGroup, ResourceName: "app-", PatternType: metadata.AclPatternPrefixed,
		Principal: "User:alice", Host: "*", Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}
	bad := lit
	bad.Host = ""
	errs := b1.CreateAcls(ctx, []metadata.AclBinding{lit, pre, bad})
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], metadata.ErrInvalidRequest) {
		t.Fatalf("create: %v", errs)
	}
	if !metadata.AclsPresent(b1.Image(), []metadata.AclBinding{lit, pre}) {
		t.Fatal("writer's image lacks the acls")
	}
	for _, p := range []string{"/kafka-acl/Topic/orders", "/kafka-acl-extended/prefixed/Group/app-"} {
		if ok, _, err := raw.Exists(p); err != nil || !ok {
			t.Fatalf("%s: %v %v", p, ok, err)
		}
	}
	wait.For(t, 20*time.Second, "broker 2 follows the acl notifications", func() error {
		if !metadata.AclsPresent(b2.Image(), []metadata.AclBinding{lit, pre}) {
			return errors.New("not yet")
		}
		return nil
	})

	name := "orders"
	res := b1.DeleteAcls(ctx, []metadata.AclFilter{{ResourceType: metadata.AclResourceTopic, ResourceName: &name,
		PatternType: metadata.AclPatternLiteral, Operation: metadata.AclOpAny, Permission: metadata.AclPermissionAny}})
	if res[0].Err != nil || len(res[0].Matched) != 1 || b1.Image().AclCount() != 1 {
		t.Fatalf("delete: %+v, %d left", res, b1.Image().AclCount())
	}
	if ok, _, _ := raw.Exists("/kafka-acl/Topic/orders"); ok {
		t.Fatal("/kafka-acl/Topic/orders left after its last acl was deleted")
	}

	ups := []metadata.ScramUpsertion{{Name: "alice", Mechanism: metadata.ScramSHA512, Iterations: 8192,
		Salt: []byte("salt"), SaltedPassword: make([]byte, 64)}}
	out := b1.AlterScramCredentials(ctx, []metadata.ScramDeletion{{Name: "bob", Mechanism: metadata.ScramSHA256}}, ups)
	if len(out) != 2 || !errors.Is(out[0].Err, metadata.ErrResourceNotFound) || out[1].Err != nil {
		t.Fatalf("alter: %+v", out)
	}
	data, _, err := raw.Get(UserConfigPath("alice"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeEntityConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if creds, err := ScramCredentials(cfg); err != nil || creds[metadata.ScramSHA512] == nil || creds[metadata.ScramSHA512].Iterations != 8192 {
		t.Fatalf("/config/users/alice = %s: %v %v", data, creds, err)
	}
	wait.For(t, 20*time.Second, "broker 2 follows the user notification", func() error {
		if _, ok := b2.Image().ScramCredential("alice", metadata.ScramSHA512); !ok {
			return errors.New("not yet")
		}
		return nil
	})
}

// TestAclWritesConditional: a ZooKeeper-mode broker's CreateAcls and
// DeleteAcls apply their change to the resource znode as ZooKeeper holds
// it, at its version (Kafka's AclAuthorizer.updateResourceAcls), so an
// ACL another broker wrote to the same resource is never lost: one the
// writer's image has not seen yet, one written between the read and the
// conditional SetData / Delete (BadVersion, read again, re-apply). A
// resource left with no ACL loses its znode.
func TestAclWritesConditional(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	b1 := testBackend(t, s.Addr, 1)
	b2 := testBackend(t, s.Addr, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	acl := func(res, user string) metadata.AclBinding {
		return metadata.AclBinding{ResourceType: metadata.AclResourceTopic, ResourceName: res, PatternType: metadata.AclPatternLiteral,
			Principal: "User:" + user, Host: "*", Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}
	}
	principals := func(path string) []string {
		t.Helper()
		data, _, err := raw.Get(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		entries, err := DecodeAcls(data)
		if err != nil {
			t.Fatalf("%s = %s: %v", path, data, err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Principal)
		}
		slices.Sort(out)
		return out
	}
	expect := func(path string, want ...string) {
		t.Helper()
		if got := principals(path); !slices.Equal(got, want) {
			t.Fatalf("%s holds %v, want %v", path, got, want)
		}
	}
	// interfere makes b1's next conditional write of path lose: on its
	// first try, fn (another broker's write) runs between the read and
	// the write. It returns the number of tries b1 made.
	tries := map[string]int{}
	interfere := func(path string, fn func()) {
		tries[path] = 0
		b1.beforeZnodeWrite = func(p string) {
			if p != path {
				return
			}
			if tries[p]++; tries[p] == 1 {
				fn()
			}
		}
	}
	const orders = "/kafka-acl/Topic/orders"

	// An ACL written by someone whose notification b1 has not followed
	// (here: none at all): b1's image lacks it, the znode has it.
	for _, p := range []string{AclPath, AclPath + "/Topic"} {
		if _, err := raw.Create(p, nil, 0, gozk.WorldACL(gozk.PermAll)); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			t.Fatal(err)
		}
	}
	if _, err := raw.Create(orders, EncodeAcls([]AclZNodeEntry{EntryOf(acl("orders", "bob"))}), 0, gozk.WorldACL(gozk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if errs := b1.CreateAcls(ctx, []metadata.AclBinding{acl("orders", "alice")}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	expect(orders, "User:alice", "User:bob")

	// Broker 2 creates carol's ACL on the resource between b1's read and
	// its SetData: b1 retries on BadVersion and keeps it.
	interfere(orders, func() {
		if errs := b2.CreateAcls(ctx, []metadata.AclBinding{acl("orders", "carol")}); errs[0] != nil {
			t.Error(errs[0])
		}
	})
	if errs := b1.CreateAcls(ctx, []metadata.AclBinding{acl("orders", "dave")}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	expect(orders, "User:alice", "User:bob", "User:carol", "User:dave")
	if tries[orders] != 2 {
		t.Fatalf("%s written in %d tries, want 2 (a BadVersion retry)", orders, tries[orders])
	}

	// A delete keeps the ACL broker 2 creates under it.
	interfere(orders, func() {
		if errs := b2.CreateAcls(ctx, []metadata.AclBinding{acl("orders", "erin")}); errs[0] != nil {
			t.Error(errs[0])
		}
	})
	alice := "User:alice"
	res := b1.DeleteAcls(ctx, []metadata.AclFilter{{ResourceType: metadata.AclResourceTopic, PatternType: metadata.AclPatternAny,
		Principal: &alice, Operation: metadata.AclOpAny, Permission: metadata.AclPermissionAny}})
	if res[0].Err != nil || len(res[0].Matched) != 1 {
		t.Fatalf("delete alice: %+v", res)
	}
	expect(orders, "User:bob", "User:carol", "User:dave", "User:erin")
	if tries[orders] != 2 {
		t.Fatalf("%s written in %d tries, want 2", orders, tries[orders])
	}

	// Deleting the last ACL b1 knows of a resource: the conditional
	// Delete loses to broker 2's create, and the retry keeps its ACL
	// (Kafka's conditionalDelete).
	const payments = "/kafka-acl/Topic/payments"
	if errs := b1.CreateAcls(ctx, []metadata.AclBinding{acl("payments", "frank")}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	interfere(payments, func() {
		if errs := b2.CreateAcls(ctx, []metadata.AclBinding{acl("payments", "grace")}); errs[0] != nil {
			t.Error(errs[0])
		}
	})
	name := "payments"
	all := metadata.AclFilter{ResourceType: metadata.AclResourceTopic, ResourceName: &name, PatternType: metadata.AclPatternLiteral,
		Operation: metadata.AclOpAny, Permission: metadata.AclPermissionAny}
	if res := b1.DeleteAcls(ctx, []metadata.AclFilter{all}); res[0].Err != nil || len(res[0].Matched) != 1 {
		t.Fatalf("delete frank: %+v", res)
	}
	expect(payments, "User:grace")
	if tries[payments] != 2 {
		t.Fatalf("%s written in %d tries, want 2", payments, tries[payments])
	}

	// The set becomes empty: the znode is deleted, and both brokers
	// follow.
	b1.beforeZnodeWrite = nil
	wait.For(t, 20*time.Second, "broker 1 sees grace's acl", func() error {
		if !metadata.AclsPresent(b1.Image(), []metadata.AclBinding{acl("payments", "grace")}) {
			return errors.New("not yet")
		}
		return nil
	})
	if res := b1.DeleteAcls(ctx, []metadata.AclFilter{all}); res[0].Err != nil || len(res[0].Matched) != 1 {
		t.Fatalf("delete grace: %+v", res)
	}
	if ok, _, err := raw.Exists(payments); err != nil || ok {
		t.Fatalf("%s left after its last acl was deleted (%v)", payments, err)
	}
	wait.For(t, 20*time.Second, "broker 2 follows every write", func() error {
		want := []metadata.AclBinding{acl("orders", "bob"), acl("orders", "carol"), acl("orders", "dave"), acl("orders", "erin")}
		if !metadata.AclsPresent(b2.Image(), want) || !metadata.AclsAbsent(b2.Image(), []metadata.AclBinding{acl("orders", "alice"),
			acl("payments", "frank"), acl("payments", "grace")}) {
			return errors.New("not yet")
		}
		return nil
	})
}
