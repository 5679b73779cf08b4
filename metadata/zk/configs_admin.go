package zk

// The config writes of a ZooKeeper-mode broker (IncrementalAlterConfigs,
// AlterConfigs), made as Kafka 3.9's ZooKeeper-mode brokers make them
// (ZkAdminManager.incrementalAlterConfigs → AdminZkClient.changeConfigs):
// validated with metadata.AlterConfigs against this broker's image, then
// straight ZooKeeper writes — /config/topics/<t> or
// /config/brokers/<id|<default>> written whole as
// {"version":1,"config":{...}}, followed by a
// /config/changes/config_change_<seq> notification
// {"version":2,"entity_path":"topics/<t>"} that every broker follows into
// its image (refreshConfigChanges). The znode writes are RecordsToOps'
// translation of the ConfigRecords, the one the migration's dual-write
// uses. Each call returns once this broker's image shows the change.
// Serialized with this broker's security writes (secMu).

import (
	"context"
	"fmt"

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
	err := b.writeConfigs(ctx, img, recs)
	if err == nil {
		err = b.waitImage(ctx, "alter configs", func(img *metadata.Image) bool { return metadata.ConfigsAltered(img, alts, errs) })
	}
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}

// writeConfigs writes the znodes and notifications of ConfigRecords
// replayed on img, as client writes.
func (b *Backend) writeConfigs(ctx context.Context, img *metadata.Image, recs []metadata.Record) error {
	conn, err := b.session()
	if err != nil {
		return fmt.Errorf("alter configs: %w", err)
	}
	ops, err := RecordsToOps(img, recs, 0)
	if err != nil {
		return fmt.Errorf("alter configs: %w", err)
	}
	for _, op := range ops {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("alter configs: %w", err)
		}
		if err := b.clientOp(conn, op); err != nil {
			return fmt.Errorf("alter configs: %s: %w", op, err)
		}
	}
	b.log.Info("wrote configs", zap.Int("records", len(recs)), zap.Int("znode_ops", len(ops)))
	return nil
}

// AlterConfigs implements broker.ConfigController (Backend.AlterConfigs).
func (s *Source) AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	return s.backend.AlterConfigs(ctx, alts, validateOnly)
}
