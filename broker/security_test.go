package broker

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// The fake controller's SecurityController: metadata's pure logic applied
// to its image, as the quorum's Node does.

func (c *fakeController) CreateAcls(_ context.Context, bindings []metadata.AclBinding) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, errs := metadata.CreateAcls(c.img, bindings, metadata.RandomUuid)
	if len(recs) > 0 {
		if err := c.applyLocked(recs); err != nil {
			for i := range errs {
				errs[i] = err
			}
		}
	}
	return errs
}

func (c *fakeController) DeleteAcls(_ context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, out := metadata.DeleteAcls(c.img, filters)
	if len(recs) > 0 {
		if err := c.applyLocked(recs); err != nil {
			for i := range out {
				out[i].Err = err
			}
		}
	}
	return out
}

func (c *fakeController) AlterScramCredentials(_ context.Context, dels []metadata.ScramDeletion, ups []metadata.ScramUpsertion) []metadata.ScramAlterResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, out := metadata.AlterScramCredentials(c.img, dels, ups)
	if len(recs) > 0 {
		if err := c.applyLocked(recs); err != nil {
			return metadata.ScramAlterFailed(dels, ups, err)
		}
	}
	return out
}

func (c *fakeController) AlterClientQuotas(_ context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, errs := metadata.AlterClientQuotas(c.img, alts)
	if len(recs) > 0 && !validateOnly {
		if err := c.applyLocked(recs); err != nil {
			for i := range errs {
				errs[i] = err
			}
		}
	}
	return errs
}

// apply replays records onto the fake controller's image (test setup).
func (c *fakeController) apply(t testing.TB, recs ...metadata.Record) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.applyLocked(recs); err != nil {
		t.Fatal(err)
	}
}

// TestSecurityAdminAPIs drives CreateAcls, DescribeAcls, DeleteAcls,
// AlterUserScramCredentials, DescribeUserScramCredentials and
// DescribeClientQuotas with franz-go's kadm, as an operator's tool would.
func TestSecurityAdminAPIs(t *testing.T) {
	h := newHarness(t, nil)
	adm := kadm.NewClient(h.client())
	ctx := ctxT(t)

	// ApiVersions advertises the keys.
	vs, err := adm.ApiVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []int16{29, 30, 31, 48, 49, 50, 51} {
		vs.Each(func(v kadm.BrokerApiVersions) {
			if _, _, ok := v.KeyVersions(key); !ok {
				t.Errorf("key %d not advertised", key)
			}
		})
	}

	// ACLs: a literal and a prefixed topic ACL, a group ACL.
	b := kadm.NewACLs().Topics("orders").Allow("User:alice").Operations(kadm.OpRead, kadm.OpWrite).
		ResourcePatternType(kadm.ACLPatternLiteral)
	if res, err := adm.CreateACLs(ctx, b); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("create %+v: %v", r, r.Err)
			}
		}
	}
	pre := kadm.NewACLs().Topics("logs-").ResourcePatternType(kadm.ACLPatternPrefixed).Deny("User:bob").Operations(kadm.OpRead)
	if _, err := adm.CreateACLs(ctx, pre); err != nil {
		t.Fatal(err)
	}
	grp := kadm.NewACLs().Groups("app").Allow("User:alice").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral)
	if _, err := adm.CreateACLs(ctx, grp); err != nil {
		t.Fatal(err)
	}
	if n := h.b.Image().AclCount(); n != 4 {
		t.Fatalf("image holds %d acls, want 4", n)
	}
	// Creating the same ACL again succeeds and adds nothing.
	if res, err := adm.CreateACLs(ctx, kadm.NewACLs().Topics("orders").Allow("User:alice").Operations(kadm.OpRead).
		ResourcePatternType(kadm.ACLPatternLiteral)); err != nil || res[0].Err != nil {
		t.Fatalf("create again: %v %v", err, res)
	}
	if n := h.b.Image().AclCount(); n != 4 {
		t.Fatalf("image holds %d acls after a repeat, want 4", n)
	}
	// An invalid ACL (a cluster resource not named kafka-cluster) fails alone.
	bad := kmsg.NewPtrCreateACLsRequest()
	for _, name := range []string{"other-cluster", metadata.ClusterResourceName} {
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName, c.Principal, c.Host = kmsg.ACLResourceTypeCluster, name, "User:ops", "*"
		c.Operation, c.PermissionType = kmsg.ACLOperationAlter, kmsg.ACLPermissionTypeAllow
		bad.Creations = append(bad.Creations, c)
	}
	cr := h.handle(bad).(*kmsg.CreateACLsResponse)
	if cr.Results[0].ErrorCode != kerr.InvalidRequest.Code || cr.Results[1].ErrorCode != 0 {
		t.Fatalf("invalid + valid creation: %+v", cr.Results)
	}

	// Describe: all topic ACLs; a MATCH filter on a name under the prefix.
	desc, err := adm.DescribeACLs(ctx, kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternAny).
		Allow().AllowHosts().Deny().DenyHosts().Operations(kadm.OpAny))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, d := range desc {
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		total += len(d.Described)
	}
	if total != 5 {
		t.Fatalf("described %d acls, want 5: %+v", total, desc)
	}
	match := kmsg.NewPtrDescribeACLsRequest()
	match.Version = 1
	match.ResourceType, match.ResourceName = kmsg.ACLResourceTypeTopic, strPtr("logs-app")
	match.ResourcePatternType = kmsg.ACLResourcePatternTypeMatch
	match.Operation, match.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	dr := h.handle(match).(*kmsg.DescribeACLsResponse)
	if dr.ErrorCode != 0 || len(dr.Resources) != 1 || dr.Resources[0].ResourceName != "logs-" ||
		dr.Resources[0].ResourcePatternType != kmsg.ACLResourcePatternTypePrefixed {
		t.Fatalf("MATCH logs-app: %+v", dr)
	}

	// Delete the topic ACLs of alice: two matched, the group ACL stays.
	del, err := adm.DeleteACLs(ctx, kadm.NewACLs().Topics("orders").Allow("User:alice").AllowHosts().Operations(kadm.OpAny).
		ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, d := range del {
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		deleted += len(d.Deleted)
	}
	if deleted != 2 || h.b.Image().AclCount() != 3 {
		t.Fatalf("deleted %d, %d left; want 2 and 3", deleted, h.b.Image().AclCount())
	}

	// SCRAM: upsert two users, describe, delete one mechanism.
	alt, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "alice-secret"},
		{User: "bob", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "bob-secret"},
	})
	if err != nil || alt.Error() != nil {
		t.Fatalf("upsert: %v %v", err, alt.Error())
	}
	if c, ok := h.b.Image().ScramCredential("bob", metadata.ScramSHA512); !ok || c.Iterations != 8192 || len(c.StoredKey) != 64 {
		t.Fatalf("bob's credential in the image: %+v %v", c, ok)
	}
	ds, err := adm.DescribeUserSCRAMs(ctx)
	if err != nil || len(ds) != 2 || ds["bob"].CredInfos[0].Iterations != 8192 || ds["alice"].CredInfos[0].Mechanism != kadm.ScramSha256 {
		t.Fatalf("describe all: %v %+v", err, ds)
	}
	ds, err = adm.DescribeUserSCRAMs(ctx, "carol")
	if err != nil || !errors.Is(ds["carol"].Err, kerr.ResourceNotFound) {
		t.Fatalf("describe unknown user: %v %+v", err, ds)
	}
	// Too few iterations: UNACCEPTABLE_CREDENTIAL; deleting a missing
	// credential: RESOURCE_NOT_FOUND; each user alone.
	alt, err = adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "alice", Mechanism: kadm.ScramSha512}},
		[]kadm.UpsertSCRAM{{User: "dave", Mechanism: kadm.ScramSha256, Iterations: 100, Password: "x"}})
	if err != nil || !errors.Is(alt["alice"].Err, kerr.ResourceNotFound) || !errors.Is(alt["dave"].Err, kerr.UnacceptableCredential) {
		t.Fatalf("bad alterations: %v %+v", err, alt)
	}
	alt, err = adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "alice", Mechanism: kadm.ScramSha256}}, nil)
	if err != nil || alt.Error() != nil {
		t.Fatalf("delete: %v %+v", err, alt)
	}
	if _, ok := h.b.Image().ScramCredential("alice", metadata.ScramSHA256); ok {
		t.Fatal("alice's credential still in the image")
	}

	// Client quotas: a user's, the default user's, a client id's.
	name := func(s string) *string { return &s }
	h.ctrl.apply(t,
		&metadata.ClientQuotaRecord{Entity: metadata.NewQuotaEntity(metadata.QuotaEntityData{EntityType: "user", EntityName: name("alice")}), Key: "producer_byte_rate", Value: 1024},
		&metadata.ClientQuotaRecord{Entity: metadata.NewQuotaEntity(metadata.QuotaEntityData{EntityType: "user"}), Key: "consumer_byte_rate", Value: 2048},
		&metadata.ClientQuotaRecord{Entity: metadata.NewQuotaEntity(metadata.QuotaEntityData{EntityType: "client-id", EntityName: name("app")}), Key: "request_percentage", Value: 50},
	)
	type qcase struct {
		comps  []kadm.DescribeClientQuotaComponent
		strict bool
		want   int
	}
	for _, c := range []qcase{
		{[]kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: name("alice"), MatchType: 0}}, false, 1},
		{[]kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: 1}}, false, 1},
		{[]kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: 2}}, false, 2},
		{[]kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchType: 2}}, true, 1},
		{nil, false, 3},
	} {
		qs, err := adm.DescribeClientQuotas(ctx, c.strict, c.comps)
		if err != nil || len(qs) != c.want {
			t.Fatalf("describe quotas %+v: %v, %d entries, want %d", c.comps, err, len(qs), c.want)
		}
	}
	qs, _ := adm.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: name("alice")}})
	if len(qs) != 1 || len(qs[0].Values) != 1 || qs[0].Values[0].Key != "producer_byte_rate" || qs[0].Values[0].Value != 1024 {
		t.Fatalf("alice's quotas: %+v", qs)
	}
}

// TestAlterClientQuotas: kadm's AlterClientQuotas sets and removes quotas
// (DescribeClientQuotas shows them), an unknown key or a fractional byte
// rate fails alone, validate_only writes nothing.
func TestAlterClientQuotas(t *testing.T) {
	h := newHarness(t, nil)
	adm := kadm.NewClient(h.client())
	ctx := ctxT(t)
	alice := "alice"
	user := kadm.ClientQuotaEntity{{Type: "user", Name: &alice}}
	ip := kadm.ClientQuotaEntity{{Type: "ip"}}
	res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{
		{Entity: user, Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 1024}, {Key: "request_percentage", Value: 12.5}}},
		{Entity: ip, Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 1}}},
	})
	if err != nil || len(res) != 2 || res[0].Err != nil || !errors.Is(res[1].Err, kerr.InvalidRequest) {
		t.Fatalf("alter: %v %+v", err, res)
	}
	if q := h.b.Image().ClientQuota(metadata.NewQuotaEntity(metadata.QuotaEntityData{EntityType: "user", EntityName: &alice})); q["producer_byte_rate"] != 1024 || q["request_percentage"] != 12.5 {
		t.Fatalf("alice's quotas in the image: %v", q)
	}
	if _, err := adm.ValidateAlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: ip, Ops: []kadm.AlterClientQuotaOp{{Key: "connection_creation_rate", Value: 5}}}}); err != nil {
		t.Fatal(err)
	}
	if res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: user, Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Value: 1.5}}}}); err != nil || !errors.Is(res[0].Err, kerr.InvalidRequest) {
		t.Fatalf("fractional byte rate: %v %+v", err, res)
	}
	if res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: user, Ops: []kadm.AlterClientQuotaOp{{Key: "request_percentage", Remove: true}}}}); err != nil || res[0].Err != nil {
		t.Fatalf("remove: %v %+v", err, res)
	}
	qs, err := adm.DescribeClientQuotas(ctx, false, nil)
	if err != nil || len(qs) != 1 || len(qs[0].Values) != 1 || qs[0].Values[0].Key != "producer_byte_rate" {
		t.Fatalf("after validate-only and remove: %v %+v", err, qs)
	}
}
