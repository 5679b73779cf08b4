package metadata

import (
	"slices"
	"strings"
)

// WriteImage is the ImageWriter: it returns records that, replayed into a
// Delta on EmptyImage(), rebuild an image Equal to img. Used by snapshots,
// migration export and tests. Order follows Kafka's snapshot layout:
// features (metadata.version first, then the ZK migration state), cluster
// (brokers by id), topics by name (TopicRecord then PartitionRecords by id),
// configs (by resource type then name, keys sorted), client quotas (by
// entity, keys sorted), producer ids, ACLs
// (by id), SCRAM credentials (by user, then mechanism).
// Provenance and the cluster id are not records and are not written.
func WriteImage(img *Image) []Record {
	out := make([]Record, 0, 8+img.BrokerCount()+img.TopicCount()+img.PartitionCount())

	names := make([]string, 0, len(img.features))
	for name := range img.features {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if a == MetadataVersionFeature {
			return -1
		}
		if b == MetadataVersionFeature {
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, name := range names {
		out = append(out, &FeatureLevelRecord{Name: name, FeatureLevel: img.features[name]})
	}
	if img.zkMigrationState != ZkMigrationNone {
		out = append(out, &ZkMigrationStateRecord{ZkMigrationState: img.zkMigrationState})
	}

	for _, b := range img.Brokers() {
		out = append(out, BrokerRecord(b))
	}

	for _, t := range img.Topics() {
		out = append(out, &TopicRecord{Name: t.Name, TopicID: t.ID})
		for _, pid := range t.PartitionIDs() {
			out = append(out, PartitionToRecord(t.ID, pid, t.Partitions[pid]))
		}
	}

	for _, res := range img.ConfigResources() {
		cfgs := img.Configs(res.Type, res.Name)
		keys := make([]string, 0, len(cfgs))
		for k := range cfgs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := cfgs[k]
			out = append(out, &ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k, Value: &v})
		}
	}

	for _, q := range img.ClientQuotas() {
		out = append(out, ClientQuotaRecords(q.Entity, q.Quotas)...)
	}

	if img.nextProducerID != 0 {
		out = append(out, &ProducerIdsRecord{BrokerID: -1, BrokerEpoch: -1, NextProducerID: img.nextProducerID})
	}
	for _, a := range img.Acls() {
		out = append(out, AclRecord(a.ID, a.Binding))
	}
	for _, c := range img.ScramCredentials() {
		out = append(out, ScramCredentialRecord(c.User, c.Mechanism, c.Credential))
	}
	return out
}

// MetadataVersionFeature is the name of the metadata.version feature.
const MetadataVersionFeature = "metadata.version"

// BrokerRecord returns the RegisterBrokerRecord that recreates b.
func BrokerRecord(b *BrokerRegistration) *RegisterBrokerRecord {
	r := &RegisterBrokerRecord{
		BrokerID:             b.ID,
		IsMigratingZkBroker:  b.IsMigratingZkBroker,
		IncarnationID:        b.IncarnationID,
		BrokerEpoch:          b.Epoch,
		EndPoints:            slices.Clone(b.Endpoints),
		Features:             slices.Clone(b.Features),
		Fenced:               b.Fenced,
		InControlledShutdown: b.InControlledShutdown,
	}
	if b.Rack != "" {
		rack := b.Rack
		r.Rack = &rack
	}
	return r
}

// PartitionToRecord returns the PartitionRecord that recreates p.
func PartitionToRecord(topicID Uuid, partition int32, p *PartitionRegistration) *PartitionRecord {
	return &PartitionRecord{
		PartitionID:         partition,
		TopicID:             topicID,
		Replicas:            slices.Clone(p.Replicas),
		ISR:                 slices.Clone(p.ISR),
		RemovingReplicas:    slices.Clone(p.RemovingReplicas),
		AddingReplicas:      slices.Clone(p.AddingReplicas),
		Leader:              p.Leader,
		LeaderRecoveryState: p.LeaderRecoveryState,
		LeaderEpoch:         p.LeaderEpoch,
		PartitionEpoch:      p.PartitionEpoch,
	}
}
