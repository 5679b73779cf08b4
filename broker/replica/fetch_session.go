package replica

import (
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// fetchSession is the follower's side of a KIP-227 fetch session with one
// leader (Kafka's FetchSessionHandler). The first fetch is full with epoch
// 0 and asks the leader for a session; once it answers with an id, each
// fetch carries the next epoch and only the partitions whose fetch state
// changed (new ones, a new fetch offset, log start, leader epoch) plus the
// ones no longer fetched (forgotten topics). Any failed round, and the
// leader's FETCH_SESSION_ID_NOT_FOUND or INVALID_FETCH_SESSION_EPOCH,
// resets it: the next fetch is full again and closes the old id. Owned by
// the fetcher goroutine.
type fetchSession struct {
	id    int32 // 0: none
	epoch int32 // the next request's epoch when id != 0
	// closeID is a session to close with the next full fetch (after a reset).
	closeID int32
	sent    map[storage.TopicPartition]sessionPartition // what the leader's session holds
}

// sessionPartition is one partition as the fetch asks for it.
type sessionPartition struct {
	tp      storage.TopicPartition
	topicID metadata.Uuid
	req     kmsg.FetchRequestTopicPartition
}

// build sets req's session id and epoch, topics and forgotten topics for
// the partitions wanted this round.
func (s *fetchSession) build(req *kmsg.FetchRequest, wanted []sessionPartition) {
	byTopic := map[string]int{}
	add := func(sp sessionPartition) {
		i, ok := byTopic[sp.tp.Topic]
		if !ok {
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = sp.tp.Topic, sp.topicID
			req.Topics = append(req.Topics, t)
			i = len(req.Topics) - 1
			byTopic[sp.tp.Topic] = i
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, sp.req)
	}
	if s.id == 0 {
		req.SessionID, req.SessionEpoch = s.closeID, 0 // full; creates a session
		for _, sp := range wanted {
			add(sp)
		}
		return
	}
	req.SessionID, req.SessionEpoch = s.id, s.epoch
	want := make(map[storage.TopicPartition]bool, len(wanted))
	for _, sp := range wanted {
		want[sp.tp] = true
		if old, ok := s.sent[sp.tp]; ok && old.topicID == sp.topicID && samePartitionRequest(old.req, sp.req) {
			continue
		}
		add(sp)
	}
	forgotten := map[string]int{}
	for tp, old := range s.sent {
		if want[tp] {
			continue
		}
		i, ok := forgotten[tp.Topic]
		if !ok {
			ft := kmsg.NewFetchRequestForgottenTopic()
			ft.Topic, ft.TopicID = tp.Topic, old.topicID
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
			i = len(req.ForgottenTopics) - 1
			forgotten[tp.Topic] = i
		}
		req.ForgottenTopics[i].Partitions = append(req.ForgottenTopics[i].Partitions, tp.Partition)
	}
}

func samePartitionRequest(a, b kmsg.FetchRequestTopicPartition) bool {
	return a.FetchOffset == b.FetchOffset && a.LogStartOffset == b.LogStartOffset &&
		a.CurrentLeaderEpoch == b.CurrentLeaderEpoch && a.PartitionMaxBytes == b.PartitionMaxBytes &&
		a.LastFetchedEpoch == b.LastFetchedEpoch
}

// answered records a successful round (resp.ErrorCode == 0) of req.
func (s *fetchSession) answered(req *kmsg.FetchRequest, resp *kmsg.FetchResponse) {
	if req.SessionEpoch == 0 {
		s.closeID = 0
		s.id = resp.SessionID // 0: the leader keeps no session; full again next time
		s.epoch = 1
		s.sent = make(map[storage.TopicPartition]sessionPartition)
	} else {
		s.epoch = nextSessionEpoch(s.epoch)
		for _, ft := range req.ForgottenTopics {
			for _, p := range ft.Partitions {
				delete(s.sent, storage.TopicPartition{Topic: ft.Topic, Partition: p})
			}
		}
	}
	if s.id == 0 {
		s.sent = nil
		return
	}
	for _, t := range req.Topics {
		for _, rp := range t.Partitions {
			tp := storage.TopicPartition{Topic: t.Topic, Partition: rp.Partition}
			s.sent[tp] = sessionPartition{tp: tp, topicID: metadata.Uuid(t.TopicID), req: rp}
		}
	}
}

// reset drops the session; the next fetch is full and closes it.
func (s *fetchSession) reset() {
	if s.id != 0 {
		s.closeID = s.id
	}
	s.id, s.epoch, s.sent = 0, 0, nil
}

func nextSessionEpoch(e int32) int32 {
	if e == math.MaxInt32 {
		return 1
	}
	return e + 1
}
