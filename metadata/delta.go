package metadata

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// Delta accumulates records on top of a base Image (Kafka's MetadataDelta).
// Replay validates each record against the view "base + records so far";
// Apply builds the next Image, copying only the topics, brokers and config
// resources the delta touched. A Delta is not safe for concurrent use; the
// base Image is never modified.
type Delta struct {
	base *Image

	offset, epoch int64
	provenanceSet bool
	clusterID     *string

	topics       map[Uuid]*topicDelta          // created or changed topics alive at the end of the delta
	removed      map[Uuid]*TopicImage          // base topics removed by this delta
	createdNames map[string]Uuid               // names of topics created by this delta
	brokers      map[int32]*BrokerRegistration // nil value = unregistered
	configs      map[ConfigResource]map[string]string
	features     map[string]int16                   // 0 = removed
	scram        map[scramDeltaKey]*ScramCredential // nil value = removed
	acls         map[Uuid]*AclBinding               // nil value = removed
	quotas       map[string]*quotaEntry             // by QuotaEntity.key(); no values = removed
	zkState      *int8
	nextPID      *int64
	sourceSwitch bool // MarkSourceSwitch
}

// topicDelta is a topic created or changed by the delta.
type topicDelta struct {
	base    *TopicImage // nil if the topic was created by this delta
	name    string
	id      Uuid
	changed map[int32]*PartitionRegistration // new or replaced partitions
}

func (t *topicDelta) partition(id int32) (*PartitionRegistration, bool) {
	if p, ok := t.changed[id]; ok {
		return p, true
	}
	if t.base != nil {
		p, ok := t.base.Partitions[id]
		return p, ok
	}
	return nil, false
}

// NewDelta starts a delta on base (EmptyImage() if nil).
func NewDelta(base *Image) *Delta {
	if base == nil {
		base = EmptyImage()
	}
	return &Delta{
		base:         base,
		topics:       map[Uuid]*topicDelta{},
		removed:      map[Uuid]*TopicImage{},
		createdNames: map[string]Uuid{},
		brokers:      map[int32]*BrokerRegistration{},
		configs:      map[ConfigResource]map[string]string{},
		features:     map[string]int16{},
		scram:        map[scramDeltaKey]*ScramCredential{},
		acls:         map[Uuid]*AclBinding{},
		quotas:       map[string]*quotaEntry{},
	}
}

// Base returns the image the delta started from.
func (d *Delta) Base() *Image { return d.base }

// MarkSourceSwitch records that the delta moves its publisher from one
// metadata source to another (a migrating ZooKeeper-mode broker switching
// between the ZooKeeper tree and the quorum's log with DeltaBetween). The
// two count partition epochs apart (a state znode's zkVersion, the log's
// own), so the partition epochs of the next image do not continue the
// base's: LocalChanges reports it as Resync.
func (d *Delta) MarkSourceSwitch() { d.sourceSwitch = true }

// SetProvenance records the log index and term of the last record replayed.
func (d *Delta) SetProvenance(offset, epoch int64) {
	d.offset, d.epoch, d.provenanceSet = offset, epoch, true
}

// SetClusterID sets the cluster id carried by the next image (it is not a record).
func (d *Delta) SetClusterID(id string) { d.clusterID = &id }

// topicByID looks a topic up in the view base + delta. td is non-nil if the
// delta already touched the topic.
func (d *Delta) topicByID(id Uuid) (name string, td *topicDelta, ok bool) {
	if td, ok := d.topics[id]; ok {
		return td.name, td, true
	}
	if _, gone := d.removed[id]; gone {
		return "", nil, false
	}
	if t, ok := d.base.TopicByID(id); ok {
		return t.Name, nil, true
	}
	return "", nil, false
}

func (d *Delta) topicExistsByName(name string) bool {
	if _, ok := d.createdNames[name]; ok {
		return true
	}
	t, ok := d.base.Topic(name)
	if !ok {
		return false
	}
	_, gone := d.removed[t.ID]
	return !gone
}

// touchTopic returns the topicDelta of an existing topic, creating it on first touch.
func (d *Delta) touchTopic(id Uuid) (*topicDelta, bool) {
	name, td, ok := d.topicByID(id)
	if !ok {
		return nil, false
	}
	if td == nil {
		base, _ := d.base.TopicByID(id)
		td = &topicDelta{base: base, name: name, id: id, changed: map[int32]*PartitionRegistration{}}
		d.topics[id] = td
	}
	return td, true
}

func (d *Delta) broker(id int32) (*BrokerRegistration, bool) {
	if b, ok := d.brokers[id]; ok {
		return b, b != nil
	}
	return d.base.Broker(id)
}

// Replay applies one record to the delta. Invalid records (a partition of an
// unknown topic, a change to an unknown partition or broker, ...) return an
// error wrapping ErrInvalidRecord and leave the delta unchanged. Begin/End/
// AbortTransaction and NoOp records have no effect at this level: the log
// loader buffers transactions.
func (d *Delta) Replay(rec Record) error {
	switch r := rec.(type) {
	case *TopicRecord:
		return d.replayTopic(r)
	case *PartitionRecord:
		return d.replayPartition(r)
	case *PartitionChangeRecord:
		return d.replayPartitionChange(r)
	case *RemoveTopicRecord:
		return d.replayRemoveTopic(r)
	case *ConfigRecord:
		return d.replayConfig(r)
	case *RegisterBrokerRecord:
		return d.replayRegisterBroker(r)
	case *UnregisterBrokerRecord:
		b, ok := d.broker(r.BrokerID)
		if !ok {
			return invalid("unregister broker %d: not registered", r.BrokerID)
		}
		if b.Epoch != r.BrokerEpoch {
			return invalid("unregister broker %d: epoch %d, registered epoch %d", r.BrokerID, r.BrokerEpoch, b.Epoch)
		}
		d.brokers[r.BrokerID] = nil
		return nil
	case *BrokerRegistrationChangeRecord:
		return d.replayBrokerChange(r)
	case *FeatureLevelRecord:
		if r.Name == "" {
			return invalid("feature level: empty name")
		}
		if r.FeatureLevel < 0 {
			return invalid("feature %q: level %d", r.Name, r.FeatureLevel)
		}
		d.features[r.Name] = r.FeatureLevel
		return nil
	case *ProducerIdsRecord:
		cur := d.base.nextProducerID
		if d.nextPID != nil {
			cur = *d.nextPID
		}
		if r.NextProducerID < cur {
			return invalid("producer ids: next id %d is below current %d", r.NextProducerID, cur)
		}
		v := r.NextProducerID
		d.nextPID = &v
		return nil
	case *ZkMigrationStateRecord:
		if (r.ZkMigrationState < ZkMigrationNone || r.ZkMigrationState > ZkMigrationPostMigration) && r.ZkMigrationState != ZkMigrationReverse {
			return invalid("zk migration state %d", r.ZkMigrationState)
		}
		v := r.ZkMigrationState
		d.zkState = &v
		return nil
	case *UserScramCredentialRecord, *RemoveUserScramCredentialRecord:
		return d.replayScram(rec)
	case *AccessControlEntryRecord, *RemoveAccessControlEntryRecord:
		return d.replayAcl(rec)
	case *ClientQuotaRecord:
		return d.replayClientQuota(r)
	case *NoOpRecord, *BeginTransactionRecord, *EndTransactionRecord, *AbortTransactionRecord:
		return nil
	case nil:
		return invalid("nil record")
	default:
		return invalid("record type %s not handled", rec.Type())
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidRecord)
}

func (d *Delta) replayTopic(r *TopicRecord) error {
	if r.Name == "" {
		return invalid("topic record: empty name")
	}
	if r.TopicID == ZeroUuid {
		return invalid("topic %q: zero topic id", r.Name)
	}
	if _, _, ok := d.topicByID(r.TopicID); ok {
		return invalid("topic %q: topic id %s already in use", r.Name, r.TopicID)
	}
	if d.topicExistsByName(r.Name) {
		return invalid("topic %q: name already in use", r.Name)
	}
	d.topics[r.TopicID] = &topicDelta{name: r.Name, id: r.TopicID, changed: map[int32]*PartitionRegistration{}}
	d.createdNames[r.Name] = r.TopicID
	return nil
}

func validLRS(v int8) bool { return v == LeaderRecovered || v == LeaderRecovering }

func (d *Delta) replayPartition(r *PartitionRecord) error {
	if r.PartitionID < 0 {
		return invalid("partition record: partition id %d", r.PartitionID)
	}
	if !validLRS(r.LeaderRecoveryState) {
		return invalid("partition %s-%d: leader recovery state %d", r.TopicID, r.PartitionID, r.LeaderRecoveryState)
	}
	td, ok := d.touchTopic(r.TopicID)
	if !ok {
		return invalid("partition %d of unknown topic id %s", r.PartitionID, r.TopicID)
	}
	td.changed[r.PartitionID] = &PartitionRegistration{
		Replicas:            slices.Clone(r.Replicas),
		ISR:                 slices.Clone(r.ISR),
		RemovingReplicas:    slices.Clone(r.RemovingReplicas),
		AddingReplicas:      slices.Clone(r.AddingReplicas),
		Leader:              r.Leader,
		LeaderRecoveryState: r.LeaderRecoveryState,
		LeaderEpoch:         r.LeaderEpoch,
		PartitionEpoch:      r.PartitionEpoch,
	}
	return nil
}

// nonNilClone clones a "changed to" slice; an empty change becomes nil (the
// canonical empty value in an image).
func nonNilClone(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// replayPartitionChange merges like Kafka's PartitionRegistration.merge: a
// Leader other than NoLeaderChange bumps the leader epoch (even if it names
// the same leader); every change bumps the partition epoch.
func (d *Delta) replayPartitionChange(r *PartitionChangeRecord) error {
	if r.LeaderRecoveryState != NoLeaderRecoveryStateChange && !validLRS(r.LeaderRecoveryState) {
		return invalid("partition change %s-%d: leader recovery state %d", r.TopicID, r.PartitionID, r.LeaderRecoveryState)
	}
	if r.Leader < NoLeaderChange {
		return invalid("partition change %s-%d: leader %d", r.TopicID, r.PartitionID, r.Leader)
	}
	name, td, ok := d.topicByID(r.TopicID)
	if !ok {
		return invalid("partition change %d of unknown topic id %s", r.PartitionID, r.TopicID)
	}
	var prev *PartitionRegistration
	if td != nil {
		prev, ok = td.partition(r.PartitionID)
	} else {
		base, _ := d.base.TopicByID(r.TopicID)
		prev, ok = base.Partitions[r.PartitionID]
	}
	if !ok {
		return invalid("partition change for unknown partition %s-%d", name, r.PartitionID)
	}
	next := *prev // slices are immutable and may be shared
	if r.ISR != nil {
		next.ISR = nonNilClone(r.ISR)
	}
	if r.Leader != NoLeaderChange {
		next.Leader = r.Leader
		next.LeaderEpoch = prev.LeaderEpoch + 1
	}
	if r.Replicas != nil {
		next.Replicas = nonNilClone(r.Replicas)
	}
	if r.RemovingReplicas != nil {
		next.RemovingReplicas = nonNilClone(r.RemovingReplicas)
	}
	if r.AddingReplicas != nil {
		next.AddingReplicas = nonNilClone(r.AddingReplicas)
	}
	if r.LeaderRecoveryState != NoLeaderRecoveryStateChange {
		next.LeaderRecoveryState = r.LeaderRecoveryState
	}
	next.PartitionEpoch = prev.PartitionEpoch + 1
	td, _ = d.touchTopic(r.TopicID)
	td.changed[r.PartitionID] = &next
	return nil
}

func (d *Delta) replayRemoveTopic(r *RemoveTopicRecord) error {
	name, _, ok := d.topicByID(r.TopicID)
	if !ok {
		return invalid("remove unknown topic id %s", r.TopicID)
	}
	delete(d.topics, r.TopicID)
	if d.createdNames[name] == r.TopicID {
		delete(d.createdNames, name)
	}
	if base, ok := d.base.TopicByID(r.TopicID); ok {
		d.removed[r.TopicID] = base
	}
	// Like Kafka's MetadataDelta, removing a topic removes its configs.
	d.configs[ConfigResource{Type: TopicResource, Name: name}] = nil
	return nil
}

func (d *Delta) replayConfig(r *ConfigRecord) error {
	switch r.ResourceType {
	case TopicResource, BrokerResource, BrokerLoggerResource, ClientMetricsResource:
	default:
		return invalid("config %q: resource type %d", r.Name, r.ResourceType)
	}
	if r.Name == "" {
		return invalid("config for %d/%q: empty name", r.ResourceType, r.ResourceName)
	}
	res := ConfigResource{Type: r.ResourceType, Name: r.ResourceName}
	cur, touched := d.configs[res]
	if !touched || cur == nil {
		if !touched {
			cur = d.base.Configs(r.ResourceType, r.ResourceName) // a copy
		} else {
			cur = map[string]string{}
		}
		d.configs[res] = cur
	}
	if r.Value == nil {
		delete(cur, r.Name)
	} else {
		cur[r.Name] = *r.Value
	}
	return nil
}

func (d *Delta) replayRegisterBroker(r *RegisterBrokerRecord) error {
	if r.BrokerID < 0 {
		return invalid("register broker: id %d", r.BrokerID)
	}
	reg := &BrokerRegistration{
		ID:                   r.BrokerID,
		Epoch:                r.BrokerEpoch,
		IncarnationID:        r.IncarnationID,
		Endpoints:            slices.Clone(r.EndPoints),
		Features:             slices.Clone(r.Features),
		Fenced:               r.Fenced,
		InControlledShutdown: r.InControlledShutdown,
		IsMigratingZkBroker:  r.IsMigratingZkBroker,
	}
	if r.Rack != nil {
		reg.Rack = *r.Rack
	}
	d.brokers[r.BrokerID] = reg
	return nil
}

func (d *Delta) replayBrokerChange(r *BrokerRegistrationChangeRecord) error {
	b, ok := d.broker(r.BrokerID)
	if !ok {
		return invalid("registration change for unknown broker %d", r.BrokerID)
	}
	if b.Epoch != r.BrokerEpoch {
		return invalid("registration change for broker %d: epoch %d, registered epoch %d", r.BrokerID, r.BrokerEpoch, b.Epoch)
	}
	next := *b
	switch r.Fenced {
	case FenceFence:
		next.Fenced = true
	case FenceUnfence:
		next.Fenced = false
	case FenceNoChange:
	default:
		return invalid("registration change for broker %d: fenced %d", r.BrokerID, r.Fenced)
	}
	switch r.InControlledShutdown {
	case 0:
	case 1:
		next.InControlledShutdown = true
	default:
		return invalid("registration change for broker %d: in controlled shutdown %d", r.BrokerID, r.InControlledShutdown)
	}
	d.brokers[r.BrokerID] = &next
	return nil
}

// Apply builds the next image. Untouched topics, brokers and config
// resources are shared with the base image. The delta may be replayed
// further and applied again; images already built are not affected.
func (d *Delta) Apply() *Image {
	b := d.base
	next := &Image{
		offset: b.offset, epoch: b.epoch, clusterID: b.clusterID,
		topicsByName: b.topicsByName, topicsByID: b.topicsByID, brokers: b.brokers, configs: b.configs,
		scram: b.scram, acls: b.acls, quotas: b.quotas,
		features: b.features, partitions: b.partitions,
		zkMigrationState: b.zkMigrationState, nextProducerID: b.nextProducerID,
	}
	if d.provenanceSet {
		next.offset, next.epoch = d.offset, d.epoch
	}
	if d.clusterID != nil {
		next.clusterID = *d.clusterID
	}
	if len(d.topics) > 0 || len(d.removed) > 0 {
		byName, byID := b.topicsByName.Txn(), b.topicsByID.Txn()
		for id, t := range d.removed {
			byName.Delete([]byte(t.Name))
			byID.Delete(id[:])
			next.partitions -= len(t.Partitions)
		}
		for _, td := range d.topics {
			size := len(td.changed)
			if td.base != nil {
				size += len(td.base.Partitions)
			}
			parts := make(map[int32]*PartitionRegistration, size)
			if td.base != nil {
				maps.Copy(parts, td.base.Partitions)
				next.partitions -= len(td.base.Partitions)
			}
			maps.Copy(parts, td.changed)
			next.partitions += len(parts)
			t := &TopicImage{Name: td.name, ID: td.id, Partitions: parts}
			byName.Insert([]byte(td.name), t)
			byID.Insert(td.id[:], t)
		}
		next.topicsByName, next.topicsByID = byName.Commit(), byID.Commit()
	}
	if len(d.brokers) > 0 {
		txn := b.brokers.Txn()
		for id, reg := range d.brokers {
			if reg == nil {
				txn.Delete(brokerKey(id))
			} else {
				txn.Insert(brokerKey(id), reg)
			}
		}
		next.brokers = txn.Commit()
	}
	if len(d.configs) > 0 {
		txn := b.configs.Txn()
		for res, m := range d.configs {
			k := configKey(res.Type, res.Name)
			if len(m) == 0 {
				txn.Delete(k)
			} else {
				txn.Insert(k, maps.Clone(m))
			}
		}
		next.configs = txn.Commit()
	}
	if len(d.features) > 0 {
		f := maps.Clone(b.features)
		for name, level := range d.features {
			if level == 0 {
				delete(f, name)
			} else {
				f[name] = level
			}
		}
		next.features = f
	}
	d.applySecurity(next)
	d.applyQuotas(next)
	if d.zkState != nil {
		next.zkMigrationState = *d.zkState
	}
	if d.nextPID != nil {
		next.nextProducerID = *d.nextPID
	}
	return next
}

// LocalChanges lists what the delta means for one broker's replicas (Kafka's
// TopicsDelta.localChanges): partitions it now leads (new, or leader, leader
// epoch or partition epoch changed), partitions it now follows (same rule),
// and partitions it no longer hosts (topic deleted or replica removed; Reg is
// then the last registration). Each list is sorted by topic then partition.
type LocalChanges struct {
	Leaders, Followers []LocalPartition
	Deletes            []LocalPartition
	// Resync: the delta switched metadata sources (Delta.MarkSourceSwitch).
	// A partition epoch of the new image is not comparable with one of the
	// previous source, nor with an AlterPartition answer of it: replicas
	// take the new image's registrations as they are.
	Resync bool
}

// LocalPartition is one partition in LocalChanges.
type LocalPartition struct {
	Topic     string
	TopicID   Uuid
	Partition int32
	Reg       *PartitionRegistration
}

// LocalChanges computes the broker-local view of the delta.
func (d *Delta) LocalChanges(brokerID int32) LocalChanges {
	lc := LocalChanges{Resync: d.sourceSwitch}
	for id, t := range d.removed {
		for pid, p := range t.Partitions {
			if p.HasReplica(brokerID) {
				lc.Deletes = append(lc.Deletes, LocalPartition{Topic: t.Name, TopicID: id, Partition: pid, Reg: p})
			}
		}
	}
	for id, td := range d.topics {
		for pid, p := range td.changed {
			var prev *PartitionRegistration
			if td.base != nil {
				prev = td.base.Partitions[pid]
			}
			lp := LocalPartition{Topic: td.name, TopicID: id, Partition: pid, Reg: p}
			if !p.HasReplica(brokerID) {
				if prev != nil && prev.HasReplica(brokerID) {
					lp.Reg = prev
					lc.Deletes = append(lc.Deletes, lp)
				}
				continue
			}
			// A changed replica list counts on its own: in ZooKeeper mode
			// a reassignment's topic znode may be read after its state
			// znode, so the replicas change without a new epoch.
			changed := prev == nil || prev.Leader != p.Leader || prev.LeaderEpoch != p.LeaderEpoch ||
				prev.PartitionEpoch != p.PartitionEpoch || !slices.Equal(prev.Replicas, p.Replicas)
			if !changed {
				continue
			}
			if p.Leader == brokerID {
				lc.Leaders = append(lc.Leaders, lp)
			} else {
				lc.Followers = append(lc.Followers, lp)
			}
		}
	}
	for _, l := range [][]LocalPartition{lc.Leaders, lc.Followers, lc.Deletes} {
		slices.SortFunc(l, func(a, b LocalPartition) int {
			if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
				return c
			}
			if c := slices.Compare(a.TopicID[:], b.TopicID[:]); c != 0 {
				return c
			}
			return cmp.Compare(a.Partition, b.Partition)
		})
	}
	return lc
}
