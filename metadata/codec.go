package metadata

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// frameVersion is the AbstractApiMessageSerde frame version Kafka writes.
const frameVersion = 1

// Versions of our raft-entry framing (AppendBatch), its first byte. Only
// add versions; never change the meaning of one.
const (
	// batchVersion0: no checksum (entries written before version 1).
	batchVersion0 = 0
	// batchVersion: a CRC-32C of everything after it follows the version byte.
	batchVersion = 1
)

// batchHeaderV1 is the version byte plus the CRC-32C.
const batchHeaderV1 = 1 + 4

// castagnoli is the CRC-32C table (Kafka's record batch checksum).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bodyCodec is implemented by every concrete record.
type bodyCodec interface {
	Record
	appendBody(dst []byte) []byte
	readBody(r *reader, version int16)
}

// AppendRecord appends r in Kafka's metadata record framing:
// uvarint(frame version 1) uvarint(api key) uvarint(version) body.
// It appends nothing for a Record type this package does not define.
func AppendRecord(dst []byte, r Record) []byte {
	c, ok := r.(bodyCodec)
	if !ok {
		return dst
	}
	dst = appendUvarint(dst, frameVersion)
	dst = appendUvarint(dst, uint64(r.Type()))
	dst = appendUvarint(dst, uint64(r.Version()))
	return c.appendBody(dst)
}

// DecodeRecord decodes one framed record. It rejects unknown frame versions,
// api keys and record versions, truncated input and trailing bytes, and
// never panics.
func DecodeRecord(b []byte) (Record, error) {
	r := &reader{b: b}
	fv := r.uvarint("frame version")
	key := r.uvarint("api key")
	ver := r.uvarint("record version")
	if r.err != nil {
		return nil, fmt.Errorf("decode record header: %w", r.err)
	}
	if fv != frameVersion {
		return nil, fmt.Errorf("decode record: frame version %d (want %d): %w", fv, frameVersion, ErrUnsupportedFrame)
	}
	if key > 0x7fff {
		return nil, fmt.Errorf("decode record: api key %d: %w", key, ErrUnknownRecordType)
	}
	info, ok := recordTypes[RecordType(key)]
	if !ok {
		return nil, fmt.Errorf("decode record: api key %d: %w", key, ErrUnknownRecordType)
	}
	if ver < uint64(info.minVersion) || ver > uint64(info.version) {
		return nil, fmt.Errorf("decode %s: version %d (supported %d-%d): %w",
			info.name, ver, info.minVersion, info.version, ErrUnsupportedVersion)
	}
	rec := info.newRecord()
	rec.(bodyCodec).readBody(r, int16(ver))
	if r.err != nil {
		return nil, fmt.Errorf("decode %s v%d: %w", info.name, ver, r.err)
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("decode %s v%d: %d trailing bytes: %w", info.name, ver, r.remaining(), ErrCorruptRecord)
	}
	return rec, nil
}

// AppendBatch appends one raft entry holding recs (version 1):
// byte(1) uint32-BE CRC-32C { uvarint(count) { uvarint(len) framed-record }*count },
// the CRC covering every byte after it.
func AppendBatch(dst []byte, recs []Record) []byte {
	start := len(dst)
	dst = append(dst, batchVersion, 0, 0, 0, 0)
	dst = appendUvarint(dst, uint64(len(recs)))
	var scratch []byte
	for _, rec := range recs {
		scratch = AppendRecord(scratch[:0], rec)
		dst = appendUvarint(dst, uint64(len(scratch)))
		dst = append(dst, scratch...)
	}
	binary.BigEndian.PutUint32(dst[start+1:], crc32.Checksum(dst[start+batchHeaderV1:], castagnoli))
	return dst
}

// appendBatchV0 writes the version 0 framing (no checksum), as entries
// were written before version 1. Tests use it to prove old logs stay readable.
func appendBatchV0(dst []byte, recs []Record) []byte {
	b := AppendBatch(nil, recs)
	dst = append(dst, batchVersion0)
	return append(dst, b[batchHeaderV1:]...)
}

// BatchChecksum is what an entry's framing says about its integrity.
type BatchChecksum struct {
	Version  byte   // framing version (0: no checksum)
	Stored   uint32 // the CRC-32C in the entry (version 1)
	Computed uint32 // the CRC-32C of the bytes it covers (version 1)
}

// HasChecksum: the entry carries a CRC-32C (version 1 or later).
func (c BatchChecksum) HasChecksum() bool { return c.Version >= batchVersion }

// Valid: no checksum to check, or the stored one matches.
func (c BatchChecksum) Valid() bool { return !c.HasChecksum() || c.Stored == c.Computed }

// String is "crc32c=0x1234abcd" (valid), "crc32c=0x1234abcd BAD (computed
// 0x...)" or "none" (version 0, written before checksums).
func (c BatchChecksum) String() string {
	switch {
	case !c.HasChecksum():
		return "none"
	case c.Valid():
		return fmt.Sprintf("crc32c=0x%08x", c.Stored)
	}
	return fmt.Sprintf("crc32c=0x%08x BAD (computed 0x%08x)", c.Stored, c.Computed)
}

// CheckBatch reads the version and checksum of an entry written by
// AppendBatch without decoding its records.
func CheckBatch(b []byte) (BatchChecksum, error) {
	if len(b) == 0 {
		return BatchChecksum{}, fmt.Errorf("decode batch: empty: %w", ErrCorruptRecord)
	}
	c := BatchChecksum{Version: b[0]}
	switch b[0] {
	case batchVersion0:
		return c, nil
	case batchVersion:
		if len(b) < batchHeaderV1 {
			return c, fmt.Errorf("decode batch: %d bytes, shorter than the version 1 header: %w", len(b), ErrCorruptRecord)
		}
		c.Stored = binary.BigEndian.Uint32(b[1:])
		c.Computed = crc32.Checksum(b[batchHeaderV1:], castagnoli)
		if !c.Valid() {
			return c, fmt.Errorf("decode batch: CRC-32C 0x%08x, computed 0x%08x over %d bytes: %w",
				c.Stored, c.Computed, len(b)-batchHeaderV1, ErrChecksum)
		}
		return c, nil
	}
	return c, fmt.Errorf("decode batch: version %d (supported %d-%d): %w", b[0], batchVersion0, batchVersion, ErrUnsupportedBatch)
}

// RecordSpan is where one framed record lies inside an entry: its first
// byte (after its length prefix) and its size.
type RecordSpan struct {
	Pos, Size int
}

// BatchLayout returns where each record of an entry written by AppendBatch
// lies, after checking the entry's version and (version 1) CRC-32C, without
// decoding the records.
func BatchLayout(b []byte) ([]RecordSpan, error) {
	c, err := CheckBatch(b)
	if err != nil {
		return nil, err
	}
	off := 1
	if c.HasChecksum() {
		off = batchHeaderV1
	}
	r := &reader{b: b, off: off}
	n := r.uvarint32("batch count")
	if r.err == nil && n > r.remaining() { // every record needs at least a length byte
		r.fail("batch count %d exceeds %d remaining bytes", n, r.remaining())
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode batch: %w", r.err)
	}
	spans := make([]RecordSpan, 0, n)
	for i := 0; i < n; i++ {
		size := r.uvarint32("record length")
		pos := r.off
		r.take(size, "record")
		if r.err != nil {
			return nil, fmt.Errorf("decode batch record %d of %d: %w", i, n, r.err)
		}
		spans = append(spans, RecordSpan{Pos: pos, Size: size})
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("decode batch: %d trailing bytes: %w", r.remaining(), ErrCorruptRecord)
	}
	return spans, nil
}

// DecodeBatch decodes an entry written by AppendBatch (version 1, whose
// CRC-32C it verifies first) or by an older release (version 0, no
// checksum).
func DecodeBatch(b []byte) ([]Record, error) {
	spans, err := BatchLayout(b)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, 0, len(spans))
	for i, sp := range spans {
		rec, err := DecodeRecord(b[sp.Pos : sp.Pos+sp.Size])
		if err != nil {
			return nil, fmt.Errorf("decode batch record %d of %d: %w", i, len(spans), err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// --- RegisterBrokerRecord ---------------------------------------------------

func (x *RegisterBrokerRecord) appendBody(dst []byte) []byte {
	dst = appendInt32(dst, x.BrokerID)
	dst = appendBool(dst, x.IsMigratingZkBroker) // v2+
	dst = appendUuid(dst, x.IncarnationID)
	dst = appendInt64(dst, x.BrokerEpoch)
	dst = appendUvarint(dst, uint64(len(x.EndPoints))+1)
	for _, e := range x.EndPoints {
		dst = appendCompactString(dst, e.Name)
		dst = appendCompactString(dst, e.Host)
		dst = appendUint16(dst, e.Port)
		dst = appendInt16(dst, e.SecurityProtocol)
		dst = append(dst, 0) // no tagged fields
	}
	dst = appendUvarint(dst, uint64(len(x.Features))+1)
	for _, f := range x.Features {
		dst = appendCompactString(dst, f.Name)
		dst = appendInt16(dst, f.MinSupportedVersion)
		dst = appendInt16(dst, f.MaxSupportedVersion)
		dst = append(dst, 0)
	}
	dst = appendCompactNullableString(dst, x.Rack)
	dst = appendBool(dst, x.Fenced)
	dst = appendBool(dst, x.InControlledShutdown) // v1+
	return append(dst, 0)
}

func (x *RegisterBrokerRecord) readBody(r *reader, v int16) {
	x.BrokerID = r.int32("BrokerId")
	if v >= 2 {
		x.IsMigratingZkBroker = r.bool("IsMigratingZkBroker")
	}
	x.IncarnationID = r.uuid("IncarnationId")
	x.BrokerEpoch = r.int64("BrokerEpoch")
	// Smallest endpoint: two empty strings (1+1), port 2, protocol 2, tags 1.
	if n := r.arrayLen("EndPoints", 7); n >= 0 {
		x.EndPoints = make([]Endpoint, n)
		for i := range x.EndPoints {
			e := &x.EndPoints[i]
			e.Name = r.string("EndPoints.Name")
			e.Host = r.string("EndPoints.Host")
			e.Port = r.uint16("EndPoints.Port")
			e.SecurityProtocol = r.int16("EndPoints.SecurityProtocol")
			r.taggedFields(nil)
		}
	} else if r.err == nil {
		r.fail("EndPoints: null for non-nullable array")
	}
	if n := r.arrayLen("Features", 6); n >= 0 {
		x.Features = make([]BrokerFeature, n)
		for i := range x.Features {
			f := &x.Features[i]
			f.Name = r.string("Features.Name")
			f.MinSupportedVersion = r.int16("Features.MinSupportedVersion")
			f.MaxSupportedVersion = r.int16("Features.MaxSupportedVersion")
			r.taggedFields(nil)
		}
	} else if r.err == nil {
		r.fail("Features: null for non-nullable array")
	}
	if len(x.EndPoints) == 0 {
		x.EndPoints = nil
	}
	if len(x.Features) == 0 {
		x.Features = nil
	}
	x.Rack = r.nullableStringPtr("Rack")
	x.Fenced = r.bool("Fenced")
	if v >= 1 {
		x.InControlledShutdown = r.bool("InControlledShutdown")
	}
	r.taggedFields(nil) // tag 0 (LogDirs) is v3+, so unknown at v0-2
}

// --- UnregisterBrokerRecord -------------------------------------------------

func (x *UnregisterBrokerRecord) appendBody(dst []byte) []byte {
	dst = appendInt32(dst, x.BrokerID)
	dst = appendInt64(dst, x.BrokerEpoch)
	return append(dst, 0)
}

func (x *UnregisterBrokerRecord) readBody(r *reader, _ int16) {
	x.BrokerID = r.int32("BrokerId")
	x.BrokerEpoch = r.int64("BrokerEpoch")
	r.taggedFields(nil)
}

// --- TopicRecord ------------------------------------------------------------

func (x *TopicRecord) appendBody(dst []byte) []byte {
	dst = appendCompactString(dst, x.Name)
	dst = appendUuid(dst, x.TopicID)
	return append(dst, 0)
}

func (x *TopicRecord) readBody(r *reader, _ int16) {
	x.Name = r.string("Name")
	x.TopicID = r.uuid("TopicId")
	r.taggedFields(nil)
}

// --- PartitionRecord --------------------------------------------------------

func (x *PartitionRecord) appendBody(dst []byte) []byte {
	dst = appendInt32(dst, x.PartitionID)
	dst = appendUuid(dst, x.TopicID)
	dst = appendCompactInt32s(dst, x.Replicas)
	dst = appendCompactInt32s(dst, x.ISR)
	dst = appendCompactInt32s(dst, x.RemovingReplicas)
	dst = appendCompactInt32s(dst, x.AddingReplicas)
	dst = appendInt32(dst, x.Leader)
	dst = appendInt32(dst, x.LeaderEpoch)
	dst = appendInt32(dst, x.PartitionEpoch)
	var tf taggedFields
	if x.LeaderRecoveryState != LeaderRecovered {
		tf.add(0, []byte{byte(x.LeaderRecoveryState)})
	}
	return tf.appendTo(dst)
}

func (x *PartitionRecord) readBody(r *reader, _ int16) {
	x.PartitionID = r.int32("PartitionId")
	x.TopicID = r.uuid("TopicId")
	x.Replicas = r.int32s("Replicas")
	x.ISR = r.int32s("Isr")
	x.RemovingReplicas = r.int32s("RemovingReplicas")
	x.AddingReplicas = r.int32s("AddingReplicas")
	x.Leader = r.int32("Leader")
	x.LeaderEpoch = r.int32("LeaderEpoch")
	x.PartitionEpoch = r.int32("PartitionEpoch")
	r.taggedFields(func(tag int, fr *reader) bool {
		if tag == 0 {
			x.LeaderRecoveryState = fr.int8("LeaderRecoveryState")
			return true
		}
		return false
	})
}

// --- ConfigRecord -----------------------------------------------------------

func (x *ConfigRecord) appendBody(dst []byte) []byte {
	dst = appendInt8(dst, x.ResourceType)
	dst = appendCompactString(dst, x.ResourceName)
	dst = appendCompactString(dst, x.Name)
	dst = appendCompactNullableString(dst, x.Value)
	return append(dst, 0)
}

func (x *ConfigRecord) readBody(r *reader, _ int16) {
	x.ResourceType = r.int8("ResourceType")
	x.ResourceName = r.string("ResourceName")
	x.Name = r.string("Name")
	x.Value = r.nullableStringPtr("Value")
	r.taggedFields(nil)
}

// --- PartitionChangeRecord --------------------------------------------------

func (x *PartitionChangeRecord) appendBody(dst []byte) []byte {
	dst = appendInt32(dst, x.PartitionID)
	dst = appendUuid(dst, x.TopicID)
	var tf taggedFields
	if x.ISR != nil {
		tf.add(0, appendCompactInt32s(nil, x.ISR))
	}
	if x.Leader != NoLeaderChange {
		tf.add(1, appendInt32(nil, x.Leader))
	}
	if x.Replicas != nil {
		tf.add(2, appendCompactInt32s(nil, x.Replicas))
	}
	if x.RemovingReplicas != nil {
		tf.add(3, appendCompactInt32s(nil, x.RemovingReplicas))
	}
	if x.AddingReplicas != nil {
		tf.add(4, appendCompactInt32s(nil, x.AddingReplicas))
	}
	if x.LeaderRecoveryState != NoLeaderRecoveryStateChange {
		tf.add(5, []byte{byte(x.LeaderRecoveryState)})
	}
	return tf.appendTo(dst)
}

func (x *PartitionChangeRecord) readBody(r *reader, _ int16) {
	x.PartitionID = r.int32("PartitionId")
	x.TopicID = r.uuid("TopicId")
	x.Leader = NoLeaderChange
	x.LeaderRecoveryState = NoLeaderRecoveryStateChange
	r.taggedFields(func(tag int, fr *reader) bool {
		switch tag {
		case 0:
			x.ISR = fr.nullableInt32s("Isr")
		case 1:
			x.Leader = fr.int32("Leader")
		case 2:
			x.Replicas = fr.nullableInt32s("Replicas")
		case 3:
			x.RemovingReplicas = fr.nullableInt32s("RemovingReplicas")
		case 4:
			x.AddingReplicas = fr.nullableInt32s("AddingReplicas")
		case 5:
			x.LeaderRecoveryState = fr.int8("LeaderRecoveryState")
		default:
			return false
		}
		return true
	})
}

// --- RemoveTopicRecord ------------------------------------------------------

func (x *RemoveTopicRecord) appendBody(dst []byte) []byte {
	return append(appendUuid(dst, x.TopicID), 0)
}

func (x *RemoveTopicRecord) readBody(r *reader, _ int16) {
	x.TopicID = r.uuid("TopicId")
	r.taggedFields(nil)
}

// --- FeatureLevelRecord -----------------------------------------------------

func (x *FeatureLevelRecord) appendBody(dst []byte) []byte {
	dst = appendCompactString(dst, x.Name)
	dst = appendInt16(dst, x.FeatureLevel)
	return append(dst, 0)
}

func (x *FeatureLevelRecord) readBody(r *reader, _ int16) {
	x.Name = r.string("Name")
	x.FeatureLevel = r.int16("FeatureLevel")
	r.taggedFields(nil)
}

// --- ProducerIdsRecord ------------------------------------------------------

func (x *ProducerIdsRecord) appendBody(dst []byte) []byte {
	dst = appendInt32(dst, x.BrokerID)
	dst = appendInt64(dst, x.BrokerEpoch)
	dst = appendInt64(dst, x.NextProducerID)
	return append(dst, 0)
}

func (x *ProducerIdsRecord) readBody(r *reader, _ int16) {
	x.BrokerID = r.int32("BrokerId")
	x.BrokerEpoch = r.int64("BrokerEpoch")
	x.NextProducerID = r.int64("NextProducerId")
	r.taggedFields(nil)
}

// --- BrokerRegistrationChangeRecord -----------------------------------------

func (x *BrokerRegistrationChangeRecord) appendBody(dst []byte) []byte {
	dst = appendInt32(dst, x.BrokerID)
	dst = appendInt64(dst, x.BrokerEpoch)
	var tf taggedFields
	if x.Fenced != 0 {
		tf.add(0, []byte{byte(x.Fenced)})
	}
	if x.InControlledShutdown != 0 {
		tf.add(1, []byte{byte(x.InControlledShutdown)})
	}
	return tf.appendTo(dst)
}

func (x *BrokerRegistrationChangeRecord) readBody(r *reader, v int16) {
	x.BrokerID = r.int32("BrokerId")
	x.BrokerEpoch = r.int64("BrokerEpoch")
	r.taggedFields(func(tag int, fr *reader) bool {
		switch {
		case tag == 0:
			x.Fenced = fr.int8("Fenced")
		case tag == 1 && v >= 1:
			x.InControlledShutdown = fr.int8("InControlledShutdown")
		default:
			return false
		}
		return true
	})
}

// --- ClientQuotaRecord ------------------------------------------------------

func (x *ClientQuotaRecord) appendBody(dst []byte) []byte {
	dst = appendUvarint(dst, uint64(len(x.Entity))+1)
	for _, e := range x.Entity {
		dst = appendCompactString(dst, e.EntityType)
		dst = appendCompactNullableString(dst, e.EntityName)
		dst = append(dst, 0)
	}
	dst = appendCompactString(dst, x.Key)
	dst = appendFloat64(dst, x.Value)
	dst = appendBool(dst, x.Remove)
	return append(dst, 0)
}

func (x *ClientQuotaRecord) readBody(r *reader, _ int16) {
	// Smallest element: an empty type (1), a null name (1), tags (1).
	if n := r.arrayLen("Entity", 3); n >= 0 {
		x.Entity = make([]QuotaEntityData, n)
		for i := range x.Entity {
			x.Entity[i].EntityType = r.string("Entity.EntityType")
			x.Entity[i].EntityName = r.nullableStringPtr("Entity.EntityName")
			r.taggedFields(nil)
		}
	} else if r.err == nil {
		r.fail("Entity: null for non-nullable array")
	}
	if len(x.Entity) == 0 {
		x.Entity = nil
	}
	x.Key = r.string("Key")
	x.Value = r.float64("Value")
	x.Remove = r.bool("Remove")
	r.taggedFields(nil)
}

// --- SCRAM credentials ------------------------------------------------------

func (x *UserScramCredentialRecord) appendBody(dst []byte) []byte {
	dst = appendCompactString(dst, x.Name)
	dst = appendInt8(dst, int8(x.Mechanism))
	dst = appendCompactBytes(dst, x.Salt)
	dst = appendCompactBytes(dst, x.StoredKey)
	dst = appendCompactBytes(dst, x.ServerKey)
	dst = appendInt32(dst, x.Iterations)
	return append(dst, 0)
}

func (x *UserScramCredentialRecord) readBody(r *reader, _ int16) {
	x.Name = r.string("Name")
	x.Mechanism = ScramMechanism(r.int8("Mechanism"))
	x.Salt = r.bytes("Salt")
	x.StoredKey = r.bytes("StoredKey")
	x.ServerKey = r.bytes("ServerKey")
	x.Iterations = r.int32("Iterations")
	r.taggedFields(nil)
}

func (x *RemoveUserScramCredentialRecord) appendBody(dst []byte) []byte {
	dst = appendCompactString(dst, x.Name)
	dst = appendInt8(dst, int8(x.Mechanism))
	return append(dst, 0)
}

func (x *RemoveUserScramCredentialRecord) readBody(r *reader, _ int16) {
	x.Name = r.string("Name")
	x.Mechanism = ScramMechanism(r.int8("Mechanism"))
	r.taggedFields(nil)
}

// --- ACLs -------------------------------------------------------------------

func (x *AccessControlEntryRecord) appendBody(dst []byte) []byte {
	dst = appendUuid(dst, x.ID)
	dst = appendInt8(dst, int8(x.ResourceType))
	dst = appendCompactString(dst, x.ResourceName)
	dst = appendInt8(dst, int8(x.PatternType))
	dst = appendCompactString(dst, x.Principal)
	dst = appendCompactString(dst, x.Host)
	dst = appendInt8(dst, int8(x.Operation))
	dst = appendInt8(dst, int8(x.Permission))
	return append(dst, 0)
}

func (x *AccessControlEntryRecord) readBody(r *reader, _ int16) {
	x.ID = r.uuid("Id")
	x.ResourceType = AclResourceType(r.int8("ResourceType"))
	x.ResourceName = r.string("ResourceName")
	x.PatternType = AclPatternType(r.int8("PatternType"))
	x.Principal = r.string("Principal")
	x.Host = r.string("Host")
	x.Operation = AclOperation(r.int8("Operation"))
	x.Permission = AclPermission(r.int8("PermissionType"))
	r.taggedFields(nil)
}

func (x *RemoveAccessControlEntryRecord) appendBody(dst []byte) []byte {
	return append(appendUuid(dst, x.ID), 0)
}

func (x *RemoveAccessControlEntryRecord) readBody(r *reader, _ int16) {
	x.ID = r.uuid("Id")
	r.taggedFields(nil)
}

// --- NoOp, ZkMigrationState, transactions -----------------------------------

func (x *NoOpRecord) appendBody(dst []byte) []byte { return append(dst, 0) }
func (x *NoOpRecord) readBody(r *reader, _ int16)  { r.taggedFields(nil) }

func (x *ZkMigrationStateRecord) appendBody(dst []byte) []byte {
	return append(appendInt8(dst, x.ZkMigrationState), 0)
}

func (x *ZkMigrationStateRecord) readBody(r *reader, _ int16) {
	x.ZkMigrationState = r.int8("ZkMigrationState")
	r.taggedFields(nil)
}

func (x *BeginTransactionRecord) appendBody(dst []byte) []byte {
	var tf taggedFields
	if x.Name != nil {
		tf.add(0, appendCompactNullableString(nil, x.Name))
	}
	return tf.appendTo(dst)
}

func (x *BeginTransactionRecord) readBody(r *reader, _ int16) {
	r.taggedFields(func(tag int, fr *reader) bool {
		if tag == 0 {
			x.Name = fr.nullableStringPtr("Name")
			return true
		}
		return false
	})
}

func (x *EndTransactionRecord) appendBody(dst []byte) []byte { return append(dst, 0) }
func (x *EndTransactionRecord) readBody(r *reader, _ int16)  { r.taggedFields(nil) }

func (x *AbortTransactionRecord) appendBody(dst []byte) []byte {
	var tf taggedFields
	if x.Reason != nil {
		tf.add(0, appendCompactNullableString(nil, x.Reason))
	}
	return tf.appendTo(dst)
}

func (x *AbortTransactionRecord) readBody(r *reader, _ int16) {
	r.taggedFields(func(tag int, fr *reader) bool {
		if tag == 0 {
			x.Reason = fr.nullableStringPtr("Reason")
			return true
		}
		return false
	})
}
