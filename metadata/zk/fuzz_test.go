package zk

import "testing"

// FuzzDecoders feeds arbitrary bytes to every znode decoder: none may panic,
// and whatever decodes must encode and decode again to the same value.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{
		`{"version":"1","id":"fMCL8kv1SWm87L_Md-I2hg"}`,
		`{"version":2,"brokerid":1,"timestamp":"1700000000000","kraftControllerEpoch":-1}`,
		`{"version":5,"host":"b1","port":9092,"jmx_port":-1,"timestamp":"1","endpoints":["PLAINTEXT://b1:9092"],"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"features":{}}`,
		`{"version":3,"partitions":{"0":[1,2,3]},"adding_replicas":{},"removing_replicas":{},"topic_id":"5zoAlv-xEh9xRANKXt1Lbg"}`,
		`{"version":1,"leader":1,"leader_epoch":4,"controller_epoch":7,"isr":[1,2,3]}`,
		`{"version":1,"config":{"a":"b"}}`, `{"version":2,"entity_path":"topics/foo"}`,
		`{"version":1,"broker":0,"block_start":"0","block_end":"999"}`, `7`, `{"version":0}`,
		`{"version":1,"partitions":[{"topic":"foo","partition":0}]}`,
		`{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`,
		`{"version":1,"resourceType":"TOPIC","name":"orders-","patternType":"PREFIXED"}`, `TOPIC:foo`,
		`salt=AQ==,stored_key=Ag==,server_key=Aw==,iterations=4096`, `a%20b`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeClusterID(data)
		_, _ = DecodeControllerEpoch(data)
		_, _ = DecodeConfigChange(data)
		_, _ = DecodeFeature(data)
		_, _ = DecodeMigration(data)
		_, _ = DecodePartitionList(data)
		_, _ = DecodeLogDirEvent(data)
		_, _ = DecodeEntityConfig(data)
		_, _ = DecodeAclChange(false, data)
		_, _ = DecodeAclChange(true, data)
		if u, err := DesanitizeEntity(string(data)); err == nil {
			if back, err := DesanitizeEntity(SanitizeEntity(u)); err != nil || back != u {
				t.Fatalf("sanitize round trip %q: %q %v", u, back, err)
			}
		}
		if c, err := DecodeScramCredential(string(data)); err == nil {
			if c2, err := DecodeScramCredential(EncodeScramCredential(c)); err != nil || !c2.Equal(c) {
				t.Fatalf("scram round trip: %+v -> %+v %v", c, c2, err)
			}
		}
		if es, err := DecodeAcls(data); err == nil {
			es2, err := DecodeAcls(EncodeAcls(es))
			if err != nil || len(es2) != len(es) {
				t.Fatalf("acls round trip: %+v -> %+v %v", es, es2, err)
			}
			for i := range es {
				if es[i] != es2[i] {
					t.Fatalf("acls round trip: %+v -> %+v", es, es2)
				}
			}
		}
		if c, err := DecodeController(data); err == nil {
			if c2, err := DecodeController(EncodeController(c)); err != nil || c2 != c {
				t.Fatalf("controller round trip: %+v -> %+v %v", c, c2, err)
			}
		}
		if b, err := DecodeBroker(data); err == nil {
			if enc, err := EncodeBroker(b); err == nil {
				if _, err := DecodeBroker(enc); err != nil {
					t.Fatalf("broker re-decode: %s: %v", enc, err)
				}
			}
		}
		if tp, err := DecodeTopic(data); err == nil {
			if _, err := DecodeTopic(EncodeTopic(tp)); err != nil {
				t.Fatalf("topic re-decode: %v", err)
			}
		}
		if st, err := DecodePartitionState(data); err == nil {
			if _, err := DecodePartitionState(EncodePartitionState(st)); err != nil {
				t.Fatalf("state re-decode: %v", err)
			}
		}
		if blk, err := DecodeProducerIDBlock(data); err == nil {
			if b2, err := DecodeProducerIDBlock(EncodeProducerIDBlock(blk)); err != nil || b2 != blk {
				t.Fatalf("pid block round trip: %v", err)
			}
		}
	})
}
