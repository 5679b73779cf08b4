package quorum

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// TestClientAlterConfigs: incremental and replacing config alterations
// forwarded by a broker's Client, written by the Node as ConfigRecords
// and visible in the broker's image when the call returns; validate-only
// writes nothing; per-resource errors come back with Kafka's codes and
// the controller's message.
func TestClientAlterConfigs(t *testing.T) {
	n := startNode(t, tcpVoter(t, t.TempDir()))
	waitController(t, n)
	c := startClient(t, 7, map[int32]string{1: n.Addr().String()})
	ctx := testCtx(t)
	if err := c.WaitUnfenced(ctx); err != nil {
		t.Fatal(err)
	}
	v := func(s string) *string { return &s }
	rate := metadata.ConfigOp{Op: metadata.ConfigOpSet, Name: metadata.LeaderReplicationThrottledRateKey, Value: v("1000")}
	errs := c.AlterConfigs(ctx, []metadata.ConfigAlteration{
		{ResourceType: metadata.BrokerResource, ResourceName: "7", Ops: []metadata.ConfigOp{rate}},
		{ResourceType: metadata.BrokerResource, Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: "broker.id", Value: v("3")}}},
		{ResourceType: metadata.TopicResource, ResourceName: "nope", Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: "retention.ms", Value: v("3")}}},
	}, false)
	if errs[0] != nil || !errors.Is(errs[1], kerr.InvalidConfig) || !errors.Is(errs[2], kerr.UnknownTopicOrPartition) {
		t.Fatalf("errs %v", errs)
	}
	if got := c.Image().Configs(metadata.BrokerResource, "7")[metadata.LeaderReplicationThrottledRateKey]; got != "1000" {
		t.Fatalf("broker 7's throttle in its image: %q", got)
	}
	// Validate only.
	errs = c.AlterConfigs(ctx, []metadata.ConfigAlteration{{ResourceType: metadata.BrokerResource,
		Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: "message.max.bytes", Value: v("10")}}}}, true)
	if errs[0] != nil || len(n.Image().Configs(metadata.BrokerResource, "")) != 0 {
		t.Fatalf("validate only: %v, %v", errs, n.Image().Configs(metadata.BrokerResource, ""))
	}
	// Replace (AlterConfigs) with an incremental one in the same call.
	errs = c.AlterConfigs(ctx, []metadata.ConfigAlteration{
		{ResourceType: metadata.BrokerResource, ResourceName: "7", Replace: true,
			Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: "min.insync.replicas", Value: v("2")}}},
		{ResourceType: metadata.BrokerResource, Ops: []metadata.ConfigOp{{Op: metadata.ConfigOpSet, Name: "log.retention.ms", Value: v("1000")}}},
	}, false)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("replace: %v", errs)
	}
	if got := c.Image().Configs(metadata.BrokerResource, "7"); len(got) != 1 || got["min.insync.replicas"] != "2" {
		t.Fatalf("after replace %v", got)
	}
	if got := c.Image().Configs(metadata.BrokerResource, ""); got["log.retention.ms"] != "1000" {
		t.Fatalf("default %v", got)
	}
}
