package metadata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// jsonField is one camelCase field of a record's JSON form, in schema order.
type jsonField struct {
	key   string
	value any
}

// ints returns a as a JSON array value; a nil non-nullable array prints [].
func ints(a []int32) any {
	if a == nil {
		return []int32{}
	}
	return a
}

// jsonFloat prints a float64 as Java's JSON writer does for a double
// (1024.0, 12.5); NaN and infinities, which JSON lacks, as strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return []byte(strconv.FormatFloat(v, 'f', 1, 64)), nil
	}
	return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
}

// nonNilBytes makes a nil bytes field print as "" (Kafka's bytes fields are
// never null here).
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// RecordJSON renders a record like kafka-dump-log --cluster-metadata-decoder:
// {"type":"TOPIC_RECORD","version":0,"data":{"name":"foo","topicId":"..."}}.
// Field names are Kafka's camelCase; tagged fields at their default value are
// left out, as Kafka's generated JSON converters do.
func RecordJSON(r Record) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("record json: nil record: %w", ErrUnknownRecordType)
	}
	fields, err := jsonFields(r)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"type":%q,"version":%d,"data":{`, r.Type().KafkaName(), r.Version())
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("record json: %s.%s: %w", r.Type(), f.key, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteString("}}")
	return buf.Bytes(), nil
}

type jsonEndpoint struct {
	Name             string `json:"name"`
	Host             string `json:"host"`
	Port             uint16 `json:"port"`
	SecurityProtocol int16  `json:"securityProtocol"`
}

type jsonFeature struct {
	Name                string `json:"name"`
	MinSupportedVersion int16  `json:"minSupportedVersion"`
	MaxSupportedVersion int16  `json:"maxSupportedVersion"`
}

func jsonFields(rec Record) ([]jsonField, error) {
	switch r := rec.(type) {
	case *RegisterBrokerRecord:
		eps := make([]jsonEndpoint, len(r.EndPoints))
		for i, e := range r.EndPoints {
			eps[i] = jsonEndpoint(e)
		}
		fs := make([]jsonFeature, len(r.Features))
		for i, f := range r.Features {
			fs[i] = jsonFeature(f)
		}
		return []jsonField{{"brokerId", r.BrokerID}, {"isMigratingZkBroker", r.IsMigratingZkBroker},
			{"incarnationId", r.IncarnationID}, {"brokerEpoch", r.BrokerEpoch}, {"endPoints", eps},
			{"features", fs}, {"rack", r.Rack}, {"fenced", r.Fenced},
			{"inControlledShutdown", r.InControlledShutdown}}, nil
	case *UnregisterBrokerRecord:
		return []jsonField{{"brokerId", r.BrokerID}, {"brokerEpoch", r.BrokerEpoch}}, nil
	case *TopicRecord:
		return []jsonField{{"name", r.Name}, {"topicId", r.TopicID}}, nil
	case *PartitionRecord:
		f := []jsonField{{"partitionId", r.PartitionID}, {"topicId", r.TopicID}, {"replicas", ints(r.Replicas)},
			{"isr", ints(r.ISR)}, {"removingReplicas", ints(r.RemovingReplicas)},
			{"addingReplicas", ints(r.AddingReplicas)}, {"leader", r.Leader}}
		if r.LeaderRecoveryState != LeaderRecovered {
			f = append(f, jsonField{"leaderRecoveryState", r.LeaderRecoveryState})
		}
		return append(f, jsonField{"leaderEpoch", r.LeaderEpoch}, jsonField{"partitionEpoch", r.PartitionEpoch}), nil
	case *ConfigRecord:
		return []jsonField{{"resourceType", r.ResourceType}, {"resourceName", r.ResourceName},
			{"name", r.Name}, {"value", r.Value}}, nil
	case *PartitionChangeRecord:
		f := []jsonField{{"partitionId", r.PartitionID}, {"topicId", r.TopicID}}
		if r.ISR != nil {
			f = append(f, jsonField{"isr", r.ISR})
		}
		if r.Leader != NoLeaderChange {
			f = append(f, jsonField{"leader", r.Leader})
		}
		if r.Replicas != nil {
			f = append(f, jsonField{"replicas", r.Replicas})
		}
		if r.RemovingReplicas != nil {
			f = append(f, jsonField{"removingReplicas", r.RemovingReplicas})
		}
		if r.AddingReplicas != nil {
			f = append(f, jsonField{"addingReplicas", r.AddingReplicas})
		}
		if r.LeaderRecoveryState != NoLeaderRecoveryStateChange {
			f = append(f, jsonField{"leaderRecoveryState", r.LeaderRecoveryState})
		}
		return f, nil
	case *RemoveTopicRecord:
		return []jsonField{{"topicId", r.TopicID}}, nil
	case *FeatureLevelRecord:
		return []jsonField{{"name", r.Name}, {"featureLevel", r.FeatureLevel}}, nil
	case *ProducerIdsRecord:
		return []jsonField{{"brokerId", r.BrokerID}, {"brokerEpoch", r.BrokerEpoch}, {"nextProducerId", r.NextProducerID}}, nil
	case *BrokerRegistrationChangeRecord:
		f := []jsonField{{"brokerId", r.BrokerID}, {"brokerEpoch", r.BrokerEpoch}}
		if r.Fenced != 0 {
			f = append(f, jsonField{"fenced", r.Fenced})
		}
		if r.InControlledShutdown != 0 {
			f = append(f, jsonField{"inControlledShutdown", r.InControlledShutdown})
		}
		return f, nil
	case *UserScramCredentialRecord:
		// bytes print as base64, as Kafka's generated JSON converters do.
		return []jsonField{{"name", r.Name}, {"mechanism", r.Mechanism}, {"salt", nonNilBytes(r.Salt)},
			{"storedKey", nonNilBytes(r.StoredKey)}, {"serverKey", nonNilBytes(r.ServerKey)},
			{"iterations", r.Iterations}}, nil
	case *ClientQuotaRecord:
		type entity struct {
			EntityType string  `json:"entityType"`
			EntityName *string `json:"entityName"`
		}
		es := make([]entity, len(r.Entity))
		for i, e := range r.Entity {
			es[i] = entity(e)
		}
		return []jsonField{{"entity", es}, {"key", r.Key}, {"value", jsonFloat(r.Value)}, {"remove", r.Remove}}, nil
	case *RemoveUserScramCredentialRecord:
		return []jsonField{{"name", r.Name}, {"mechanism", r.Mechanism}}, nil
	case *AccessControlEntryRecord:
		return []jsonField{{"id", r.ID}, {"resourceType", r.ResourceType}, {"resourceName", r.ResourceName},
			{"patternType", r.PatternType}, {"principal", r.Principal}, {"host", r.Host},
			{"operation", r.Operation}, {"permissionType", r.Permission}}, nil
	case *RemoveAccessControlEntryRecord:
		return []jsonField{{"id", r.ID}}, nil
	case *NoOpRecord, *EndTransactionRecord:
		return nil, nil
	case *ZkMigrationStateRecord:
		return []jsonField{{"zkMigrationState", r.ZkMigrationState}}, nil
	case *BeginTransactionRecord:
		if r.Name == nil {
			return nil, nil
		}
		return []jsonField{{"name", *r.Name}}, nil
	case *AbortTransactionRecord:
		if r.Reason == nil {
			return nil, nil
		}
		return []jsonField{{"reason", *r.Reason}}, nil
	}
	return nil, fmt.Errorf("record json: %s: %w", rec.Type(), ErrUnknownRecordType)
}
