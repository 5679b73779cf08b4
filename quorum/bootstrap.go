package quorum

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// BootstrapFile names the records a controller's metadata directory may
// hold for the log's first entry (Kafka's bootstrap.checkpoint, KIP-900):
// `zkraft storage format --add-scram` writes SCRAM credentials there, so a
// cluster whose listeners all require SASL has its first users before any
// client can connect. The file is one entry in metadata.AppendBatch's
// format (its CRC-32C checked when read).
const BootstrapFile = "bootstrap.checkpoint"

// WriteBootstrap writes recs as dir's bootstrap records, replacing any.
func WriteBootstrap(dir string, recs []metadata.Record) error {
	path := filepath.Join(dir, BootstrapFile)
	if err := writeFileAtomic(path, metadata.AppendBatch(nil, recs)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadBootstrap returns dir's bootstrap records (none when there is no
// file). A file that does not decode is ErrCorruptEntry naming it.
func ReadBootstrap(dir string) ([]metadata.Record, error) {
	path := filepath.Join(dir, BootstrapFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	recs, err := metadata.DecodeBatch(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, err, ErrCorruptEntry)
	}
	return recs, nil
}

// writeBootstrap commits the bootstrap records as the log's first entry
// when the log has none yet: the first write of a leader's term, whatever
// it is (the leader no-op, or a broker's registration that got the writer
// slot first), finds the log empty only on the cluster's first leader, and
// acquireWrite has applied every earlier entry before this looks. Every
// voter formatted with the same file would write the same records.
// Called by acquireWrite with the writer slot held.
func (n *Node) writeBootstrap(ctx context.Context, r *raft.Raft) error {
	if len(n.bootstrap) == 0 || n.fsm.image().Offset() >= 0 {
		return nil
	}
	resp, err := n.await(ctx, r.Apply(metadata.AppendBatch(nil, n.bootstrap), n.cfg.ApplyTimeout))
	if err != nil {
		return fmt.Errorf("write the %d bootstrap records: %w", len(n.bootstrap), err)
	}
	if res, ok := resp.(*applyResult); ok && res.Err != nil {
		return fmt.Errorf("bootstrap records refused: %w", res.Err)
	}
	n.log.Info("wrote the bootstrap records", zap.Int("records", len(n.bootstrap)))
	return nil
}
