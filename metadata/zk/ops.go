package zk

import (
	"fmt"
	"slices"

	"github.com/zkraft/zkraft/metadata"
)

// OpKind is the kind of one ZooKeeper write.
type OpKind int8

// Write kinds (ZooKeeper's multi ops).
const (
	OpCreate OpKind = iota
	OpSet
	OpDelete
	OpCheck
)

func (k OpKind) String() string {
	return [...]string{"create", "set", "delete", "check"}[k]
}

// Op is one ZooKeeper write, as translated from records. Path is relative to
// the chroot. Version -1 means any version.
type Op struct {
	Kind       OpKind
	Path       string
	Data       []byte
	Version    int32 // Set, Delete, Check: expected zkVersion (-1 = any)
	Sequential bool  // Create: persistent-sequential (ZooKeeper appends the suffix)
	// Tolerant ops are replayed one by one when their multi fails: a Create
	// of an existing node becomes a Set (or nothing, with Data nil) and a
	// Delete of a missing node is skipped, as Kafka's migration tolerates
	// NodeExists and NoNode on replay.
	Tolerant bool
}

func (o Op) String() string { return fmt.Sprintf("%s %s v%d", o.Kind, o.Path, o.Version) }

// RecordsToOps translates records (one controller write, applied to prev)
// into ZooKeeper writes, the same translation the migration's dual-write
// uses:
//
//	TopicRecord + PartitionRecords  create /brokers/topics/<t> (v3 with topic_id),
//	                                .../partitions, .../partitions/<p>, .../state
//	PartitionRecord (existing topic) set or create the state; set the topic
//	                                znode when the assignment changed
//	PartitionChangeRecord           set .../state with expected version = the
//	                                partition epoch before the change (one set
//	                                per record, so zkVersion stays = partition epoch)
//	RemoveTopicRecord               delete states, partitions, topic, /config/topics/<t>
//	ConfigRecord (topic, broker)    create-or-set /config/<type>/<name>, then a
//	                                /config/changes/config_change_ notification
//	ProducerIdsRecord               set /latest_producer_id_block
//	(Remove)UserScramCredentialRecord,
//	(Remove)AccessControlEntryRecord  SecurityOps: /config/users/<u>, /kafka-acl...,
//	                                and their change notifications
//
// Broker registrations, fencing, features, the migration state, no-ops and
// transaction markers have no ZooKeeper form and yield no ops. State znodes
// carry controller_epoch = controllerEpoch. The records must replay on prev.
func RecordsToOps(prev *metadata.Image, recs []metadata.Record, controllerEpoch int32) ([]Op, error) {
	d := metadata.NewDelta(prev)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			return nil, fmt.Errorf("translate %s: %w", r.Type(), err)
		}
	}
	next := d.Apply()
	tr := translator{prev: prev, next: next, epoch: controllerEpoch,
		created: map[metadata.Uuid]bool{}, cur: map[partKey]*metadata.PartitionRegistration{}}
	for _, r := range recs {
		if err := tr.record(r); err != nil {
			return nil, err
		}
	}
	tr.flushConfigs()
	return append(tr.ops, SecurityOps(prev, next)...), nil
}

type partKey struct {
	topic metadata.Uuid
	p     int32
}

type translator struct {
	prev, next *metadata.Image
	epoch      int32
	ops        []Op
	created    map[metadata.Uuid]bool                      // topics created by these records
	cur        map[partKey]*metadata.PartitionRegistration // running state of changed partitions
	configs    []metadata.ConfigResource                   // touched, in first-touch order
}

// topicName finds a topic by id in next, then prev.
func (tr *translator) topic(id metadata.Uuid) (*metadata.TopicImage, bool) {
	if t, ok := tr.next.TopicByID(id); ok {
		return t, true
	}
	return tr.prev.TopicByID(id)
}

func stateOf(reg *metadata.PartitionRegistration, epoch int32) []byte {
	return EncodePartitionState(PartitionState{Leader: reg.Leader, LeaderEpoch: reg.LeaderEpoch,
		ControllerEpoch: epoch, ISR: reg.ISR, LeaderRecoveryState: reg.LeaderRecoveryState})
}

// TopicZNodeOf is the /brokers/topics/<t> content of an image topic.
func TopicZNodeOf(t *metadata.TopicImage) TopicZNode {
	z := TopicZNode{TopicID: t.ID, Partitions: map[int32][]int32{}, AddingReplicas: map[int32][]int32{}, RemovingReplicas: map[int32][]int32{}}
	for p, reg := range t.Partitions {
		z.Partitions[p] = reg.Replicas
		if len(reg.AddingReplicas) > 0 {
			z.AddingReplicas[p] = reg.AddingReplicas
		}
		if len(reg.RemovingReplicas) > 0 {
			z.RemovingReplicas[p] = reg.RemovingReplicas
		}
	}
	return z
}

func (tr *translator) record(r metadata.Record) error {
	switch r := r.(type) {
	case *metadata.TopicRecord:
		t, ok := tr.next.TopicByID(r.TopicID)
		if !ok {
			return nil // created and removed by the same records
		}
		tr.created[r.TopicID] = true
		tr.ops = append(tr.ops, Op{Kind: OpCreate, Path: TopicPath(t.Name), Data: EncodeTopic(TopicZNodeOf(t))},
			Op{Kind: OpCreate, Path: PartitionsPath(t.Name)})
	case *metadata.PartitionRecord:
		t, ok := tr.next.TopicByID(r.TopicID)
		if !ok {
			return nil
		}
		reg := recordRegistration(r)
		key := partKey{r.TopicID, r.PartitionID}
		if tr.created[r.TopicID] {
			tr.ops = append(tr.ops, Op{Kind: OpCreate, Path: PartitionPath(t.Name, r.PartitionID)},
				Op{Kind: OpCreate, Path: PartitionStatePath(t.Name, r.PartitionID), Data: stateOf(reg, tr.epoch)})
			tr.cur[key] = reg
			return nil
		}
		old, existed := tr.current(key)
		if existed {
			tr.ops = append(tr.ops, Op{Kind: OpSet, Path: PartitionStatePath(t.Name, r.PartitionID), Data: stateOf(reg, tr.epoch), Version: old.PartitionEpoch})
			reg.PartitionEpoch = old.PartitionEpoch + 1
		} else {
			tr.ops = append(tr.ops, Op{Kind: OpCreate, Path: PartitionPath(t.Name, r.PartitionID), Tolerant: true},
				Op{Kind: OpCreate, Path: PartitionStatePath(t.Name, r.PartitionID), Data: stateOf(reg, tr.epoch)})
			reg.PartitionEpoch = 0
		}
		tr.cur[key] = reg
		if !existed || !slices.Equal(old.Replicas, reg.Replicas) || !slices.Equal(old.AddingReplicas, reg.AddingReplicas) ||
			!slices.Equal(old.RemovingReplicas, reg.RemovingReplicas) {
			tr.ops = append(tr.ops, Op{Kind: OpSet, Path: TopicPath(t.Name), Data: EncodeTopic(TopicZNodeOf(t)), Version: -1})
		}
	case *metadata.PartitionChangeRecord:
		t, ok := tr.next.TopicByID(r.TopicID)
		if !ok {
			return nil
		}
		key := partKey{r.TopicID, r.PartitionID}
		old, ok := tr.current(key)
		if !ok {
			return fmt.Errorf("partition change of unknown partition %s-%d: %w", t.Name, r.PartitionID, ErrTranslate)
		}
		next := mergeChange(old, r)
		if !tr.created[r.TopicID] {
			tr.ops = append(tr.ops, Op{Kind: OpSet, Path: PartitionStatePath(t.Name, r.PartitionID), Data: stateOf(next, tr.epoch), Version: old.PartitionEpoch})
		} else {
			// The topic is created by these records: its state is created
			// with its final content; the ZooKeeper version starts at 0.
			for i := range tr.ops {
				if tr.ops[i].Path == PartitionStatePath(t.Name, r.PartitionID) {
					tr.ops[i].Data = stateOf(next, tr.epoch)
				}
			}
		}
		tr.cur[key] = next
		if r.Replicas != nil || r.AddingReplicas != nil || r.RemovingReplicas != nil {
			tr.ops = append(tr.ops, Op{Kind: OpSet, Path: TopicPath(t.Name), Data: EncodeTopic(TopicZNodeOf(t)), Version: -1})
		}
	case *metadata.RemoveTopicRecord:
		t, ok := tr.prev.TopicByID(r.TopicID)
		if !ok {
			return nil // created and removed by the same records: nothing in ZooKeeper yet
		}
		tr.ops = append(tr.ops, DeleteTopicOps(t.Name, t.PartitionIDs())...)
		if len(tr.prev.Configs(metadata.TopicResource, t.Name)) > 0 {
			tr.ops = append(tr.ops, Op{Kind: OpDelete, Path: TopicConfigPath(t.Name), Version: -1, Tolerant: true})
		}
	case *metadata.ConfigRecord:
		res := metadata.ConfigResource{Type: r.ResourceType, Name: r.ResourceName}
		if _, ok := EntityFor(res); ok && !slices.Contains(tr.configs, res) {
			tr.configs = append(tr.configs, res)
		}
	case *metadata.ProducerIdsRecord:
		tr.ops = append(tr.ops, Op{Kind: OpSet, Path: ProducerIDBlockPath, Version: -1,
			Data: EncodeProducerIDBlock(ProducerIDBlock{Broker: r.BrokerID,
				BlockStart: r.NextProducerID - metadata.ProducerIDBlockSize, BlockEnd: r.NextProducerID - 1})})
	}
	return nil
}

// current is the partition's registration before the record being translated.
func (tr *translator) current(key partKey) (*metadata.PartitionRegistration, bool) {
	if reg, ok := tr.cur[key]; ok {
		return reg, true
	}
	t, ok := tr.prev.TopicByID(key.topic)
	if !ok {
		return nil, false
	}
	reg, ok := t.Partitions[key.p]
	return reg, ok
}

// flushConfigs writes each touched config entity once, with its final
// content, followed by a change notification (Kafka's AdminZkClient.changeConfigs).
func (tr *translator) flushConfigs() {
	for _, res := range tr.configs {
		e, _ := EntityFor(res)
		if res.Type == metadata.TopicResource {
			if _, alive := tr.next.Topic(res.Name); !alive {
				continue // removed with its topic
			}
		}
		cfg := tr.next.Configs(res.Type, res.Name)
		tr.ops = append(tr.ops,
			Op{Kind: OpCreate, Path: EntityConfigPath(e.Type, e.Name), Data: EncodeEntityConfig(cfg), Tolerant: true},
			Op{Kind: OpCreate, Path: ConfigChangesPath + "/" + ConfigChangePrefix, Data: EncodeConfigChange(e.Type, e.Name), Sequential: true})
	}
}

// DeleteTopicOps deletes a topic's znodes bottom-up: every state and
// partition znode, .../partitions and /brokers/topics/<t> (all tolerant).
func DeleteTopicOps(topic string, partitions []int32) []Op {
	ops := make([]Op, 0, 2*len(partitions)+2)
	for _, p := range partitions {
		ops = append(ops, Op{Kind: OpDelete, Path: PartitionStatePath(topic, p), Version: -1, Tolerant: true},
			Op{Kind: OpDelete, Path: PartitionPath(topic, p), Version: -1, Tolerant: true})
	}
	return append(ops, Op{Kind: OpDelete, Path: PartitionsPath(topic), Version: -1, Tolerant: true},
		Op{Kind: OpDelete, Path: TopicPath(topic), Version: -1, Tolerant: true})
}

// recordRegistration is the registration a PartitionRecord describes.
func recordRegistration(r *metadata.PartitionRecord) *metadata.PartitionRegistration {
	return &metadata.PartitionRegistration{Replicas: slices.Clone(r.Replicas), ISR: slices.Clone(r.ISR),
		RemovingReplicas: slices.Clone(r.RemovingReplicas), AddingReplicas: slices.Clone(r.AddingReplicas),
		Leader: r.Leader, LeaderRecoveryState: r.LeaderRecoveryState, LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch}
}

// mergeChange applies a PartitionChangeRecord as metadata.Delta does (a
// leader change bumps the leader epoch, every change the partition epoch);
// RecordsToOps' tests check both agree.
func mergeChange(old *metadata.PartitionRegistration, r *metadata.PartitionChangeRecord) *metadata.PartitionRegistration {
	next := old.Clone()
	if r.ISR != nil {
		next.ISR = slices.Clone(r.ISR)
	}
	if r.Leader != metadata.NoLeaderChange {
		next.Leader = r.Leader
		next.LeaderEpoch++
	}
	if r.Replicas != nil {
		next.Replicas = slices.Clone(r.Replicas)
	}
	if r.RemovingReplicas != nil {
		next.RemovingReplicas = slices.Clone(r.RemovingReplicas)
	}
	if r.AddingReplicas != nil {
		next.AddingReplicas = slices.Clone(r.AddingReplicas)
	}
	if r.LeaderRecoveryState != metadata.NoLeaderRecoveryStateChange {
		next.LeaderRecoveryState = r.LeaderRecoveryState
	}
	next.PartitionEpoch++
	return next
}
