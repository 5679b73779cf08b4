package metadata

import (
	"errors"
	"reflect"
	"testing"
)

func strPtr(s string) *string { return &s }

func binding(typ AclResourceType, name string, pat AclPatternType, principal string, op AclOperation, perm AclPermission) AclBinding {
	return AclBinding{ResourceType: typ, ResourceName: name, PatternType: pat, Principal: principal, Host: WildcardHost,
		Operation: op, Permission: perm}
}

// TestAclFilterMatches: Kafka's AclBindingFilter / ResourcePatternFilter /
// AccessControlEntryFilter matching, MATCH included.
func TestAclFilterMatches(t *testing.T) {
	lit := binding(AclResourceTopic, "orders", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow)
	wild := binding(AclResourceTopic, "*", AclPatternLiteral, "User:bob", AclOpWrite, AclPermissionDeny)
	pre := binding(AclResourceTopic, "ord", AclPatternPrefixed, "User:alice", AclOpRead, AclPermissionAllow)
	grp := binding(AclResourceGroup, "orders", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow)
	all := []AclBinding{lit, wild, pre, grp}
	any := AclFilter{ResourceType: AclResourceAny, PatternType: AclPatternAny, Operation: AclOpAny, Permission: AclPermissionAny}
	with := func(f func(*AclFilter)) AclFilter { c := any; f(&c); return c }
	tests := []struct {
		name string
		f    AclFilter
		want []AclBinding
	}{
		{"ANY matches all", any, all},
		{"resource type", with(func(f *AclFilter) { f.ResourceType = AclResourceGroup }), []AclBinding{grp}},
		{"ANY pattern with a name: exact names of any pattern", with(func(f *AclFilter) { f.ResourceName = strPtr("ord") }), []AclBinding{pre}},
		{"LITERAL with a name", with(func(f *AclFilter) { f.PatternType = AclPatternLiteral; f.ResourceName = strPtr("orders") }), []AclBinding{lit, grp}},
		{"LITERAL: * is a name like any other", with(func(f *AclFilter) { f.PatternType = AclPatternLiteral; f.ResourceName = strPtr("*") }), []AclBinding{wild}},
		{"PREFIXED without a name", with(func(f *AclFilter) { f.PatternType = AclPatternPrefixed }), []AclBinding{pre}},
		{"MATCH: literal, wildcard and prefixes that apply", with(func(f *AclFilter) {
			f.ResourceType = AclResourceTopic
			f.PatternType = AclPatternMatch
			f.ResourceName = strPtr("orders")
		}), []AclBinding{lit, wild, pre}},
		{"MATCH: a prefix longer than the name does not apply", with(func(f *AclFilter) {
			f.PatternType = AclPatternMatch
			f.ResourceName = strPtr("or")
		}), []AclBinding{wild}},
		{"principal", with(func(f *AclFilter) { f.Principal = strPtr("User:bob") }), []AclBinding{wild}},
		{"host", with(func(f *AclFilter) { f.Host = strPtr("10.0.0.1") }), nil},
		{"operation (no implication in filters)", with(func(f *AclFilter) { f.Operation = AclOpDescribe }), nil},
		{"permission", with(func(f *AclFilter) { f.Permission = AclPermissionDeny }), []AclBinding{wild}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []AclBinding
			for _, b := range all {
				if tt.f.Matches(b) {
					got = append(got, b)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("matched %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestCreateDescribeDeleteAcls: AclControlManager's createAcls (validation,
// duplicates succeed without a record), describe by filter, deleteAcls (an
// ACL matched by two filters is removed once and reported twice).
func TestCreateDescribeDeleteAcls(t *testing.T) {
	next := byte(0)
	newID := func() Uuid { next++; return testID(next * 16) }
	good := binding(AclResourceTopic, "orders", AclPatternLiteral, "User:alice", AclOpRead, AclPermissionAllow)
	pre := binding(AclResourceGroup, "app-", AclPatternPrefixed, "User:alice", AclOpRead, AclPermissionAllow)
	bad := func(f func(*AclBinding)) AclBinding { b := good; f(&b); return b }
	reqs := []AclBinding{
		good, pre, good, // the repeat succeeds and writes nothing
		bad(func(b *AclBinding) { b.PatternType = AclPatternMatch }),
		bad(func(b *AclBinding) { b.Operation = AclOpAny }),
		bad(func(b *AclBinding) { b.Permission = AclPermissionAny }),
		bad(func(b *AclBinding) { b.ResourceName = "" }),
		bad(func(b *AclBinding) { b.Principal = "alice" }),
		bad(func(b *AclBinding) { b.ResourceType = AclResourceAny }),
		binding(AclResourceCluster, "my-cluster", AclPatternLiteral, "User:ops", AclOpAlter, AclPermissionAllow),
		binding(AclResourceCluster, ClusterResourceName, AclPatternLiteral, "User:ops", AclOpAlter, AclPermissionAllow),
	}
	recs, errs := CreateAcls(EmptyImage(), reqs, newID)
	for i, err := range errs {
		wantErr := i >= 3 && i <= 9
		if wantErr != errors.Is(err, ErrInvalidRequest) || (!wantErr && err != nil) {
			t.Errorf("binding %d: %v", i, err)
		}
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	img := replayAll(t, EmptyImage(), recs...)
	// Creating again writes nothing; an id in use is never handed out.
	again, errs := CreateAcls(img, []AclBinding{good, binding(AclResourceTopic, "t", AclPatternLiteral, "User:x", AclOpRead, AclPermissionAllow)},
		func() Uuid { return testID(16) })
	if errs[0] != nil || !errors.Is(errs[1], ErrInvalidRequest) || len(again) != 0 {
		t.Fatalf("again: %v %v", again, errs)
	}

	any := AclFilter{ResourceType: AclResourceAny, PatternType: AclPatternAny, Operation: AclOpAny, Permission: AclPermissionAny}
	got, err := DescribeAcls(img, AclFilter{ResourceType: AclResourceTopic, PatternType: AclPatternMatch, ResourceName: strPtr("orders"),
		Operation: AclOpAny, Permission: AclPermissionAny})
	if err != nil || len(got) != 1 || got[0].Binding != good {
		t.Fatalf("describe: %v %v", got, err)
	}
	if _, err := DescribeAcls(img, AclFilter{}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("describe with UNKNOWN values: %v", err)
	}

	alice := any
	alice.Principal = strPtr("User:alice")
	recs, res := DeleteAcls(img, []AclFilter{alice, any, {}})
	if len(recs) != 3 || len(res[0].Matched) != 2 || len(res[1].Matched) != 3 || !errors.Is(res[2].Err, ErrInvalidRequest) {
		t.Fatalf("delete: %d records, results %+v", len(recs), res)
	}
	if after := replayAll(t, img, recs...); after.AclCount() != 0 {
		t.Fatalf("%d acls left", after.AclCount())
	}
}
