package quorum

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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

// leaderRecords is what a new active controller writes first: a NoOpRecord
// (KIP-835), and on a log that has no record yet the bootstrap records
// after it. Every voter formatted with the same bootstrap file writes the
// same records, and only the first leader finds the log empty (acquireWrite
// applied every earlier entry before this is computed).
func (n *Node) leaderRecords(img *metadata.Image) []metadata.Record {
	recs := []metadata.Record{&metadata.NoOpRecord{}}
	if img.Offset() < 0 {
		recs = append(recs, n.bootstrap...)
	}
	return recs
}
