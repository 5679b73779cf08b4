package migrate

import (
	"maps"
	"slices"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// DiffOps returns the ZooKeeper writes that turn the tree described by prev
// into the one described by next (Kafka's KRaftMigrationZkWriter, for the
// image parts that have a ZooKeeper form): topics created and deleted,
// topic znodes whose assignment changed, partition states whose leader,
// leader epoch, ISR or recovery state changed (stamped with
// controller_epoch = zkEpoch), topic and broker configs (each followed by a
// /config/changes notification), the producer-id block, and SCRAM
// credentials and ACLs (zk.SecurityOps, each with its notification). Brokers,
// features and the migration state have no ZooKeeper form.
//
// The same function mirrors one committed delta (prev = the last mirrored
// image) and repairs the whole tree after a takeover (prev = the image of
// the tree as read, SYNC_KRAFT_TO_ZK). State writes are unconditional
// (version -1): the multi's /controller_epoch and /migration checks fence
// them, so the zkVersion of a state is no longer the log's partition epoch
// after dual-write (ZooKeeper mode re-reads it after a rollback). Every op
// tolerates replay.
func DiffOps(prev, next *metadata.Image, zkEpoch int32) []zk.Op {
	var ops []zk.Op
	// Topics gone (or whose name now belongs to another id).
	for _, t := range prev.Topics() {
		if nt, ok := next.TopicByID(t.ID); ok && nt.Name == t.Name {
			continue
		}
		ops = append(ops, zk.DeleteTopicOps(t.Name, t.PartitionIDs())...)
		ops = append(ops, zk.Op{Kind: zk.OpDelete, Path: zk.TopicConfigPath(t.Name), Version: -1, Tolerant: true})
	}
	for _, nt := range next.Topics() {
		pt, ok := prev.TopicByID(nt.ID)
		if !ok || pt.Name != nt.Name {
			ops = append(ops, createTopicOps(nt, zkEpoch)...)
			continue
		}
		if pt == nt {
			continue // untouched (copy-on-write images share unchanged topics)
		}
		if !sameAssignment(pt, nt) {
			ops = append(ops, zk.Op{Kind: zk.OpSet, Path: zk.TopicPath(nt.Name), Data: zk.EncodeTopic(zk.TopicZNodeOf(nt)), Version: -1, Tolerant: true})
		}
		for _, p := range nt.PartitionIDs() {
			reg := nt.Partitions[p]
			old, had := pt.Partitions[p]
			switch {
			case !had:
				ops = append(ops, zk.Op{Kind: zk.OpCreate, Path: zk.PartitionsPath(nt.Name), Tolerant: true},
					zk.Op{Kind: zk.OpCreate, Path: zk.PartitionPath(nt.Name, p), Tolerant: true},
					zk.Op{Kind: zk.OpCreate, Path: zk.PartitionStatePath(nt.Name, p), Data: stateData(reg, zkEpoch), Tolerant: true})
			case !sameState(old, reg):
				ops = append(ops, zk.Op{Kind: zk.OpSet, Path: zk.PartitionStatePath(nt.Name, p), Data: stateData(reg, zkEpoch), Version: -1, Tolerant: true})
			}
		}
	}
	ops = append(ops, configOps(prev, next)...)
	ops = append(ops, zk.SecurityOps(prev, next)...)
	if n := next.NextProducerID(); n != prev.NextProducerID() && n >= metadata.ProducerIDBlockSize {
		ops = append(ops, zk.Op{Kind: zk.OpSet, Path: zk.ProducerIDBlockPath, Version: -1, Tolerant: true,
			Data: zk.EncodeProducerIDBlock(zk.ProducerIDBlock{Broker: -1, BlockStart: n - metadata.ProducerIDBlockSize, BlockEnd: n - 1})})
	}
	return ops
}

func createTopicOps(t *metadata.TopicImage, zkEpoch int32) []zk.Op {
	ops := []zk.Op{
		{Kind: zk.OpCreate, Path: zk.TopicPath(t.Name), Data: zk.EncodeTopic(zk.TopicZNodeOf(t)), Tolerant: true},
		{Kind: zk.OpCreate, Path: zk.PartitionsPath(t.Name), Tolerant: true},
	}
	for _, p := range t.PartitionIDs() {
		ops = append(ops, zk.Op{Kind: zk.OpCreate, Path: zk.PartitionPath(t.Name, p), Tolerant: true},
			zk.Op{Kind: zk.OpCreate, Path: zk.PartitionStatePath(t.Name, p), Data: stateData(t.Partitions[p], zkEpoch), Tolerant: true})
	}
	return ops
}

func stateData(reg *metadata.PartitionRegistration, zkEpoch int32) []byte {
	return zk.EncodePartitionState(zk.PartitionState{Leader: reg.Leader, LeaderEpoch: reg.LeaderEpoch,
		ControllerEpoch: zkEpoch, ISR: reg.ISR, LeaderRecoveryState: reg.LeaderRecoveryState})
}

// sameState compares what a state znode holds.
func sameState(a, b *metadata.PartitionRegistration) bool {
	return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch && a.LeaderRecoveryState == b.LeaderRecoveryState &&
		slices.Equal(a.ISR, b.ISR)
}

// sameAssignment compares what a topic znode holds.
func sameAssignment(a, b *metadata.TopicImage) bool {
	if len(a.Partitions) != len(b.Partitions) {
		return false
	}
	for p, ra := range a.Partitions {
		rb, ok := b.Partitions[p]
		if !ok || !slices.Equal(ra.Replicas, rb.Replicas) || !slices.Equal(ra.AddingReplicas, rb.AddingReplicas) ||
			!slices.Equal(ra.RemovingReplicas, rb.RemovingReplicas) {
			return false
		}
	}
	return true
}

// configOps writes every topic or broker config entity whose content
// changed, then a change notification (Kafka's AdminZkClient.changeConfigs).
// Configs of deleted topics go with the topic.
func configOps(prev, next *metadata.Image) []zk.Op {
	seen := map[metadata.ConfigResource]bool{}
	var res []metadata.ConfigResource
	for _, r := range append(prev.ConfigResources(), next.ConfigResources()...) {
		if !seen[r] {
			seen[r] = true
			res = append(res, r)
		}
	}
	slices.SortFunc(res, func(a, b metadata.ConfigResource) int {
		if a.Type != b.Type {
			return int(a.Type) - int(b.Type)
		}
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	var ops []zk.Op
	for _, r := range res {
		e, ok := zk.EntityFor(r)
		if !ok {
			continue
		}
		if r.Type == metadata.TopicResource {
			if _, alive := next.Topic(r.Name); !alive {
				continue
			}
		}
		want := next.Configs(r.Type, r.Name)
		if maps.Equal(prev.Configs(r.Type, r.Name), want) {
			continue
		}
		ops = append(ops,
			zk.Op{Kind: zk.OpCreate, Path: zk.EntityConfigPath(e.Type, e.Name), Data: zk.EncodeEntityConfig(want), Tolerant: true},
			zk.Op{Kind: zk.OpCreate, Path: zk.ConfigChangesPath + "/" + zk.ConfigChangePrefix, Data: zk.EncodeConfigChange(e.Type, e.Name), Sequential: true})
	}
	return ops
}
