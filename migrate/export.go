package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// ExportResult says what Export did.
type ExportResult struct {
	// ZkControllerEpoch is /controller_epoch after the takeover: stamped in
	// every partition state written, checked by every write.
	ZkControllerEpoch int32
	// Ops is the number of ZooKeeper writes (0 when the tree already held
	// the image).
	Ops int
	// Topics and Partitions are the image's.
	Topics, Partitions int
	// ReadTime is reading the tree; WriteTime the fenced writes.
	ReadTime, WriteTime time.Duration
}

// Export is the first half of the reverse migration (quorum -> ZooKeeper
// mode, issue 13 part 3): the active controller writes its whole image
// into the ZooKeeper tree under cfg.Chroot, which may be empty (a cluster
// born in quorum mode) or stale (the tree a finalized migration left):
//
//  1. Kafka's top-level paths and /migration are created; /cluster/id is
//     created with the image's cluster id, and a tree holding another
//     cluster's id is refused (ErrWrongState);
//  2. the takeover of the forward migration: one multi bumps
//     /controller_epoch, replaces /controller (a ZooKeeper-mode broker's,
//     or a KRaft controller's of a lower kraftControllerEpoch) with a
//     persistent one naming cfg.NodeID and kraftEpoch, so no ZooKeeper-mode
//     broker elects itself while the quorum owns the metadata;
//  3. the tree is read (zk.LoadTreeFrom over cfg.LoadSessions) and repaired
//     from the image with SyncOps, the SYNC_KRAFT_TO_ZK of the forward
//     direction: topics with their ids and assignments, partition states
//     with leader, leader epoch, ISR and recovery state stamped with the new
//     /controller_epoch, topic and broker configs, the producer-id block;
//     topics and queued deletions the image does not have are deleted (a
//     stale topic that is incomplete too), and /zkraft_migration_finalized
//     (the tree is current again);
//  4. every write is a multi behind Check(/controller_epoch) ending with
//     SetData(/migration, {kraft_metadata_offset: img.Offset()}), so a
//     controller that took over after this one writes nothing more, and a
//     second Export (after a crash or a leader change mid-export) starts
//     over and finishes the job: the export is idempotent.
//
// Broker registrations have no ZooKeeper form here: ZooKeeper-mode brokers
// register in /brokers/ids themselves when they roll. A Driver with
// Config.Reverse runs it, records REVERSE_MIGRATION and dual-writes.
func Export(ctx context.Context, conn *gozk.Conn, cfg Config, img *metadata.Image, kraftEpoch int32, logger *zap.Logger) (ExportResult, error) {
	if err := cfg.Validate(); err != nil {
		return ExportResult{}, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	_, res, err := newSession(conn, cfg.Chroot).export(ctx, cfg, img, kraftEpoch, logger)
	return res, err
}

// export is Export, also returning the fence for the dual-write that
// follows (Driver.reverse).
func (s *session) export(ctx context.Context, cfg Config, img *metadata.Image, kraftEpoch int32, logger *zap.Logger) (*fence, ExportResult, error) {
	res := ExportResult{Topics: img.TopicCount(), Partitions: img.PartitionCount()}
	if err := s.createTopLevelPaths(); err != nil {
		return nil, res, err
	}
	if err := s.ensureClusterID(img.ClusterID()); err != nil {
		return nil, res, err
	}
	f, err := s.takeover(cfg.NodeID, kraftEpoch, time.Now())
	if err != nil {
		return nil, res, err
	}
	res.ZkControllerEpoch = f.zkEpoch
	start := time.Now()
	tree, err := loadTree(ctx, s.conn, cfg, logger)
	if err != nil {
		return nil, res, err
	}
	deleting, err := s.pendingDeletions()
	if err != nil {
		return nil, res, err
	}
	res.ReadTime = time.Since(start)
	ops, err := SyncOps(tree, deleting, img, f.zkEpoch)
	if err != nil {
		return nil, res, err
	}
	// Stale topics that are incomplete (no id or states: not in the tree's
	// image, so not seen by SyncOps) would be completed by the ZooKeeper
	// controller after the hand-over: a deleted topic back from the dead.
	for _, name := range slices.Sorted(maps.Keys(tree.Topics)) {
		if _, inLog := img.Topic(name); !inLog && !deleting[name] && !tree.Topics[name].Complete() {
			ops = append(ops, topicDeletionOps(tree, name)...)
		}
	}
	if ok, _, err := s.conn.Exists(s.abs(FinalizedPath)); err != nil {
		return nil, res, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, FinalizedPath, err)
	} else if ok {
		ops = append(ops, zk.Op{Kind: zk.OpDelete, Path: FinalizedPath, Version: -1, Tolerant: true})
	}
	start = time.Now()
	if err := s.writeFenced(f, ops, img.Offset(), int32(img.Epoch()), cfg.MaxMultiOps); err != nil {
		return nil, res, err
	}
	res.Ops, res.WriteTime = len(ops), time.Since(start)
	logger.Info("exported the metadata image to ZooKeeper", zap.Int("topics", res.Topics), zap.Int("partitions", res.Partitions),
		zap.Int("ops", res.Ops), zap.Int32("controller_epoch", f.zkEpoch), zap.Int64("offset", img.Offset()),
		zap.Duration("read", res.ReadTime), zap.Duration("write", res.WriteTime))
	return f, res, nil
}

// ensureClusterID creates /cluster/id with id, or checks that it holds id.
func (s *session) ensureClusterID(id string) error {
	if id == "" {
		return fmt.Errorf("the image has no cluster id: %w", ErrWrongState)
	}
	if err := s.createPath(path.Dir(zk.ClusterIDPath)); err != nil {
		return err
	}
	_, err := s.conn.Create(s.abs(zk.ClusterIDPath), zk.EncodeClusterID(id), 0, s.acl)
	if err == nil {
		return nil
	}
	if !errors.Is(err, gozk.ErrNodeExists) {
		return fmt.Errorf("%w: create %s: %w", ErrZooKeeper, zk.ClusterIDPath, err)
	}
	data, _, err := s.conn.Get(s.abs(zk.ClusterIDPath))
	if err != nil {
		return fmt.Errorf("%w: read %s: %w", ErrZooKeeper, zk.ClusterIDPath, err)
	}
	have, err := zk.DecodeClusterID(data)
	if err != nil {
		return err
	}
	if have != id {
		return fmt.Errorf("%s is %s, the metadata log's cluster is %s: another cluster's tree: %w",
			zk.ClusterIDPath, have, id, ErrWrongState)
	}
	return nil
}
