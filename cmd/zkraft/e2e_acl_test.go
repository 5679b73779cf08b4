package main_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"
)

// checkSecurityAdmin drives the security admin APIs with franz-go's kadm
// against a node of TestE2ESASL (issue 11): SCRAM users created and
// described through AlterUserScramCredentials / DescribeUserScramCredentials
// (quorum mode: forwarded to the controller; ZooKeeper mode:
// /config/users/<user> written by the broker), ACLs created, described
// and deleted, client quotas described. The PLAINTEXT listener is the
// inter-broker one, so its principal (User:ANONYMOUS) is a super user.
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
	if _, err := adm.DescribeClientQuotas(ctx, false, nil); err != nil {
		t.Fatalf("describe client quotas: %v", err)
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
