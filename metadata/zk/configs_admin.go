package zk

// The config writes of a ZooKeeper-mode broker (IncrementalAlterConfigs,
// AlterConfigs), made as Kafka 3.9's ZooKeeper-mode brokers make them
// (ZkAdminManager.incrementalAlterConfigs → AdminZkClient.changeConfigs):
// validated with metadata.AlterConfigs against this broker's image, then
// ZooKeeper writes — /config/topics/<t> or /config/brokers/<id|<default>>
// written whole as {"version":1,"config":{...}}, followed by a
// /config/changes/config_change_<seq> notification
// {"version":2,"entity_path":"topics/<t>"} that every broker follows into
// its image (refreshConfigChanges).
//
// Each entity is a read-modify-write conditional on the znode's version:
// the znode is read, the alterations are applied to what it holds (not to
// this broker's image, which may not have caught up with another broker's
// write yet), and the result written with SetData(version) — or Create
// when there was no znode (its parent is one of the PersistentPaths). A
// BadVersion (or NodeExists, or NoNode on a SetData) means
// another writer came in between: read again and re-apply, up to
// maxZnodeWriteTries times (casZnode, cas.go). So two brokers altering different keys of
// one entity at once both land; for the same key the later write wins,
// as in Kafka. (Kafka's own AdminZkClient writes unconditionally and can
// lose one.) Each call returns once this broker's image shows the
// change, or shows that a later write to the entity superseded it.
// Serialized with this broker's security writes (secMu).

import (
	"context"
	"fmt"
	"maps"
	"strings"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// AlterConfigs writes the config znodes of each alteration that passes
// metadata.AlterConfigs (nothing with validateOnly) and returns one
// error per alteration.
func (b *Backend) AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	b.secMu.Lock()
	defer b.secMu.Unlock()
	img := b.Image()
	recs, errs := metadata.AlterConfigs(img, alts)
	if validateOnly || len(recs) == 0 {
		return errs
	}
	conn, err := b.session()
	if err != nil {
		return fillErrs(errs, fmt.Errorf("alter configs: %w", err))
	}
	// One read-modify-write per entity, its alterations in request order.
	byRes := map[metadata.ConfigResource][]int{}
	var order []metadata.ConfigResource
	for i, a := range alts {
		if errs[i] != nil {
			continue
		}
		r := metadata.ConfigResource{Type: a.ResourceType, Name: a.ResourceName}
		if _, ok := byRes[r]; !ok {
			order = append(order, r)
		}
		byRes[r] = append(byRes[r], i)
	}
	written := map[metadata.ConfigResource]int32{} // znode version written
	for _, r := range order {
		idx := byRes[r]
		sub := make([]metadata.ConfigAlteration, len(idx))
		for j, i := range idx {
			sub[j] = alts[i]
		}
		version, subErrs, err := b.writeConfigEntity(ctx, conn, img, r, sub)
		for j, i := range idx {
			switch {
			case err != nil:
				errs[i] = err
			case subErrs[j] != nil:
				errs[i] = subErrs[j]
			}
		}
		if err == nil && version >= 0 {
			written[r] = version
		}
	}
	werr := b.waitImage(ctx, "alter configs", func(img *metadata.Image) bool {
		for r, version := range written {
			var sub []metadata.ConfigAlteration
			var subErrs []error
			for _, i := range byRes[r] {
				sub, subErrs = append(sub, alts[i]), append(subErrs, errs[i])
			}
			if !metadata.ConfigsAltered(img, sub, subErrs) && !b.configSuperseded(conn, r, version) {
				return false
			}
		}
		return true
	})
	if werr != nil {
		for r := range written {
			for _, i := range byRes[r] {
				if errs[i] == nil {
					errs[i] = werr
				}
			}
		}
	}
	return errs
}

func fillErrs(errs []error, err error) []error {
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}

// writeConfigEntity applies alts (all of resource r, valid on img) to
// r's znode as it is in ZooKeeper, conditionally on its version, then
// writes the change notification. It returns the znode version written
// (-1 when the alterations changed nothing), the alterations' errors
// against the znode's content, and an error that fails them all.
func (b *Backend) writeConfigEntity(ctx context.Context, conn *gozk.Conn, img *metadata.Image, r metadata.ConfigResource,
	alts []metadata.ConfigAlteration) (int32, []error, error) {
	e, ok := EntityFor(r)
	if !ok {
		return -1, nil, fmt.Errorf("alter configs: resource type %d has no znode", r.Type)
	}
	path := EntityConfigPath(e.Type, e.Name)
	var errs []error
	version, tries, err := b.casEntityConfig(ctx, conn, path, func(current map[string]string, exists bool) (map[string]string, bool, error) {
		base, err := withConfigs(img, r, current)
		if err != nil {
			return nil, false, err
		}
		recs, es := metadata.AlterConfigs(base, alts)
		errs = es
		next, err := withConfigs(base, r, nil, recs...)
		if err != nil {
			return nil, false, err
		}
		cfg := next.Configs(r.Type, r.Name)
		// Nothing to change (or every alteration refused).
		return cfg, !maps.Equal(cfg, current) || (!exists && len(cfg) > 0), nil
	})
	if err != nil {
		return -1, nil, fmt.Errorf("alter configs: %w", err)
	}
	if version < 0 {
		return -1, errs, nil
	}
	note := Op{Kind: OpCreate, Path: ConfigChangesPath + "/" + ConfigChangePrefix, Data: EncodeConfigChange(e.Type, e.Name), Sequential: true}
	if err := b.clientOp(conn, note); err != nil {
		return -1, nil, fmt.Errorf("alter configs: %s: %w", note, err)
	}
	b.log.Info("wrote configs", zap.String("path", path), zap.Int32("version", version), zap.Int("tries", tries))
	return version, errs, nil
}

// casEntityConfig writes the config znode at path as change computes it
// from what ZooKeeper holds (nil content when the znode is missing):
// casZnode with the {"version":1,"config":{...}} codec, so keys another
// writer changed in between are kept. change answers the next content
// and whether to write it. It returns the version written (-1: change
// wrote nothing) and the tries.
func (b *Backend) casEntityConfig(ctx context.Context, conn *gozk.Conn, path string,
	change func(current map[string]string, exists bool) (map[string]string, bool, error)) (int32, int, error) {
	return b.casZnode(ctx, conn, path, func(data []byte, exists bool) ([]byte, bool, error) {
		current, err := DecodeEntityConfig(data)
		if err != nil {
			return nil, false, err
		}
		next, write, err := change(current, exists)
		if err != nil || !write {
			return nil, false, err
		}
		return EncodeEntityConfig(next), true, nil
	})
}

// entityConfigOp reports whether op writes an entity config znode
// (/config/<type>/<name>..., not a /config/changes notification nor a
// parent), and its path below /config.
func entityConfigOp(op Op) (string, bool) {
	if op.Kind != OpCreate || op.Data == nil || op.Sequential || !strings.HasPrefix(op.Path, ConfigPath+"/") ||
		strings.HasPrefix(op.Path, ConfigChangesPath+"/") {
		return "", false
	}
	return op.Path[len(ConfigPath)+1:], true
}

// mergeEntityConfig writes the change from had to want (keys set, keys
// removed) onto the config znode at path as ZooKeeper holds it: a
// read-modify-write conditional on its version, retried on BadVersion /
// NodeExists (casEntityConfig), so keys another writer changed in
// between are kept. A change that is already there writes nothing.
func (b *Backend) mergeEntityConfig(conn *gozk.Conn, path string, had, want map[string]string) error {
	_, _, err := b.casEntityConfig(context.Background(), conn, path, func(cur map[string]string, exists bool) (map[string]string, bool, error) {
		next := maps.Clone(cur)
		if next == nil {
			next = map[string]string{}
		}
		for k := range had {
			if _, ok := want[k]; !ok {
				delete(next, k)
			}
		}
		for k, v := range want {
			if hv, ok := had[k]; !ok || hv != v {
				next[k] = v
			}
		}
		return next, !exists || !maps.Equal(next, cur), nil
	})
	return err
}

// withConfigs is img with resource r's configs replaced by cfg (nil:
// kept) and then recs replayed.
func withConfigs(img *metadata.Image, r metadata.ConfigResource, cfg map[string]string, recs ...metadata.Record) (*metadata.Image, error) {
	d := metadata.NewDelta(img)
	if cfg != nil {
		cur := img.Configs(r.Type, r.Name)
		for k := range cur {
			if _, ok := cfg[k]; !ok {
				recs = append([]metadata.Record{&metadata.ConfigRecord{ResourceType: r.Type, ResourceName: r.Name, Name: k}}, recs...)
			}
		}
		for k, v := range cfg {
			if cv, ok := cur[k]; !ok || cv != v {
				recs = append([]metadata.Record{&metadata.ConfigRecord{ResourceType: r.Type, ResourceName: r.Name, Name: k, Value: &v}}, recs...)
			}
		}
	}
	for _, rec := range recs {
		if err := d.Replay(rec); err != nil {
			return nil, err
		}
	}
	return d.Apply(), nil
}

// configSuperseded reports whether r's znode moved past version (a later
// write, by this broker or another, replaced the one waited for).
func (b *Backend) configSuperseded(conn *gozk.Conn, r metadata.ConfigResource, version int32) bool {
	e, _ := EntityFor(r)
	ok, stat, err := conn.Exists(b.abs(EntityConfigPath(e.Type, e.Name)))
	return err == nil && (!ok || stat.Version > version)
}

// AlterConfigs implements broker.ConfigController (Backend.AlterConfigs).
func (s *Source) AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	return s.backend.AlterConfigs(ctx, alts, validateOnly)
}
