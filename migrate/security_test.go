package migrate

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

// TestMigrationSecurity: a secured ZooKeeper-mode cluster (a SCRAM user
// with both mechanisms in /config/users, a literal and a prefixed ACL in
// Kafka's JSON) migrates with its security metadata: the load puts the
// credentials and ACLs in the log, and during dual-write an ACL created
// and a credential removed in the log reach ZooKeeper with their change
// notifications, where the ZooKeeper-mode broker's image follows them.
func TestMigrationSecurity(t *testing.T) {
	srv := zktest.Start(t)
	const chroot = "/kafka"
	b1 := zkBroker(t, srv.Addr, chroot, 1)
	conn := rawConn(t, srv)
	cred := "salt=c2FsdA==,stored_key=a2V5MQ==,server_key=a2V5Mg==,iterations=4096"
	put := func(p, data string) {
		t.Helper()
		parts := []string{}
		for i := 1; i < len(p); i++ {
			if p[i] == '/' {
				parts = append(parts, p[:i])
			}
		}
		for _, parent := range parts {
			if _, err := conn.Create(chroot+parent, nil, 0, gozk.WorldACL(gozk.PermAll)); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
				t.Fatalf("create %s: %v", parent, err)
			}
		}
		if _, err := conn.Create(chroot+p, []byte(data), 0, gozk.WorldACL(gozk.PermAll)); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	put("/config/users/alice", `{"version":1,"config":{"SCRAM-SHA-256":"`+cred+`","SCRAM-SHA-512":"`+cred+`"}}`)
	put("/kafka-acl/Topic/orders", `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`)
	put("/kafka-acl-extended/prefixed/Group/app-", `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	drv, err := New(testDriverConfig(srv.Addr, chroot), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	node := controllerNode(t, b1.ClusterID(), drv)
	if err := drv.Start(ctx, node); err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	wait.For(t, 20*time.Second, "PRE_MIGRATION", func() error {
		if s := node.Image().ZkMigrationState(); s != metadata.ZkMigrationPreMigration {
			return fmt.Errorf("state %s", StateName(s))
		}
		return nil
	})
	if _, err := node.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 1, IncarnationID: metadata.RandomUuid(),
		IsMigratingZkBroker: true, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9001}}}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 30*time.Second, "dual-write", func() error {
		if drv.State() != DualWrite {
			return fmt.Errorf("driver %s", drv.State())
		}
		return nil
	})
	img := node.Image()
	if img.ScramCount() != 2 || img.AclCount() != 2 {
		t.Fatalf("after the load: %d credentials, %d acls", img.ScramCount(), img.AclCount())
	}
	if c, ok := img.ScramCredential("alice", metadata.ScramSHA512); !ok || string(c.StoredKey) != "key1" || c.Iterations != 4096 {
		t.Fatalf("alice's SCRAM-SHA-512 in the log: %+v", c)
	}

	// Dual-write: an ACL created in the log, alice's SCRAM-SHA-256 removed.
	write := metadata.AclBinding{ResourceType: metadata.AclResourceTopic, ResourceName: "payments", PatternType: metadata.AclPatternLiteral,
		Principal: "User:bob", Host: "*", Operation: metadata.AclOpWrite, Permission: metadata.AclPermissionDeny}
	if _, err := node.AppendRecords(ctx, "security change", nil, []metadata.Record{metadata.AclRecord(metadata.RandomUuid(), write),
		&metadata.RemoveUserScramCredentialRecord{Name: "alice", Mechanism: metadata.ScramSHA256}}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, "the ACL and the credential change in ZooKeeper", func() error {
		data, _, err := conn.Get(chroot + "/kafka-acl/Topic/payments")
		if err != nil {
			return err
		}
		if string(data) != `{"version":1,"acls":[{"principal":"User:bob","permissionType":"Deny","operation":"Write","host":"*"}]}` {
			return fmt.Errorf("acl znode %s", data)
		}
		notes, _, err := conn.Children(chroot + zk.AclChangesPath)
		if err != nil || len(notes) == 0 {
			return fmt.Errorf("no acl change notification: %v", err)
		}
		data, _, err = conn.Get(chroot + "/config/users/alice")
		if err != nil {
			return err
		}
		if string(data) != `{"version":1,"config":{"SCRAM-SHA-512":"`+cred+`"}}` {
			return fmt.Errorf("user znode %s", data)
		}
		return nil
	})
	wait.For(t, 20*time.Second, "the ZooKeeper-mode broker sees them", func() error {
		zimg := b1.Image()
		if zimg.AclCount() != 3 {
			return fmt.Errorf("%d acls", zimg.AclCount())
		}
		if _, ok := zimg.ScramCredential("alice", metadata.ScramSHA256); ok {
			return errors.New("alice still has SCRAM-SHA-256")
		}
		return nil
	})
}
