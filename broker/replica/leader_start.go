package replica

// A follower whose log ends below the leader's log start (DeleteRecords or
// retention moved it while the follower was away or behind) gets
// OFFSET_OUT_OF_RANGE for every fetch. As Kafka's
// AbstractFetcherThread.handleOutOfRangeError does, it asks the leader
// for its log start (ListOffsets earliest, as a replica) and, when that is
// past its own log end, empties its log and starts it there
// (storage.Log.TruncateFullyAndStartAt). Otherwise the usual truncation by
// leader epoch runs.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/storage"
)

// startAtLeaderStart handles the states that got OFFSET_OUT_OF_RANGE and
// returns those that still need the truncation by epoch.
func (f *fetcher) startAtLeaderStart(src source, states []*fetchState) ([]*fetchState, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = f.m.cfg.NodeID
	byTopic := map[string]int{}
	asked := map[storage.TopicPartition]*fetchState{}
	for _, st := range states {
		if !st.outOfRange {
			continue
		}
		i, ok := byTopic[st.p.tp.Topic]
		if !ok {
			t := kmsg.NewListOffsetsRequestTopic()
			t.Topic = st.p.tp.Topic
			req.Topics = append(req.Topics, t)
			i = len(req.Topics) - 1
			byTopic[st.p.tp.Topic] = i
		}
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.Timestamp = st.p.tp.Partition, st.epoch, -2
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		asked[st.p.tp] = st
	}
	if len(asked) == 0 {
		return states, nil
	}
	ctx, cancel := context.WithTimeout(f.ctx, f.m.cfg.SocketTimeout)
	defer cancel()
	kresp, err := src.Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%w: list offsets (earliest): %w", ErrFetch, err)
	}
	resp, ok := kresp.(*kmsg.ListOffsetsResponse)
	if !ok {
		return nil, fmt.Errorf("%w: list offsets answered with %T", ErrFetch, kresp)
	}
	done := map[*fetchState]bool{}
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			st, ok := asked[storage.TopicPartition{Topic: t.Topic, Partition: rp.Partition}]
			if !ok {
				continue
			}
			st.outOfRange = false
			if perr := kerr.ErrorForCode(rp.ErrorCode); perr != nil {
				st.backoffUntil = f.m.now().Add(f.partitionBackoff(perr))
				done[st] = true
				continue
			}
			if f.startAt(st, rp.Offset) {
				done[st] = true
			}
		}
	}
	var rest []*fetchState
	for _, st := range states {
		if !done[st] {
			rest = append(rest, st)
		}
	}
	return rest, nil
}

// startAt empties st's log and starts it at the leader's log start when
// that is past its end, reporting whether it did (or st is stale).
func (f *fetcher) startAt(st *fetchState, leaderStart int64) bool {
	p := st.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !f.followingLocked(st) {
		return true
	}
	leo := p.log.LogEndOffset()
	if leaderStart <= leo {
		return false
	}
	p.logger.Info("log ends below the leader's log start: starting over there",
		zap.Int64("log_end_offset", leo), zap.Int64("leader_log_start_offset", leaderStart), zap.Int32("leader", f.leader))
	if err := p.log.TruncateFullyAndStartAt(leaderStart); err != nil {
		p.logger.Warn("truncate fully failed", zap.Error(err))
		st.backoffUntil = f.m.now().Add(f.m.cfg.FetchBackoff)
		return true
	}
	st.truncating = false
	return true
}
