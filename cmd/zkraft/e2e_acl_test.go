package main_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"
)

// checkSecurityAdmin drives the security admin APIs with franz-go's kadm
// against a node of TestE2ESASL (issue 11): SCRAM users created and
// described through AlterUserScramCredentials / DescribeUserScramCredentials
// (quorum mode: forwarded to the controller; ZooKeeper mode:
// /config/users/<user> written by the broker), ACLs created, described
// and deleted, a client quota set and described; a SASL user without ACLs is denied
// (TOPIC_AUTHORIZATION_FAILED, no topic listed) and with ACLs allowed. The
// PLAINTEXT listener is the inter-broker one, so its principal
// (User:ANONYMOUS) is a super user.
func checkSecurityAdmin(t *testing.T, sn *saslNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(sn.client(t))

	alt, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "dave", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "dave-secret"}})
	if err != nil || alt.Error() != nil {
		t.Fatalf("upsert dave: %v %v", err, alt.Error())
	}
	ds, err := adm.DescribeUserSCRAMs(ctx)
	if err != nil || ds.Error() != nil {
		t.Fatalf("describe users: %v %v", err, ds.Error())
	}
	for _, u := range []string{"admin", "alice", "dave"} {
		if len(ds[u].CredInfos) != 1 {
			t.Fatalf("user %s: %+v (all: %+v)", u, ds[u], ds)
		}
	}
	// dave authenticates with the new credential.
	dave := sn.scramClient(t, "dave", "dave-secret")
	if err := dave.Ping(ctx); err != nil {
		t.Fatalf("dave after AlterUserScramCredentials: %v", err)
	}

	// Without ACLs dave sees no topic and may not produce.
	createTopic(t, sn.client(t), "acl-e2e", 1)
	produce := func() error {
		cl := sn.scramClient(t, "dave", "dave-secret", kgo.DefaultProduceTopic("acl-e2e"), kgo.DisableIdempotentWrite(),
			kgo.RecordRetries(1))
		defer cl.Close()
		return cl.ProduceSync(ctx, &kgo.Record{Value: []byte("dave")}).FirstErr()
	}
	if err := produce(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("dave without acls: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if md, err := kadm.NewClient(sn.scramClient(t, "dave", "dave-secret")).ListTopics(ctx); err != nil || len(md) != 0 {
		t.Fatalf("dave without acls lists %v (%v), want no topic", md.Names(), err)
	}

	b := kadm.NewACLs().Topics("acl-").ResourcePatternType(kadm.ACLPatternPrefixed).
		Allow("User:dave").Operations(kadm.OpRead, kadm.OpWrite)
	if res, err := adm.CreateACLs(ctx, b); err != nil || len(res) != 2 || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("create acls: %v %+v", err, res)
	}
	desc, err := adm.DescribeACLs(ctx, kadm.NewACLs().Topics().ResourcePatternType(kadm.ACLPatternAny).
		Allow("User:dave").AllowHosts().Operations(kadm.OpAny))
	if err != nil || len(desc) != 1 || desc[0].Err != nil || len(desc[0].Described) != 2 {
		t.Fatalf("describe acls: %v %+v", err, desc)
	}
	// With READ and WRITE on the prefix acl- dave produces and sees
	// only that topic.
	if err := produce(); err != nil {
		t.Fatalf("dave with acls: %v", err)
	}
	if md, err := kadm.NewClient(sn.scramClient(t, "dave", "dave-secret")).ListTopics(ctx); err != nil || len(md) != 1 || !md.Has("acl-e2e") {
		t.Fatalf("dave with acls lists %v (%v), want acl-e2e only", md.Names(), err)
	}
	del, err := adm.DeleteACLs(ctx, kadm.NewACLs().Topics("acl-").ResourcePatternType(kadm.ACLPatternPrefixed).
		Allow("User:dave").AllowHosts().Operations(kadm.OpWrite))
	if err != nil || len(del) != 1 || del[0].Err != nil || len(del[0].Deleted) != 1 {
		t.Fatalf("delete acls: %v %+v", err, del)
	}
	desc, err = adm.DescribeACLs(ctx, kadm.NewACLs().Topics().ResourcePatternType(kadm.ACLPatternAny).
		Allow("User:dave").AllowHosts().Operations(kadm.OpAny))
	if err != nil || len(desc) != 1 || len(desc[0].Described) != 1 || desc[0].Described[0].Operation != kadm.OpRead {
		t.Fatalf("describe acls after delete: %v %+v", err, desc)
	}
	if err := produce(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("dave after WRITE was deleted: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	// A quota on dave (in ZooKeeper mode written into /config/users/dave
	// beside its SCRAM keys), shown by DescribeClientQuotas; dave still
	// authenticates.
	daveName := "dave"
	entity := kadm.ClientQuotaEntity{{Type: "user", Name: &daveName}}
	if res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: entity,
		Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 1048576}}}}); err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("alter client quotas: %v %+v", err, res)
	}
	qs, err := adm.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: &daveName}})
	if err != nil || len(qs) != 1 || len(qs[0].Values) != 1 || qs[0].Values[0].Value != 1048576 {
		t.Fatalf("describe client quotas: %v %+v", err, qs)
	}
	if err := sn.scramClient(t, "dave", "dave-secret").Ping(ctx); err != nil {
		t.Fatalf("dave after its quota was set: %v", err)
	}
}

// scramClient is a franz-go client of user over SCRAM-SHA-256 on the
// SASL_PLAINTEXT listener, closed at cleanup.
func (sn *saslNode) scramClient(t *testing.T, user, pass string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(sn.saslAddr),
		kgo.SASL(kscram.Auth{User: user, Pass: pass}.AsSha256Mechanism())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
