// Package metadata is the language both metadata backends speak: Kafka's
// metadata records, their binary encoding, the immutable cluster Image built
// by replaying them (Image + Delta), the ImageWriter that turns an image back
// into records, and the pure controller logic that turns (Image, request)
// into records (topic creation and deletion, replica placement, broker
// registration and fencing, leader election from the ISR, unclean leader
// election when unclean.leader.election.enable allows it (unclean.go),
// AlterPartition validation, producer id blocks). The image also holds the
// security metadata (security.go): SCRAM credentials by user and mechanism
// and ACLs by id, with Kafka's enum codes, and client quotas by entity
// (quotas.go); acls.go and scram.go are their
// controller logic (CreateAcls/DescribeAcls/DeleteAcls,
// AlterUserScramCredentials).
//
// The quorum (Raft) backend, the ZooKeeper backend and the migration all
// produce and consume these records; the broker sees only Images.
//
// # Goroutines
//
// None. Everything here is pure and synchronous. An Image is immutable and
// safe for any number of concurrent readers; a Delta belongs to one goroutine.
//
// # Invariants
//
//   - Record api keys are Kafka's (MetadataRecordType): the RecordType enum is
//     append-only. Each record type is written at exactly one version, listed
//     below; lower versions of the same schema are accepted on read.
//   - Decoders never panic: unknown frame versions, api keys, record versions,
//     truncated input and trailing bytes are errors (fuzzed by
//     FuzzDecodeRecord and FuzzDecodeBatch). Unknown tagged fields are skipped.
//   - Every raft entry is checksummed (CRC-32C, batch version 1): a damaged
//     entry is an error, never a different valid batch.
//   - An Image never changes after it is built. Topics, brokers and config
//     resources live in persistent radix trees (go-immutable-radix), and a
//     TopicImage's partition map is copied only when that topic changes, so
//     Delta.Apply costs O(partitions of the touched topics), not O(cluster).
//   - WriteImage(img) replayed into NewDelta(EmptyImage()) yields an image
//     Equal to img (provenance and cluster id are not records).
//   - FullDelta(img) applied gives img (provenance and cluster id
//     included) and says what replaying WriteImage(img) would say;
//     DeltaBetween(prev, next) applied gives next, based on prev where
//     records can get there, else it is FullDelta(next).
//   - An ACL id is used once; removing an unknown ACL or SCRAM credential
//     is an invalid record (Kafka's AclsDelta and ScramControlManager).
//   - Replay of a PartitionChangeRecord follows Kafka's merge rule: a Leader
//     other than -2 bumps the leader epoch, every change bumps the partition
//     epoch.
//
// # Record versions (Kafka 3.9 schemas, metadata/src/main/resources/common/metadata)
//
//	api key  record                          written  read   tagged fields used
//	      0  RegisterBrokerRecord              2      0-2    (LogDirs tag 0 is v3: skipped)
//	      1  UnregisterBrokerRecord            0      0
//	      2  TopicRecord                       0      0
//	      3  PartitionRecord                   0      0      0 LeaderRecoveryState
//	      4  ConfigRecord                      0      0
//	      5  PartitionChangeRecord             0      0      0 Isr, 1 Leader, 2 Replicas,
//	                                                          3 RemovingReplicas, 4 AddingReplicas,
//	                                                          5 LeaderRecoveryState
//	      9  RemoveTopicRecord                 0      0
//	     11  UserScramCredentialRecord         0      0
//	     12  FeatureLevelRecord                0      0
//	     14  ClientQuotaRecord                 0      0
//	     15  ProducerIdsRecord                 0      0
//	     17  BrokerRegistrationChangeRecord    1      0-1    0 Fenced, 1 InControlledShutdown
//	     18  AccessControlEntryRecord          0      0
//	     19  RemoveAccessControlEntryRecord    0      0
//	     20  NoOpRecord                        0      0
//	     21  ZkMigrationStateRecord            0      0
//	     22  RemoveUserScramCredentialRecord   0      0
//	     23  BeginTransactionRecord            0      0      0 Name
//	     24  EndTransactionRecord              0      0
//	     25  AbortTransactionRecord            0      0      0 Reason
//
// # Byte layout
//
// One record (Kafka's AbstractApiMessageSerde framing, the value of a record
// in __cluster_metadata):
//
//	+----------------+-------------+-----------------+------------------------+
//	| uvarint frame  | uvarint api | uvarint version | body (flexible format) |
//	| version (= 1)  | key         |                 |                        |
//	+----------------+-------------+-----------------+------------------------+
//
// The body holds the schema's fields in order: intN big-endian, bool 1 byte,
// Uuid 16 bytes, compact string = uvarint(len+1) bytes (0 = null), compact
// array = uvarint(count+1) elements (0 = null), then the tagged-field
// section: uvarint(n) { uvarint(tag) uvarint(size) value }*n, tags ascending.
// A tagged field at its default value is not written. Struct elements of an
// array (RegisterBrokerRecord endpoints, features) end with their own empty
// tagged-field section (one 0 byte).
//
// TopicRecord{Name:"foo", TopicID:X}:
//
//	01 02 00 | 04 'f' 'o' 'o' | X (16 bytes) | 00
//
// One raft log entry (AppendBatch, our own framing), version 1:
//
//	+-----------+-------------+---------------+-----------------------------------------+
//	| byte 0x01 | CRC-32C     | uvarint count | { uvarint len | framed record }*count   |
//	| (version) | uint32 BE   |               |                                         |
//	+-----------+-------------+---------------+-----------------------------------------+
//	             covers every byte after it, as a Kafka record batch's CRC
//
// Version 0 (written before checksums) has no CRC field: byte 0x00, then
// the count. DecodeBatch reads both and verifies version 1's CRC first
// (ErrChecksum); CheckBatch reports the version and checksum alone. The
// CRC covers what the controller writes; raft's own fields around the
// entry (index, term, append time) are outside it, as Kafka's batch CRC
// leaves out baseOffset and partitionLeaderEpoch.
package metadata
