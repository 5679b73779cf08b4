package zk

import (
	"errors"
	"reflect"
	"testing"

	gozk "github.com/go-zookeeper/zk"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

func qp(typ string, name *string) metadata.QuotaEntityData {
	return metadata.QuotaEntityData{EntityType: typ, EntityName: name}
}

func sp(s string) *string { return &s }

// TestQuotaEntityPaths: Kafka's ZooKeeper entity paths for every quota
// entity (sanitized names, <default>), and back.
func TestQuotaEntityPaths(t *testing.T) {
	for _, c := range []struct {
		e    metadata.QuotaEntity
		path string
	}{
		{metadata.NewQuotaEntity(qp("user", sp("alice"))), "users/alice"},
		{metadata.NewQuotaEntity(qp("user", nil)), "users/<default>"},
		{metadata.NewQuotaEntity(qp("user", sp("CN=a b"))), "users/CN%3Da%20b"},
		{metadata.NewQuotaEntity(qp("client-id", sp("app"))), "clients/app"},
		{metadata.NewQuotaEntity(qp("client-id", nil)), "clients/<default>"},
		{metadata.NewQuotaEntity(qp("user", sp("alice")), qp("client-id", sp("app"))), "users/alice/clients/app"},
		{metadata.NewQuotaEntity(qp("client-id", nil), qp("user", nil)), "users/<default>/clients/<default>"},
		{metadata.NewQuotaEntity(qp("ip", sp("10.0.0.1"))), "ips/10.0.0.1"},
		{metadata.NewQuotaEntity(qp("ip", nil)), "ips/<default>"},
	} {
		p, ok := QuotaEntityPath(c.e)
		if !ok || p != c.path {
			t.Errorf("QuotaEntityPath(%s) = %q %v, want %q", c.e, p, ok, c.path)
		}
		back, err := ParseQuotaEntityPath(c.path)
		if err != nil || back.String() != c.e.String() {
			t.Errorf("ParseQuotaEntityPath(%q) = %s, %v", c.path, back, err)
		}
	}
	for _, bad := range []string{"topics/x", "users", "users/a/clients", "users/a/x/b", "ips/a/b", "users/%zz"} {
		if _, err := ParseQuotaEntityPath(bad); !errors.Is(err, ErrCorruptZNode) {
			t.Errorf("ParseQuotaEntityPath(%q) = %v", bad, err)
		}
	}
	if _, ok := QuotaEntityPath(metadata.NewQuotaEntity(qp("ip", nil), qp("user", nil))); ok {
		t.Fatal("ip+user has a path")
	}
	q, bad := QuotaConfig(map[string]string{"SCRAM-SHA-256": kafkaScramValue, "producer_byte_rate": "1048576",
		"request_percentage": "12.5", "consumer_byte_rate": "lots"})
	if !reflect.DeepEqual(q, map[string]float64{"producer_byte_rate": 1048576, "request_percentage": 12.5}) ||
		!reflect.DeepEqual(bad, []string{"consumer_byte_rate"}) {
		t.Fatalf("QuotaConfig = %v, %v", q, bad)
	}
	if EncodeQuotaValue(1048576) != "1048576" || EncodeQuotaValue(12.5) != "12.5" {
		t.Fatal("EncodeQuotaValue")
	}
}

// TestQuotasRealZooKeeper: quotas of every entity kind, written as
// kafka-configs.sh writes them (sharing /config/users/alice with SCRAM
// credentials), load into ClientQuotaRecords; SecurityOps writes an image's
// quotas and credentials back into the same znodes, and an emptied user
// keeps its znode and its clients children.
func TestQuotasRealZooKeeper(t *testing.T) {
	s := zktest.Start(t)
	raw := rawConn(t, s)
	mk := func(p string, data []byte) {
		t.Helper()
		if _, err := raw.Create(p, data, 0, gozk.WorldACL(gozk.PermAll)); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	mk("/kafka", nil)
	for _, p := range PersistentPaths {
		mk("/kafka"+p, nil)
	}
	mk("/kafka/config/users/alice", []byte(`{"version":1,"config":{"SCRAM-SHA-256":"`+kafkaScramValue+`","producer_byte_rate":"1024"}}`))
	mk("/kafka/config/users/alice/clients", nil)
	mk("/kafka/config/users/alice/clients/app", []byte(`{"version":1,"config":{"request_percentage":"12.5"}}`))
	mk("/kafka/config/users/<default>", []byte(`{"version":1,"config":{"consumer_byte_rate":"2048"}}`))
	mk("/kafka/config/clients/app", []byte(`{"version":1,"config":{"producer_byte_rate":"4096"}}`))
	mk("/kafka/config/ips/10.0.0.1", []byte(`{"version":1,"config":{"connection_creation_rate":"10"}}`))
	tree, err := LoadTree(raw, "/kafka", 4)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tree.Image()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]float64{}
	for _, q := range img.ClientQuotas() {
		got[q.Entity.String()] = q.Quotas
	}
	want := map[string]map[string]float64{
		"user=alice":               {"producer_byte_rate": 1024},
		"client-id=app,user=alice": {"request_percentage": 12.5},
		"user=<default>":           {"consumer_byte_rate": 2048},
		"client-id=app":            {"producer_byte_rate": 4096},
		"ip=10.0.0.1":              {"connection_creation_rate": 10},
	}
	if !reflect.DeepEqual(got, want) || img.ScramCount() != 1 {
		t.Fatalf("quotas %v (%d credentials)", got, img.ScramCount())
	}
	// Export the image into an empty chroot and read it back.
	mk("/other", nil)
	for _, p := range PersistentPaths {
		mk("/other"+p, nil)
	}
	apply := func(ops []Op) {
		t.Helper()
		for _, op := range ops {
			p := "/other" + op.Path
			var err error
			switch op.Kind {
			case OpCreate:
				var flags int32
				if op.Sequential {
					flags = gozk.FlagSequence
				}
				if _, err = raw.Create(p, op.Data, flags, gozk.WorldACL(gozk.PermAll)); errors.Is(err, gozk.ErrNodeExists) && op.Tolerant {
					err = nil
					if op.Data != nil {
						_, err = raw.Set(p, op.Data, -1)
					}
				}
			case OpDelete:
				if err = raw.Delete(p, op.Version); errors.Is(err, gozk.ErrNoNode) && op.Tolerant {
					err = nil
				}
			}
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
		}
	}
	apply(SecurityOps(metadata.EmptyImage(), img))
	data, _, err := raw.Get("/other/config/users/alice")
	if err != nil || string(data) != `{"version":1,"config":{"SCRAM-SHA-256":"`+kafkaScramValue+`","producer_byte_rate":"1024"}}` {
		t.Fatalf("/config/users/alice = %s, %v", data, err)
	}
	tree2, err := LoadTree(raw, "/other", 4)
	if err != nil {
		t.Fatal(err)
	}
	img2, err := tree2.Image()
	if err != nil || !img2.Equal(img) {
		t.Fatalf("exported tree reads back differently: %v", err)
	}
	// Removing alice's quota and credential keeps her znode (and clients).
	d := metadata.NewDelta(img)
	for _, r := range []metadata.Record{
		&metadata.ClientQuotaRecord{Entity: []metadata.QuotaEntityData{qp("user", sp("alice"))}, Key: "producer_byte_rate", Remove: true},
		&metadata.RemoveUserScramCredentialRecord{Name: "alice", Mechanism: metadata.ScramSHA256},
	} {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	apply(SecurityOps(img, d.Apply()))
	if data, _, err := raw.Get("/other/config/users/alice"); err != nil || string(data) != `{"version":1,"config":{}}` {
		t.Fatalf("emptied alice = %s, %v", data, err)
	}
	if _, _, err := raw.Get("/other/config/users/alice/clients/app"); err != nil {
		t.Fatalf("alice's client quota znode: %v", err)
	}
}
