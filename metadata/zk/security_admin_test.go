package zk

import (
	"context"
	"errors"
	"testing"
	"time"

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
