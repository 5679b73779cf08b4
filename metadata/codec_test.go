package metadata

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func strp(s string) *string { return &s }

// testID returns a Uuid with bytes b, b+1, ..., b+15.
func testID(b byte) Uuid {
	var u Uuid
	for i := range u {
		u[i] = b + byte(i)
	}
	return u
}

// allRecords has one (or more) populated record of every type.
func allRecords() []Record {
	return []Record{
		&RegisterBrokerRecord{BrokerID: 1, IsMigratingZkBroker: true, IncarnationID: testID(1), BrokerEpoch: 42,
			EndPoints: []Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, SecurityProtocol: 0},
				{Name: "SSL", Host: "h", Port: 65535, SecurityProtocol: 1}},
			Features: []BrokerFeature{{Name: "metadata.version", MinSupportedVersion: 1, MaxSupportedVersion: 21}},
			Rack:     strp("r1"), Fenced: true, InControlledShutdown: true},
		&RegisterBrokerRecord{BrokerID: 2, Fenced: false},
		&UnregisterBrokerRecord{BrokerID: 3, BrokerEpoch: -1},
		&TopicRecord{Name: "foo", TopicID: testID(2)},
		&PartitionRecord{PartitionID: 7, TopicID: testID(2), Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2},
			RemovingReplicas: []int32{3}, AddingReplicas: []int32{4}, Leader: 1, LeaderRecoveryState: LeaderRecovering,
			LeaderEpoch: 5, PartitionEpoch: 9},
		&PartitionRecord{PartitionID: 0, TopicID: testID(2), Replicas: []int32{1}, ISR: []int32{1}, Leader: -1},
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "foo", Name: "retention.ms", Value: strp("1000")},
		&ConfigRecord{ResourceType: BrokerResource, ResourceName: "", Name: "x", Value: nil},
		&PartitionChangeRecord{PartitionID: 3, TopicID: testID(2), ISR: []int32{1}, Leader: 2, Replicas: []int32{1, 2},
			RemovingReplicas: []int32{}, AddingReplicas: []int32{5}, LeaderRecoveryState: LeaderRecovered},
		NewPartitionChangeRecord(testID(2), 4),
		&RemoveTopicRecord{TopicID: testID(2)},
		&FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 21},
		&ProducerIdsRecord{BrokerID: 1, BrokerEpoch: 2, NextProducerID: 3000},
		&BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 7, Fenced: FenceUnfence, InControlledShutdown: 1},
		&BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 7},
		&NoOpRecord{},
		&ZkMigrationStateRecord{ZkMigrationState: ZkMigrationMigration},
		&BeginTransactionRecord{Name: strp("ZK Migration")},
		&BeginTransactionRecord{},
		&EndTransactionRecord{},
		&AbortTransactionRecord{Reason: strp("Controller failover")},
		&AbortTransactionRecord{},
		&UserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA256, Salt: []byte{1, 2, 3},
			StoredKey: []byte{4, 5}, ServerKey: []byte{6}, Iterations: 4096},
		&UserScramCredentialRecord{Name: "bob", Mechanism: ScramSHA512, Salt: []byte{}, StoredKey: []byte{},
			ServerKey: []byte{}, Iterations: 8192},
		&RemoveUserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA512},
		&AccessControlEntryRecord{ID: testID(9), ResourceType: AclResourceTopic, ResourceName: "foo",
			PatternType: AclPatternPrefixed, Principal: "User:alice", Host: "*", Operation: AclOpRead,
			Permission: AclPermissionAllow},
		&RemoveAccessControlEntryRecord{ID: testID(9)},
		&ClientQuotaRecord{Entity: []QuotaEntityData{{EntityType: "user", EntityName: strp("alice")}, {EntityType: "client-id"}},
			Key: "producer_byte_rate", Value: 1048576},
		&ClientQuotaRecord{Entity: []QuotaEntityData{{EntityType: "ip", EntityName: strp("10.0.0.1")}}, Key: "connection_creation_rate", Remove: true},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	seen := map[RecordType]bool{}
	for _, rec := range allRecords() {
		seen[rec.Type()] = true
		t.Run(rec.Type().String(), func(t *testing.T) {
			b := AppendRecord(nil, rec)
			got, err := DecodeRecord(b)
			if err != nil {
				t.Fatalf("decode %x: %v", b, err)
			}
			if !reflect.DeepEqual(got, rec) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, rec)
			}
			if got.Version() != recordTypes[rec.Type()].version {
				t.Fatalf("version %d", got.Version())
			}
		})
	}
	for typ := range recordTypes {
		if !seen[typ] {
			t.Errorf("record type %s has no round-trip case", typ)
		}
	}
}

func TestRecordBytes(t *testing.T) {
	id := testID(0) // 00 01 02 ... 0f
	idHex := "000102030405060708090a0b0c0d0e0f"
	tests := []struct {
		name string
		rec  Record
		want string // hex
	}{
		{"TopicRecord", &TopicRecord{Name: "foo", TopicID: id},
			// frame 1, key 2, version 0 | len+1=4 "foo" | uuid | no tags
			"010200" + "04666f6f" + idHex + "00"},
		{"PartitionRecord", &PartitionRecord{PartitionID: 1, TopicID: id, Replicas: []int32{1, 2}, ISR: []int32{1},
			Leader: 1, LeaderEpoch: 2, PartitionEpoch: 3},
			"010300" + "00000001" + idHex +
				"03" + "00000001" + "00000002" + // replicas
				"02" + "00000001" + // isr
				"01" + "01" + // removing, adding: empty
				"00000001" + "00000002" + "00000003" + // leader, leader epoch, partition epoch
				"00"}, // LeaderRecoveryState 0 is the default: not written
		{"PartitionRecord recovering", &PartitionRecord{PartitionID: 0, TopicID: id, Leader: -1,
			LeaderRecoveryState: LeaderRecovering},
			"010300" + "00000000" + idHex + "01010101" + "ffffffff" + "00000000" + "00000000" +
				"01" + "00" + "01" + "01"}, // one tag: tag 0, size 1, value 1
		{"PartitionChangeRecord leader only", &PartitionChangeRecord{PartitionID: 2, TopicID: id, Leader: 3,
			LeaderRecoveryState: NoLeaderRecoveryStateChange},
			"010500" + "00000002" + idHex + "01" + "01" + "04" + "00000003"},
		// UserScramCredentialRecord.json v0: Name string, Mechanism int8,
		// Salt/StoredKey/ServerKey compact bytes, Iterations int32.
		{"UserScramCredentialRecord", &UserScramCredentialRecord{Name: "al", Mechanism: ScramSHA512,
			Salt: []byte{0xaa}, StoredKey: []byte{0xbb, 0xcc}, ServerKey: []byte{}, Iterations: 4096},
			"010b00" + "03616c" + "02" + "02aa" + "03bbcc" + "01" + "00001000" + "00"},
		{"RemoveUserScramCredentialRecord", &RemoveUserScramCredentialRecord{Name: "al", Mechanism: ScramSHA256},
			"011600" + "03616c" + "01" + "00"},
		// AccessControlEntryRecord.json v0: Id uuid, ResourceType int8,
		// ResourceName, PatternType int8, Principal, Host, Operation int8,
		// PermissionType int8.
		{"AccessControlEntryRecord", &AccessControlEntryRecord{ID: id, ResourceType: AclResourceGroup,
			ResourceName: "g", PatternType: AclPatternLiteral, Principal: "User:a", Host: "*",
			Operation: AclOpRead, Permission: AclPermissionDeny},
			"011200" + idHex + "03" + "0267" + "03" + "07557365723a61" + "022a" + "03" + "02" + "00"},
		{"RemoveAccessControlEntryRecord", &RemoveAccessControlEntryRecord{ID: id}, "011300" + idHex + "00"},
		// ClientQuotaRecord.json v0: Entity []{EntityType, EntityName nullable},
		// Key, Value float64, Remove bool.
		{"ClientQuotaRecord", &ClientQuotaRecord{Entity: []QuotaEntityData{{EntityType: "user", EntityName: strp("a")}, {EntityType: "ip"}},
			Key: "k", Value: 1.5},
			"010e00" + "03" + "0575736572" + "0261" + "00" + "036970" + "00" + "00" + "026b" + "3ff8000000000000" + "00" + "00"},
		{"BrokerRegistrationChangeRecord fence", &BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 2, Fenced: FenceFence},
			"011101" + "00000001" + "0000000000000002" + "01" + "00" + "01" + "01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(AppendRecord(nil, tt.rec))
			if got != tt.want {
				t.Fatalf("bytes\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	topic := AppendRecord(nil, &TopicRecord{Name: "foo", TopicID: testID(0)})
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrCorruptRecord},
		{"frame version 0", []byte{0, 2, 0}, ErrUnsupportedFrame},
		{"frame version 2", []byte{2, 2, 0}, ErrUnsupportedFrame},
		{"unknown api key 6", []byte{1, 6, 0, 0}, ErrUnknownRecordType},
		{"unknown api key 99", []byte{1, 99, 0, 0}, ErrUnknownRecordType},
		{"huge api key", []byte{1, 0xff, 0xff, 0x03, 0}, ErrUnknownRecordType},
		{"topic v1", []byte{1, 2, 1, 0}, ErrUnsupportedVersion},
		{"register broker v3", []byte{1, 0, 3}, ErrUnsupportedVersion},
		{"truncated", topic[:len(topic)-3], ErrCorruptRecord},
		{"trailing byte", append(append([]byte{}, topic...), 0), ErrCorruptRecord},
		{"null name", append([]byte{1, 2, 0, 0}, topic[7:]...), ErrCorruptRecord},
		{"bad bool", append(append([]byte{1, 0, 2, 0, 0, 0, 1}, 2), make([]byte, 40)...), ErrCorruptRecord},
		{"array larger than input", []byte{1, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}, ErrCorruptRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := DecodeRecord(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeRecord(%x) = %v, %v; want %v", tt.in, rec, err, tt.want)
			}
		})
	}
}

func TestDecodeSkipsUnknownTaggedFields(t *testing.T) {
	// TopicRecord with an unknown tag 7 carrying 3 bytes.
	b := AppendRecord(nil, &TopicRecord{Name: "foo", TopicID: testID(0)})
	b = append(b[:len(b)-1], 1, 7, 3, 0xaa, 0xbb, 0xcc)
	got, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.(*TopicRecord).Name != "foo" {
		t.Fatalf("got %+v", got)
	}
	// PartitionChangeRecord: known tag 1 plus unknown tag 9.
	b = AppendRecord(nil, &PartitionChangeRecord{TopicID: testID(0), Leader: 4, LeaderRecoveryState: -1})
	b = append(b[:len(b)-7], 2, 1, 4, 0, 0, 0, 4, 9, 1, 0xee)
	got, err = DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if pc := got.(*PartitionChangeRecord); pc.Leader != 4 || pc.ISR != nil {
		t.Fatalf("got %+v", pc)
	}
	// A known tag whose value is shorter than its type is an error.
	b = AppendRecord(nil, &PartitionChangeRecord{TopicID: testID(0), Leader: NoLeaderChange, LeaderRecoveryState: -1})
	b = append(b[:len(b)-1], 1, 1, 2, 0, 0)
	if _, err := DecodeRecord(b); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("short tagged leader: %v", err)
	}
}

func TestDecodePartitionRecordNullArrays(t *testing.T) {
	// Kafka's first PartitionRecord schema had nullable Removing/AddingReplicas.
	b := AppendRecord(nil, &PartitionRecord{TopicID: testID(0), Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	i := 3 + 4 + 16 + 5 + 5 // header, partition id, topic id, replicas, isr
	if b[i] != 1 || b[i+1] != 1 {
		t.Fatalf("layout changed: %x", b)
	}
	b[i], b[i+1] = 0, 0
	got, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.(*PartitionRecord); p.RemovingReplicas != nil || p.AddingReplicas != nil || p.Leader != 1 {
		t.Fatalf("got %+v", p)
	}
}

func TestDecodeOlderVersions(t *testing.T) {
	// RegisterBrokerRecord v0: no IsMigratingZkBroker, no InControlledShutdown.
	v2 := &RegisterBrokerRecord{BrokerID: 5, IncarnationID: testID(3), BrokerEpoch: 9, Fenced: true}
	body := AppendRecord(nil, v2)[3:]
	// v2 body = id(4) migrating(1) ... fenced(1) inControlledShutdown(1) tags(1)
	v0 := append([]byte{1, 0, 0}, body[:4]...)
	v0 = append(v0, body[5:len(body)-2]...)
	v0 = append(v0, 0)
	got, err := DecodeRecord(v0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v2) {
		t.Fatalf("got %#v", got)
	}
}

func TestBatchRoundTrip(t *testing.T) {
	recs := allRecords()
	b := AppendBatch(nil, recs)
	v0 := appendBatchV0(nil, recs)
	got, err := DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("batch round trip mismatch")
	}
	empty, err := DecodeBatch(AppendBatch(nil, nil))
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty batch: %v %v", empty, err)
	}
	for _, tt := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrCorruptRecord},
		{"version 2", []byte{2, 0}, ErrUnsupportedBatch},
		{"version 1 shorter than its crc", []byte{1, 0, 0, 0}, ErrCorruptRecord},
		{"count too large", []byte{0, 5, 0}, ErrCorruptRecord},
		{"truncated", b[:len(b)-1], ErrChecksum},
		{"trailing", append(append([]byte{}, b...), 0), ErrChecksum},
		{"truncated v0", v0[:len(v0)-1], ErrCorruptRecord},
		{"trailing v0", append(append([]byte{}, v0...), 0), ErrCorruptRecord},
		{"bad record", []byte{0, 1, 3, 1, 99, 0}, ErrUnknownRecordType},
		{"bad checksum", append([]byte{b[0], b[1] ^ 1}, b[2:]...), ErrChecksum},
	} {
		if _, err := DecodeBatch(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: DecodeBatch = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestBatchChecksum: every single-byte change of a version 1 entry is an
// error (before checksums, a changed byte inside a topic id or leader
// decoded as a different, valid record), and version 0 entries written
// before checksums still decode to the same records.
func TestBatchChecksum(t *testing.T) {
	recs := allRecords()
	b := AppendBatch(nil, recs)
	if c, err := CheckBatch(b); err != nil || !c.HasChecksum() || !c.Valid() {
		t.Fatalf("CheckBatch of a fresh entry: %v, %v", c, err)
	}
	for i := range b {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			bad := append([]byte{}, b...)
			bad[i] ^= flip
			if got, err := DecodeBatch(bad); err == nil {
				t.Fatalf("byte %d ^ %#x: decoded %d records without an error", i, flip, len(got))
			}
		}
	}
	old := appendBatchV0(nil, recs)
	if old[0] != 0 || len(old) != len(b)-4 {
		t.Fatalf("version 0 framing: version %d, %d bytes (v1 %d)", old[0], len(old), len(b))
	}
	got, err := DecodeBatch(old)
	if err != nil || !reflect.DeepEqual(got, recs) {
		t.Fatalf("version 0 entry: %v", err)
	}
	if c, err := CheckBatch(old); err != nil || c.HasChecksum() || c.String() != "none" {
		t.Fatalf("CheckBatch of a version 0 entry: %v, %v", c, err)
	}
	bad := append([]byte{}, b...)
	bad[len(bad)-2] ^= 1
	c, err := CheckBatch(bad)
	if !errors.Is(err, ErrChecksum) || c.Valid() || !strings.Contains(c.String(), "BAD") {
		t.Fatalf("CheckBatch of a damaged entry: %v, %v", c, err)
	}
}

func TestRecordJSON(t *testing.T) {
	id := MustParseUuidForTest(t, "5zoAlv-xEh9xRANKXt1Lbg")
	tests := []struct {
		rec  Record
		want string
	}{
		{&FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 21},
			`{"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":21}}`},
		{&TopicRecord{Name: "foo", TopicID: id},
			`{"type":"TOPIC_RECORD","version":0,"data":{"name":"foo","topicId":"5zoAlv-xEh9xRANKXt1Lbg"}}`},
		{&PartitionRecord{PartitionID: 0, TopicID: id, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
			`{"type":"PARTITION_RECORD","version":0,"data":{"partitionId":0,"topicId":"5zoAlv-xEh9xRANKXt1Lbg","replicas":[1],"isr":[1],"removingReplicas":[],"addingReplicas":[],"leader":1,"leaderEpoch":0,"partitionEpoch":0}}`},
		{&PartitionChangeRecord{PartitionID: 0, TopicID: id, ISR: []int32{1, 2}, Leader: NoLeaderChange, LeaderRecoveryState: -1},
			`{"type":"PARTITION_CHANGE_RECORD","version":0,"data":{"partitionId":0,"topicId":"5zoAlv-xEh9xRANKXt1Lbg","isr":[1,2]}}`},
		{&ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "cleanup.policy", Value: nil},
			`{"type":"CONFIG_RECORD","version":0,"data":{"resourceType":2,"resourceName":"foo","name":"cleanup.policy","value":null}}`},
		{&BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 5, Fenced: -1},
			`{"type":"BROKER_REGISTRATION_CHANGE_RECORD","version":1,"data":{"brokerId":1,"brokerEpoch":5,"fenced":-1}}`},
		{&NoOpRecord{}, `{"type":"NO_OP_RECORD","version":0,"data":{}}`},
		{&UserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA256, Salt: []byte("salt"), StoredKey: []byte{1},
			ServerKey: []byte{2}, Iterations: 4096},
			`{"type":"USER_SCRAM_CREDENTIAL_RECORD","version":0,"data":{"name":"alice","mechanism":1,"salt":"c2FsdA==","storedKey":"AQ==","serverKey":"Ag==","iterations":4096}}`},
		{&AccessControlEntryRecord{ID: id, ResourceType: AclResourceTopic, ResourceName: "foo", PatternType: AclPatternLiteral,
			Principal: "User:alice", Host: "*", Operation: AclOpWrite, Permission: AclPermissionAllow},
			`{"type":"ACCESS_CONTROL_ENTRY_RECORD","version":0,"data":{"id":"5zoAlv-xEh9xRANKXt1Lbg","resourceType":2,"resourceName":"foo","patternType":3,"principal":"User:alice","host":"*","operation":4,"permissionType":3}}`},
		{&ClientQuotaRecord{Entity: []QuotaEntityData{{EntityType: "user", EntityName: strp("alice")}, {EntityType: "client-id"}},
			Key: "producer_byte_rate", Value: 1024},
			`{"type":"CLIENT_QUOTA_RECORD","version":0,"data":{"entity":[{"entityType":"user","entityName":"alice"},{"entityType":"client-id","entityName":null}],"key":"producer_byte_rate","value":1024.0,"remove":false}}`},
		{&ClientQuotaRecord{Entity: []QuotaEntityData{{EntityType: "ip"}}, Key: "request_percentage", Value: 12.5, Remove: true},
			`{"type":"CLIENT_QUOTA_RECORD","version":0,"data":{"entity":[{"entityType":"ip","entityName":null}],"key":"request_percentage","value":12.5,"remove":true}}`},
	}
	for _, tt := range tests {
		got, err := RecordJSON(tt.rec)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("RecordJSON(%s)\n got %s\nwant %s", tt.rec.Type(), got, tt.want)
		}
	}
	for _, rec := range allRecords() {
		b, err := RecordJSON(rec)
		if err != nil || !bytes.HasPrefix(b, []byte(`{"type":"`+rec.Type().KafkaName())) {
			t.Errorf("RecordJSON(%s) = %s, %v", rec.Type(), b, err)
		}
	}
}

func MustParseUuidForTest(t *testing.T, s string) Uuid {
	t.Helper()
	u, err := ParseUuid(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUuid(t *testing.T) {
	if s := MetadataTopicID.String(); s != "AAAAAAAAAAAAAAAAAAAAAQ" {
		t.Fatalf("METADATA_TOPIC_ID = %s", s)
	}
	for i := 0; i < 200; i++ {
		u := RandomUuid()
		if u == ZeroUuid || u == MetadataTopicID || strings.HasPrefix(u.String(), "-") {
			t.Fatalf("bad random uuid %s", u)
		}
		back, err := ParseUuid(u.String())
		if err != nil || back != u {
			t.Fatalf("parse %s: %v %v", u, back, err)
		}
	}
	for _, bad := range []string{"", "short", "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA!Q", "AAAAAAAAAAAAAAAAAAAAAQQ"} {
		if _, err := ParseUuid(bad); !errors.Is(err, ErrInvalidUuid) {
			t.Errorf("ParseUuid(%q) = %v", bad, err)
		}
	}
}

func TestRecordTypeNames(t *testing.T) {
	if TopicRecordType.String() != "TopicRecord" || TopicRecordType.KafkaName() != "TOPIC_RECORD" {
		t.Fatal(TopicRecordType.String(), TopicRecordType.KafkaName())
	}
	if ZkMigrationStateRecordType.KafkaName() != "ZK_MIGRATION_STATE_RECORD" {
		t.Fatal(ZkMigrationStateRecordType.KafkaName())
	}
	if RecordType(6).String() != "RecordType(6)" {
		t.Fatal(RecordType(6).String())
	}
}
