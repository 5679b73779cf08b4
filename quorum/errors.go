package quorum

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
)

// Sentinel errors. Callers match them with errors.Is; the wrapped messages
// carry the facts (index, file, node id).
var (
	// ErrNotController: this node is not the raft leader, so it cannot write
	// metadata. The controller listener answers NOT_CONTROLLER, so the
	// broker asks another controller.
	ErrNotController = network.NewError("quorum: not the active controller", kerr.NotController)
	// ErrInvalidConfig: a Config field is out of range; the message names the key.
	ErrInvalidConfig = errors.New("quorum: invalid config")
	// ErrMetaProperties: meta.properties is unreadable or belongs to another node.
	ErrMetaProperties = errors.New("quorum: bad meta.properties")
	// ErrCorruptEntry: a raft log entry could not be decoded as a record batch.
	ErrCorruptEntry = errors.New("quorum: corrupt log entry")
	// ErrRejectedEntry: a decoded entry did not replay onto the current image
	// (for example a partition of an unknown topic); the image is unchanged.
	ErrRejectedEntry = errors.New("quorum: rejected log entry")
	// ErrCorruptSnapshot: a snapshot could not be decoded.
	ErrCorruptSnapshot = errors.New("quorum: corrupt snapshot")
	// ErrSnapshotInTransaction: raft asked for a snapshot while a metadata
	// transaction is open; raft retries later.
	ErrSnapshotInTransaction = errors.New("quorum: snapshot during open metadata transaction")
	// ErrClosed: the node is closed or was never started. The controller
	// listener answers NOT_CONTROLLER: another voter may take over.
	ErrClosed = network.NewError("quorum: node closed", kerr.NotController)
	// ErrClusterIDMismatch: a snapshot belongs to another cluster.
	ErrClusterIDMismatch = errors.New("quorum: cluster id mismatch")
)

// ErrUnsupportedAPI: the controller listener got an api key it does not serve.
var ErrUnsupportedAPI = errors.New("quorum: unsupported api on the controller listener")

// ErrBadResponse: a controller's answer did not make sense (missing
// partition, impossible sizes).
var ErrBadResponse = errors.New("quorum: bad response from controller")

// ErrSnapshotMoved: a FetchSnapshot download was started over
// maxSnapshotRestarts times because the controller kept replacing the image
// it served (or the active controller kept changing) while it was read.
var ErrSnapshotMoved = errors.New("quorum: snapshot replaced while it was fetched")
