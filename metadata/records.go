package metadata

import "strconv"

// RecordType is a Kafka metadata record api key (MetadataRecordType). The
// numbers are Kafka's, so the enum is append-only: only add to the end, never
// renumber, never reuse a retired key (6, 13 and 16 are retired in Kafka).
type RecordType int16

// Record types handled by zkraft.
const (
	RegisterBrokerRecordType            RecordType = 0
	UnregisterBrokerRecordType          RecordType = 1
	TopicRecordType                     RecordType = 2
	PartitionRecordType                 RecordType = 3
	ConfigRecordType                    RecordType = 4
	PartitionChangeRecordType           RecordType = 5
	RemoveTopicRecordType               RecordType = 9
	UserScramCredentialRecordType       RecordType = 11
	FeatureLevelRecordType              RecordType = 12
	ClientQuotaRecordType               RecordType = 14
	ProducerIdsRecordType               RecordType = 15
	BrokerRegistrationChangeRecordType  RecordType = 17
	AccessControlEntryRecordType        RecordType = 18
	RemoveAccessControlEntryRecordType  RecordType = 19
	NoOpRecordType                      RecordType = 20
	ZkMigrationStateRecordType          RecordType = 21
	RemoveUserScramCredentialRecordType RecordType = 22
	BeginTransactionRecordType          RecordType = 23
	EndTransactionRecordType            RecordType = 24
	AbortTransactionRecordType          RecordType = 25
)

// recordTypeInfo is one row of the record table: names, the version we write
// (the highest we read) and the lowest version we read.
type recordTypeInfo struct {
	name, kafkaName string
	version         int16 // written; highest accepted on read
	minVersion      int16 // lowest accepted on read
	newRecord       func() Record
}

var recordTypes = map[RecordType]recordTypeInfo{
	RegisterBrokerRecordType:            {"RegisterBrokerRecord", "REGISTER_BROKER_RECORD", 2, 0, func() Record { return new(RegisterBrokerRecord) }},
	UnregisterBrokerRecordType:          {"UnregisterBrokerRecord", "UNREGISTER_BROKER_RECORD", 0, 0, func() Record { return new(UnregisterBrokerRecord) }},
	TopicRecordType:                     {"TopicRecord", "TOPIC_RECORD", 0, 0, func() Record { return new(TopicRecord) }},
	PartitionRecordType:                 {"PartitionRecord", "PARTITION_RECORD", 0, 0, func() Record { return new(PartitionRecord) }},
	ConfigRecordType:                    {"ConfigRecord", "CONFIG_RECORD", 0, 0, func() Record { return new(ConfigRecord) }},
	PartitionChangeRecordType:           {"PartitionChangeRecord", "PARTITION_CHANGE_RECORD", 0, 0, func() Record { return new(PartitionChangeRecord) }},
	RemoveTopicRecordType:               {"RemoveTopicRecord", "REMOVE_TOPIC_RECORD", 0, 0, func() Record { return new(RemoveTopicRecord) }},
	FeatureLevelRecordType:              {"FeatureLevelRecord", "FEATURE_LEVEL_RECORD", 0, 0, func() Record { return new(FeatureLevelRecord) }},
	ClientQuotaRecordType:               {"ClientQuotaRecord", "CLIENT_QUOTA_RECORD", 0, 0, func() Record { return new(ClientQuotaRecord) }},
	ProducerIdsRecordType:               {"ProducerIdsRecord", "PRODUCER_IDS_RECORD", 0, 0, func() Record { return new(ProducerIdsRecord) }},
	BrokerRegistrationChangeRecordType:  {"BrokerRegistrationChangeRecord", "BROKER_REGISTRATION_CHANGE_RECORD", 1, 0, func() Record { return new(BrokerRegistrationChangeRecord) }},
	UserScramCredentialRecordType:       {"UserScramCredentialRecord", "USER_SCRAM_CREDENTIAL_RECORD", 0, 0, func() Record { return new(UserScramCredentialRecord) }},
	AccessControlEntryRecordType:        {"AccessControlEntryRecord", "ACCESS_CONTROL_ENTRY_RECORD", 0, 0, func() Record { return new(AccessControlEntryRecord) }},
	RemoveAccessControlEntryRecordType:  {"RemoveAccessControlEntryRecord", "REMOVE_ACCESS_CONTROL_ENTRY_RECORD", 0, 0, func() Record { return new(RemoveAccessControlEntryRecord) }},
	RemoveUserScramCredentialRecordType: {"RemoveUserScramCredentialRecord", "REMOVE_USER_SCRAM_CREDENTIAL_RECORD", 0, 0, func() Record { return new(RemoveUserScramCredentialRecord) }},
	NoOpRecordType:                      {"NoOpRecord", "NO_OP_RECORD", 0, 0, func() Record { return new(NoOpRecord) }},
	ZkMigrationStateRecordType:          {"ZkMigrationStateRecord", "ZK_MIGRATION_STATE_RECORD", 0, 0, func() Record { return new(ZkMigrationStateRecord) }},
	BeginTransactionRecordType:          {"BeginTransactionRecord", "BEGIN_TRANSACTION_RECORD", 0, 0, func() Record { return new(BeginTransactionRecord) }},
	EndTransactionRecordType:            {"EndTransactionRecord", "END_TRANSACTION_RECORD", 0, 0, func() Record { return new(EndTransactionRecord) }},
	AbortTransactionRecordType:          {"AbortTransactionRecord", "ABORT_TRANSACTION_RECORD", 0, 0, func() Record { return new(AbortTransactionRecord) }},
}

// String returns the Go/Java class name, e.g. "TopicRecord".
func (t RecordType) String() string {
	if info, ok := recordTypes[t]; ok {
		return info.name
	}
	return "RecordType(" + strconv.Itoa(int(t)) + ")"
}

// KafkaName returns the MetadataRecordType enum name used by
// kafka-dump-log, e.g. "TOPIC_RECORD".
func (t RecordType) KafkaName() string {
	if info, ok := recordTypes[t]; ok {
		return info.kafkaName
	}
	return "UNKNOWN_RECORD_" + strconv.Itoa(int(t))
}

// Record is one metadata record. Concrete records are pointer types
// (*TopicRecord, ...). Version is the schema version the record is written at.
type Record interface {
	Type() RecordType
	Version() int16
}

// Resource types of ConfigRecord (Kafka's ConfigResource.Type ids).
const (
	TopicResource         int8 = 2
	BrokerResource        int8 = 4
	BrokerLoggerResource  int8 = 8
	ClientMetricsResource int8 = 16
)

// Special values of PartitionChangeRecord and PartitionRecord fields.
const (
	NoLeader                    int32 = -1 // no leader
	NoLeaderChange              int32 = -2 // PartitionChangeRecord.Leader: unchanged
	NoLeaderRecoveryStateChange int8  = -1 // PartitionChangeRecord.LeaderRecoveryState: unchanged
	LeaderRecovered             int8  = 0  // LeaderRecoveryState RECOVERED
	LeaderRecovering            int8  = 1  // LeaderRecoveryState RECOVERING (after unclean election)
)

// BrokerRegistrationChangeRecord.Fenced values.
const (
	FenceUnfence  int8 = -1 // the broker was unfenced
	FenceNoChange int8 = 0
	FenceFence    int8 = 1 // the broker was fenced
)

// ZkMigrationState values (Kafka's ZkMigrationState, 3.5+ numbering).
const (
	ZkMigrationNone          int8 = 0
	ZkMigrationMigration     int8 = 1
	ZkMigrationPreMigration  int8 = 2
	ZkMigrationPostMigration int8 = 3
	// ZkMigrationReverse is zkraft's own (Kafka has no way back; its 4,
	// ZK, is never persisted): the reverse migration, quorum -> ZooKeeper
	// mode. The image was exported to ZooKeeper, which the active
	// controller dual-writes until the ZooKeeper-mode brokers take
	// /controller back (migrate.Rollback).
	ZkMigrationReverse int8 = 5
)

// Endpoint is a broker listener (RegisterBrokerRecord.EndPoints[]).
type Endpoint struct {
	Name             string
	Host             string
	Port             uint16
	SecurityProtocol int16
}

// BrokerFeature is a supported feature range (RegisterBrokerRecord.Features[]).
type BrokerFeature struct {
	Name                string
	MinSupportedVersion int16
	MaxSupportedVersion int16
}

// RegisterBrokerRecord (api key 0, written at v2).
type RegisterBrokerRecord struct {
	BrokerID             int32
	IsMigratingZkBroker  bool // v2+
	IncarnationID        Uuid
	BrokerEpoch          int64
	EndPoints            []Endpoint
	Features             []BrokerFeature
	Rack                 *string // nullable
	Fenced               bool
	InControlledShutdown bool // v1+
}

// UnregisterBrokerRecord (api key 1, v0).
type UnregisterBrokerRecord struct {
	BrokerID    int32
	BrokerEpoch int64
}

// TopicRecord (api key 2, v0).
type TopicRecord struct {
	Name    string
	TopicID Uuid
}

// PartitionRecord (api key 3, written at v0: no Directories, no ELR).
type PartitionRecord struct {
	PartitionID         int32
	TopicID             Uuid
	Replicas            []int32
	ISR                 []int32
	RemovingReplicas    []int32
	AddingReplicas      []int32
	Leader              int32
	LeaderRecoveryState int8 // tagged field 0, default 0
	LeaderEpoch         int32
	PartitionEpoch      int32
}

// ConfigRecord (api key 4, v0). Value nil deletes the key.
type ConfigRecord struct {
	ResourceType int8
	ResourceName string // "" = the cluster default
	Name         string
	Value        *string
}

// PartitionChangeRecord (api key 5, written at v0). Every field but the
// partition and topic ids is a tagged field: nil slices mean "no change",
// Leader NoLeaderChange (-2) and LeaderRecoveryState -1 mean "no change".
// A decoded record may carry an empty non-nil slice ("changed to empty").
type PartitionChangeRecord struct {
	PartitionID         int32
	TopicID             Uuid
	ISR                 []int32 // tag 0
	Leader              int32   // tag 1, default NoLeaderChange
	Replicas            []int32 // tag 2
	RemovingReplicas    []int32 // tag 3
	AddingReplicas      []int32 // tag 4
	LeaderRecoveryState int8    // tag 5, default NoLeaderRecoveryStateChange
}

// NewPartitionChangeRecord returns a record that changes nothing yet.
func NewPartitionChangeRecord(topicID Uuid, partition int32) *PartitionChangeRecord {
	return &PartitionChangeRecord{PartitionID: partition, TopicID: topicID,
		Leader: NoLeaderChange, LeaderRecoveryState: NoLeaderRecoveryStateChange}
}

// RemoveTopicRecord (api key 9, v0): removes the topic, its partitions and its configs.
type RemoveTopicRecord struct {
	TopicID Uuid
}

// FeatureLevelRecord (api key 12, v0). FeatureLevel 0 removes the feature.
type FeatureLevelRecord struct {
	Name         string
	FeatureLevel int16
}

// ProducerIdsRecord (api key 15, v0). NextProducerID is the first id of the
// next block to hand out.
type ProducerIdsRecord struct {
	BrokerID       int32
	BrokerEpoch    int64
	NextProducerID int64
}

// BrokerRegistrationChangeRecord (api key 17, written at v1).
type BrokerRegistrationChangeRecord struct {
	BrokerID             int32
	BrokerEpoch          int64
	Fenced               int8 // tag 0: FenceFence, FenceNoChange, FenceUnfence
	InControlledShutdown int8 // tag 1 (v1+): 0 no change, 1 in controlled shutdown
}

// UserScramCredentialRecord (api key 11, v0): one user's credential for one
// SCRAM mechanism (KIP-554); it replaces an earlier one for the same user
// and mechanism. The password itself is never stored: StoredKey =
// H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword,
// "Server Key") (RFC 5802 §3).
type UserScramCredentialRecord struct {
	Name       string
	Mechanism  ScramMechanism
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// ClientQuotaRecord (api key 14, v0): sets (or, with Remove, removes) one
// quota of one client quota entity (KIP-546).
type ClientQuotaRecord struct {
	Entity []QuotaEntityData
	Key    string
	Value  float64 // ignored when Remove
	Remove bool
}

// QuotaEntityData is one (type, name) of a quota entity; Name nil is the
// default entity of that type.
type QuotaEntityData struct {
	EntityType string // "user", "client-id", "ip"
	EntityName *string
}

// RemoveUserScramCredentialRecord (api key 22, v0): removes one user's
// credential for one mechanism.
type RemoveUserScramCredentialRecord struct {
	Name      string
	Mechanism ScramMechanism
}

// AccessControlEntryRecord (api key 18, v0): one ACL, identified by ID
// (Kafka's StandardAcl with its id). Kafka's api key 6 (AccessControlRecord)
// is retired; 18/19 are the ones Kafka 3.x writes.
type AccessControlEntryRecord struct {
	ID           Uuid
	ResourceType AclResourceType
	ResourceName string
	PatternType  AclPatternType
	Principal    string // "User:alice", "User:*"
	Host         string // "*" = any host
	Operation    AclOperation
	Permission   AclPermission // PermissionType in Kafka's schema
}

// RemoveAccessControlEntryRecord (api key 19, v0): removes the ACL with ID.
type RemoveAccessControlEntryRecord struct {
	ID Uuid
}

// NoOpRecord (api key 20, v0): appended to keep the log moving; no effect.
type NoOpRecord struct{}

// ZkMigrationStateRecord (api key 21, v0; Kafka's file is ZkMigrationRecord.json).
type ZkMigrationStateRecord struct {
	ZkMigrationState int8
}

// BeginTransactionRecord (api key 23, v0).
type BeginTransactionRecord struct {
	Name *string // tag 0, nullable
}

// EndTransactionRecord (api key 24, v0).
type EndTransactionRecord struct{}

// AbortTransactionRecord (api key 25, v0).
type AbortTransactionRecord struct {
	Reason *string // tag 0, nullable
}

func (*RegisterBrokerRecord) Type() RecordType           { return RegisterBrokerRecordType }
func (*UnregisterBrokerRecord) Type() RecordType         { return UnregisterBrokerRecordType }
func (*TopicRecord) Type() RecordType                    { return TopicRecordType }
func (*PartitionRecord) Type() RecordType                { return PartitionRecordType }
func (*ConfigRecord) Type() RecordType                   { return ConfigRecordType }
func (*PartitionChangeRecord) Type() RecordType          { return PartitionChangeRecordType }
func (*RemoveTopicRecord) Type() RecordType              { return RemoveTopicRecordType }
func (*FeatureLevelRecord) Type() RecordType             { return FeatureLevelRecordType }
func (*ProducerIdsRecord) Type() RecordType              { return ProducerIdsRecordType }
func (*BrokerRegistrationChangeRecord) Type() RecordType { return BrokerRegistrationChangeRecordType }
func (*NoOpRecord) Type() RecordType                     { return NoOpRecordType }
func (*UserScramCredentialRecord) Type() RecordType      { return UserScramCredentialRecordType }
func (*ClientQuotaRecord) Type() RecordType              { return ClientQuotaRecordType }
func (*RemoveUserScramCredentialRecord) Type() RecordType {
	return RemoveUserScramCredentialRecordType
}
func (*AccessControlEntryRecord) Type() RecordType { return AccessControlEntryRecordType }
func (*RemoveAccessControlEntryRecord) Type() RecordType {
	return RemoveAccessControlEntryRecordType
}
func (*ZkMigrationStateRecord) Type() RecordType { return ZkMigrationStateRecordType }
func (*BeginTransactionRecord) Type() RecordType { return BeginTransactionRecordType }
func (*EndTransactionRecord) Type() RecordType   { return EndTransactionRecordType }
func (*AbortTransactionRecord) Type() RecordType { return AbortTransactionRecordType }

func (r *RegisterBrokerRecord) Version() int16           { return recordTypes[r.Type()].version }
func (r *UnregisterBrokerRecord) Version() int16         { return recordTypes[r.Type()].version }
func (r *TopicRecord) Version() int16                    { return recordTypes[r.Type()].version }
func (r *PartitionRecord) Version() int16                { return recordTypes[r.Type()].version }
func (r *ConfigRecord) Version() int16                   { return recordTypes[r.Type()].version }
func (r *PartitionChangeRecord) Version() int16          { return recordTypes[r.Type()].version }
func (r *RemoveTopicRecord) Version() int16              { return recordTypes[r.Type()].version }
func (r *FeatureLevelRecord) Version() int16             { return recordTypes[r.Type()].version }
func (r *ProducerIdsRecord) Version() int16              { return recordTypes[r.Type()].version }
func (r *BrokerRegistrationChangeRecord) Version() int16 { return recordTypes[r.Type()].version }
func (r *NoOpRecord) Version() int16                     { return recordTypes[r.Type()].version }
func (r *UserScramCredentialRecord) Version() int16      { return recordTypes[r.Type()].version }
func (r *ClientQuotaRecord) Version() int16              { return recordTypes[r.Type()].version }
func (r *RemoveUserScramCredentialRecord) Version() int16 {
	return recordTypes[r.Type()].version
}
func (r *AccessControlEntryRecord) Version() int16       { return recordTypes[r.Type()].version }
func (r *RemoveAccessControlEntryRecord) Version() int16 { return recordTypes[r.Type()].version }
func (r *ZkMigrationStateRecord) Version() int16         { return recordTypes[r.Type()].version }
func (r *BeginTransactionRecord) Version() int16         { return recordTypes[r.Type()].version }
func (r *EndTransactionRecord) Version() int16           { return recordTypes[r.Type()].version }
func (r *AbortTransactionRecord) Version() int16         { return recordTypes[r.Type()].version }
