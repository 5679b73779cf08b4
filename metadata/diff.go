package metadata

import (
	"fmt"
	"maps"
)

// FullDelta returns the delta from the empty image to img: everything in img
// is new (what a publisher attached late, or a loader publishing for the
// first time, hands its consumers). Apply returns an image Equal to img with
// img's provenance and cluster id; LocalChanges lists every partition as
// new. It is what replaying WriteImage(img) onto EmptyImage() gives, built
// directly from img's parts (registrations are immutable and shared), so it
// cannot fail.
func FullDelta(img *Image) *Delta {
	d := NewDelta(EmptyImage())
	for _, t := range img.Topics() {
		d.topics[t.ID] = &topicDelta{name: t.Name, id: t.ID, changed: maps.Clone(t.Partitions)}
		d.createdNames[t.Name] = t.ID
	}
	for _, b := range img.Brokers() {
		d.brokers[b.ID] = b
	}
	for _, res := range img.ConfigResources() {
		d.configs[res] = img.Configs(res.Type, res.Name)
	}
	maps.Copy(d.features, img.features)
	for _, e := range img.ScramCredentials() {
		d.scram[scramDeltaKey{e.User, e.Mechanism}] = e.Credential
	}
	img.acls.Root().Walk(func(k []byte, v any) bool {
		d.acls[Uuid(k)] = v.(*AclBinding)
		return false
	})
	img.quotas.Root().Walk(func(k []byte, v any) bool {
		q := v.(*quotaEntry)
		d.quotas[string(k)] = &quotaEntry{entity: q.entity, values: maps.Clone(q.values)}
		return false
	})
	if img.zkMigrationState != ZkMigrationNone {
		v := img.zkMigrationState
		d.zkState = &v
	}
	if img.nextProducerID != 0 {
		v := img.nextProducerID
		d.nextPID = &v
	}
	d.SetProvenance(img.Offset(), img.Epoch())
	d.SetClusterID(img.ClusterID())
	return d
}

// DeltaBetween returns a delta on prev whose Apply equals next, with next's
// provenance and cluster id: what publishers see when a snapshot replaces
// the image (Kafka's loader does the same when a follower loads a snapshot)
// or when a broker switches its metadata source. Topics gone from next (or
// whose id now names another topic) are removed, so LocalChanges reports
// their replicas as deleted; new ones are created; partitions, brokers,
// configs, features, the ZK migration state, the producer-id block, SCRAM
// credentials and ACLs are
// set where they differ. Where no such delta exists (prev is empty, or next
// cannot be reached from prev by records, e.g. a lower next producer id) it
// returns FullDelta(next), whose Base is the empty image.
func DeltaBetween(prev, next *Image) *Delta {
	if prev.TopicCount() == 0 && prev.BrokerCount() == 0 && prev.configs.Len() == 0 &&
		prev.scram.Len() == 0 && prev.acls.Len() == 0 && prev.quotas.Len() == 0 {
		return FullDelta(next)
	}
	d, err := diffDelta(prev, next)
	if err != nil || !d.Apply().Equal(next) {
		return FullDelta(next)
	}
	return d
}

// diffDelta replays onto prev the records that turn it into next; an error
// names the record Replay refused.
func diffDelta(prev, next *Image) (*Delta, error) {
	d := NewDelta(prev)
	replay := func(r Record) error {
		if err := d.Replay(r); err != nil {
			return fmt.Errorf("diff %v: %w", r.Type(), err)
		}
		return nil
	}

	// Features and the migration state (a removed feature goes to level 0, as in Kafka).
	for name, lvl := range next.features {
		if old, ok := prev.features[name]; !ok || old != lvl {
			if err := replay(&FeatureLevelRecord{Name: name, FeatureLevel: lvl}); err != nil {
				return nil, err
			}
		}
	}
	for name := range prev.features {
		if _, ok := next.features[name]; !ok {
			if err := replay(&FeatureLevelRecord{Name: name}); err != nil {
				return nil, err
			}
		}
	}
	if prev.zkMigrationState != next.zkMigrationState {
		if err := replay(&ZkMigrationStateRecord{ZkMigrationState: next.zkMigrationState}); err != nil {
			return nil, err
		}
	}

	// Brokers.
	for _, b := range prev.Brokers() {
		if _, ok := next.Broker(b.ID); !ok {
			if err := replay(&UnregisterBrokerRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch}); err != nil {
				return nil, err
			}
		}
	}
	for _, b := range next.Brokers() {
		if old, ok := prev.Broker(b.ID); !ok || !brokerEqual(old, b) {
			if err := replay(BrokerRecord(b)); err != nil {
				return nil, err
			}
		}
	}

	// Topics: remove the vanished, then create or patch.
	removed := map[string]bool{}
	for _, t := range prev.Topics() {
		if nt, ok := next.TopicByID(t.ID); ok && nt.Name == t.Name {
			continue
		}
		if err := replay(&RemoveTopicRecord{TopicID: t.ID}); err != nil {
			return nil, err
		}
		removed[t.Name] = true
	}
	for _, t := range next.Topics() {
		old, existed := prev.TopicByID(t.ID)
		existed = existed && old.Name == t.Name
		if !existed {
			if err := replay(&TopicRecord{Name: t.Name, TopicID: t.ID}); err != nil {
				return nil, err
			}
		}
		for _, pid := range t.PartitionIDs() {
			p := t.Partitions[pid]
			if existed {
				if op, ok := old.Partitions[pid]; ok && op.Equal(p) {
					continue
				}
			}
			if err := replay(PartitionToRecord(t.ID, pid, p)); err != nil {
				return nil, err
			}
		}
	}

	// Configs: the view is prev's, except that removing a topic cleared its configs.
	seen := map[ConfigResource]bool{}
	for _, res := range append(prev.ConfigResources(), next.ConfigResources()...) {
		if seen[res] {
			continue
		}
		seen[res] = true
		cur := prev.Configs(res.Type, res.Name)
		if res.Type == TopicResource && removed[res.Name] {
			cur = map[string]string{}
		}
		want := next.Configs(res.Type, res.Name)
		if maps.Equal(cur, want) {
			continue
		}
		for k, v := range want {
			if old, ok := cur[k]; ok && old == v {
				continue
			}
			if err := replay(&ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k, Value: &v}); err != nil {
				return nil, err
			}
		}
		for k := range cur {
			if _, ok := want[k]; !ok {
				if err := replay(&ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k}); err != nil {
					return nil, err
				}
			}
		}
	}

	if err := diffSecurity(prev, next, replay); err != nil {
		return nil, err
	}
	if err := diffQuotas(prev, next, replay); err != nil {
		return nil, err
	}
	if next.nextProducerID != prev.nextProducerID {
		if err := replay(&ProducerIdsRecord{BrokerID: -1, BrokerEpoch: -1, NextProducerID: next.nextProducerID}); err != nil {
			return nil, err
		}
	}
	d.SetProvenance(next.Offset(), next.Epoch())
	d.SetClusterID(next.ClusterID())
	return d, nil
}
