package main_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
)

// The migration end-to-end tests run a secured cluster (issue 11): every
// broker, in every phase, has a SASL_PLAINTEXT listener CLIENTS with
// SCRAM-SHA-256 and ACLs on; the PLAINTEXT listener (inter-broker, and the
// tests' own clients) is the super user User:ANONYMOUS.
var migSecurityKeys = []string{
	"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CLIENTS:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
	"inter.broker.listener.name=PLAINTEXT",
	"sasl.enabled.mechanisms=SCRAM-SHA-256",
	"authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
	"super.users=User:ANONYMOUS",
}

// migSecTopic is the topic the SCRAM users write: mig-user may (an ACL),
// mig-denied may not (none).
const migSecTopic = "mig-sec"

// setupSecurity is step 1's security metadata, made through a
// ZooKeeper-mode broker (/config/users and /kafka-acl znodes): two SCRAM
// users and mig-user's ACLs on mig-sec.
func (mc *migCluster) setupSecurity(ctx context.Context, admin *kgo.Client) {
	t := mc.t
	t.Helper()
	zkCreateTopic(ctx, t, admin, migSecTopic, 1, 3, nil)
	adm := kadm.NewClient(admin)
	alt, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "mig-user", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "mig-user-secret"},
		{User: "mig-denied", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "mig-denied-secret"},
	})
	if err != nil || alt.Error() != nil {
		t.Fatalf("create SCRAM users: %v %v", err, alt.Error())
	}
	res, err := adm.CreateACLs(ctx, kadm.NewACLs().Topics(migSecTopic).ResourcePatternType(kadm.ACLPatternLiteral).
		Allow("User:mig-user").Operations(kadm.OpRead, kadm.OpWrite))
	if err != nil || len(res) != 2 || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("create ACLs: %v %+v", err, res)
	}
	mc.securityHolds("ZooKeeper mode")
}

// saslProduce produces one record to mig-sec as user over SCRAM.
func (mc *migCluster) saslProduce(user string) error {
	var seeds []string
	for _, a := range mc.saslAddrs {
		seeds = append(seeds, a)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(migSecTopic),
		kgo.SASL(kscram.Auth{User: user, Pass: user + "-secret"}.AsSha256Mechanism()), kgo.RecordRetries(3))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Value: []byte(user)}).FirstErr()
}

// securityHolds checks that the SCRAM users and ACLs of step 1 still
// work: mig-user authenticates and produces, mig-denied authenticates and
// gets TOPIC_AUTHORIZATION_FAILED.
func (mc *migCluster) securityHolds(what string) {
	t := mc.t
	t.Helper()
	wait.For(t, migWait, what+": mig-user produces to "+migSecTopic, func() error {
		return mc.saslProduce("mig-user")
	})
	wait.For(t, migWait, what+": mig-denied is denied", func() error {
		if err := mc.saslProduce("mig-denied"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
			return fmt.Errorf("mig-denied produce: %v, want TOPIC_AUTHORIZATION_FAILED", err)
		}
		return nil
	})
}

// securityDualWrite: while the quorum dual-writes, an ACL created through
// a broker reaches the quorum and its /kafka-acl znode in ZooKeeper, and
// lets mig-denied produce; deleting it removes it from both again.
func (mc *migCluster) securityDualWrite() {
	t := mc.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), migWait)
	defer cancel()
	adm := kadm.NewClient(mc.brokers[1].client(t, kgo.SeedBrokers(mc.seeds()...)))
	b := kadm.NewACLs().Topics(migSecTopic).ResourcePatternType(kadm.ACLPatternLiteral).
		Allow("User:mig-denied").Operations(kadm.OpWrite)
	if res, err := adm.CreateACLs(ctx, b); err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("create ACL during dual-write: %v %+v", err, res)
	}
	path, err := zk.AclResourcePath(zk.AclResource{Type: metadata.AclResourceTopic, Name: migSecTopic, Pattern: metadata.AclPatternLiteral})
	if err != nil {
		t.Fatal(err)
	}
	hasDenied := func() (bool, error) {
		data, _, err := mc.raw.Get(path)
		if err != nil {
			return false, err
		}
		entries, err := zk.DecodeAcls(data)
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			if e.Principal == "User:mig-denied" {
				return true, nil
			}
		}
		return false, nil
	}
	wait.For(t, migWait, "the new ACL dual-written to "+path, func() error {
		if ok, err := hasDenied(); !ok {
			return fmt.Errorf("not in %s (%v)", path, err)
		}
		return nil
	})
	wait.For(t, migWait, "mig-denied produces with its new ACL", func() error { return mc.saslProduce("mig-denied") })
	del, err := adm.DeleteACLs(ctx, kadm.NewACLs().Topics(migSecTopic).ResourcePatternType(kadm.ACLPatternLiteral).
		Allow("User:mig-denied").AllowHosts().Operations(kadm.OpWrite))
	if err != nil || len(del) != 1 || del[0].Err != nil || len(del[0].Deleted) != 1 {
		t.Fatalf("delete ACL during dual-write: %v %+v", err, del)
	}
	wait.For(t, migWait, "the deleted ACL gone from "+path, func() error {
		if ok, err := hasDenied(); ok || err != nil {
			return fmt.Errorf("still in %s (%v)", path, err)
		}
		return nil
	})
}
