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
// migration's initial load uses it with Tree.Records. It is LoadTreeFrom
// with conn as the only reader.
func LoadTree(conn *gozk.Conn, chroot string, concurrency int) (*Tree, error) {
	return LoadTreeFrom(conn, nil, chroot, concurrency)
}

// LoadTreeFrom is LoadTree with the bulk of the reads (topic, config and
// partition state znodes) spread over readers, concurrency reads in flight
// on each, and no data watches on them (nobody reads their events). A
// ZooKeeper server answers one session's requests in order but several
// sessions' in parallel, so a few sessions read a large tree several
// times faster than one (docs/benchmarks.md). The lists (/brokers/ids,
// /brokers/topics, ...) are read on conn, with watches; readers nil or
// empty means conn does everything, with watches (LoadTree).
func LoadTreeFrom(conn *gozk.Conn, readers []*gozk.Conn, chroot string, concurrency int) (*Tree, error) {
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
	s := &syncer{b: b, conn: conn, readers: readers, log: b.log, tree: NewTree(), paths: map[string]bool{}, dirty: newDirty(), deletes: map[string]bool{}}
	if len(readers) == 0 {
		s.readers = nil
	}
	if err := s.reload(); err != nil {
		return nil, fmt.Errorf("zk: load tree: %w", err)
	}
	return s.tree, nil
}
