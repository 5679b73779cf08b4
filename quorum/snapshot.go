package quorum

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/zkraft/zkraft/metadata"
)

// snapshotVersion is the first byte of every snapshot file this package
// writes. Only add versions; never change the meaning of one. Version 0
// (before checksums) is still read: it has no CRC-32C field.
const (
	snapshotVersion0 byte = 0
	snapshotVersion  byte = 1
)

// maxSnapshotBytes bounds what Restore reads into memory, so a corrupt or
// hostile length cannot make it allocate without limit.
const maxSnapshotBytes = 1 << 30

// snapshotHeader is the provenance of the image a snapshot holds.
type snapshotHeader struct {
	Offset    int64  // image offset (last raft index replayed into it; -1 if none)
	Epoch     int64  // image epoch (raft term of that entry; -1 if none)
	ClusterID string // meta.properties cluster.id of the writer
}

// appendSnapshot encodes a snapshot (version 1):
//
//	+------+-----------+-----------+-----------+-------------+------------+----------------------------+
//	| 0x01 | CRC-32C   | offset    | epoch     | uvarint n   | cluster id | metadata.AppendBatch(recs) |
//	| ver  | uint32 BE | int64 BE  | int64 BE  | (id length) | n bytes    | the image's records        |
//	+------+-----------+-----------+-----------+-------------+------------+----------------------------+
//	        covers every byte after it
//
// The records are metadata.WriteImage(img); raft's FileSnapshotStore adds
// its own CRC-64 over the whole file in meta.json, but a snapshot served by
// FetchSnapshot travels without it: the CRC-32C lets every reader (Restore,
// brokers, zkraft meta) verify the assembled chunks.
func appendSnapshot(dst []byte, h snapshotHeader, recs []metadata.Record) []byte {
	start := len(dst)
	dst = append(dst, snapshotVersion, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Offset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Epoch))
	dst = binary.AppendUvarint(dst, uint64(len(h.ClusterID)))
	dst = append(dst, h.ClusterID...)
	dst = metadata.AppendBatch(dst, recs)
	binary.BigEndian.PutUint32(dst[start+1:], crc32.Checksum(dst[start+5:], crc32c))
	return dst
}

// decodeSnapshot is the inverse of appendSnapshot; it also reads version 0
// (no CRC-32C). It never panics.
func decodeSnapshot(b []byte) (snapshotHeader, []metadata.Record, error) {
	var h snapshotHeader
	if len(b) == 0 {
		return h, nil, fmt.Errorf("snapshot is empty: %w", ErrCorruptSnapshot)
	}
	skip := 0 // bytes of the CRC-32C field, left out of b below
	switch b[0] {
	case snapshotVersion0:
	case snapshotVersion:
		if len(b) < 5 {
			return h, nil, fmt.Errorf("snapshot of %d bytes is shorter than its header: %w", len(b), ErrCorruptSnapshot)
		}
		stored, computed := binary.BigEndian.Uint32(b[1:]), crc32.Checksum(b[5:], crc32c)
		if stored != computed {
			return h, nil, fmt.Errorf("snapshot CRC-32C 0x%08x, computed 0x%08x over %d bytes: %w", stored, computed, len(b)-5, ErrCorruptSnapshot)
		}
		// The rest is laid out as version 0 after its version byte
		// (b[0] is no longer the version byte; nothing reads it below).
		b, skip = b[4:], 4
	default:
		return h, nil, fmt.Errorf("snapshot version %d (supported %d-%d): %w", b[0], snapshotVersion0, snapshotVersion, ErrCorruptSnapshot)
	}
	if len(b) < 1+8+8+1 {
		return h, nil, fmt.Errorf("snapshot of %d bytes is shorter than its header: %w", len(b)+skip, ErrCorruptSnapshot)
	}
	h.Offset = int64(binary.BigEndian.Uint64(b[1:]))
	h.Epoch = int64(binary.BigEndian.Uint64(b[9:]))
	rest := b[17:]
	n, sz := binary.Uvarint(rest)
	if sz <= 0 || n > uint64(len(rest)-sz) {
		return h, nil, fmt.Errorf("snapshot cluster id length at byte %d: %w", 17+skip, ErrCorruptSnapshot)
	}
	rest = rest[sz:]
	h.ClusterID = string(rest[:n])
	recs, err := metadata.DecodeBatch(rest[n:])
	if err != nil {
		return h, nil, fmt.Errorf("snapshot records at byte %d: %w: %w", len(b)-len(rest)+int(n)+skip, err, ErrCorruptSnapshot)
	}
	return h, recs, nil
}
