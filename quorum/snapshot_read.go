package quorum

import "github.com/zkraft/zkraft/metadata"

// SnapshotHeader is the provenance stored at the front of a snapshot file
// (state.bin): the image's offset and epoch (raft index and term of the last
// entry replayed into it; -1 if none) and the writer's cluster id.
type SnapshotHeader struct {
	Offset    int64
	Epoch     int64
	ClusterID string
}

// DecodeSnapshot decodes the contents of a snapshot's state.bin (the layout
// is in doc.go) into its header and the image's records, for offline tools
// such as `zkraft meta`. Errors wrap ErrCorruptSnapshot and name the byte
// offset; it never panics. raft's CRC-64 in meta.json is the caller's to check.
func DecodeSnapshot(b []byte) (SnapshotHeader, []metadata.Record, error) {
	h, recs, err := decodeSnapshot(b)
	return SnapshotHeader(h), recs, err
}

// ParseMetaProperties parses a meta.properties file as the node does
// (version=1, a valid cluster.id and node.id), for offline tools. Errors
// wrap ErrMetaProperties and say what is wrong.
func ParseMetaProperties(b []byte) (clusterID string, nodeID int32, err error) {
	m, err := parseMetaProperties(b)
	return m.ClusterID, m.NodeID, err
}
