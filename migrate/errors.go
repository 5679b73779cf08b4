package migrate

import "errors"

// Sentinel errors (prefix "migrate: "); callers match them with errors.Is.
var (
	// ErrInvalidConfig names the bad key.
	ErrInvalidConfig = errors.New("migrate: invalid configuration")
	// ErrControllerMoved: another controller (a newer KRaft leader or a
	// rollback) changed /controller_epoch, /controller or /migration under
	// this driver; it stops writing and takes over again if still leader.
	ErrControllerMoved = errors.New("migrate: controller moved")
	// ErrWrongState: the metadata log is in a migration state that does not
	// allow the operation (e.g. finalize before MIGRATION).
	ErrWrongState = errors.New("migrate: wrong migration state")
	// ErrFinalized: the migration was finalized (POST_MIGRATION): ZooKeeper
	// stopped at the finalize, so it can no longer be rolled back to.
	ErrFinalized = errors.New("migrate: migration finalized")
	// ErrClosed: the driver was closed.
	ErrClosed = errors.New("migrate: closed")
	// ErrClusterIDMismatch: the controller quorum's cluster id is not
	// ZooKeeper's /cluster/id (a migrating broker pointed at the wrong
	// quorum, or controllers formatted without the ZooKeeper keys).
	ErrClusterIDMismatch = errors.New("migrate: cluster id mismatch")
	// ErrZooKeeper wraps a ZooKeeper failure with the path involved.
	ErrZooKeeper = errors.New("migrate: zookeeper")
)
