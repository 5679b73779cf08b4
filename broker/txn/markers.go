package txn

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// sendMarkers writes the commit or abort marker of m (a Prepare*
// transaction) to every partition it holds, grouped into one
// WriteTxnMarkers per leader broker (Kafka's
// TransactionMarkerChannelManager), until each has it or is gone. Retriable
// failures (no leader, NOT_LEADER_OR_FOLLOWER, a broker down, a timeout)
// are retried after MarkerBackoff; a fenced answer ends it with
// ErrMarkersFenced; ctx ends it too (the partition was unloaded).
func (c *Coordinator) sendMarkers(ctx context.Context, coordinatorEpoch int32, m meta) error {
	pending := make(map[TopicPartition]struct{}, len(m.partitions))
	for tp := range m.partitions {
		pending[tp] = struct{}{}
	}
	commit := m.state == PrepareCommit
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("markers of producer %d: %w", m.producerID, ctx.Err())
			case <-time.After(c.cfg.MarkerBackoff):
			}
		}
		byLeader := map[int32][]TopicPartition{}
		for tp := range pending {
			leader, exists := c.cluster.Leader(tp)
			switch {
			case !exists:
				delete(pending, tp) // deleted topic: nothing to mark
			case leader >= 0:
				byLeader[leader] = append(byLeader[leader], tp)
			}
		}
		// One request per leader, all in flight at once (a dead
		// leader's timeout does not hold back the others); joined here.
		type answer struct {
			node int32
			resp *kmsg.WriteTxnMarkersResponse
			err  error
		}
		answers := make([]answer, 0, len(byLeader))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for node, tps := range byLeader {
			req := markerRequest(m, commit, coordinatorEpoch, tps)
			wg.Add(1)
			go func() {
				defer wg.Done()
				rctx, cancel := context.WithTimeout(ctx, c.cfg.AppendTimeout+c.cfg.MarkerBackoff)
				resp, err := c.cluster.WriteTxnMarkers(rctx, node, req)
				cancel()
				mu.Lock()
				answers = append(answers, answer{node, resp, err})
				mu.Unlock()
			}()
		}
		wg.Wait()
		for _, a := range answers {
			if a.err != nil {
				c.logger.Debug("write txn markers failed", zap.Int32("broker", a.node), zap.Error(a.err), zap.Int("attempt", attempt))
				continue
			}
			for _, rm := range a.resp.Markers {
				for _, rt := range rm.Topics {
					for _, rp := range rt.Partitions {
						tp := TopicPartition{rt.Topic, rp.Partition}
						switch rp.ErrorCode {
						case 0, kerr.UnsupportedForMessageFormat.Code, kerr.UnsupportedVersion.Code:
							delete(pending, tp)
						case kerr.InvalidProducerEpoch.Code, kerr.TransactionCoordinatorFenced.Code:
							return fmt.Errorf("%w: %s answered %s", ErrMarkersFenced, tp, kerr.ErrorForCode(rp.ErrorCode))
						default:
							// UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER,
							// NOT_ENOUGH_REPLICAS*, REQUEST_TIMED_OUT, ...: the
							// leader check above decides again next round.
							c.logger.Debug("marker not written, retrying", zap.Stringer("partition", tp),
								zap.Int32("broker", a.node), zap.Error(kerr.ErrorForCode(rp.ErrorCode)))
						}
					}
				}
			}
		}
	}
	return nil
}

// markerRequest is the WriteTxnMarkers of m for tps (one leader's).
func markerRequest(m meta, commit bool, coordinatorEpoch int32, tps []TopicPartition) *kmsg.WriteTxnMarkersRequest {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	mk := kmsg.NewWriteTxnMarkersRequestMarker()
	mk.ProducerID, mk.ProducerEpoch, mk.Committed, mk.CoordinatorEpoch = m.producerID, m.epoch, commit, coordinatorEpoch
	idx := map[string]int{}
	for _, tp := range tps {
		i, ok := idx[tp.Topic]
		if !ok {
			i = len(mk.Topics)
			idx[tp.Topic] = i
			mk.Topics = append(mk.Topics, kmsg.WriteTxnMarkersRequestMarkerTopic{Topic: tp.Topic})
		}
		mk.Topics[i].Partitions = append(mk.Topics[i].Partitions, tp.Partition)
	}
	req.Markers = append(req.Markers, mk)
	return req
}
