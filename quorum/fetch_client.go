package quorum

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The client side of fetching the metadata log (fetch.go has the server
// side and the wire): one Fetch of the metadata partition and the
// FetchSnapshot download, shared by a broker's follower (follower.go) and
// the tools' observer (observer.go), which differ only in how they reach
// the active controller (controllerCall) and their replica id.

// controllerCall sends req to the active controller, moving on to another
// controller while notController says the answer came from a voter that is
// not it (Client.call and logObserver.call).
type controllerCall func(ctx context.Context, req kmsg.Request, notController func(kmsg.Response) bool) (kmsg.Response, error)

// maxSnapshotRestarts bounds how often one download starts over because the
// controller stopped serving the image it was reading (SNAPSHOT_NOT_FOUND).
const maxSnapshotRestarts = 3

// downloadedSnapshot is the controller's image as FetchSnapshot served it:
// the bytes of a state.bin (doc.go has the layout) and its SnapshotID.
type downloadedSnapshot struct {
	data  []byte
	end   int64 // SnapshotID.EndOffset: one past the last raft index in the image
	epoch int32 // SnapshotID.Epoch: term of the image's last change
}

// downloadSnapshot fetches the active controller's current image with
// FetchSnapshot v0 (KIP-630) in chunks of at most fetchMaxBytes, sent by
// call as replicaID (a broker's node id, or -1 for an observer). The broker's
// follower (follower.loadSnapshot) and the tools' observer
// (logObserver.snapshot) both load an image through it.
//
// Restart and resume policy, the same for every caller:
//   - The first request asks for any image (SnapshotID -1/-1, position 0);
//     the first answer fixes the SnapshotID and the size. Each next request
//     resumes at the number of bytes held, naming that SnapshotID.
//   - SNAPSHOT_NOT_FOUND (the controller now serves a newer image, or a new
//     active controller never served this one) drops the bytes held and
//     starts over from position 0, at most maxSnapshotRestarts times; after
//     that the error wraps ErrSnapshotMoved.
//   - Any other error code, a size out of bounds (over maxSnapshotBytes), an
//     answer at another position, SnapshotID or size than the download's,
//     or an empty chunk before the end fail at once (ErrBadResponse or the
//     code's error). Retrying the whole download is the caller's decision:
//     the follower's fetch loop retries after its back-off, the observer
//     gives up.
//
// The bytes are not decoded here: Restore and decodeSnapshot check them.
func downloadSnapshot(ctx context.Context, call controllerCall, replicaID int32) (downloadedSnapshot, error) {
	s := downloadedSnapshot{end: -1, epoch: -1}
	var size int64
	for restarts := 0; ; {
		p, err := fetchSnapshotChunk(ctx, call, replicaID, s.end, s.epoch, int64(len(s.data)))
		if err != nil {
			return downloadedSnapshot{}, err
		}
		switch {
		case p.ErrorCode == kerr.SnapshotNotFound.Code:
			if restarts == maxSnapshotRestarts {
				return downloadedSnapshot{}, fmt.Errorf("fetch snapshot: not served any more after %d restarts (ending at %d, %d bytes held): %w",
					restarts, s.end, len(s.data), ErrSnapshotMoved)
			}
			restarts++
			s, size = downloadedSnapshot{end: -1, epoch: -1}, 0
			continue
		case p.ErrorCode != 0:
			return downloadedSnapshot{}, fmt.Errorf("fetch snapshot at position %d: %w", len(s.data), codeError(p.ErrorCode))
		case p.Size < 0 || p.Size > maxSnapshotBytes || p.Position != int64(len(s.data)):
			return downloadedSnapshot{}, fmt.Errorf("fetch snapshot: size %d position %d, have %d bytes: %w", p.Size, p.Position, len(s.data), ErrBadResponse)
		}
		if len(s.data) == 0 {
			s.end, s.epoch, size = p.SnapshotID.EndOffset, p.SnapshotID.Epoch, p.Size
			s.data = make([]byte, 0, p.Size)
		} else if p.SnapshotID.EndOffset != s.end || p.SnapshotID.Epoch != s.epoch || p.Size != size {
			return downloadedSnapshot{}, fmt.Errorf("fetch snapshot: chunk of snapshot %d/%d (%d bytes) while reading %d/%d (%d bytes): %w",
				p.SnapshotID.EndOffset, p.SnapshotID.Epoch, p.Size, s.end, s.epoch, size, ErrBadResponse)
		}
		s.data = append(s.data, p.Bytes...)
		if int64(len(s.data)) >= size {
			return s, nil
		}
		if len(p.Bytes) == 0 {
			return downloadedSnapshot{}, fmt.Errorf("fetch snapshot: empty chunk at %d of %d: %w", len(s.data), size, ErrBadResponse)
		}
	}
}

// fetchSnapshotChunk sends one FetchSnapshot of the metadata partition and
// returns the answer's only partition.
func fetchSnapshotChunk(ctx context.Context, call controllerCall, replicaID int32, end int64, epoch int32, pos int64) (kmsg.FetchSnapshotResponseTopicPartition, error) {
	req := kmsg.NewPtrFetchSnapshotRequest()
	req.ReplicaID, req.MaxBytes = replicaID, fetchMaxBytes
	rt := kmsg.NewFetchSnapshotRequestTopic()
	rt.Topic = MetadataTopic
	rp := kmsg.NewFetchSnapshotRequestTopicPartition()
	rp.SnapshotID.EndOffset, rp.SnapshotID.Epoch, rp.Position = end, epoch, pos
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := call(ctx, req, func(r kmsg.Response) bool {
		for _, t := range r.(*kmsg.FetchSnapshotResponse).Topics {
			for _, p := range t.Partitions {
				if isNotController(p.ErrorCode) {
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return kmsg.FetchSnapshotResponseTopicPartition{}, err
	}
	r := resp.(*kmsg.FetchSnapshotResponse)
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return kmsg.FetchSnapshotResponseTopicPartition{}, fmt.Errorf("fetch snapshot: %d topics in the answer: %w", len(r.Topics), ErrBadResponse)
	}
	return r.Topics[0].Partitions[0], nil
}

// fetchMetadata sends one Fetch (v12) of the metadata partition at offset,
// as replicaID, waiting up to maxWait on the controller for new entries
// (0: answer at once), and returns the answer's partition.
func fetchMetadata(ctx context.Context, call controllerCall, replicaID int32, offset int64, maxWait time.Duration, maxBytes int32) (kmsg.FetchResponseTopicPartition, error) {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.ReplicaID = replicaID
	req.MaxWaitMillis = int32(maxWait.Milliseconds())
	req.MinBytes, req.MaxBytes = 1, maxBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = MetadataTopic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, offset, maxBytes
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := call(ctx, req, func(r kmsg.Response) bool {
		p, ok := fetchPartition(r.(*kmsg.FetchResponse))
		return ok && isNotController(p.ErrorCode)
	})
	if err != nil {
		return kmsg.FetchResponseTopicPartition{}, err
	}
	p, ok := fetchPartition(resp.(*kmsg.FetchResponse))
	if !ok {
		return p, fmt.Errorf("fetch response without %s-0: %w", MetadataTopic, ErrBadResponse)
	}
	return p, nil
}
