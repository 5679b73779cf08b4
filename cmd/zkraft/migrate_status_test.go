package main

import (
	"strings"
	"testing"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/migrate"
)

// TestMigrationSummary (issue 16 part 5): `zkraft migrate status` says what
// is true in each state. After step 4 (every broker in quorum mode, none
// left in /brokers/ids) it says so instead of "0/0"; after the finalize it
// says dual-write stopped instead of printing a lag that grows forever.
func TestMigrationSummary(t *testing.T) {
	mig := func(off int64) *zk.MigrationZNode {
		return &zk.MigrationZNode{KRaftControllerID: 3000, KRaftControllerEpoch: 2, KRaftMetadataOffset: off, KRaftMetadataEpoch: 2}
	}
	for _, tc := range []struct {
		name  string
		zs    migrate.ZkStatus
		ls    migrate.LogStatus
		wants []string
		nots  []string
	}{
		{"pre-migration waiting", migrate.ZkStatus{Brokers: []int32{1, 2, 3}, Migration: mig(-1)},
			migrate.LogStatus{State: metadata.ZkMigrationPreMigration, RegisteredBrokers: []int32{1}, Offset: 3},
			[]string{"brokers registered vs expected: 1/3 (missing [2 3]"}, []string{"dual-write"}},
		{"pre-migration no zookeeper brokers", migrate.ZkStatus{Migration: mig(-1)},
			migrate.LogStatus{State: metadata.ZkMigrationPreMigration, Offset: 3},
			[]string{"0/0 (no ZooKeeper-mode broker in /brokers/ids"}, []string{"dual-write"}},
		{"migration, brokers in zookeeper mode", migrate.ZkStatus{Brokers: []int32{1, 2, 3}, Migration: mig(40)},
			migrate.LogStatus{State: metadata.ZkMigrationMigration, RegisteredBrokers: []int32{1, 2, 3}, Offset: 42},
			[]string{"brokers registered vs expected: 3/3", "dual-write lag:        2 offsets"}, nil},
		{"migration, step 4 under way", migrate.ZkStatus{Brokers: []int32{2, 3}, Migration: mig(50)},
			migrate.LogStatus{State: metadata.ZkMigrationMigration, RegisteredBrokers: []int32{2, 3}, KRaftBrokers: []int32{1}, Offset: 50},
			[]string{"brokers registered vs expected: 2/2", "dual-write lag:        0 offsets"}, nil},
		{"migration, step 4 done", migrate.ZkStatus{Migration: mig(60)},
			migrate.LogStatus{State: metadata.ZkMigrationMigration, KRaftBrokers: []int32{1, 2, 3}, Offset: 61},
			[]string{"all in quorum mode [1 2 3], none left in /brokers/ids", "dual-write lag:        1 offsets"}, []string{"0/0"}},
		{"finalized", migrate.ZkStatus{Migration: mig(70)},
			migrate.LogStatus{State: metadata.ZkMigrationPostMigration, KRaftBrokers: []int32{1, 2, 3}, Offset: 900},
			[]string{"quorum mode [1 2 3]", "dual-write:           stopped at the finalize", "up to offset 70", "no rollback"},
			[]string{"lag", "0/0"}},
		{"reverse, brokers to roll", migrate.ZkStatus{Brokers: []int32{1}, Migration: mig(80)},
			migrate.LogStatus{State: metadata.ZkMigrationReverse, RegisteredBrokers: []int32{1}, KRaftBrokers: []int32{2, 3}, Offset: 81},
			[]string{"roll quorum-mode brokers [2 3] to ZooKeeper mode", "dual-write lag:        1 offsets"}, []string{"0/0", "finalize"}},
		{"reverse, brokers rolled", migrate.ZkStatus{Brokers: []int32{1, 2, 3}, Migration: mig(90)},
			migrate.LogStatus{State: metadata.ZkMigrationReverse, RegisteredBrokers: []int32{1, 2, 3}, Offset: 90},
			[]string{"every broker in ZooKeeper mode [1 2 3]: stop the controllers, then zkraft migrate rollback"}, nil},
		{"never migrated", migrate.ZkStatus{}, migrate.LogStatus{State: metadata.ZkMigrationNone, KRaftBrokers: []int32{1}, Offset: 9},
			[]string{"not created for a migration"}, []string{"lag", "0/0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := strings.Join(migrationSummary(tc.zs, tc.ls), "\n")
			for _, w := range tc.wants {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			for _, n := range tc.nots {
				if strings.Contains(out, n) {
					t.Errorf("%q in:\n%s", n, out)
				}
			}
		})
	}
}
