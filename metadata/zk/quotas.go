package zk

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// This file holds client quotas in ZooKeeper (Kafka's ZooKeeper mode keeps
// them as entity configs, every value a string):
//
//	/config/users/<user>                  user quotas (and its SCRAM credentials)
//	/config/users/<user>/clients/<client> quotas of a user and client id
//	/config/clients/<client>              client-id quotas
//	/config/ips/<ip>                      connection_creation_rate
//
// Names are Kafka's Sanitizer form, "<default>" the default entity. An
// entity path is the part after /config/ ("users/alice/clients/app").

// QuotaEntityPath is the entity path of a quota entity (false for a
// combination ZooKeeper cannot hold).
func QuotaEntityPath(e metadata.QuotaEntity) (string, bool) {
	name := func(typ string) (string, bool) {
		n, def, ok := e.Name(typ)
		if def {
			return DefaultEntity, ok
		}
		if typ != metadata.QuotaEntityIP {
			n = SanitizeEntity(n)
		}
		return n, ok
	}
	u, hasUser := name(metadata.QuotaEntityUser)
	c, hasClient := name(metadata.QuotaEntityClientID)
	ip, hasIP := name(metadata.QuotaEntityIP)
	switch {
	case hasIP && len(e) == 1:
		return ConfigIPs + "/" + ip, true
	case hasUser && hasClient && len(e) == 2:
		return ConfigUsers + "/" + u + "/" + ConfigClients + "/" + c, true
	case hasUser && len(e) == 1:
		return ConfigUsers + "/" + u, true
	case hasClient && len(e) == 1:
		return ConfigClients + "/" + c, true
	}
	return "", false
}

// ParseQuotaEntityPath is the inverse of QuotaEntityPath.
func ParseQuotaEntityPath(p string) (metadata.QuotaEntity, error) {
	part := func(typ, n string) (metadata.QuotaEntityData, error) {
		d := metadata.QuotaEntityData{EntityType: typ}
		if n == DefaultEntity {
			return d, nil
		}
		if typ != metadata.QuotaEntityIP {
			var err error
			if n, err = DesanitizeEntity(n); err != nil {
				return d, err
			}
		}
		d.EntityName = &n
		return d, nil
	}
	f := strings.Split(p, "/")
	var parts []metadata.QuotaEntityData
	var err error
	add := func(typ, n string) {
		if err == nil {
			var d metadata.QuotaEntityData
			d, err = part(typ, n)
			parts = append(parts, d)
		}
	}
	switch {
	case len(f) == 2 && f[0] == ConfigUsers:
		add(metadata.QuotaEntityUser, f[1])
	case len(f) == 2 && f[0] == ConfigClients:
		add(metadata.QuotaEntityClientID, f[1])
	case len(f) == 2 && f[0] == ConfigIPs:
		add(metadata.QuotaEntityIP, f[1])
	case len(f) == 4 && f[0] == ConfigUsers && f[2] == ConfigClients:
		add(metadata.QuotaEntityUser, f[1])
		add(metadata.QuotaEntityClientID, f[3])
	default:
		return nil, fmt.Errorf("quota entity path %q: %w", p, ErrCorruptZNode)
	}
	if err != nil {
		return nil, err
	}
	for _, d := range parts {
		if d.EntityName != nil && *d.EntityName == "" {
			return nil, fmt.Errorf("quota entity path %q: empty name: %w", p, ErrCorruptZNode)
		}
	}
	return metadata.NewQuotaEntity(parts...), nil
}

// EncodeQuotaValue writes a quota as kafka-configs.sh does ("1048576",
// "12.5").
func EncodeQuotaValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// QuotaConfig picks the quotas out of an entity config: every key that is
// not a SCRAM mechanism, parsed as a number. Keys whose value is not a
// finite number are returned in bad (sorted).
func QuotaConfig(cfg map[string]string) (quotas map[string]float64, bad []string) {
	quotas = map[string]float64{}
	for k, v := range cfg {
		if _, scram := metadata.ParseScramMechanism(k); scram {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f != f || f > 1e308 || f < -1e308 {
			bad = append(bad, k)
			continue
		}
		quotas[k] = f
	}
	slices.Sort(bad)
	return quotas, bad
}

// QuotaRecords returns the ClientQuotaRecords that turn img's quotas into
// the tree's: removals of keys the tree lacks, then sets of new or changed
// keys, entity by entity.
func (t *Tree) QuotaRecords(img *metadata.Image) []metadata.Record {
	type ent struct {
		e    metadata.QuotaEntity
		want map[string]float64
	}
	all := map[string]*ent{}
	for _, q := range img.ClientQuotas() {
		all[q.Entity.String()] = &ent{e: q.Entity}
	}
	for p, q := range t.Quotas {
		e, err := ParseQuotaEntityPath(p)
		if err != nil {
			continue
		}
		all[e.String()] = &ent{e: e, want: q}
	}
	var out []metadata.Record
	for _, k := range slices.Sorted(maps.Keys(all)) {
		x := all[k]
		have := img.ClientQuota(x.e)
		for _, q := range slices.Sorted(maps.Keys(have)) {
			if _, ok := x.want[q]; !ok {
				out = append(out, &metadata.ClientQuotaRecord{Entity: metadata.NewQuotaEntity(x.e...), Key: q, Remove: true})
			}
		}
		for _, q := range slices.Sorted(maps.Keys(x.want)) {
			if old, ok := have[q]; !ok || old != x.want[q] {
				out = append(out, &metadata.ClientQuotaRecord{Entity: metadata.NewQuotaEntity(x.e...), Key: q, Value: x.want[q]})
			}
		}
	}
	return out
}

// setEntity stores what the tree keeps of /config/<entity path>: the
// quotas, and for a named user its SCRAM credentials.
func (s *syncer) setEntity(path string, r fetchResult) error {
	s.dirty.security = true
	e, err := ParseQuotaEntityPath(path)
	if err != nil {
		s.log.Warn("ignoring entity config znode", zap.String("entity", path), zap.Error(err))
		return nil
	}
	user, userDefault, isUser := e.Name(metadata.QuotaEntityUser)
	scramHolder := isUser && !userDefault && len(e) == 1
	drop := func() {
		delete(s.tree.Quotas, path)
		if scramHolder {
			delete(s.tree.Scram, user)
		}
	}
	if errors.Is(r.err, gozk.ErrNoNode) {
		drop()
		return nil
	}
	if r.err != nil {
		return fmt.Errorf("read %s: %w", ConfigPath+"/"+path, r.err)
	}
	cfg, err := DecodeEntityConfig(r.data)
	var creds map[metadata.ScramMechanism]*metadata.ScramCredential
	if err == nil && scramHolder {
		creds, err = ScramCredentials(cfg)
	}
	if err != nil {
		s.log.Warn("ignoring entity config znode", zap.String("entity", path), zap.Error(err))
		drop()
		return nil
	}
	quotas, bad := QuotaConfig(cfg)
	if len(bad) > 0 {
		s.log.Warn("ignoring quota keys that are not numbers", zap.String("entity", path), zap.Strings("keys", bad))
	}
	drop()
	if len(quotas) > 0 {
		s.tree.Quotas[path] = quotas
	}
	if len(creds) > 0 {
		s.tree.Scram[user] = creds
	}
	return nil
}

// reloadEntity re-reads one entity after a /config/changes notification.
func (s *syncer) reloadEntity(path string) error {
	data, stat, err := s.conn.Get(s.abs(ConfigPath + "/" + path))
	return s.setEntity(path, fetchResult{data: data, stat: stat, err: err})
}

// reloadEntityConfigs reads every /config/users/<u> (with its
// clients/<c> children), /config/clients/<c> and /config/ips/<ip>.
func (s *syncer) reloadEntityConfigs() error {
	clear(s.tree.Scram)
	clear(s.tree.Quotas)
	s.dirty.security = true
	var paths []string
	for _, typ := range []string{ConfigUsers, ConfigClients, ConfigIPs} {
		names, _, err := s.conn.Children(s.abs(ConfigPath + "/" + typ))
		if err != nil && !errors.Is(err, gozk.ErrNoNode) {
			return fmt.Errorf("list %s configs: %w", typ, err)
		}
		for _, n := range names {
			paths = append(paths, typ+"/"+n)
		}
	}
	read := func(paths []string) ([]fetchResult, error) {
		abs := make([]string, len(paths))
		for i, p := range paths {
			abs[i] = ConfigPath + "/" + p
		}
		res := s.fetch(abs, func(int) bool { return false })
		for i, r := range res {
			if err := s.setEntity(paths[i], r); err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	res, err := read(paths)
	if err != nil {
		return err
	}
	// Users with children: their /clients/<c> quota entities.
	var sub []string
	for i, r := range res {
		if r.err != nil || r.stat == nil || r.stat.NumChildren == 0 || !strings.HasPrefix(paths[i], ConfigUsers+"/") {
			continue
		}
		clients, _, err := s.conn.Children(s.abs(ConfigPath + "/" + paths[i] + "/" + ConfigClients))
		if err != nil && !errors.Is(err, gozk.ErrNoNode) {
			return fmt.Errorf("list %s/%s: %w", paths[i], ConfigClients, err)
		}
		for _, c := range clients {
			sub = append(sub, paths[i]+"/"+ConfigClients+"/"+c)
		}
	}
	_, err = read(sub)
	return err
}

// entityConfigs is the content of every /config/users, /config/clients
// and /config/ips znode an image describes: a named user's SCRAM
// credentials and each entity's quotas, by entity path.
func entityConfigs(img *metadata.Image) map[string]map[string]string {
	out := map[string]map[string]string{}
	get := func(p string) map[string]string {
		if out[p] == nil {
			out[p] = map[string]string{}
		}
		return out[p]
	}
	for _, e := range img.ScramCredentials() {
		get(UserConfigPath(e.User)[len(ConfigPath)+1:])[e.Mechanism.String()] = EncodeScramCredential(e.Credential)
	}
	for _, q := range img.ClientQuotas() {
		p, ok := QuotaEntityPath(q.Entity)
		if !ok {
			continue
		}
		cfg := get(p)
		for k, v := range q.Quotas {
			cfg[k] = EncodeQuotaValue(v)
		}
	}
	return out
}
