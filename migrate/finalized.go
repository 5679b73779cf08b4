package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/zkraft/zkraft/metadata/zk"
)

// FinalizedPath records in ZooKeeper that the migration was finalized
// (zkraft's own znode, not Kafka's: Kafka's /migration has no state).
// Written by the active driver, behind its takeover's fence, before it
// appends POST_MIGRATION, and by any migrating controller whose log is in
// POST_MIGRATION; Rollback refuses while it exists.
const FinalizedPath = "/zkraft_migration_finalized"

// FinalizedZNode is the data of FinalizedPath.
type FinalizedZNode struct {
	// KRaftControllerID is the controller that wrote it.
	KRaftControllerID int32 `json:"kraft_controller_id"`
	// KRaftMetadataOffset is the log offset ZooKeeper was mirrored to when
	// it was written (-1 unknown): the tree is stale from there on.
	KRaftMetadataOffset int64 `json:"kraft_metadata_offset"`
	// Timestamp is the writer's clock, unix milliseconds.
	Timestamp int64 `json:"timestamp"`
}

func encodeFinalized(f FinalizedZNode) []byte {
	b, _ := json.Marshal(struct {
		Version int `json:"version"`
		FinalizedZNode
	}{0, f})
	return b
}

func decodeFinalized(data []byte) (FinalizedZNode, error) {
	var v struct {
		Version *int `json:"version"`
		FinalizedZNode
	}
	if err := json.Unmarshal(data, &v); err != nil || v.Version == nil || *v.Version != 0 {
		return FinalizedZNode{}, fmt.Errorf("%s %q: %w", FinalizedPath, data, zk.ErrCorruptZNode)
	}
	return v.FinalizedZNode, nil
}

// Finalized reads FinalizedPath: nil when the migration was not finalized
// (as far as ZooKeeper knows). A corrupt marker still counts as finalized.
func Finalized(conn *gozk.Conn, chroot string) (*FinalizedZNode, error) {
	data, _, err := conn.Get(chroot + FinalizedPath)
	switch {
	case errors.Is(err, gozk.ErrNoNode):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, FinalizedPath, err)
	}
	f, err := decodeFinalized(data)
	if err != nil {
		return &FinalizedZNode{KRaftControllerID: -1, KRaftMetadataOffset: -1}, nil
	}
	return &f, nil
}

// finalizedOp is the create of FinalizedPath (a replayed create becomes a set).
func finalizedOp(nodeID int32, offset int64, now time.Time) zk.Op {
	return zk.Op{Kind: zk.OpCreate, Path: FinalizedPath,
		Data: encodeFinalized(FinalizedZNode{KRaftControllerID: nodeID, KRaftMetadataOffset: offset, Timestamp: now.UnixMilli()})}
}

// markFinalized writes FinalizedPath outside any fence: the log this
// controller applied is in POST_MIGRATION, a committed fact, so any
// controller may record it. An existing marker is kept.
func (s *session) markFinalized(nodeID int32, now time.Time) error {
	op := finalizedOp(nodeID, -1, now)
	if _, err := s.conn.Create(s.abs(op.Path), op.Data, 0, s.acl); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
		return fmt.Errorf("%w: create %s: %w", ErrZooKeeper, FinalizedPath, err)
	}
	return nil
}
