package metadata

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// This file holds client quotas in the image (ClientQuotaRecord, KIP-546):
// per quota entity (a user, a client id, a user and client id, or an IP;
// each part named or the default), its quota keys and values.

// Quota entity types.
const (
	QuotaEntityUser     = "user"
	QuotaEntityClientID = "client-id"
	QuotaEntityIP       = "ip"
)

// QuotaEntity is a canonical quota entity: its parts sorted by type.
type QuotaEntity []QuotaEntityData

// NewQuotaEntity returns parts sorted by type (client-id, ip, user), names
// cloned.
func NewQuotaEntity(parts ...QuotaEntityData) QuotaEntity {
	e := make(QuotaEntity, len(parts))
	for i, p := range parts {
		e[i] = QuotaEntityData{EntityType: p.EntityType}
		if p.EntityName != nil {
			n := *p.EntityName
			e[i].EntityName = &n
		}
	}
	slices.SortFunc(e, func(a, b QuotaEntityData) int { return strings.Compare(a.EntityType, b.EntityType) })
	return e
}

// Name returns the name of the entity's part of type typ: present, and
// name "" with isDefault for the default entity.
func (e QuotaEntity) Name(typ string) (name string, isDefault, present bool) {
	for _, p := range e {
		if p.EntityType == typ {
			if p.EntityName == nil {
				return "", true, true
			}
			return *p.EntityName, false, true
		}
	}
	return "", false, false
}

// String is "client-id=app,user=<default>" (parts by type; <default> for
// a default part).
func (e QuotaEntity) String() string {
	parts := make([]string, len(e))
	for i, p := range e {
		name := "<default>"
		if p.EntityName != nil {
			name = *p.EntityName
		}
		parts[i] = p.EntityType + "=" + name
	}
	return strings.Join(parts, ",")
}

// key orders entities in the image: per part, type NUL then 1 name or 2
// (default) NUL.
func (e QuotaEntity) key() string {
	var b strings.Builder
	for _, p := range e {
		b.WriteString(p.EntityType)
		b.WriteByte(0)
		if p.EntityName == nil {
			b.WriteByte(2)
		} else {
			b.WriteByte(1)
			b.WriteString(*p.EntityName)
		}
		b.WriteByte(0)
	}
	return b.String()
}

// validate is what Kafka's ClientQuotaControlManager accepts: one to two
// parts of known types without repeats, an IP never combined with another
// type.
func (e QuotaEntity) validate() string {
	if len(e) == 0 {
		return "empty entity"
	}
	seen := map[string]bool{}
	for _, p := range e {
		switch p.EntityType {
		case QuotaEntityUser, QuotaEntityClientID, QuotaEntityIP:
		default:
			return "entity type " + p.EntityType
		}
		if seen[p.EntityType] {
			return "entity type " + p.EntityType + " twice"
		}
		seen[p.EntityType] = true
	}
	if seen[QuotaEntityIP] && len(e) > 1 {
		return "an ip entity combined with " + e.String()
	}
	return ""
}

// quotaEntry is one entity's quotas in the image. Immutable.
type quotaEntry struct {
	entity QuotaEntity
	values map[string]float64
}

// ClientQuotaEntry is one entity's quotas (a copy).
type ClientQuotaEntry struct {
	Entity QuotaEntity
	Quotas map[string]float64
}

// ClientQuotas returns every entity with at least one quota, in entity
// key order.
func (i *Image) ClientQuotas() []ClientQuotaEntry {
	out := make([]ClientQuotaEntry, 0, i.quotas.Len())
	i.quotas.Root().Walk(func(_ []byte, v any) bool {
		q := v.(*quotaEntry)
		out = append(out, ClientQuotaEntry{Entity: NewQuotaEntity(q.entity...), Quotas: maps.Clone(q.values)})
		return false
	})
	return out
}

// ClientQuota returns a copy of one entity's quotas (empty if none).
func (i *Image) ClientQuota(e QuotaEntity) map[string]float64 {
	v, ok := i.quotas.Get([]byte(NewQuotaEntity(e...).key()))
	if !ok {
		return map[string]float64{}
	}
	return maps.Clone(v.(*quotaEntry).values)
}

// ClientQuotaCount is the number of entities with quotas.
func (i *Image) ClientQuotaCount() int { return i.quotas.Len() }

// ClientQuotaRecords returns the records that set an entity's quotas
// (keys sorted).
func ClientQuotaRecords(e QuotaEntity, quotas map[string]float64) []Record {
	var out []Record
	for _, k := range slices.Sorted(maps.Keys(quotas)) {
		out = append(out, &ClientQuotaRecord{Entity: NewQuotaEntity(e...), Key: k, Value: quotas[k]})
	}
	return out
}

func (d *Delta) replayClientQuota(r *ClientQuotaRecord) error {
	e := NewQuotaEntity(r.Entity...)
	if why := e.validate(); why != "" {
		return invalid("client quota %q: %s", r.Key, why)
	}
	if r.Key == "" {
		return invalid("client quota of %s: empty key", e)
	}
	if !r.Remove && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0)) {
		return invalid("client quota %s of %s: value %v", r.Key, e, r.Value)
	}
	k := e.key()
	cur, ok := d.quotas[k]
	if !ok {
		cur = &quotaEntry{entity: e, values: map[string]float64{}}
		if v, ok := d.base.quotas.Get([]byte(k)); ok {
			maps.Copy(cur.values, v.(*quotaEntry).values)
		}
		d.quotas[k] = cur
	}
	if r.Remove {
		delete(cur.values, r.Key)
	} else {
		cur.values[r.Key] = r.Value
	}
	return nil
}

func (d *Delta) applyQuotas(next *Image) {
	if len(d.quotas) == 0 {
		return
	}
	txn := d.base.quotas.Txn()
	for k, q := range d.quotas {
		if len(q.values) == 0 {
			txn.Delete([]byte(k))
		} else {
			txn.Insert([]byte(k), &quotaEntry{entity: q.entity, values: maps.Clone(q.values)})
		}
	}
	next.quotas = txn.Commit()
}

func (i *Image) quotasEqual(o *Image) bool {
	if i.quotas.Len() != o.quotas.Len() {
		return false
	}
	equal := true
	i.quotas.Root().Walk(func(k []byte, v any) bool {
		w, ok := o.quotas.Get(k)
		equal = ok && maps.Equal(v.(*quotaEntry).values, w.(*quotaEntry).values)
		return !equal
	})
	return equal
}

// diffQuotas replays the records that turn prev's quotas into next's.
func diffQuotas(prev, next *Image, replay func(Record) error) error {
	keys := map[string]QuotaEntity{}
	for _, img := range []*Image{prev, next} {
		img.quotas.Root().Walk(func(k []byte, v any) bool {
			keys[string(k)] = v.(*quotaEntry).entity
			return false
		})
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		e := keys[k]
		have, want := prev.ClientQuota(e), next.ClientQuota(e)
		for _, q := range slices.Sorted(maps.Keys(have)) {
			if _, ok := want[q]; !ok {
				if err := replay(&ClientQuotaRecord{Entity: NewQuotaEntity(e...), Key: q, Remove: true}); err != nil {
					return err
				}
			}
		}
		for _, q := range slices.Sorted(maps.Keys(want)) {
			if old, ok := have[q]; !ok || old != want[q] {
				if err := replay(&ClientQuotaRecord{Entity: NewQuotaEntity(e...), Key: q, Value: want[q]}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// QuotaOp is one AlterClientQuotas operation on an entity: set Key to
// Value, or Remove it.
type QuotaOp struct {
	Key    string
	Value  float64
	Remove bool
}

// QuotaAlteration is one AlterClientQuotas entry.
type QuotaAlteration struct {
	Entity QuotaEntity
	Ops    []QuotaOp
}

// quotaKeys are the quota keys Kafka accepts per entity type
// (QuotaConfigs.userAndClientQuotaConfigs / ipConfigs); the byte and
// connection rates are whole numbers.
var quotaKeys = map[string]map[string]bool{
	QuotaEntityUser:     {"producer_byte_rate": true, "consumer_byte_rate": true, "request_percentage": false, "controller_mutation_rate": false},
	QuotaEntityClientID: {"producer_byte_rate": true, "consumer_byte_rate": true, "request_percentage": false, "controller_mutation_rate": false},
	QuotaEntityIP:       {"connection_creation_rate": true},
}

// validate is Kafka's ClientQuotaControlManager check of one entry.
func (a QuotaAlteration) validate() error {
	e := NewQuotaEntity(a.Entity...)
	if why := e.validate(); why != "" {
		return fmt.Errorf("client quota entity: %s: %w", why, ErrInvalidRequest)
	}
	seen := map[string]bool{}
	for _, op := range a.Ops {
		if seen[op.Key] {
			return fmt.Errorf("client quota %s of %s: altered twice: %w", op.Key, e, ErrInvalidRequest)
		}
		seen[op.Key] = true
		whole, ok := false, false
		for _, p := range e {
			if w, known := quotaKeys[p.EntityType][op.Key]; known {
				whole, ok = w, true
			}
		}
		switch {
		case !ok:
			return fmt.Errorf("client quota of %s: unknown key %q: %w", e, op.Key, ErrInvalidRequest)
		case op.Remove:
		case math.IsNaN(op.Value) || math.IsInf(op.Value, 0) || op.Value <= 0:
			return fmt.Errorf("client quota %s of %s: value %v must be positive: %w", op.Key, e, op.Value, ErrInvalidRequest)
		case whole && op.Value != math.Trunc(op.Value):
			return fmt.Errorf("client quota %s of %s: value %v must be a whole number: %w", op.Key, e, op.Value, ErrInvalidRequest)
		}
	}
	return nil
}

// AlterClientQuotas validates each entry (all or nothing per entry) and
// returns the ClientQuotaRecords of the valid ones and one error per
// entry (nil = altered). Removing a key the entity does not have writes
// nothing.
func AlterClientQuotas(img *Image, alts []QuotaAlteration) ([]Record, []error) {
	var recs []Record
	errs := make([]error, len(alts))
	for i, a := range alts {
		if errs[i] = a.validate(); errs[i] != nil {
			continue
		}
		e := NewQuotaEntity(a.Entity...)
		cur := img.ClientQuota(e)
		for _, op := range a.Ops {
			if op.Remove {
				if _, ok := cur[op.Key]; ok {
					recs = append(recs, &ClientQuotaRecord{Entity: NewQuotaEntity(e...), Key: op.Key, Remove: true})
				}
				continue
			}
			recs = append(recs, &ClientQuotaRecord{Entity: NewQuotaEntity(e...), Key: op.Key, Value: op.Value})
		}
	}
	return recs, errs
}

// QuotasAltered reports whether img shows the entries of an
// AlterClientQuotas request that succeeded (errs from AlterClientQuotas).
func QuotasAltered(img *Image, alts []QuotaAlteration, errs []error) bool {
	for i, a := range alts {
		if i < len(errs) && errs[i] != nil {
			continue
		}
		cur := img.ClientQuota(a.Entity)
		for _, op := range a.Ops {
			v, ok := cur[op.Key]
			if op.Remove == ok || (!op.Remove && v != op.Value) {
				return false
			}
		}
	}
	return true
}
