package metadata

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func quota(key string, v float64, parts ...QuotaEntityData) *ClientQuotaRecord {
	return &ClientQuotaRecord{Entity: parts, Key: key, Value: v}
}

func user(name string) QuotaEntityData {
	return QuotaEntityData{EntityType: QuotaEntityUser, EntityName: &name}
}
func client(name string) QuotaEntityData {
	return QuotaEntityData{EntityType: QuotaEntityClientID, EntityName: &name}
}

var defaultUser = QuotaEntityData{EntityType: QuotaEntityUser}

// TestClientQuotasGolden: Image1 + ClientQuotaRecords = Image2 (set,
// replace, remove, entity gone with its last key), parts in any order
// naming the same entity, the ImageWriter round trip, DeltaBetween.
func TestClientQuotasGolden(t *testing.T) {
	img1 := replayAll(t, image1(t),
		quota("producer_byte_rate", 1024, user("alice")),
		quota("consumer_byte_rate", 2048, user("alice")),
		quota("request_percentage", 12.5, client("app"), user("alice")),
		quota("producer_byte_rate", 100, defaultUser),
		quota("connection_creation_rate", 10, QuotaEntityData{EntityType: QuotaEntityIP, EntityName: strp("10.0.0.1")}),
	)
	if img1.ClientQuotaCount() != 4 {
		t.Fatalf("%d entities", img1.ClientQuotaCount())
	}
	img2 := replayAll(t, img1,
		quota("producer_byte_rate", 4096, user("alice")),
		&ClientQuotaRecord{Entity: []QuotaEntityData{user("alice")}, Key: "consumer_byte_rate", Remove: true},
		&ClientQuotaRecord{Entity: []QuotaEntityData{user("alice"), client("app")}, Key: "request_percentage", Remove: true},
		&ClientQuotaRecord{Entity: []QuotaEntityData{user("nobody")}, Key: "x", Remove: true}, // removing nothing is fine
	)
	if got := img2.ClientQuota(QuotaEntity{user("alice")}); !reflect.DeepEqual(got, map[string]float64{"producer_byte_rate": 4096}) {
		t.Fatalf("alice %v", got)
	}
	if got := img2.ClientQuota(QuotaEntity{client("app"), user("alice")}); len(got) != 0 || img2.ClientQuotaCount() != 3 {
		t.Fatalf("alice/app %v, %d entities", got, img2.ClientQuotaCount())
	}
	if got := img1.ClientQuota(QuotaEntity{user("alice"), client("app")}); got["request_percentage"] != 12.5 {
		t.Fatalf("image1 mutated or parts order matters: %v", got)
	}
	var names []string
	for _, q := range img2.ClientQuotas() {
		names = append(names, q.Entity.String())
	}
	if !reflect.DeepEqual(names, []string{"ip=10.0.0.1", "user=alice", "user=<default>"}) {
		t.Fatalf("entities %q", names)
	}
	for _, img := range []*Image{img1, img2} {
		if back := replayAll(t, EmptyImage(), WriteImage(img)...); !back.Equal(img) {
			t.Fatal("WriteImage round trip differs")
		}
		if full := FullDelta(img).Apply(); !full.Equal(img) {
			t.Fatal("FullDelta drops quotas")
		}
	}
	if d := DeltaBetween(img1, img2); d.Base() != img1 || !d.Apply().Equal(img2) {
		t.Fatal("DeltaBetween")
	}
	if img1.Equal(img2) || img1.SecurityShared(img2) {
		t.Fatal("Equal or SecurityShared ignores quotas")
	}
	if n, def, ok := (QuotaEntity{defaultUser}).Name(QuotaEntityUser); n != "" || !def || !ok {
		t.Fatal("Name of a default part")
	}
}

func TestClientQuotaReplayErrors(t *testing.T) {
	ip := QuotaEntityData{EntityType: QuotaEntityIP, EntityName: strp("1.2.3.4")}
	for _, r := range []*ClientQuotaRecord{
		{Key: "k", Value: 1},
		quota("k", 1, QuotaEntityData{EntityType: "group", EntityName: strp("g")}),
		quota("k", 1, user("a"), user("b")),
		quota("k", 1, ip, user("a")),
		quota("", 1, user("a")),
		quota("k", math.NaN(), user("a")),
		quota("k", math.Inf(1), user("a")),
	} {
		if err := NewDelta(EmptyImage()).Replay(r); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

// TestAlterClientQuotas: Kafka's ClientQuotaControlManager checks per
// entry (all or nothing), records for what changes, removal of an absent
// key writing nothing.
func TestAlterClientQuotas(t *testing.T) {
	alice := "alice"
	user := NewQuotaEntity(QuotaEntityData{EntityType: QuotaEntityUser, EntityName: &alice})
	ip := NewQuotaEntity(QuotaEntityData{EntityType: QuotaEntityIP})
	both := NewQuotaEntity(QuotaEntityData{EntityType: QuotaEntityIP}, QuotaEntityData{EntityType: QuotaEntityUser})
	img := EmptyImage()
	alts := []QuotaAlteration{
		{Entity: user, Ops: []QuotaOp{{Key: "producer_byte_rate", Value: 1024}, {Key: "request_percentage", Value: 2.5}}},
		{Entity: ip, Ops: []QuotaOp{{Key: "connection_creation_rate", Value: 10}}},
		{Entity: ip, Ops: []QuotaOp{{Key: "producer_byte_rate", Value: 1}}},                                          // not an ip key
		{Entity: user, Ops: []QuotaOp{{Key: "consumer_byte_rate", Value: 1.5}}},                                      // not whole
		{Entity: user, Ops: []QuotaOp{{Key: "consumer_byte_rate", Value: -1}}},                                       // not positive
		{Entity: user, Ops: []QuotaOp{{Key: "consumer_byte_rate", Value: 1}, {Key: "consumer_byte_rate", Value: 2}}}, // twice
		{Entity: both, Ops: []QuotaOp{{Key: "connection_creation_rate", Value: 1}}},                                  // ip combined
		{Entity: user, Ops: []QuotaOp{{Key: "controller_mutation_rate", Remove: true}}},                              // absent: no record
	}
	recs, errs := AlterClientQuotas(img, alts)
	for i, want := range []bool{true, true, false, false, false, false, false, true} {
		if (errs[i] == nil) != want || (errs[i] != nil && !errors.Is(errs[i], ErrInvalidRequest)) {
			t.Errorf("entry %d: %v, want ok=%v", i, errs[i], want)
		}
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3: %v", len(recs), recs)
	}
	d := NewDelta(img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	next := d.Apply()
	if !QuotasAltered(next, alts, errs) || QuotasAltered(img, alts, errs) {
		t.Fatal("QuotasAltered")
	}
	recs, errs = AlterClientQuotas(next, []QuotaAlteration{{Entity: user, Ops: []QuotaOp{{Key: "request_percentage", Remove: true}}}})
	if errs[0] != nil || len(recs) != 1 || !recs[0].(*ClientQuotaRecord).Remove {
		t.Fatalf("remove: %v %v", recs, errs)
	}
}
