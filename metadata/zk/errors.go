package zk

import "errors"

// Sentinel errors (prefix "zk: "). Returned errors wrap one of these, or a
// metadata error, with the facts (path, broker id, versions).
var (
	// ErrInvalidConfig: a Config field is out of range; the message names
	// its server.properties key.
	ErrInvalidConfig = errors.New("zk: invalid config")
	// ErrInvalidConnect: a ZooKeeper connect string (zookeeper.connect,
	// --zookeeper) does not parse; the message names the value.
	ErrInvalidConnect = errors.New("zk: invalid connect string")
	// ErrCorruptZNode: a znode's data does not decode (bad JSON, unknown
	// version, missing or out-of-range field).
	ErrCorruptZNode = errors.New("zk: corrupt znode")
	// ErrControllerMoved: a controller write failed its /controller_epoch
	// check (Kafka's ControllerMovedException): another controller was
	// elected, so this one resigns and wrote nothing.
	ErrControllerMoved = errors.New("zk: controller moved")
	// ErrBrokerIDInUse: /brokers/ids/<id> is held by another live session
	// (Kafka: "Error while creating ephemeral ... node already exists").
	ErrBrokerIDInUse = errors.New("zk: broker id already registered by another session")
	// ErrWriteContention: a config or ACL znode kept changing under
	// this broker's read-modify-write (other writers won every retry).
	ErrWriteContention = errors.New("zk: znode keeps changing under a conditional write")
	// ErrClosed: the backend is closed.
	ErrClosed = errors.New("zk: backend closed")
	// ErrNotStarted: a call that needs the ZooKeeper session before Start.
	ErrNotStarted = errors.New("zk: backend not started")
	// ErrTranslate: records that have no ZooKeeper form in this state
	// (a partition change of an unknown partition, ...).
	ErrTranslate = errors.New("zk: cannot translate records to znodes")
)
