package metadata

import "errors"

// Sentinel errors. Callers test with errors.Is; every returned error wraps one
// of these with the facts (topic name, broker id, byte offset, ...).
var (
	// Codec errors.
	ErrUnknownRecordType  = errors.New("metadata: unknown record type")
	ErrUnsupportedVersion = errors.New("metadata: unsupported record version")
	ErrUnsupportedFrame   = errors.New("metadata: unsupported frame version")
	ErrCorruptRecord      = errors.New("metadata: corrupt record")
	ErrUnsupportedBatch   = errors.New("metadata: unsupported batch version")
	// ErrChecksum: an entry's CRC-32C does not match its bytes.
	ErrChecksum    = errors.New("metadata: checksum mismatch")
	ErrInvalidUuid = errors.New("metadata: invalid uuid")

	// Replay (image/delta) errors.
	ErrInvalidRecord = errors.New("metadata: invalid record for image")

	// Controller errors (each maps to one Kafka error code at the network edge).
	ErrTopicExists                 = errors.New("metadata: topic already exists")
	ErrUnknownTopic                = errors.New("metadata: unknown topic")
	ErrInvalidTopic                = errors.New("metadata: invalid topic name")
	ErrInvalidPartitions           = errors.New("metadata: invalid number of partitions")
	ErrInvalidReplicationFactor    = errors.New("metadata: invalid replication factor")
	ErrInvalidReplicaAssignment    = errors.New("metadata: invalid replica assignment")
	ErrInvalidConfig               = errors.New("metadata: invalid config")
	ErrInvalidRequest              = errors.New("metadata: invalid request")
	ErrBrokerNotAvailable          = errors.New("metadata: broker not available")
	ErrUnknownBroker               = errors.New("metadata: unknown broker")
	ErrStaleBrokerEpoch            = errors.New("metadata: stale broker epoch")
	ErrDuplicateBrokerRegistration = errors.New("metadata: duplicate broker registration")
	ErrNotController               = errors.New("metadata: not the active controller")
	// ErrNoReassignmentInProgress: a cancellation named a partition that
	// is not being reassigned (KIP-455).
	ErrNoReassignmentInProgress = errors.New("metadata: no partition reassignment is in progress")

	// Security (AlterUserScramCredentials, CreateAcls) errors.
	ErrDuplicateResource        = errors.New("metadata: duplicate resource")
	ErrUnsupportedSaslMechanism = errors.New("metadata: unsupported sasl mechanism")
	ErrUnacceptableCredential   = errors.New("metadata: unacceptable credential")
	ErrResourceNotFound         = errors.New("metadata: resource not found")

	// AlterPartition errors.
	ErrNotLeader          = errors.New("metadata: not leader or follower")
	ErrFencedLeaderEpoch  = errors.New("metadata: fenced leader epoch")
	ErrInvalidUpdateEpoch = errors.New("metadata: invalid update version")
	ErrIneligibleReplica  = errors.New("metadata: ineligible replica")
	ErrUnknownPartition   = errors.New("metadata: unknown topic or partition")

	// ElectLeaders (partitions_admin.go).
	ErrElectionNotNeeded           = errors.New("metadata: election not needed")
	ErrPreferredLeaderNotAvailable = errors.New("metadata: preferred leader not available")
	ErrEligibleLeadersNotAvailable = errors.New("metadata: eligible leaders not available")
)
