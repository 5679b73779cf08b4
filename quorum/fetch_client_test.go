package quorum

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeSnapshotServer answers FetchSnapshot from a list of images: images[i]
// is served until the i-th restart point, as the controller's handler does
// (a request at position 0 gets the current image, a later position of an
// image no longer current gets SNAPSHOT_NOT_FOUND). chunk bounds each answer.
type fakeSnapshotServer struct {
	images  [][]byte
	cur     int
	chunk   int
	moveAt  map[int]bool // request number -> the controller moves to the next image before answering
	mangle  func(n int, p *kmsg.FetchSnapshotResponseTopicPartition)
	reqs    []kmsg.FetchSnapshotRequestTopicPartition
	replica int32
}

func (s *fakeSnapshotServer) call(_ context.Context, req kmsg.Request, notController func(kmsg.Response) bool) (kmsg.Response, error) {
	r := req.(*kmsg.FetchSnapshotRequest)
	s.replica = r.ReplicaID
	rp := r.Topics[0].Partitions[0]
	n := len(s.reqs)
	s.reqs = append(s.reqs, rp)
	if s.moveAt[n] && s.cur < len(s.images)-1 {
		s.cur++
	}
	end := int64(100 + s.cur)
	p := kmsg.NewFetchSnapshotResponseTopicPartition()
	switch {
	case rp.Position != 0 && rp.SnapshotID.EndOffset != end:
		p.ErrorCode = kerr.SnapshotNotFound.Code
	default:
		img := s.images[s.cur]
		stop := min(int(rp.Position)+s.chunk, len(img))
		p.Bytes, p.Size, p.Position = img[rp.Position:stop], int64(len(img)), rp.Position
		p.SnapshotID.EndOffset, p.SnapshotID.Epoch = end, 7
	}
	if s.mangle != nil {
		s.mangle(n, &p)
	}
	resp := kmsg.NewPtrFetchSnapshotResponse()
	t := kmsg.NewFetchSnapshotResponseTopic()
	t.Topic = MetadataTopic
	t.Partitions = append(t.Partitions, p)
	resp.Topics = append(resp.Topics, t)
	if notController(resp) {
		return nil, errors.New("fake: not controller")
	}
	return resp, nil
}

// TestDownloadSnapshotPolicy checks downloadSnapshot's documented restart
// and resume policy (KIP-630 FetchSnapshot): chunks resume at the bytes
// held under the first answer's SnapshotID; SNAPSHOT_NOT_FOUND starts over
// at most maxSnapshotRestarts times; inconsistent answers fail at once.
func TestDownloadSnapshotPolicy(t *testing.T) {
	img := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	ctx := context.Background()

	t.Run("resume", func(t *testing.T) {
		s := &fakeSnapshotServer{images: [][]byte{img('a', 10)}, chunk: 4}
		got, err := downloadSnapshot(ctx, s.call, 5)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.data, img('a', 10)) || got.end != 100 || got.epoch != 7 {
			t.Fatalf("got %q end %d epoch %d", got.data, got.end, got.epoch)
		}
		var pos []int64
		for _, r := range s.reqs {
			pos = append(pos, r.Position)
		}
		if fmt.Sprint(pos) != "[0 4 8]" || s.reqs[0].SnapshotID.EndOffset != -1 || s.reqs[1].SnapshotID.EndOffset != 100 {
			t.Fatalf("requests at positions %v, snapshot ids %d then %d", pos, s.reqs[0].SnapshotID.EndOffset, s.reqs[1].SnapshotID.EndOffset)
		}
		if s.replica != 5 {
			t.Fatalf("replica id %d, want 5", s.replica)
		}
	})

	t.Run("restart", func(t *testing.T) {
		// The controller replaces its image during the second chunk: the
		// download starts over and returns the new image whole.
		s := &fakeSnapshotServer{images: [][]byte{img('a', 10), img('b', 9)}, chunk: 4, moveAt: map[int]bool{1: true}}
		got, err := downloadSnapshot(ctx, s.call, -1)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.data, img('b', 9)) || got.end != 101 {
			t.Fatalf("got %q end %d, want the new image", got.data, got.end)
		}
		if s.reqs[2].Position != 0 || s.reqs[2].SnapshotID.EndOffset != -1 {
			t.Fatalf("after SNAPSHOT_NOT_FOUND: request %+v, want position 0 of any image", s.reqs[2])
		}
	})

	t.Run("restarts bounded", func(t *testing.T) {
		images := make([][]byte, maxSnapshotRestarts+2)
		moves := map[int]bool{}
		for i := range images {
			images[i] = img(byte('a'+i), 10)
			moves[2*i+1] = true // every second chunk request finds a newer image
		}
		s := &fakeSnapshotServer{images: images, chunk: 4, moveAt: moves}
		_, err := downloadSnapshot(ctx, s.call, -1)
		if !errors.Is(err, ErrSnapshotMoved) {
			t.Fatalf("err = %v, want ErrSnapshotMoved", err)
		}
		if len(s.reqs) != 2*(maxSnapshotRestarts+1) {
			t.Fatalf("%d requests, want %d", len(s.reqs), 2*(maxSnapshotRestarts+1))
		}
	})

	bad := []struct {
		name   string
		mangle func(n int, p *kmsg.FetchSnapshotResponseTopicPartition)
		want   error
	}{
		{"other error", func(n int, p *kmsg.FetchSnapshotResponseTopicPartition) {
			if n == 1 {
				p.ErrorCode = kerr.UnknownServerError.Code
			}
		}, kerr.UnknownServerError},
		{"size too large", func(n int, p *kmsg.FetchSnapshotResponseTopicPartition) { p.Size = maxSnapshotBytes + 1 }, ErrBadResponse},
		{"wrong position", func(n int, p *kmsg.FetchSnapshotResponseTopicPartition) {
			if n == 1 {
				p.Position = 3
			}
		}, ErrBadResponse},
		{"other snapshot id", func(n int, p *kmsg.FetchSnapshotResponseTopicPartition) {
			if n == 1 {
				p.SnapshotID.EndOffset = 99
			}
		}, ErrBadResponse},
		{"other size", func(n int, p *kmsg.FetchSnapshotResponseTopicPartition) {
			if n == 1 {
				p.Size = 11
			}
		}, ErrBadResponse},
		{"empty chunk", func(n int, p *kmsg.FetchSnapshotResponseTopicPartition) {
			if n == 1 {
				p.Bytes = nil
			}
		}, ErrBadResponse},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			s := &fakeSnapshotServer{images: [][]byte{img('a', 10)}, chunk: 4, mangle: tc.mangle}
			_, err := downloadSnapshot(ctx, s.call, -1)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
