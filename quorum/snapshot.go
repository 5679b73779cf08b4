package quorum

import (
	"encoding/binary"
	"fmt"

	"github.com/zkraft/zkraft/metadata"
)

// snapshotVersion is the first byte of every snapshot file this package
// writes. Only add versions; never change the meaning of one.
const snapshotVersion byte = 0

// maxSnapshotBytes bounds what Restore reads into memory, so a corrupt or
// hostile length cannot make it allocate without limit.
const maxSnapshotBytes = 1 << 30

// snapshotHeader is the provenance of the image a snapshot holds.
type snapshotHeader struct {
	Offset    int64  // image offset (last raft index replayed into it; -1 if none)
	Epoch     int64  // image epoch (raft term of that entry; -1 if none)
	ClusterID string // meta.properties cluster.id of the writer
}

// appendSnapshot encodes a snapshot:
//
//	+------+-----------+-----------+-------------+------------+----------------------------+
//	| 0x00 | offset    | epoch     | uvarint n   | cluster id | metadata.AppendBatch(recs) |
//	| ver  | int64 BE  | int64 BE  | (id length) | n bytes    | the image's records        |
//	+------+-----------+-----------+-------------+------------+----------------------------+
//
// The records are metadata.WriteImage(img); raft's FileSnapshotStore adds
// its own CRC-64 over the whole file.
func appendSnapshot(dst []byte, h snapshotHeader, recs []metadata.Record) []byte {
	dst = append(dst, snapshotVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Offset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Epoch))
	dst = binary.AppendUvarint(dst, uint64(len(h.ClusterID)))
	dst = append(dst, h.ClusterID...)
	return metadata.AppendBatch(dst, recs)
}

// decodeSnapshot is the inverse of appendSnapshot. It never panics.
func decodeSnapshot(b []byte) (snapshotHeader, []metadata.Record, error) {
	var h snapshotHeader
	if len(b) < 1+8+8+1 {
		return h, nil, fmt.Errorf("snapshot of %d bytes is shorter than its header: %w", len(b), ErrCorruptSnapshot)
	}
	if b[0] != snapshotVersion {
		return h, nil, fmt.Errorf("snapshot version %d, want %d: %w", b[0], snapshotVersion, ErrCorruptSnapshot)
	}
	h.Offset = int64(binary.BigEndian.Uint64(b[1:]))
	h.Epoch = int64(binary.BigEndian.Uint64(b[9:]))
	rest := b[17:]
	n, sz := binary.Uvarint(rest)
	if sz <= 0 || n > uint64(len(rest)-sz) {
		return h, nil, fmt.Errorf("snapshot cluster id length at byte 17: %w", ErrCorruptSnapshot)
	}
	rest = rest[sz:]
	h.ClusterID = string(rest[:n])
	recs, err := metadata.DecodeBatch(rest[n:])
	if err != nil {
		return h, nil, fmt.Errorf("snapshot records at byte %d: %v: %w", len(b)-len(rest)+int(n), err, ErrCorruptSnapshot)
	}
	return h, recs, nil
}
