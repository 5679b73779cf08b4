package migrate

import "github.com/zkraft/zkraft/metadata"

// DriverState is the in-memory state of the migration driver (Kafka's
// MigrationDriverState). Only DualWrite (and KRaftControllerToBrokerComm)
// mirror log changes to ZooKeeper; losing leadership goes to Inactive.
type DriverState int32

// Driver states, in Kafka's order.
const (
	Uninitialized DriverState = iota
	Inactive
	WaitForControllerQuorum
	WaitForBrokers
	BecomeController
	ZkMigration
	SyncKRaftToZk
	KRaftControllerToBrokerComm
	DualWrite
)

var driverStateNames = [...]string{"UNINITIALIZED", "INACTIVE", "WAIT_FOR_CONTROLLER_QUORUM", "WAIT_FOR_BROKERS",
	"BECOME_CONTROLLER", "ZK_MIGRATION", "SYNC_KRAFT_TO_ZK", "KRAFT_CONTROLLER_TO_BROKER_COMM", "DUAL_WRITE"}

func (s DriverState) String() string {
	if s < 0 || int(s) >= len(driverStateNames) {
		return "UNKNOWN"
	}
	return driverStateNames[s]
}

// StateName is Kafka's name of a persisted ZkMigrationState value.
func StateName(s int8) string {
	switch s {
	case metadata.ZkMigrationNone:
		return "NONE"
	case metadata.ZkMigrationMigration:
		return "MIGRATION"
	case metadata.ZkMigrationPreMigration:
		return "PRE_MIGRATION"
	case metadata.ZkMigrationPostMigration:
		return "POST_MIGRATION"
	case metadata.ZkMigrationReverse:
		return "REVERSE_MIGRATION"
	}
	return "UNKNOWN"
}
