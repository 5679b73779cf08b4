package broker

// Fetch (key 1), versions 4-13.
//
// Fetch sessions (KIP-227, v7+; fetch_session.go): full and incremental
// fetches for consumers and followers alike; an incremental fetch reads
// every partition of its session and answers only those with news. v13
// names topics by id (unknown id -> UNKNOWN_TOPIC_ID).
//
// Zero copy: the record bytes stay in the segment files. The answer is a
// network.FileResponse whose partitions' RecordBatches are file regions
// (storage.ReadRecords, pinned until the frame is written), which the
// connection's writer sends with sendfile.
//
// Per partition this broker must be the leader (NOT_LEADER_OR_FOLLOWER,
// UNKNOWN_TOPIC_OR_PARTITION), the current leader epoch (v9+, KIP-320) must
// match (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH), and the fetch offset
// must lie in [log start, log end] (else OFFSET_OUT_OF_RANGE). Consumers
// never read at or past the high watermark, which comes from the
// Replication seam; a follower (replica id >= 0) reads up to the log end,
// and its fetch offsets are first reported to the replication manager
// (FollowerTracker) as the follower's log end offsets.
// Isolation level (KIP-98): every answer carries the partition's last
// stable offset (storage.Log.LastStableOffset: the first offset of the
// earliest undecided transaction, else the high watermark). A
// read_committed consumer (isolation_level 1) reads below it only, and gets
// the aborted transactions of the range (from the segments' .txnindex) so
// it drops their batches; read_uncommitted reads to the high watermark and
// gets no list. A read_committed long poll parked at the LSO waits for the
// high watermark to move past its current value (a replicated marker).
//
// Sizes (KIP-74): partitions are filled in request order, each up to its
// partition_max_bytes and together up to max_bytes, except that the first
// partition with data always returns at least one whole batch.
//
// Long poll: while fewer than min_bytes are ready (and no partition has an
// error) the request parks until a partition's high watermark passes its
// fetch offset, max_wait_ms (capped by Config.MaxFetchWait) expires, or the
// connection closes; then it reads once more and answers.

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// fetchWatch is a partition the long poll waits on.
type fetchWatch struct {
	topic     string
	partition int32
	log       *storage.Log
	past      int64
	follower  bool
}

func (b *Broker) handleFetch(ctx context.Context, nreq *network.Request, req *kmsg.FetchRequest) (kmsg.Response, error) {
	replicaID := req.ReplicaID
	if req.Version >= 15 {
		replicaID = req.ReplicaState.ID
	}
	follower := replicaID >= 0
	fc, code := b.fetchSessions.open(req, follower)
	if code != 0 {
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = code
		return resp, nil
	}
	deny := b.fetchAuthorizer(nreq, follower)
	if ft, ok := b.repl.(FollowerTracker); ok && follower && deny == nil {
		b.noteFollowerFetch(ft, req.Version, fc.topics, replicaID)
	}

	wait := time.Duration(req.MaxWaitMillis) * time.Millisecond
	if wait > b.cfg.MaxFetchWait {
		wait = b.cfg.MaxFetchWait
	}
	var timer *time.Timer
	for {
		resp, total, failed, watches := b.readFetch(req, fc.topics, follower, deny, fc.keep())
		if failed || total >= int64(req.MinBytes) || wait <= 0 || len(watches) == 0 {
			fc.finish(resp.Response.(*kmsg.FetchResponse))
			return resp, nil
		}
		resp.Release() // not sent: read again after the wait
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		switch b.waitFetch(ctx, timer, watches) {
		case waitData:
			// A waiter channel also closes when ctx ends; do not spin then.
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		case waitTimeout:
			resp, _, _, _ = b.readFetch(req, fc.topics, follower, deny, fc.keep())
			fc.finish(resp.Response.(*kmsg.FetchResponse))
			return resp, nil
		default:
			return nil, ctx.Err()
		}
	}
}

// noteFollowerFetch tells the replication manager where follower replica
// is in each partition of the fetch (Kafka's updateFollowerFetchState),
// every partition of its session for an incremental fetch: the fetch
// offset is the follower's log end offset, from which the leader
// moves the high watermark and decides ISR membership.
func (b *Broker) noteFollowerFetch(ft FollowerTracker, version int16, topics []kmsg.FetchRequestTopic, replica int32) {
	img := b.Image()
	for _, rt := range topics {
		topic := rt.Topic
		if version >= 13 {
			ti, ok := img.TopicByID(metadata.Uuid(rt.TopicID))
			if !ok {
				continue
			}
			topic = ti.Name
		}
		for _, rp := range rt.Partitions {
			ft.FollowerFetched(topic, rp.Partition, replica, rp.CurrentLeaderEpoch, rp.FetchOffset)
		}
	}
}

type waitResult int

const (
	waitData waitResult = iota
	waitTimeout
	waitClosed
)

// waitFetch blocks until one watched partition has new data, the timer
// fires, or ctx ends. It selects over one channel per partition without a
// goroutine per partition.
func (b *Broker) waitFetch(ctx context.Context, timer *time.Timer, watches []fetchWatch) waitResult {
	if n, ok := b.repl.(HighWatermarkNotifier); ok {
		return b.notifyFetch(ctx, timer, watches, n)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel() // releases the waiters registered below
	cases := make([]reflect.SelectCase, 0, len(watches)+2)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
	)
	for _, w := range watches {
		var ch <-chan struct{}
		if w.follower {
			ch = w.log.Wait(wctx, w.past)
		} else {
			ch = b.repl.WaitHighWatermark(wctx, w.topic, w.partition, w.log, w.past)
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	switch chosen {
	case 0:
		return waitClosed
	case 1:
		return waitTimeout
	default:
		return waitData
	}
}

// notifyFetch is waitFetch on one shared channel: each partition's log (a
// follower's wait) or high watermark sends to it, and the registrations go
// when it returns. Costs one map entry per partition, not a context
// callback and a select case (a fetch session may hold thousands).
func (b *Broker) notifyFetch(ctx context.Context, timer *time.Timer, watches []fetchWatch, n HighWatermarkNotifier) waitResult {
	ch := make(chan struct{}, 1)
	cancels := make([]func(), 0, len(watches))
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	for _, w := range watches {
		if w.follower {
			cancels = append(cancels, w.log.Notify(w.past, ch))
		} else {
			cancels = append(cancels, n.NotifyHighWatermark(w.topic, w.partition, w.log, w.past, ch))
		}
	}
	select {
	case <-ctx.Done():
		return waitClosed
	case <-timer.C:
		return waitTimeout
	case <-ch:
		return waitData
	}
}

// readFetch builds one response from the current image and logs. It
// reports the record bytes returned, whether any partition failed, and the
// partitions worth waiting on (no error, nothing readable yet). keep, when
// set (an incremental fetch), leaves out the partitions with nothing new
// as they are read, so a session of thousands of idle partitions builds
// none of them. The record
// bytes stay in the segment files: the response carries them as file
// regions (network.FileResponse) that the connection's writer sends with
// sendfile, and its Release unpins the files.
func (b *Broker) readFetch(req *kmsg.FetchRequest, topics []kmsg.FetchRequestTopic, follower bool, deny func(string) error,
	keep func(*kmsg.FetchResponseTopic, *kmsg.FetchResponseTopicPartition) bool) (*network.FileResponse, int64, bool, []fetchWatch) {
	img := b.Image()
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	out := network.NewFileResponse(resp)
	maxBytes := int64(req.MaxBytes)
	if maxBytes <= 0 {
		maxBytes = math.MaxInt32
	}
	var total int64
	var failed bool
	var watches []fetchWatch
	if keep == nil {
		resp.Topics = make([]kmsg.FetchResponseTopic, 0, len(topics))
	}
	for _, rt := range topics {
		t := kmsg.NewFetchResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		var topicErr error
		if req.Version >= 13 {
			if ti, ok := img.TopicByID(metadata.Uuid(rt.TopicID)); ok {
				t.Topic = ti.Name
			} else {
				topicErr = fmt.Errorf("%w: %s", ErrUnknownTopicID, metadata.Uuid(rt.TopicID))
			}
		}
		if topicErr == nil && deny != nil {
			topicErr = deny(t.Topic)
		}
		if keep == nil {
			t.Partitions = make([]kmsg.FetchResponseTopicPartition, 0, len(rt.Partitions))
		}
		for _, rp := range rt.Partitions {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition = rp.Partition
			p.RecordBatches = []byte{} // empty, never null: librdkafka rejects a null record set
			err := topicErr
			if err == nil {
				var w *fetchWatch
				var n int64
				n, w, err = b.readPartition(img, t.Topic, rp, follower, req.IsolationLevel == 1, &p, out, maxBytes-total, total == 0)
				total += n
				if w != nil {
					watches = append(watches, *w)
				}
			}
			if err != nil {
				failed = true
				p.ErrorCode = errorCode(err)
				p.HighWatermark, p.LastStableOffset, p.LogStartOffset = -1, -1, -1
			}
			if keep == nil || keep(&t, &p) {
				t.Partitions = append(t.Partitions, p)
			}
		}
		if keep == nil || len(t.Partitions) > 0 {
			resp.Topics = append(resp.Topics, t)
		}
	}
	return out, total, failed, watches
}

// readPartition fills p for one requested partition, attaching at most
// budget record bytes (at least one batch when first) to out. It returns
// the bytes attached and, when nothing was readable, what to wait on.
func (b *Broker) readPartition(img *metadata.Image, topic string, rp kmsg.FetchRequestTopicPartition, follower, committed bool,
	p *kmsg.FetchResponseTopicPartition, out *network.FileResponse, budget int64, first bool) (int64, *fetchWatch, error) {
	reg, l, err := b.partitionFor(img, topic, rp.Partition)
	if err != nil {
		return 0, nil, err
	}
	if err := checkLeaderEpoch(reg, rp.CurrentLeaderEpoch); err != nil {
		return 0, nil, err
	}
	start, leo := l.LogStartOffset(), l.LogEndOffset()
	hw := b.repl.HighWatermark(topic, rp.Partition, l)
	stable := l.LastStableOffset(hw)
	p.HighWatermark, p.LastStableOffset, p.LogStartOffset = hw, stable, start
	committed = committed && !follower
	readEnd := b.readLimit(hw, l, follower)
	if committed {
		readEnd = stable
	}
	if rp.FetchOffset < start || rp.FetchOffset > leo {
		return 0, nil, fmt.Errorf("%w: fetch %s-%d at %d, log holds [%d, %d)", storage.ErrOffsetOutOfRange,
			topic, rp.Partition, rp.FetchOffset, start, leo)
	}
	watch := &fetchWatch{topic: topic, partition: rp.Partition, log: l, past: rp.FetchOffset, follower: follower}
	if committed && rp.FetchOffset >= stable && stable < hw {
		watch.past = hw // the LSO moves only when a marker is replicated, which moves the HW
	}
	limit := int64(rp.PartitionMaxBytes)
	if budget < limit {
		limit = budget
	}
	if rp.FetchOffset >= readEnd || (limit <= 0 && !first) {
		return 0, watch, nil
	}
	lt, throttled := b.repl.(LeaderThrottler)
	if throttled = throttled && follower; throttled && lt.LeaderThrottled(topic, rp.Partition) {
		// KIP-73: no records for a throttled replica now; a long poll
		// waits for the next append (or its timeout) before trying again.
		watch.past = leo
		return 0, watch, nil
	}
	if limit <= 0 {
		limit = 1 // KIP-74: the first partition with data returns one whole batch regardless
	}
	recs, err := l.ReadRecords(rp.FetchOffset, int32(min(limit, math.MaxInt32)), readEnd)
	if err != nil {
		return 0, nil, fmt.Errorf("read %s-%d at %d: %w", topic, rp.Partition, rp.FetchOffset, err)
	}
	n := recs.Len()
	if n > limit && !first {
		// A batch larger than what is left belongs to a later fetch in
		// which this partition comes first (KIP-74).
		recs.Release()
		return 0, nil, nil
	}
	if n == 0 {
		recs.Release()
		return 0, watch, nil
	}
	regions := make([]network.FileRegion, recs.NumParts())
	for i := range regions {
		f, off, n := recs.Part(i)
		regions[i] = network.FileRegion{File: f, Off: off, Len: n}
	}
	p.RecordBatches = out.Attach(regions...)
	out.OnRelease(recs.Release)
	if throttled {
		lt.RecordLeaderThrottled(topic, rp.Partition, int(n))
	}
	if committed {
		for _, a := range l.AbortedTxns(rp.FetchOffset, readEnd) {
			at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
			at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
			p.AbortedTransactions = append(p.AbortedTransactions, at)
		}
	}
	return n, nil, nil
}

// readLimit is how far a reader may go: a follower reads to the log end
// (it must copy uncommitted records to commit them), a consumer to the
// high watermark hw.
func (b *Broker) readLimit(hw int64, l *storage.Log, follower bool) int64 {
	if follower {
		return l.LogEndOffset()
	}
	return hw
}
