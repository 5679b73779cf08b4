package zk

import (
	"maps"
	"slices"

	"github.com/zkraft/zkraft/metadata"
)

// Tree is the part of a Kafka ZooKeeper tree that metadata records describe,
// as read from ZooKeeper (LoadTree) or kept current by watches. It is the
// input of the ZK tree -> records translation that the broker image and the
// migration both use.
type Tree struct {
	ClusterID string
	Brokers   map[int32]BrokerNode
	Topics    map[string]*TopicNode
	// Configs holds /config/topics/<t> and /config/brokers/<b> (Kafka's
	// "<default>" broker entity is the cluster default).
	Configs     map[ConfigEntity]map[string]string
	ProducerIDs *ProducerIDBlock // nil if /latest_producer_id_block is empty
	// Scram holds the SCRAM credentials of /config/users/<user>, by
	// (desanitized) user name; users without one are absent.
	Scram map[string]map[metadata.ScramMechanism]*metadata.ScramCredential
	// Acls holds /kafka-acl/<Type>/<name> and
	// /kafka-acl-extended/prefixed/<Type>/<name>; empty znodes are absent.
	Acls map[AclResource][]AclZNodeEntry
	// Quotas holds the client quotas of /config/users, /config/clients
	// and /config/ips by entity path ("users/alice/clients/app", names
	// sanitized, "<default>" for defaults); entities without one are
	// absent.
	Quotas map[string]map[string]float64
}

// BrokerNode is a live broker: its znode and the znode's czxid (the broker epoch).
type BrokerNode struct {
	ZNode BrokerZNode
	Czxid int64
}

// TopicNode is /brokers/topics/<t> and the state znodes found under it.
type TopicNode struct {
	ZNode  TopicZNode
	States map[int32]StateNode // partitions with a state znode
}

// StateNode is a partition state znode and its zkVersion (= partition epoch).
type StateNode struct {
	State     PartitionState
	ZkVersion int32
}

// ConfigEntity names /config/<Type>/<Name>.
type ConfigEntity struct{ Type, Name string }

// DefaultEntity is Kafka's name for a cluster-wide default config entity.
const DefaultEntity = "<default>"

// NewTree returns an empty tree.
func NewTree() *Tree {
	return &Tree{Brokers: map[int32]BrokerNode{}, Topics: map[string]*TopicNode{}, Configs: map[ConfigEntity]map[string]string{},
		Scram: map[string]map[metadata.ScramMechanism]*metadata.ScramCredential{}, Acls: map[AclResource][]AclZNodeEntry{},
		Quotas: map[string]map[string]float64{}}
}

// Complete reports whether the topic has a topic id and a state znode for
// every assigned partition: only then is it part of the image (Kafka's
// controller gives a topic written by an old tool its id and states first).
func (t *TopicNode) Complete() bool {
	if t.ZNode.TopicID == metadata.ZeroUuid || len(t.ZNode.Partitions) == 0 {
		return false
	}
	for p := range t.ZNode.Partitions {
		if _, ok := t.States[p]; !ok {
			return false
		}
	}
	return true
}

// Registration is the image's view of partition p (which must have a state).
func (t *TopicNode) Registration(p int32) (*metadata.PartitionRegistration, bool) {
	s, ok := t.States[p]
	if !ok {
		return nil, false
	}
	return &metadata.PartitionRegistration{
		Replicas:            slices.Clone(t.ZNode.Partitions[p]),
		ISR:                 slices.Clone(s.State.ISR),
		AddingReplicas:      slices.Clone(t.ZNode.AddingReplicas[p]),
		RemovingReplicas:    slices.Clone(t.ZNode.RemovingReplicas[p]),
		Leader:              s.State.Leader,
		LeaderRecoveryState: s.State.LeaderRecoveryState,
		LeaderEpoch:         s.State.LeaderEpoch,
		PartitionEpoch:      s.ZkVersion,
	}, true
}

// ConfigResource maps a ZooKeeper config entity to a ConfigRecord resource
// (topics and brokers only; quotas are not configs in the image).
func ConfigResource(e ConfigEntity) (metadata.ConfigResource, bool) {
	switch e.Type {
	case ConfigTopics:
		return metadata.ConfigResource{Type: metadata.TopicResource, Name: e.Name}, true
	case ConfigBrokers:
		name := e.Name
		if name == DefaultEntity {
			name = ""
		}
		return metadata.ConfigResource{Type: metadata.BrokerResource, Name: name}, true
	}
	return metadata.ConfigResource{}, false
}

// EntityFor is the inverse of ConfigResource.
func EntityFor(r metadata.ConfigResource) (ConfigEntity, bool) {
	switch r.Type {
	case metadata.TopicResource:
		return ConfigEntity{ConfigTopics, r.Name}, true
	case metadata.BrokerResource:
		if r.Name == "" {
			return ConfigEntity{ConfigBrokers, DefaultEntity}, true
		}
		return ConfigEntity{ConfigBrokers, r.Name}, true
	}
	return ConfigEntity{}, false
}

// Records translates the tree into metadata records, in the order of
// Kafka's migration load (ZkMigrationClient.readAllMetadata): brokers, then
// per topic its TopicRecord, PartitionRecords (leader, ISR and epochs from
// the state znode, PartitionEpoch = the state's zkVersion) and topic
// configs, then broker configs, the producer id block, SCRAM credentials
// and ACLs (SecurityRecords). Replayed into an
// empty image they give the image of this tree. Brokers are live and
// unfenced with epoch = czxid. Incomplete topics are left out.
func (t *Tree) Records() []metadata.Record {
	var out []metadata.Record
	for _, id := range slices.Sorted(maps.Keys(t.Brokers)) {
		reg := t.Brokers[id].ZNode.Registration(id, t.Brokers[id].Czxid)
		out = append(out, metadata.BrokerRecord(&reg))
	}
	for _, name := range slices.Sorted(maps.Keys(t.Topics)) {
		out = append(out, t.TopicRecords(name)...)
		out = append(out, t.ConfigRecords(ConfigEntity{ConfigTopics, name}, nil)...)
	}
	for _, e := range slices.SortedFunc(maps.Keys(t.Configs), compareEntity) {
		if e.Type != ConfigTopics {
			out = append(out, t.ConfigRecords(e, nil)...)
		}
	}
	if r := t.ProducerIDsRecord(); r != nil {
		out = append(out, r)
	}
	return append(out, t.SecurityRecords(metadata.EmptyImage())...)
}

func compareEntity(a, b ConfigEntity) int {
	if a.Type != b.Type {
		if a.Type < b.Type {
			return -1
		}
		return 1
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

// TopicRecords is TopicRecord + PartitionRecords of a complete topic (nil otherwise).
func (t *Tree) TopicRecords(name string) []metadata.Record {
	tn, ok := t.Topics[name]
	if !ok || !tn.Complete() {
		return nil
	}
	out := []metadata.Record{&metadata.TopicRecord{Name: name, TopicID: tn.ZNode.TopicID}}
	for _, p := range slices.Sorted(maps.Keys(tn.ZNode.Partitions)) {
		reg, _ := tn.Registration(p)
		out = append(out, metadata.PartitionToRecord(tn.ZNode.TopicID, p, reg))
	}
	return out
}

// ConfigRecords returns the ConfigRecords that turn have (the image's
// config of the entity; nil = none) into the tree's: sets for new or changed
// keys, deletes (Value nil) for keys the tree lacks.
func (t *Tree) ConfigRecords(e ConfigEntity, have map[string]string) []metadata.Record {
	res, ok := ConfigResource(e)
	if !ok {
		return nil
	}
	want := t.Configs[e]
	var out []metadata.Record
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if old, ok := have[k]; ok && old == want[k] {
			continue
		}
		v := want[k]
		out = append(out, &metadata.ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k, Value: &v})
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[k]; !ok {
			out = append(out, &metadata.ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k})
		}
	}
	return out
}

// ProducerIDsRecord is the ProducerIdsRecord of the last block (NextProducerID
// = block_end + 1, as Kafka's migration writes it), or nil.
func (t *Tree) ProducerIDsRecord() *metadata.ProducerIdsRecord {
	if t.ProducerIDs == nil {
		return nil
	}
	return &metadata.ProducerIdsRecord{BrokerID: t.ProducerIDs.Broker, BrokerEpoch: -1, NextProducerID: t.ProducerIDs.BlockEnd + 1}
}

// Image replays Records into an empty image.
func (t *Tree) Image() (*metadata.Image, error) {
	d := metadata.NewDelta(metadata.EmptyImage())
	for _, r := range t.Records() {
		if err := d.Replay(r); err != nil {
			return nil, err
		}
	}
	d.SetClusterID(t.ClusterID)
	return d.Apply(), nil
}
