package storage

import "fmt"

// AppendAsFollower appends batches fetched from the partition leader,
// keeping the leader's offsets and partitionLeaderEpoch (Kafka's
// UnifiedLog.appendAsFollower): nothing in the bytes is rewritten, and the
// leader epoch cache learns each batch's epoch at its base offset.
//
// batches is a fetch response's record set: whole batches, possibly followed
// by one partial batch (KIP-74 lets a response end mid-batch), which is
// ignored. Batches wholly below the log end are skipped (already held); the
// first batch kept must start exactly at the log end and each next one
// right after its predecessor, else ErrOffsetOutOfRange (the follower must
// truncate first); on a compacted log (cleanup.policy has compact) a batch
// may also start later, since the leader's cleaner leaves offset gaps. Each batch's framing and CRC are checked
// (ErrCorruptMessage); producer rules are not (the leader applied them), but
// idempotent producer state is updated so this log can lead later.
//
// The result's LastOffset is LogEndOffset()-1 when nothing was appended.
func (l *Log) AppendAsFollower(batches []byte) (AppendResult, error) {
	cfg := l.Config()
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return AppendResult{}, fmt.Errorf("append to %s as follower: %w", l.name(), ErrClosed)
	}
	l.mu.RLock()
	leo, start := l.leo, l.startLocked()
	l.mu.RUnlock()

	var hs []BatchHeader
	from := -1
	next := leo
	for pos := 0; pos < len(batches); {
		if len(batches)-pos < BatchHeaderSize {
			break // partial trailing batch
		}
		h, err := ParseBatchHeader(batches[pos:])
		if err != nil {
			return AppendResult{}, fmt.Errorf("append to %s as follower: batch at byte %d: %w", l.name(), pos, err)
		}
		if h.Size() > int64(len(batches)-pos) {
			break // partial trailing batch
		}
		if h, err = checkBatch(batches[pos:]); err != nil {
			return AppendResult{}, fmt.Errorf("append to %s as follower: batch at byte %d: %w", l.name(), pos, err)
		}
		if h.LastOffsetDelta < 0 {
			return AppendResult{}, fmt.Errorf("append to %s as follower: %w: batch at %d has last offset delta %d",
				l.name(), ErrCorruptMessage, h.BaseOffset, h.LastOffsetDelta)
		}
		size := int(h.Size())
		switch {
		case h.LastOffset() < next && from < 0:
			// Already held: a fetch started at the batch holding our log end.
		case h.BaseOffset != next && !(cfg.Compacts() && h.BaseOffset > next):
			// A compacted leader's log has gaps; any other gap means the
			// follower must truncate first.
			return AppendResult{}, fmt.Errorf("append to %s as follower: %w: batch at %d, expected %d",
				l.name(), ErrOffsetOutOfRange, h.BaseOffset, next)
		case h.Size() > cfg.SegmentBytes:
			return AppendResult{}, fmt.Errorf("append to %s as follower: %w: %d bytes, segment.bytes=%d",
				l.name(), ErrRecordTooLarge, h.Size(), cfg.SegmentBytes)
		default:
			if from < 0 {
				from = pos
			}
			hs = append(hs, h)
			next = h.LastOffset() + 1
		}
		pos += size
	}
	if len(hs) == 0 {
		return AppendResult{FirstOffset: leo, LastOffset: leo - 1, LogAppendTime: -1, LogStartOffset: start}, nil
	}
	// One write per segment-sized chunk: writeLocked rolls at most once.
	pa := l.producers.begin()
	for i, j := 0, from; i < len(hs); {
		k, size := i, int64(0)
		for k < len(hs) && (k == i || size+hs[k].Size() <= cfg.SegmentBytes) {
			size += hs[k].Size()
			k++
		}
		for q, at := i, j; q < k; q++ {
			if hs[q].ProducerID >= 0 {
				pa.add(&hs[q], batches[at:at+int(hs[q].Size())])
			}
			at += int(hs[q].Size())
		}
		if err := l.writeLocked(batches[j:j+int(size)], hs[i:k], cfg.SegmentBytes, pa); err != nil {
			return AppendResult{}, err
		}
		pa.commit()
		pa = l.producers.begin()
		i, j = k, j+int(size)
	}
	return AppendResult{FirstOffset: hs[0].BaseOffset, LastOffset: next - 1, LogAppendTime: -1, LogStartOffset: start}, nil
}
