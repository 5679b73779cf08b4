package metadata

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// This file is the pure controller logic for topics: (Image, request) ->
// []Record. No I/O, no clock; randomness only through ControllerConfig.NewUuid.
// The caller appends the records to the log as one atomic batch and replays
// them; nothing here changes the image.

// MaxCreatePartitions bounds the partitions one CreateTopic may ask for, so
// a client request cannot make the controller allocate without limit.
const MaxCreatePartitions = 100_000

// CreateTopicSpec is one topic of a CreateTopics request. NumPartitions -1 and
// ReplicationFactor -1 mean the controller defaults. With Assignments
// (partition -> replicas, partitions 0..n-1) both must be -1.
type CreateTopicSpec struct {
	Name              string
	NumPartitions     int32
	ReplicationFactor int16
	Assignments       map[int32][]int32
	Configs           map[string]string
}

// ControllerConfig holds the controller defaults.
type ControllerConfig struct {
	// DefaultNumPartitions is num.partitions (used when a request says -1).
	DefaultNumPartitions int32
	// DefaultReplicationFactor is default.replication.factor.
	DefaultReplicationFactor int16
	// NewUuid returns fresh topic ids; nil means RandomUuid. Tests inject a
	// deterministic source. The topic id also seeds replica placement.
	NewUuid func() Uuid
	// UncleanLeaderElection is unclean.leader.election.enable, the cluster
	// default a topic's own config overrides (false, as in Kafka). When
	// true, a partition whose ISR has no usable member elects an
	// out-of-sync replica and may lose acknowledged records (unclean.go).
	UncleanLeaderElection bool
	// AutoLeaderRebalance is auto.leader.rebalance.enable: every
	// LeaderImbalanceCheckInterval the active controller moves leadership
	// back to preferred replicas (ImbalancedPartitions). Off, or a zero
	// interval, disables it.
	AutoLeaderRebalance bool
	// LeaderImbalanceCheckInterval is leader.imbalance.check.interval.seconds.
	LeaderImbalanceCheckInterval time.Duration
	// LeaderImbalancePerBrokerPercentage is
	// leader.imbalance.per.broker.percentage: a broker is rebalanced once
	// more than this share of the partitions it prefers are led elsewhere.
	LeaderImbalancePerBrokerPercentage int
}

// DefaultControllerConfig returns Kafka's defaults (1 partition, RF 1, random ids).
func DefaultControllerConfig() ControllerConfig {
	return ControllerConfig{DefaultNumPartitions: 1, DefaultReplicationFactor: 1, NewUuid: RandomUuid,
		AutoLeaderRebalance: true, LeaderImbalanceCheckInterval: 300 * time.Second, LeaderImbalancePerBrokerPercentage: 10}
}

// Validate names the bad setting by its server.properties key.
func (c ControllerConfig) Validate() error {
	if c.DefaultNumPartitions < 1 {
		return fmt.Errorf("num.partitions=%d: must be at least 1: %w", c.DefaultNumPartitions, ErrInvalidConfig)
	}
	if c.LeaderImbalanceCheckInterval < 0 {
		return fmt.Errorf("leader.imbalance.check.interval.seconds=%v: must not be negative: %w", c.LeaderImbalanceCheckInterval, ErrInvalidConfig)
	}
	if c.LeaderImbalancePerBrokerPercentage < 0 || c.LeaderImbalancePerBrokerPercentage > 100 {
		return fmt.Errorf("leader.imbalance.per.broker.percentage=%d: must be between 0 and 100: %w", c.LeaderImbalancePerBrokerPercentage, ErrInvalidConfig)
	}
	if c.DefaultReplicationFactor < 1 {
		return fmt.Errorf("default.replication.factor=%d: must be at least 1: %w", c.DefaultReplicationFactor, ErrInvalidConfig)
	}
	return nil
}

// usableBroker reports whether a broker may receive new replicas, lead, or
// join an ISR: registered, unfenced and not in controlled shutdown.
func usableBroker(b *BrokerRegistration) bool { return !b.Fenced && !b.InControlledShutdown }

// usableBrokerIDs returns the usable brokers sorted by id.
func usableBrokerIDs(img *Image) []int32 {
	var ids []int32
	for _, b := range img.Brokers() {
		if usableBroker(b) {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

// CreateTopic validates spec and returns TopicRecord, one PartitionRecord per
// partition (leader = first replica, ISR = all replicas, epochs 0) and one
// ConfigRecord per config key (sorted).
func CreateTopic(img *Image, spec CreateTopicSpec, cfg ControllerConfig) ([]Record, error) {
	if err := ValidateTopicName(spec.Name); err != nil {
		return nil, err
	}
	if _, ok := img.Topic(spec.Name); ok {
		return nil, fmt.Errorf("create topic %q: %w", spec.Name, ErrTopicExists)
	}
	if other, ok := collidingTopic(img, spec.Name); ok {
		return nil, fmt.Errorf("create topic %q: collides with existing topic %q ('.' and '_' are the same in metric names): %w",
			spec.Name, other, ErrInvalidTopic)
	}
	if err := ValidateTopicConfigs(spec.Configs); err != nil {
		return nil, fmt.Errorf("create topic %q: %w", spec.Name, err)
	}
	newUuid := cfg.NewUuid
	if newUuid == nil {
		newUuid = RandomUuid
	}
	id := ZeroUuid
	for try := 0; try < 16; try++ {
		u := newUuid()
		if _, taken := img.TopicByID(u); !taken && u != ZeroUuid && u != MetadataTopicID {
			id = u
			break
		}
	}
	if id == ZeroUuid {
		return nil, fmt.Errorf("create topic %q: no unused topic id from the id source: %w", spec.Name, ErrInvalidRequest)
	}

	var parts map[int32]*PartitionRegistration
	var err error
	if len(spec.Assignments) > 0 {
		parts, err = manualAssignment(img, spec)
	} else {
		parts, err = automaticAssignment(img, spec, cfg, id)
	}
	if err != nil {
		return nil, fmt.Errorf("create topic %q: %w", spec.Name, err)
	}

	recs := make([]Record, 0, 1+len(parts)+len(spec.Configs))
	recs = append(recs, &TopicRecord{Name: spec.Name, TopicID: id})
	for p := int32(0); p < int32(len(parts)); p++ {
		recs = append(recs, PartitionToRecord(id, p, parts[p]))
	}
	keys := slices.Sorted(maps.Keys(spec.Configs))
	for _, k := range keys {
		v := spec.Configs[k]
		recs = append(recs, &ConfigRecord{ResourceType: TopicResource, ResourceName: spec.Name, Name: k, Value: &v})
	}
	return recs, nil
}

// collidingTopic finds an existing topic whose name equals name once '.' is
// read as '_' (Kafka's Topic.hasCollision). Only names holding '.' or '_'
// can collide, so other names cost nothing; otherwise this walks the topics.
func collidingTopic(img *Image, name string) (string, bool) {
	if !strings.ContainsAny(name, "._") {
		return "", false
	}
	norm := strings.ReplaceAll(name, ".", "_")
	var found string
	img.topicsByName.Root().Walk(func(k []byte, _ any) bool {
		other := string(k)
		if other != name && strings.ContainsAny(other, "._") && strings.ReplaceAll(other, ".", "_") == norm {
			found = other
			return true
		}
		return false
	})
	return found, found != ""
}

func manualAssignment(img *Image, spec CreateTopicSpec) (map[int32]*PartitionRegistration, error) {
	if spec.NumPartitions != -1 {
		return nil, fmt.Errorf("manual assignment with num partitions %d (want -1): %w", spec.NumPartitions, ErrInvalidRequest)
	}
	if spec.ReplicationFactor != -1 {
		return nil, fmt.Errorf("manual assignment with replication factor %d (want -1): %w", spec.ReplicationFactor, ErrInvalidRequest)
	}
	n := int32(len(spec.Assignments))
	if n > MaxCreatePartitions {
		return nil, fmt.Errorf("%d partitions exceeds %d: %w", n, MaxCreatePartitions, ErrInvalidPartitions)
	}
	parts := make(map[int32]*PartitionRegistration, n)
	rf := -1
	for p := int32(0); p < n; p++ {
		replicas, ok := spec.Assignments[p]
		if !ok {
			return nil, fmt.Errorf("partitions must be 0..%d, partition %d missing: %w", n-1, p, ErrInvalidReplicaAssignment)
		}
		if len(replicas) == 0 {
			return nil, fmt.Errorf("partition %d has no replicas: %w", p, ErrInvalidReplicaAssignment)
		}
		if rf == -1 {
			rf = len(replicas)
		} else if len(replicas) != rf {
			return nil, fmt.Errorf("partition %d has %d replicas, partition 0 has %d; all must be equal: %w",
				p, len(replicas), rf, ErrInvalidReplicaAssignment)
		}
		var isr []int32
		for i, b := range replicas {
			if slices.Contains(replicas[:i], b) {
				return nil, fmt.Errorf("partition %d lists broker %d twice: %w", p, b, ErrInvalidReplicaAssignment)
			}
			reg, ok := img.Broker(b)
			if !ok {
				return nil, fmt.Errorf("partition %d: broker %d is not registered: %w", p, b, ErrInvalidReplicaAssignment)
			}
			if usableBroker(reg) {
				isr = append(isr, b)
			}
		}
		if len(isr) == 0 {
			return nil, fmt.Errorf("partition %d: every assigned broker is fenced or shutting down: %w", p, ErrInvalidReplicaAssignment)
		}
		parts[p] = &PartitionRegistration{Replicas: slices.Clone(replicas), ISR: isr, Leader: isr[0]}
	}
	return parts, nil
}

func automaticAssignment(img *Image, spec CreateTopicSpec, cfg ControllerConfig, id Uuid) (map[int32]*PartitionRegistration, error) {
	n := spec.NumPartitions
	if n == -1 {
		n = cfg.DefaultNumPartitions
	}
	if n < 1 || n > MaxCreatePartitions {
		return nil, fmt.Errorf("num partitions %d: must be between 1 and %d inclusive: %w", n, MaxCreatePartitions, ErrInvalidPartitions)
	}
	rf := spec.ReplicationFactor
	if rf == -1 {
		rf = cfg.DefaultReplicationFactor
	}
	if rf < 1 {
		return nil, fmt.Errorf("replication factor %d: must be at least 1: %w", rf, ErrInvalidReplicationFactor)
	}
	brokers := usableBrokerIDs(img)
	if int(rf) > len(brokers) {
		return nil, fmt.Errorf("replication factor %d larger than the %d available brokers: %w", rf, len(brokers), ErrInvalidReplicationFactor)
	}
	// Kafka picks the start index and replica shift at random; we derive
	// them from the (random) topic id so this function stays pure.
	nb := uint32(len(brokers))
	start := int(binary.BigEndian.Uint32(id[0:4]) % nb)
	shift := int(binary.BigEndian.Uint32(id[4:8]) % nb)
	assignment := AssignReplicas(brokers, int(n), int(rf), start, shift)
	parts := make(map[int32]*PartitionRegistration, n)
	for p, replicas := range assignment {
		parts[int32(p)] = &PartitionRegistration{Replicas: replicas, ISR: slices.Clone(replicas), Leader: replicas[0]}
	}
	return parts, nil
}

// AssignReplicas is Kafka's rack-unaware AdminUtils.assignReplicasToBrokers
// with a fixed start index and replica shift: partition p's first replica is
// brokers[(p+start) % n]; the others follow at a shift that grows by one
// every n partitions, so leaders and followers spread evenly. brokers must
// be non-empty and rf <= len(brokers).
func AssignReplicas(brokers []int32, partitions, rf, start, shift int) [][]int32 {
	nb := len(brokers)
	out := make([][]int32, partitions)
	for p := 0; p < partitions; p++ {
		if p > 0 && p%nb == 0 {
			shift++
		}
		first := (p + start) % nb
		replicas := make([]int32, 0, rf)
		replicas = append(replicas, brokers[first])
		for j := 0; j < rf-1; j++ {
			s := 1 + (shift+j)%(nb-1)
			replicas = append(replicas, brokers[(first+s)%nb])
		}
		out[p] = replicas
	}
	return out
}

// DeleteTopic returns the RemoveTopicRecord for name. Replaying it removes
// the topic, its partitions and its configs.
func DeleteTopic(img *Image, name string) ([]Record, error) {
	t, ok := img.Topic(name)
	if !ok {
		return nil, fmt.Errorf("delete topic %q: %w", name, ErrUnknownTopic)
	}
	return []Record{&RemoveTopicRecord{TopicID: t.ID}}, nil
}

// ProducerIDBlockSize is the size of one producer id block (Kafka's
// ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE).
const ProducerIDBlockSize = 1000

// AllocateProducerIDs hands out the next block of ProducerIDBlockSize ids to
// a broker: first is img.NextProducerID(), and the ProducerIdsRecord advances
// it by the block size. The caller checks the broker epoch first
// (CheckBrokerEpoch). When the id space is exhausted it returns count 0 and
// no records.
func AllocateProducerIDs(img *Image, brokerID int32, brokerEpoch int64) (first, count int64, recs []Record) {
	first = img.NextProducerID()
	if first < 0 || first > math.MaxInt64-ProducerIDBlockSize {
		return first, 0, nil
	}
	return first, ProducerIDBlockSize, []Record{&ProducerIdsRecord{
		BrokerID: brokerID, BrokerEpoch: brokerEpoch, NextProducerID: first + ProducerIDBlockSize}}
}
