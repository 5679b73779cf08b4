package quorum

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/zkraft/zkraft/metadata"
)

const metaPropertiesFile = "meta.properties"

// metaProperties is Kafka's meta.properties, version 1 (KRaft):
//
//	version=1
//	cluster.id=<22-char base64url uuid>
//	node.id=<int32>
type metaProperties struct {
	ClusterID string
	NodeID    int32
}

// parseMetaProperties reads Java properties text: "key=value" lines, '#' and
// '!' comments, surrounding blanks trimmed. Unknown keys (directory.id) are
// ignored.
func parseMetaProperties(b []byte) (metaProperties, error) {
	props := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return metaProperties{}, fmt.Errorf("line %d %q: no '=': %w", line, text, ErrMetaProperties)
		}
		props[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return metaProperties{}, fmt.Errorf("scan: %w: %w", err, ErrMetaProperties)
	}
	if v := props["version"]; v != "1" {
		return metaProperties{}, fmt.Errorf("version %q, want 1: %w", v, ErrMetaProperties)
	}
	cid, ok := props["cluster.id"]
	if !ok {
		return metaProperties{}, fmt.Errorf("no cluster.id: %w", ErrMetaProperties)
	}
	if _, err := metadata.ParseUuid(cid); err != nil {
		return metaProperties{}, fmt.Errorf("cluster.id %q: %w: %w", cid, err, ErrMetaProperties)
	}
	nid, ok := props["node.id"]
	if !ok {
		return metaProperties{}, fmt.Errorf("no node.id: %w", ErrMetaProperties)
	}
	id, err := strconv.ParseInt(nid, 10, 32)
	if err != nil {
		return metaProperties{}, fmt.Errorf("node.id %q: %w", nid, ErrMetaProperties)
	}
	return metaProperties{ClusterID: cid, NodeID: int32(id)}, nil
}

func (m metaProperties) encode() []byte {
	return []byte(fmt.Sprintf("#\n#written by zkraft\nversion=1\ncluster.id=%s\nnode.id=%d\n", m.ClusterID, m.NodeID))
}

// loadOrFormat reads Dir/meta.properties, or writes it when absent (the
// embedded default formats itself on first start).
func loadOrFormat(cfg Config) (metaProperties, error) {
	path := filepath.Join(cfg.Dir, metaPropertiesFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		m, err := parseMetaProperties(b)
		if err != nil {
			return m, fmt.Errorf("read %s: %w", path, err)
		}
		if m.NodeID != cfg.NodeID {
			return m, fmt.Errorf("%s has node.id=%d but this node is node.id=%d: %w", path, m.NodeID, cfg.NodeID, ErrMetaProperties)
		}
		if cfg.ClusterID != "" && cfg.ClusterID != m.ClusterID {
			return m, fmt.Errorf("%s has cluster.id=%s but config says %s: %w", path, m.ClusterID, cfg.ClusterID, ErrMetaProperties)
		}
		return m, nil
	case errors.Is(err, fs.ErrNotExist):
	default:
		return metaProperties{}, fmt.Errorf("read %s: %w", path, err)
	}
	m := metaProperties{ClusterID: cfg.ClusterID, NodeID: cfg.NodeID}
	if m.ClusterID == "" {
		m.ClusterID = defaultClusterID(cfg.Voters)
	}
	if err := writeFileAtomic(path, m.encode()); err != nil {
		return m, fmt.Errorf("format %s: %w", cfg.Dir, err)
	}
	return m, nil
}

// defaultClusterID is random for a single voter; for several voters it is
// derived from the voter set (SHA-256 of "id@addr,..."), so every voter
// formatting itself with the same controller.quorum.voters gets the same id.
func defaultClusterID(voters map[int32]string) string {
	if len(voters) <= 1 {
		return metadata.RandomUuid().String()
	}
	sum := sha256.Sum256([]byte("zkraft cluster " + FormatVoters(voters)))
	var u metadata.Uuid
	copy(u[:], sum[:16])
	if u == metadata.ZeroUuid || u == metadata.MetadataTopicID {
		u[0] = 1
	}
	return u.String()
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ErrAlreadyFormatted: FormatDir found a meta.properties in the directory.
var ErrAlreadyFormatted = errors.New("quorum: directory is already formatted")

// FormatDir writes dir/meta.properties for clusterID and nodeID, as
// kafka-storage.sh format does, creating dir. A directory that already has
// one is left alone: ErrAlreadyFormatted.
func FormatDir(dir, clusterID string, nodeID int32) error {
	if _, err := metadata.ParseUuid(clusterID); err != nil {
		return fmt.Errorf("cluster id %q: %w: %w", clusterID, err, ErrMetaProperties)
	}
	path := filepath.Join(dir, metaPropertiesFile)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s: %w", dir, ErrAlreadyFormatted)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("format %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("format %s: %w", dir, err)
	}
	m := metaProperties{ClusterID: clusterID, NodeID: nodeID}
	if err := writeFileAtomic(path, m.encode()); err != nil {
		return fmt.Errorf("format %s: %w", dir, err)
	}
	return nil
}
