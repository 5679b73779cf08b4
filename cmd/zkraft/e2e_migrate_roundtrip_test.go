package main_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
)

// reverseControllers restarts controllers 11-13 with zookeeper.connect and
// zookeeper.metadata.migration.reverse.enable (docs/migration.md, "From
// the quorum back to ZooKeeper mode"): all stopped, then all started, so
// the export starts when a leader is elected, not in the middle of a roll.
func (mc *migCluster) reverseControllers() {
	mc.t.Helper()
	for id := int32(11); id <= 13; id++ {
		if err := mc.controllers[id].stop(15 * time.Second); err != nil {
			mc.t.Logf("controller %d stop: %v", id, err)
		}
	}
	for id := int32(11); id <= 13; id++ {
		n := mc.controllers[id]
		n.args = mc.controllerArgs(id, false, "zookeeper.connect="+mc.zk.Addr,
			"zookeeper.metadata.migration.reverse.enable=true", "zookeeper.session.timeout.ms=4000")
		n.spawn()
	}
}

// createIn creates topic name (2 partitions, RF 3) through broker 1 and
// waits until ZooKeeper holds its states when mirrored is set.
func (mc *migCluster) createIn(ctx context.Context, name string, mirrored bool) {
	t := mc.t
	t.Helper()
	admin := mc.brokers[1].client(t, kgo.SeedBrokers(mc.seeds()...))
	zkCreateTopic(ctx, t, admin, name, 2, 3, map[string]string{"retention.ms": "86400000"})
	if mirrored {
		wait.For(t, migWait, name+" in ZooKeeper", func() error {
			_, _, err := zkState(mc.raw, name, 1)
			return err
		})
	}
}

// TestE2EMigrateRoundTrip is issue 13's "Done when": ZooKeeper mode ->
// quorum (finalized) -> ZooKeeper mode (the reverse migration) -> quorum
// again, three brokers, RF 3, a group with committed offsets, an acks=all
// producer and a consumer throughout. Every acknowledged record is
// readable at its offset, the topic ids and committed offsets never
// change, and a topic created in each phase is there in the next. The
// SCRAM users and ACLs of step 1 hold after the finalize, after the reverse
// export and rollback, and in quorum mode again.
func TestE2EMigrateRoundTrip(t *testing.T) {
	mc, p, c, committed, ids := prepareMigration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*migWait)
	defer cancel()

	// Forward: steps 2-5 of the runbook.
	mc.migrateBrokers(p)
	mc.createIn(ctx, "rt-migration", true)
	for id := int32(1); id <= 3; id++ {
		mc.rollBroker(id, phaseQuorum)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d moved to quorum mode", id))
	}
	if out, err := mc.zkraft("migrate", "finalize", "--zookeeper", mc.zk.Addr); err != nil {
		t.Fatalf("zkraft migrate finalize: %v\n%s", err, out)
	}
	mc.waitStatus("finalized", "state:               POST_MIGRATION")
	mc.createIn(ctx, "rt-quorum", false) // ZooKeeper is no longer written
	if _, _, err := zkState(mc.raw, "rt-quorum", 0); err == nil {
		t.Fatal("rt-quorum reached ZooKeeper after the finalize")
	}
	p.waitMore(t, 5, "finalized quorum mode")
	mc.securityHolds("finalized")

	// Reverse: controllers with the reverse flag export the image. The
	// active controller is killed (kill -9) at its takeover, the export's
	// first write (whether its other writes were done by then is not
	// controlled); the next leader exports again.
	epochBefore := zkGet(t, mc.raw, zk.ControllerEpochPath)
	mc.reverseControllers()
	var exporter zk.ControllerZNode
	wait.For(t, migWait, "a reverse controller took /controller over", func() error {
		if e := zkGet(t, mc.raw, zk.ControllerEpochPath); e == epochBefore {
			return fmt.Errorf("/controller_epoch still %s", e)
		}
		var err error
		exporter, err = zk.DecodeController([]byte(zkGet(t, mc.raw, zk.ControllerPath)))
		return err
	})
	mc.controllers[exporter.BrokerID].kill()
	t.Logf("killed controller %d at its export takeover (kraftControllerEpoch %d)", exporter.BrokerID, exporter.KRaftControllerEpoch)
	mc.controllers[exporter.BrokerID].spawn()
	out := mc.waitStatus("reverse migration", "state:               REVERSE_MIGRATION", "roll quorum-mode brokers [1 2 3]")
	t.Logf("reverse migration started:\n%s", out)
	wait.For(t, migWait, "rt-quorum exported to ZooKeeper", func() error {
		_, _, err := zkState(mc.raw, "rt-quorum", 1)
		return err
	})
	if ok, _, _ := mc.raw.Exists("/zkraft_migration_finalized"); ok {
		t.Fatal("the finalize marker survived the export")
	}
	for id := int32(1); id <= 3; id++ {
		mc.rollBroker(id, phaseZkMigrate)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d moved back to ZooKeeper mode", id))
	}
	mc.waitStatus("every broker in ZooKeeper mode", "every broker in ZooKeeper mode [1 2 3]")
	mc.createIn(ctx, "rt-reverse", true) // dual-written
	for _, n := range mc.controllers {
		_ = n.stop(15 * time.Second)
	}
	if out, err := mc.zkraft("migrate", "rollback", "--zookeeper", mc.zk.Addr); err != nil {
		t.Fatalf("zkraft migrate rollback: %v\n%s", err, out)
	}
	mc.waitZkController()
	for id := int32(1); id <= 3; id++ {
		mc.rollBroker(id, phaseZk)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d dropped the migration keys", id))
	}
	mc.createIn(ctx, "rt-zookeeper", true)
	mc.securityHolds("ZooKeeper mode after the reverse migration")
	mc.configsHold("ZooKeeper mode after the reverse migration")

	// Forward again, with new controllers (empty metadata.log.dir).
	mc.migrateBrokers(p)
	for id := int32(1); id <= 3; id++ {
		mc.rollBroker(id, phaseQuorum)
		p.waitMore(t, 5, fmt.Sprintf("after broker %d moved to quorum mode again", id))
	}
	mc.waitStatus("quorum mode again", "all in quorum mode [1 2 3]")
	mc.securityHolds("quorum mode again")
	mc.configsHold("quorum mode again")

	acked := p.stop()
	c.stop()
	mc.nothingLost("after the round trip", acked, ids, committed, "rt-migration", "rt-quorum", "rt-reverse", "rt-zookeeper")
}
