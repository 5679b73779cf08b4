package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// Brokers follow the metadata log by fetching it from the active controller
// over the Kafka protocol, as Kafka's brokers fetch __cluster_metadata:
// Fetch (v12) of partition 0 of MetadataTopic returns committed raft entries
// from the fetch offset (= raft index), one Kafka v2 record batch per
// command entry; entries older than the log's start are answered with
// OFFSET_OUT_OF_RANGE and a SnapshotID, and the broker then loads the
// controller's current image with FetchSnapshot (v0), in chunks.
//
// Record batch of one raft entry (standard v2 batch, CRC-32C):
//
//	baseOffset = raft index, partitionLeaderEpoch = raft term, 1 record,
//	record value = the entry's data (metadata.AppendBatch, see doc.go)
//
// The partition's HighWatermark is one past the last raft index the
// response covers (entries without metadata, such as raft configuration
// changes, are skipped but covered), so the broker's next fetch offset is
// HighWatermark whenever the response holds no later batch.

// MetadataTopic is the topic name brokers fetch the metadata log as.
const MetadataTopic = "__cluster_metadata"

// fetchState caches the encoded image served by FetchSnapshot.
type fetchState struct {
	mu    sync.Mutex
	snap  []byte
	end   int64 // SnapshotID.EndOffset: one past the last entry in the image
	epoch int32 // SnapshotID.Epoch: term of the image's last change
}

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// appendEntryBatch appends one raft entry as a Kafka v2 record batch.
func appendEntryBatch(dst []byte, index, term uint64, data []byte) []byte {
	rec := kmsg.Record{Value: data}
	body := rec.AppendTo(nil)
	rec.Length = int32(len(body) - 1) // body was written with Length 0 (1 varint byte)
	recBytes := rec.AppendTo(nil)
	b := kmsg.RecordBatch{
		FirstOffset:          int64(index),
		PartitionLeaderEpoch: int32(term),
		Magic:                2,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           1,
		Records:              recBytes,
	}
	start := len(dst)
	dst = b.AppendTo(dst)
	batch := dst[start:]
	binary.BigEndian.PutUint32(batch[8:12], uint32(len(batch)-12))
	binary.BigEndian.PutUint32(batch[17:21], crc32.Checksum(batch[21:], crc32c))
	return dst
}

// entryBatch is one decoded record batch of a metadata fetch.
type entryBatch struct {
	Index, Term uint64
	Data        []byte
}

// decodeEntryBatches decodes the record batches of a metadata fetch. It
// never panics; a truncated final batch (Kafka may cut one at MaxBytes) is
// dropped.
func decodeEntryBatches(b []byte) ([]entryBatch, error) {
	var out []entryBatch
	for len(b) >= 12 {
		n := int32(binary.BigEndian.Uint32(b[8:12]))
		if n < 49 {
			return out, fmt.Errorf("record batch at offset %d: length %d: %w", int64(binary.BigEndian.Uint64(b)), n, ErrCorruptEntry)
		}
		if int64(len(b)) < 12+int64(n) {
			break
		}
		raw := b[:12+n]
		b = b[12+n:]
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(raw); err != nil {
			return out, fmt.Errorf("record batch: %w: %w", err, ErrCorruptEntry)
		}
		if batch.Magic != 2 || uint32(batch.CRC) != crc32.Checksum(raw[21:], crc32c) {
			return out, fmt.Errorf("record batch at offset %d: bad magic or crc: %w", batch.FirstOffset, ErrCorruptEntry)
		}
		if batch.NumRecords != 1 || batch.FirstOffset < 1 {
			return out, fmt.Errorf("record batch at offset %d: %d records: %w", batch.FirstOffset, batch.NumRecords, ErrCorruptEntry)
		}
		var rec kmsg.Record
		if err := rec.ReadFrom(batch.Records); err != nil {
			return out, fmt.Errorf("record batch at offset %d: record: %w: %w", batch.FirstOffset, err, ErrCorruptEntry)
		}
		out = append(out, entryBatch{Index: uint64(batch.FirstOffset), Term: uint64(batch.PartitionLeaderEpoch), Data: rec.Value})
	}
	return out, nil
}

// errSnapshotNeeded: the fetch offset is before the log start.
var errSnapshotNeeded = errors.New("quorum: fetch offset before the log start, load a snapshot")

// fetchEntries returns the committed entries from offset on (at most about
// maxBytes), waiting up to maxWait for new ones. hw is one past the last
// index covered. Only the active controller serves fetches.
func (n *Node) fetchEntries(ctx context.Context, offset int64, maxBytes int32, maxWait time.Duration) (batches []byte, hw int64, err error) {
	r := n.raftHandle()
	if r == nil {
		return nil, 0, ErrClosed
	}
	if r.State() != raft.Leader {
		return nil, 0, ErrNotController
	}
	if offset < 1 {
		offset = 1
	}
	applied, changed := n.fsm.progress()
	last := r.AppliedIndex()
	if applied > last {
		last = applied
	}
	if uint64(offset) > last && maxWait > 0 {
		t := time.NewTimer(maxWait)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
		case <-n.stopCtx.Done():
		}
		t.Stop()
		if r.State() != raft.Leader {
			return nil, 0, ErrNotController
		}
		applied, _ = n.fsm.progress()
		if last = r.AppliedIndex(); applied > last {
			last = applied
		}
	}
	if uint64(offset) > last {
		return nil, int64(last) + 1, nil
	}
	first, err := n.store.FirstIndex()
	if err != nil {
		return nil, 0, fmt.Errorf("quorum: read log start: %w", err)
	}
	if uint64(offset) < first {
		return nil, 0, errSnapshotNeeded
	}
	i := uint64(offset)
	for ; i <= last && (len(batches) == 0 || len(batches) < int(maxBytes)); i++ {
		var l raft.Log
		if err := n.store.GetLog(i, &l); err != nil {
			if len(batches) == 0 && errors.Is(err, raft.ErrLogNotFound) {
				return nil, 0, errSnapshotNeeded // compacted meanwhile
			}
			break
		}
		if l.Type == raft.LogCommand {
			batches = appendEntryBatch(batches, l.Index, l.Term, l.Data)
		}
	}
	return batches, int64(i), nil
}

// fetchSnapshot returns the chunk of the controller's current image
// starting at pos. A request for another snapshot than the cached one
// starting at 0 gets a fresh one; later in the file it gets
// errSnapshotGone and starts over.
func (n *Node) fetchSnapshot(end int64, pos int64, maxBytes int32) (chunk []byte, size, gotEnd int64, epoch int32, err error) {
	if !n.IsController() {
		return nil, 0, 0, 0, ErrNotController
	}
	fs := &n.fetch
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.snap == nil || (end != fs.end && pos == 0) {
		img, applied, err := n.fsm.consistentImage()
		if err != nil {
			return nil, 0, 0, 0, err
		}
		h := snapshotHeader{Offset: img.Offset(), Epoch: img.Epoch(), ClusterID: n.ClusterID()}
		fs.snap = appendSnapshot(nil, h, metadata.WriteImage(img))
		fs.end, fs.epoch = int64(applied)+1, int32(img.Epoch())
	}
	if end != fs.end && pos != 0 {
		return nil, 0, 0, 0, errSnapshotGone
	}
	if pos < 0 || pos > int64(len(fs.snap)) {
		return nil, 0, 0, 0, fmt.Errorf("snapshot position %d of %d bytes: %w", pos, len(fs.snap), errSnapshotGone)
	}
	stop := pos + int64(maxBytes)
	if maxBytes <= 0 || stop > int64(len(fs.snap)) {
		stop = int64(len(fs.snap))
	}
	return fs.snap[pos:stop], int64(len(fs.snap)), fs.end, fs.epoch, nil
}

var errSnapshotGone = errors.New("quorum: snapshot no longer served")
