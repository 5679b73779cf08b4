package migrate

import (
	"fmt"
	"maps"
	"slices"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// MigrationTransactionName names the BeginTransactionRecord of the initial
// load, as Kafka's.
const MigrationTransactionName = "ZK Migration"

// LoadRecords is the initial load (Kafka's ZkMigrationClient.readAllMetadata):
// the tree's records without broker registrations (the brokers registered
// with the quorum themselves, IsMigratingZkBroker, before the load could
// start), in batches of at most batchSize records, a topic's TopicRecord
// and PartitionRecords kept together when they fit. The last batch ends
// with ZkMigrationStateRecord(MIGRATION). SCRAM credentials
// (/config/users) and ACLs (/kafka-acl, /kafka-acl-extended) come after the
// producer-id block, ACL ids derived from their content (zk.AclID). Topic ids, leaders, ISRs, leader
// epochs and partition epochs (= state zkVersions) come from the tree.
// A topic the ZooKeeper controller had not finished when the takeover
// fenced it (see completedTopicRecords) is completed as that controller
// would have; the driver then writes what it added to ZooKeeper
// (CompletionOps).
//
// deleting are the topics queued in /admin/delete_topics that the fenced
// ZooKeeper controller had not deleted yet (KAFKA-15605). The migration
// finishes their deletion, as Kafka's does: a complete one is loaded and
// then removed (RemoveTopicRecord, after every topic, in the same
// transaction, so the image after the load never holds it), an incomplete
// one (no id) is not loaded at all; CompletionOps deletes their znodes and
// queue entries. Their configs are not loaded.
func LoadRecords(t *zk.Tree, deleting map[string]bool, batchSize int) [][]metadata.Record {
	var batches [][]metadata.Record
	var cur []metadata.Record
	add := func(recs []metadata.Record) {
		if len(cur) > 0 && len(cur)+len(recs) > batchSize {
			batches = append(batches, cur)
			cur = nil
		}
		for len(recs) > batchSize {
			batches = append(batches, recs[:batchSize:batchSize])
			recs = recs[batchSize:]
		}
		cur = append(cur, recs...)
	}
	var removes []metadata.Record
	for _, name := range slices.Sorted(maps.Keys(t.Topics)) {
		recs := t.TopicRecords(name)
		if deleting[name] {
			if len(recs) > 0 {
				add(recs)
				removes = append(removes, &metadata.RemoveTopicRecord{TopicID: t.Topics[name].ZNode.TopicID})
			}
			continue
		}
		if len(recs) == 0 {
			recs = completedTopicRecords(t, name)
		}
		if len(recs) == 0 {
			continue // no assignment: nothing to create
		}
		add(append(recs, t.ConfigRecords(zk.ConfigEntity{Type: zk.ConfigTopics, Name: name}, nil)...))
	}
	for _, e := range slices.SortedFunc(maps.Keys(t.Configs), func(a, b zk.ConfigEntity) int {
		if a.Type != b.Type {
			return cmpString(a.Type, b.Type)
		}
		return cmpString(a.Name, b.Name)
	}) {
		if e.Type != zk.ConfigTopics {
			add(t.ConfigRecords(e, nil))
		}
	}
	if r := t.ProducerIDsRecord(); r != nil {
		add([]metadata.Record{r})
	}
	// SCRAM credentials and ACLs (Kafka's migrateClientQuotas and migrateAcls).
	add(t.SecurityRecords(metadata.EmptyImage()))
	for _, r := range removes {
		add([]metadata.Record{r})
	}
	add([]metadata.Record{&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationMigration}})
	return append(batches, cur)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AssignedBrokers are the broker ids named in any topic assignment (Kafka
// waits for these too: an offline broker has no /brokers/ids znode), except
// the assignments of topics being deleted (they are not migrated).
func AssignedBrokers(t *zk.Tree, deleting map[string]bool) []int32 {
	set := map[int32]bool{}
	for name, tn := range t.Topics {
		if deleting[name] {
			continue
		}
		for _, rs := range tn.ZNode.Partitions {
			for _, r := range rs {
				set[r] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// completedTopicRecords are the records of an incomplete topic: a broker
// wrote /brokers/topics/<t> (and its configs) just before the takeover, and
// the ZooKeeper controller, fenced by the takeover's /controller_epoch
// bump, never gave it its id or partition states. The migration does the
// ZooKeeper controller's job (Kafka's onNewPartitionCreation): a new topic
// id if it has none, and for each partition without a state leader = the
// first live replica (a broker in /brokers/ids), ISR = the live replicas,
// epochs 0; with no live replica leader -1 and ISR = the replicas (offline
// until one returns). Existing states are kept. nil if the topic assigns
// no partition.
func completedTopicRecords(t *zk.Tree, name string) []metadata.Record {
	tn, ok := t.Topics[name]
	if !ok || len(tn.ZNode.Partitions) == 0 {
		return nil
	}
	id := tn.ZNode.TopicID
	if id == metadata.ZeroUuid {
		id = metadata.RandomUuid()
	}
	out := []metadata.Record{&metadata.TopicRecord{Name: name, TopicID: id}}
	for _, p := range slices.Sorted(maps.Keys(tn.ZNode.Partitions)) {
		reg, ok := tn.Registration(p)
		if !ok {
			replicas := tn.ZNode.Partitions[p]
			reg = &metadata.PartitionRegistration{Replicas: slices.Clone(replicas), Leader: metadata.NoLeader,
				AddingReplicas: slices.Clone(tn.ZNode.AddingReplicas[p]), RemovingReplicas: slices.Clone(tn.ZNode.RemovingReplicas[p])}
			for _, r := range replicas {
				if _, live := t.Brokers[r]; live {
					reg.ISR = append(reg.ISR, r)
				}
			}
			if len(reg.ISR) > 0 {
				reg.Leader = reg.ISR[0]
			} else {
				reg.ISR = slices.Clone(replicas)
			}
		}
		out = append(out, metadata.PartitionToRecord(id, p, reg))
	}
	return out
}

// CompletionOps are the ZooKeeper writes that bring the topics
// LoadRecords completed (incomplete in t, present in img, the image after
// the load) to ZooKeeper: the topic znode with its id, and the partition
// znodes and states that were missing, stamped with controller_epoch =
// zkEpoch; then the deletions LoadRecords finished (deleting, absent from
// img): the topic's znodes, its config and its /admin/delete_topics entry
// (Kafka's TopicDeletionManager's writes). They tolerate replay.
func CompletionOps(t *zk.Tree, deleting map[string]bool, img *metadata.Image, zkEpoch int32) []zk.Op {
	var ops []zk.Op
	for _, name := range slices.Sorted(maps.Keys(t.Topics)) {
		tn := t.Topics[name]
		ti, ok := img.Topic(name)
		if tn.Complete() || !ok || deleting[name] {
			continue
		}
		ops = append(ops, zk.Op{Kind: zk.OpSet, Path: zk.TopicPath(name), Data: zk.EncodeTopic(zk.TopicZNodeOf(ti)), Version: -1, Tolerant: true},
			zk.Op{Kind: zk.OpCreate, Path: zk.PartitionsPath(name), Tolerant: true})
		for _, p := range ti.PartitionIDs() {
			if _, has := tn.States[p]; has {
				continue
			}
			ops = append(ops, zk.Op{Kind: zk.OpCreate, Path: zk.PartitionPath(name, p), Tolerant: true},
				zk.Op{Kind: zk.OpCreate, Path: zk.PartitionStatePath(name, p), Data: stateData(ti.Partitions[p], zkEpoch), Tolerant: true})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(deleting)) {
		if _, live := img.Topic(name); !live {
			ops = append(ops, topicDeletionOps(t, name)...)
		}
		ops = append(ops, zk.Op{Kind: zk.OpDelete, Path: zk.DeleteTopicPath(name), Version: -1, Tolerant: true})
	}
	return ops
}

// topicDeletionOps delete what the tree holds of topic name: its partition,
// state and topic znodes and its config (nothing if it is not in the tree).
func topicDeletionOps(t *zk.Tree, name string) []zk.Op {
	tn, ok := t.Topics[name]
	if !ok {
		return nil
	}
	parts := map[int32]bool{}
	for p := range tn.ZNode.Partitions {
		parts[p] = true
	}
	for p := range tn.States {
		parts[p] = true
	}
	return append(zk.DeleteTopicOps(name, slices.Sorted(maps.Keys(parts))),
		zk.Op{Kind: zk.OpDelete, Path: zk.TopicConfigPath(name), Version: -1, Tolerant: true})
}

// SyncOps is SYNC_KRAFT_TO_ZK (a new leader, or a leader whose write after
// the load failed): the writes that make the tree t equal to the log's
// image img (DiffOps from the tree's image), plus the deletions queued in
// /admin/delete_topics (deleting) that the log has done: the znodes of
// queued topics the tree's image leaves out (incomplete ones) and every
// queue entry, so that a ZooKeeper controller after a rollback deletes
// nothing the log holds.
func SyncOps(t *zk.Tree, deleting map[string]bool, img *metadata.Image, zkEpoch int32) ([]zk.Op, error) {
	zimg, err := t.Image()
	if err != nil {
		return nil, fmt.Errorf("image of the ZooKeeper tree: %w", err)
	}
	ops := DiffOps(zimg, img, zkEpoch)
	for _, name := range slices.Sorted(maps.Keys(deleting)) {
		_, inTree := zimg.Topic(name)
		_, inLog := img.Topic(name)
		if !inTree && !inLog {
			ops = append(ops, topicDeletionOps(t, name)...) // incomplete (or gone): DiffOps does not see it
		}
		ops = append(ops, zk.Op{Kind: zk.OpDelete, Path: zk.DeleteTopicPath(name), Version: -1, Tolerant: true})
	}
	return ops, nil
}
