package quorum

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// TestClientSecurityWrites: CreateAcls, DeleteAcls and
// AlterScramCredentials forwarded by a broker's Client to the controller
// listener, written by the Node as records and visible in the broker's
// own image when the call returns; per-entry errors come back with
// Kafka's codes.
func TestClientSecurityWrites(t *testing.T) {
	n := startNode(t, tcpVoter(t, t.TempDir()))
	waitController(t, n)
	c := startClient(t, 7, map[int32]string{1: n.Addr().String()})
	ctx := testCtx(t)
	if err := c.WaitUnfenced(ctx); err != nil {
		t.Fatal(err)
	}
	good := metadata.AclBinding{ResourceType: metadata.AclResourceTopic, ResourceName: "orders", PatternType: metadata.AclPatternLiteral,
		Principal: "User:alice", Host: "*", Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}
	bad := good
	bad.Principal = "alice" // no type
	errs := c.CreateAcls(ctx, []metadata.AclBinding{good, bad})
	if errs[0] != nil || !errors.Is(errs[1], kerr.InvalidRequest) {
		t.Fatalf("create: %v", errs)
	}
	if !metadata.AclsPresent(c.Image(), []metadata.AclBinding{good}) || n.Image().AclCount() != 1 {
		t.Fatalf("acl not in the broker's image (controller holds %d)", n.Image().AclCount())
	}
	topic := "orders"
	res := c.DeleteAcls(ctx, []metadata.AclFilter{{ResourceType: metadata.AclResourceTopic, ResourceName: &topic,
		PatternType: metadata.AclPatternAny, Operation: metadata.AclOpAny, Permission: metadata.AclPermissionAny}})
	if res[0].Err != nil || len(res[0].Matched) != 1 || res[0].Matched[0].Binding != good || c.Image().AclCount() != 0 {
		t.Fatalf("delete: %+v, %d left", res, c.Image().AclCount())
	}

	ups := []metadata.ScramUpsertion{{Name: "alice", Mechanism: metadata.ScramSHA256, Iterations: 4096,
		Salt: []byte("salt"), SaltedPassword: make([]byte, 32)}}
	dels := []metadata.ScramDeletion{{Name: "bob", Mechanism: metadata.ScramSHA512}}
	out := c.AlterScramCredentials(ctx, dels, ups)
	if len(out) != 2 || out[0].User != "bob" || !errors.Is(out[0].Err, kerr.ResourceNotFound) || out[1].User != "alice" || out[1].Err != nil {
		t.Fatalf("alter: %+v", out)
	}
	if cred, ok := c.Image().ScramCredential("alice", metadata.ScramSHA256); !ok || cred.Iterations != 4096 {
		t.Fatalf("alice's credential in the broker's image: %+v %v", cred, ok)
	}

	alice := "alice"
	entity := metadata.NewQuotaEntity(metadata.QuotaEntityData{EntityType: metadata.QuotaEntityUser, EntityName: &alice})
	qerrs := c.AlterClientQuotas(ctx, []metadata.QuotaAlteration{
		{Entity: entity, Ops: []metadata.QuotaOp{{Key: "producer_byte_rate", Value: 2048}}},
		{Entity: entity, Ops: []metadata.QuotaOp{{Key: "no_such_key", Value: 1}}},
	}, false)
	if qerrs[0] != nil || !errors.Is(qerrs[1], kerr.InvalidRequest) || c.Image().ClientQuota(entity)["producer_byte_rate"] != 2048 {
		t.Fatalf("alter client quotas: %v, image %v", qerrs, c.Image().ClientQuota(entity))
	}
}
