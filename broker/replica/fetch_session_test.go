package replica

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

func wantedAt(offsets map[int32]int64) []sessionPartition {
	var out []sessionPartition
	for p := int32(0); p < 8; p++ {
		off, ok := offsets[p]
		if !ok {
			continue
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
		out = append(out, sessionPartition{tp: storage.TopicPartition{Topic: "t", Partition: p}, topicID: metadata.Uuid{1}, req: rp})
	}
	return out
}

func sentPartitions(req *kmsg.FetchRequest) (sent, forgotten []int32) {
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			sent = append(sent, p.Partition)
		}
	}
	for _, t := range req.ForgottenTopics {
		forgotten = append(forgotten, t.Partitions...)
	}
	return sent, forgotten
}

// TestFollowerFetchSession: the follower's first fetch is full with epoch
// 0; once the leader names a session, fetches carry the next epoch and
// only changed partitions plus forgotten ones; a reset goes back to a full
// fetch that closes the old session.
func TestFollowerFetchSession(t *testing.T) {
	var s fetchSession
	round := func(offsets map[int32]int64, answerID int32) *kmsg.FetchRequest {
		req := kmsg.NewPtrFetchRequest()
		s.build(req, wantedAt(offsets))
		resp := kmsg.NewPtrFetchResponse()
		resp.SessionID = answerID
		s.answered(req, resp)
		return req
	}
	req := round(map[int32]int64{0: 5, 1: 7, 2: 9}, 77)
	if sent, _ := sentPartitions(req); req.SessionID != 0 || req.SessionEpoch != 0 || len(sent) != 3 {
		t.Fatalf("first fetch: id %d epoch %d, %v", req.SessionID, req.SessionEpoch, sent)
	}
	req = round(map[int32]int64{0: 5, 1: 7, 2: 9}, 77)
	if sent, fg := sentPartitions(req); req.SessionID != 77 || req.SessionEpoch != 1 || len(sent) != 0 || len(fg) != 0 {
		t.Fatalf("unchanged: id %d epoch %d, sent %v forgotten %v", req.SessionID, req.SessionEpoch, sent, fg)
	}
	req = round(map[int32]int64{0: 6, 1: 7, 3: 0}, 77)
	sent, fg := sentPartitions(req)
	if req.SessionEpoch != 2 || len(sent) != 2 || sent[0] != 0 || sent[1] != 3 || len(fg) != 1 || fg[0] != 2 {
		t.Fatalf("changes: epoch %d, sent %v forgotten %v", req.SessionEpoch, sent, fg)
	}
	req = round(map[int32]int64{0: 6, 1: 7, 3: 0}, 77)
	if sent, fg := sentPartitions(req); req.SessionEpoch != 3 || len(sent) != 0 || len(fg) != 0 {
		t.Fatalf("after changes: epoch %d, sent %v forgotten %v", req.SessionEpoch, sent, fg)
	}
	s.reset()
	req = round(map[int32]int64{0: 6, 1: 7}, 88)
	if sent, _ := sentPartitions(req); req.SessionID != 77 || req.SessionEpoch != 0 || len(sent) != 2 {
		t.Fatalf("after reset: id %d epoch %d, %v (want a full fetch closing 77)", req.SessionID, req.SessionEpoch, sent)
	}
	req = round(map[int32]int64{0: 6, 1: 7}, 88)
	if req.SessionID != 88 || req.SessionEpoch != 1 {
		t.Fatalf("new session: id %d epoch %d", req.SessionID, req.SessionEpoch)
	}
	// A leader that keeps no session (id 0): every fetch stays full.
	s = fetchSession{}
	round(map[int32]int64{0: 1}, 0)
	if req := round(map[int32]int64{0: 1}, 0); req.SessionEpoch != 0 || len(req.Topics) != 1 {
		t.Fatalf("sessionless leader: epoch %d, %d topics", req.SessionEpoch, len(req.Topics))
	}
}
