package zk

import (
	"fmt"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// LoadTree reads Kafka's tree under chroot with concurrency reads in flight:
// /cluster/id, /brokers/ids, /brokers/topics with their states,
// /config/topics and /config/brokers, /latest_producer_id_block. The
// migration's initial load uses it with Tree.Records. It sets watches on
// what it reads; a caller that does not want them should use a session of
// its own.
func LoadTree(conn *gozk.Conn, chroot string, concurrency int) (*Tree, error) {
	cfg := DefaultConfig()
	cfg.Chroot, cfg.LoadConcurrency = chroot, max(concurrency, 1)
	b := &Backend{cfg: cfg, log: zap.NewNop()}
	b.img.Store(metadata.EmptyImage())
	id := ""
	data, _, err := conn.Get(b.abs(ClusterIDPath))
	switch {
	case err == nil:
		if id, err = DecodeClusterID(data); err != nil {
			return nil, err
		}
	case err != gozk.ErrNoNode:
		return nil, fmt.Errorf("zk: read %s: %w", ClusterIDPath, err)
	}
	b.clusterID.Store(id)
	s := &syncer{b: b, conn: conn, log: b.log, tree: NewTree(), paths: map[string]bool{}, dirty: newDirty(), deletes: map[string]bool{}}
	if err := s.reload(); err != nil {
		return nil, fmt.Errorf("zk: load tree: %w", err)
	}
	return s.tree, nil
}
