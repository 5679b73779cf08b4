package metadata

import (
	"encoding/binary"
	"maps"
	"slices"

	iradix "github.com/hashicorp/go-immutable-radix"
)

// BrokerRegistration is a registered broker as seen in an Image. Immutable
// once in an Image: never modify one you got from an Image.
type BrokerRegistration struct {
	ID                   int32
	Epoch                int64
	IncarnationID        Uuid
	Endpoints            []Endpoint
	Features             []BrokerFeature // supported feature ranges
	Rack                 string          // "" = none (null in the record)
	Fenced               bool
	InControlledShutdown bool
	IsMigratingZkBroker  bool
}

// Endpoint returns the endpoint of the named listener.
func (b *BrokerRegistration) Endpoint(listener string) (Endpoint, bool) {
	for _, e := range b.Endpoints {
		if e.Name == listener {
			return e, true
		}
	}
	return Endpoint{}, false
}

// PartitionRegistration is the state of one partition. Immutable once in an
// Image: never modify one you got from an Image (Clone it).
type PartitionRegistration struct {
	Replicas            []int32
	ISR                 []int32
	RemovingReplicas    []int32
	AddingReplicas      []int32
	Leader              int32
	LeaderRecoveryState int8
	LeaderEpoch         int32
	PartitionEpoch      int32
}

// HasReplica reports whether broker is one of the partition's replicas.
func (p *PartitionRegistration) HasReplica(broker int32) bool {
	return slices.Contains(p.Replicas, broker)
}

// InISR reports whether broker is in the partition's ISR.
func (p *PartitionRegistration) InISR(broker int32) bool {
	return slices.Contains(p.ISR, broker)
}

// Clone returns a deep copy.
func (p *PartitionRegistration) Clone() *PartitionRegistration {
	c := *p
	c.Replicas = slices.Clone(p.Replicas)
	c.ISR = slices.Clone(p.ISR)
	c.RemovingReplicas = slices.Clone(p.RemovingReplicas)
	c.AddingReplicas = slices.Clone(p.AddingReplicas)
	return &c
}

// Equal compares two registrations field by field (nil and empty slices are equal).
func (p *PartitionRegistration) Equal(o *PartitionRegistration) bool {
	return p.Leader == o.Leader && p.LeaderEpoch == o.LeaderEpoch && p.PartitionEpoch == o.PartitionEpoch &&
		p.LeaderRecoveryState == o.LeaderRecoveryState &&
		slices.Equal(p.Replicas, o.Replicas) && slices.Equal(p.ISR, o.ISR) &&
		slices.Equal(p.RemovingReplicas, o.RemovingReplicas) && slices.Equal(p.AddingReplicas, o.AddingReplicas)
}

// TopicImage is one topic. Immutable: the Partitions map is shared between
// images and must never be written to.
type TopicImage struct {
	Name       string
	ID         Uuid
	Partitions map[int32]*PartitionRegistration
}

// NumPartitions returns the number of partitions.
func (t *TopicImage) NumPartitions() int32 { return int32(len(t.Partitions)) }

// Partition returns one partition.
func (t *TopicImage) Partition(id int32) (*PartitionRegistration, bool) {
	p, ok := t.Partitions[id]
	return p, ok
}

// PartitionIDs returns the partition ids in ascending order.
func (t *TopicImage) PartitionIDs() []int32 {
	ids := make([]int32, 0, len(t.Partitions))
	for id := range t.Partitions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Image is an immutable snapshot of the cluster metadata. All parts are
// persistent (structurally shared) maps, so Delta.Apply copies only what a
// delta touched. Safe for concurrent readers; publish through an
// atomic.Pointer.
type Image struct {
	offset, epoch int64
	clusterID     string

	topicsByName *iradix.Tree // name -> *TopicImage
	topicsByID   *iradix.Tree // id[:] -> *TopicImage
	brokers      *iradix.Tree // brokerKey(id) -> *BrokerRegistration
	configs      *iradix.Tree // configKey(type, name) -> map[string]string (immutable)
	scram        *iradix.Tree // scramKey(user, mechanism) -> *ScramCredential
	acls         *iradix.Tree // id[:] -> *AclBinding
	quotas       *iradix.Tree // QuotaEntity.key() -> *quotaEntry
	features     map[string]int16
	partitions   int

	zkMigrationState int8
	nextProducerID   int64
}

var emptyImage = &Image{
	offset: -1, epoch: -1,
	topicsByName: iradix.New(), topicsByID: iradix.New(), brokers: iradix.New(), configs: iradix.New(),
	scram: iradix.New(), acls: iradix.New(), quotas: iradix.New(),
	features: map[string]int16{},
}

// EmptyImage returns the image before any record.
func EmptyImage() *Image { return emptyImage }

// Offset is the log index of the last record applied (-1 if none).
func (i *Image) Offset() int64 { return i.offset }

// Epoch is the log term of the last record applied (-1 if none).
func (i *Image) Epoch() int64 { return i.epoch }

// ClusterID returns the cluster id set through Delta.SetClusterID ("" if none).
func (i *Image) ClusterID() string { return i.clusterID }

// brokerKey orders broker ids as signed integers under byte comparison.
func brokerKey(id int32) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(id)^0x80000000)
}

func configKey(resourceType int8, name string) []byte {
	return append([]byte{byte(resourceType)}, name...)
}

// Broker returns one registered broker.
func (i *Image) Broker(id int32) (*BrokerRegistration, bool) {
	v, ok := i.brokers.Get(brokerKey(id))
	if !ok {
		return nil, false
	}
	return v.(*BrokerRegistration), true
}

// Brokers returns all registered brokers sorted by id.
func (i *Image) Brokers() []*BrokerRegistration {
	out := make([]*BrokerRegistration, 0, i.brokers.Len())
	i.brokers.Root().Walk(func(_ []byte, v any) bool {
		out = append(out, v.(*BrokerRegistration))
		return false
	})
	return out
}

// BrokerCount returns the number of registered brokers.
func (i *Image) BrokerCount() int { return i.brokers.Len() }

// Topic returns a topic by name.
func (i *Image) Topic(name string) (*TopicImage, bool) {
	v, ok := i.topicsByName.Get([]byte(name))
	if !ok {
		return nil, false
	}
	return v.(*TopicImage), true
}

// TopicByID returns a topic by id.
func (i *Image) TopicByID(id Uuid) (*TopicImage, bool) {
	v, ok := i.topicsByID.Get(id[:])
	if !ok {
		return nil, false
	}
	return v.(*TopicImage), true
}

// Topics returns all topics sorted by name.
func (i *Image) Topics() []*TopicImage {
	out := make([]*TopicImage, 0, i.topicsByName.Len())
	i.topicsByName.Root().Walk(func(_ []byte, v any) bool {
		out = append(out, v.(*TopicImage))
		return false
	})
	return out
}

// TopicCount returns the number of topics.
func (i *Image) TopicCount() int { return i.topicsByName.Len() }

// PartitionCount returns the number of partitions over all topics.
func (i *Image) PartitionCount() int { return i.partitions }

// Configs returns a copy of the configs of one resource (empty map if none).
// resourceType is TopicResource, BrokerResource, ...; name "" is the
// cluster default of that type.
func (i *Image) Configs(resourceType int8, name string) map[string]string {
	v, ok := i.configs.Get(configKey(resourceType, name))
	if !ok {
		return map[string]string{}
	}
	return maps.Clone(v.(map[string]string))
}

// ConfigResource names one resource that has configs.
type ConfigResource struct {
	Type int8
	Name string
}

// ConfigResources returns every resource that has at least one config,
// sorted by type then name.
func (i *Image) ConfigResources() []ConfigResource {
	var out []ConfigResource
	i.configs.Root().Walk(func(k []byte, _ any) bool {
		out = append(out, ConfigResource{Type: int8(k[0]), Name: string(k[1:])})
		return false
	})
	return out
}

// FeatureLevel returns a finalized feature level (e.g. "metadata.version").
func (i *Image) FeatureLevel(name string) (int16, bool) {
	v, ok := i.features[name]
	return v, ok
}

// Features returns a copy of all finalized feature levels.
func (i *Image) Features() map[string]int16 { return maps.Clone(i.features) }

// ZkMigrationState returns the KIP-866 migration state (ZkMigrationNone if never set).
func (i *Image) ZkMigrationState() int8 { return i.zkMigrationState }

// NextProducerID returns the first producer id of the next block to hand out.
func (i *Image) NextProducerID() int64 { return i.nextProducerID }

// Equal reports whether two images hold the same metadata. Provenance
// (offset, epoch, cluster id) is not compared.
func (i *Image) Equal(o *Image) bool {
	if i.partitions != o.partitions || i.zkMigrationState != o.zkMigrationState ||
		i.nextProducerID != o.nextProducerID || !maps.Equal(i.features, o.features) ||
		i.topicsByName.Len() != o.topicsByName.Len() || i.topicsByID.Len() != o.topicsByID.Len() ||
		i.brokers.Len() != o.brokers.Len() || i.configs.Len() != o.configs.Len() {
		return false
	}
	equal := true
	i.brokers.Root().Walk(func(k []byte, v any) bool {
		w, ok := o.brokers.Get(k)
		equal = ok && brokerEqual(v.(*BrokerRegistration), w.(*BrokerRegistration))
		return !equal
	})
	if !equal {
		return false
	}
	i.topicsByName.Root().Walk(func(k []byte, v any) bool {
		w, ok := o.topicsByName.Get(k)
		equal = ok && topicEqual(v.(*TopicImage), w.(*TopicImage))
		if equal {
			t := v.(*TopicImage)
			byID, ok := o.topicsByID.Get(t.ID[:])
			equal = ok && byID.(*TopicImage).Name == t.Name
		}
		return !equal
	})
	if !equal {
		return false
	}
	i.configs.Root().Walk(func(k []byte, v any) bool {
		w, ok := o.configs.Get(k)
		equal = ok && maps.Equal(v.(map[string]string), w.(map[string]string))
		return !equal
	})
	return equal && i.securityEqual(o) && i.quotasEqual(o)
}

func brokerEqual(a, b *BrokerRegistration) bool {
	return a.ID == b.ID && a.Epoch == b.Epoch && a.IncarnationID == b.IncarnationID &&
		slices.Equal(a.Endpoints, b.Endpoints) && slices.Equal(a.Features, b.Features) &&
		a.Rack == b.Rack && a.Fenced == b.Fenced && a.InControlledShutdown == b.InControlledShutdown &&
		a.IsMigratingZkBroker == b.IsMigratingZkBroker
}

func topicEqual(a, b *TopicImage) bool {
	if a.Name != b.Name || a.ID != b.ID || len(a.Partitions) != len(b.Partitions) {
		return false
	}
	for id, p := range a.Partitions {
		q, ok := b.Partitions[id]
		if !ok || !p.Equal(q) {
			return false
		}
	}
	return true
}

// TopicPartition names one partition by topic name.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// LeadsReplicated lists the partitions with more than one replica that img
// names broker id leader of (what a controlled shutdown moves), in topic
// then partition order.
func LeadsReplicated(img *Image, id int32) []TopicPartition {
	var out []TopicPartition
	for _, t := range img.Topics() {
		for _, pid := range t.PartitionIDs() {
			if p := t.Partitions[pid]; p.Leader == id && len(p.Replicas) > 1 {
				out = append(out, TopicPartition{Topic: t.Name, Partition: pid})
			}
		}
	}
	return out
}
