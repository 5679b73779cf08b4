package quorum

import (
	"fmt"
	"maps"

	"github.com/zkraft/zkraft/metadata"
)

// deltaBetween builds a delta on prev whose Apply equals next: what
// publishers see when a snapshot replaces the image (Kafka's loader does the
// same when a follower loads a snapshot). Topics gone from next (or whose id
// now names another topic) are removed; new ones are created; partitions,
// brokers, configs, features, the ZK migration state and the producer-id
// block are set where they differ. If the result would not equal next, the
// delta from the empty image is used instead.
func deltaBetween(prev, next *metadata.Image) (*metadata.Delta, error) {
	if prev.TopicCount() == 0 && prev.BrokerCount() == 0 && len(prev.ConfigResources()) == 0 {
		return fullDelta(next)
	}
	d, err := diffDelta(prev, next)
	if err == nil && d.Apply().Equal(next) {
		return d, nil
	}
	return fullDelta(next)
}

func diffDelta(prev, next *metadata.Image) (*metadata.Delta, error) {
	d := metadata.NewDelta(prev)
	replay := func(r metadata.Record) error {
		if err := d.Replay(r); err != nil {
			return fmt.Errorf("diff %v: %w", r.Type(), err)
		}
		return nil
	}

	// Features and the migration state (a removed feature goes to level 0, as in Kafka).
	nf := next.Features()
	for name, lvl := range nf {
		if old, ok := prev.FeatureLevel(name); !ok || old != lvl {
			if err := replay(&metadata.FeatureLevelRecord{Name: name, FeatureLevel: lvl}); err != nil {
				return nil, err
			}
		}
	}
	for name := range prev.Features() {
		if _, ok := nf[name]; !ok {
			if err := replay(&metadata.FeatureLevelRecord{Name: name}); err != nil {
				return nil, err
			}
		}
	}
	if prev.ZkMigrationState() != next.ZkMigrationState() {
		if err := replay(&metadata.ZkMigrationStateRecord{ZkMigrationState: next.ZkMigrationState()}); err != nil {
			return nil, err
		}
	}

	// Brokers.
	for _, b := range prev.Brokers() {
		if _, ok := next.Broker(b.ID); !ok {
			if err := replay(&metadata.UnregisterBrokerRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch}); err != nil {
				return nil, err
			}
		}
	}
	for _, b := range next.Brokers() {
		if old, ok := prev.Broker(b.ID); !ok || !brokerSame(old, b) {
			if err := replay(metadata.BrokerRecord(b)); err != nil {
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
		if err := replay(&metadata.RemoveTopicRecord{TopicID: t.ID}); err != nil {
			return nil, err
		}
		removed[t.Name] = true
	}
	for _, t := range next.Topics() {
		old, existed := prev.TopicByID(t.ID)
		existed = existed && old.Name == t.Name
		if !existed {
			if err := replay(&metadata.TopicRecord{Name: t.Name, TopicID: t.ID}); err != nil {
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
			if err := replay(metadata.PartitionToRecord(t.ID, pid, p)); err != nil {
				return nil, err
			}
		}
	}

	// Configs: the view is prev's, except that removing a topic cleared its configs.
	seen := map[metadata.ConfigResource]bool{}
	resources := append(prev.ConfigResources(), next.ConfigResources()...)
	for _, res := range resources {
		if seen[res] {
			continue
		}
		seen[res] = true
		cur := prev.Configs(res.Type, res.Name)
		if res.Type == metadata.TopicResource && removed[res.Name] {
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
			v := v
			if err := replay(&metadata.ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k, Value: &v}); err != nil {
				return nil, err
			}
		}
		for k := range cur {
			if _, ok := want[k]; !ok {
				if err := replay(&metadata.ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k}); err != nil {
					return nil, err
				}
			}
		}
	}

	if next.NextProducerID() != prev.NextProducerID() {
		if err := replay(&metadata.ProducerIdsRecord{BrokerID: -1, BrokerEpoch: -1, NextProducerID: next.NextProducerID()}); err != nil {
			return nil, err
		}
	}
	d.SetProvenance(next.Offset(), next.Epoch())
	d.SetClusterID(next.ClusterID())
	return d, nil
}

// brokerSame compares what a RegisterBrokerRecord carries.
func brokerSame(a, b *metadata.BrokerRegistration) bool {
	ra, rb := metadata.BrokerRecord(a), metadata.BrokerRecord(b)
	return string(metadata.AppendRecord(nil, ra)) == string(metadata.AppendRecord(nil, rb))
}
