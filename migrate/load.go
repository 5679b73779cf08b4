package migrate

import (
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
// with ZkMigrationStateRecord(MIGRATION). Topic ids, leaders, ISRs, leader
// epochs and partition epochs (= state zkVersions) come from the tree.
func LoadRecords(t *zk.Tree, batchSize int) [][]metadata.Record {
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
	for _, name := range slices.Sorted(maps.Keys(t.Topics)) {
		recs := t.TopicRecords(name)
		if len(recs) == 0 {
			continue // incomplete topic (no id or a state missing): the ZooKeeper controller had not finished it
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
// waits for these too: an offline broker has no /brokers/ids znode).
func AssignedBrokers(t *zk.Tree) []int32 {
	set := map[int32]bool{}
	for _, tn := range t.Topics {
		for _, rs := range tn.ZNode.Partitions {
			for _, r := range rs {
				set[r] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
