package group

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/broker/storage"
)

// Transactional offset commits (KIP-98, KIP-447): TxnOffsetCommit writes a
// producer's offsets to __consumer_offsets as a transactional batch; they
// stay pending (invisible to OffsetFetch, UNSTABLE_OFFSET_COMMIT with
// require_stable) until the transaction coordinator's marker for that
// producer lands on the group's partition, which makes them committed
// offsets or drops them (Kafka's GroupMetadataManager.handleTxnCompletion).
// A reload replays the same rule from the log (coordinator.go, replay).

// txnCompletion is a marker written to a partition that was loading.
type txnCompletion struct {
	pid    int64
	commit bool
}

// TxnOffsetCommit runs Kafka's TxnOffsetCommit (v0-v4). The group is
// created when unknown; v3+ requests naming a member (KIP-447) are checked
// as Kafka's doTxnCommitOffsets does: an unknown member is
// UNKNOWN_MEMBER_ID, a static member whose instance id maps to another
// member FENCED_INSTANCE_ID, a generation other than the group's
// ILLEGAL_GENERATION. The caller authorized the transactional id, the
// group and the topics.
func (c *Coordinator) TxnOffsetCommit(_ context.Context, req *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	codes := make([][]int16, len(req.Topics))
	for i, t := range req.Topics {
		codes[i] = make([]int16, len(t.Partitions))
	}
	setAll := func(code int16) {
		for i := range codes {
			for j := range codes[i] {
				codes[i][j] = code
			}
		}
	}
	defer func() {
		for i, t := range req.Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for j, p := range t.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, codes[i][j]
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	}()

	g, err := c.lockGroup(req.Group, true, true)
	if err != nil {
		setAll(errorCode(err))
		return resp
	}
	defer g.writeMu.Unlock()
	if err := checkTxnMember(g, req); err != nil {
		g.mu.Unlock()
		setAll(errorCode(err))
		return resp
	}
	now := c.nowMs()
	var recs []record
	var where [][2]int
	var values []committed
	for i, t := range req.Topics {
		for j, p := range t.Partitions {
			md := ""
			if p.Metadata != nil {
				md = *p.Metadata
			}
			if len(md) > c.cfg.MaxMetadataBytes {
				codes[i][j] = errorCode(ErrMetadataTooLarge)
				continue
			}
			le := p.LeaderEpoch
			if req.Version < 2 {
				le = -1
			}
			v := committed{offset: p.Offset, leaderEpoch: le, metadata: md, timestamp: now}
			recs = append(recs, record{key: offsetKey(g.id, t.Topic, p.Partition), value: offsetValue(v)})
			where = append(where, [2]int{i, j})
			values = append(values, v)
		}
	}
	part := g.partition
	g.mu.Unlock()

	first, err := c.appendTxnRecords(context.Background(), part, recs, req.ProducerID, req.ProducerEpoch)
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, w := range where {
		if err != nil {
			codes[w[0]][w[1]] = errorCode(err)
			continue
		}
		if g.pendingTxn == nil {
			g.pendingTxn = make(map[int64]map[topicPartition]committed)
		}
		pend := g.pendingTxn[req.ProducerID]
		if pend == nil {
			pend = make(map[topicPartition]committed)
			g.pendingTxn[req.ProducerID] = pend
		}
		t := req.Topics[w[0]]
		v := values[k]
		v.logOffset = first + int64(k)
		pend[topicPartition{t.Topic, t.Partitions[w[1]].Partition}] = v
	}
	return resp
}

// checkTxnMember applies KIP-447's member checks. g.mu held.
func checkTxnMember(g *group, req *kmsg.TxnOffsetCommitRequest) error {
	if req.Version < 3 {
		return nil
	}
	if req.MemberID != "" {
		if _, ok := g.members[req.MemberID]; !ok {
			return fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, req.MemberID, g.id)
		}
	}
	if req.InstanceID != nil {
		if id, ok := g.static[*req.InstanceID]; ok && id != req.MemberID {
			return fmt.Errorf("%w: instance %q is member %q, not %q", ErrFencedInstanceID, *req.InstanceID, id, req.MemberID)
		}
	}
	if req.Generation >= 0 && req.Generation != g.generation {
		return fmt.Errorf("%w: generation %d, group %q is at %d", ErrIllegalGeneration, req.Generation, g.id, g.generation)
	}
	return nil
}

// appendTxnRecords writes recs to partition p as one transactional batch
// of producer pid at epoch and waits until committed. recs[i] is at offset
// first+i.
func (c *Coordinator) appendTxnRecords(ctx context.Context, p int32, recs []record, pid int64, epoch int16) (first int64, err error) {
	if len(recs) == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AppendTimeout)
	defer cancel()
	stop := context.AfterFunc(c.lifetime, cancel)
	defer stop()
	batch := appendTxnBatch(nil, recs, c.nowMs(), pid, epoch)
	first, err = c.log.Append(ctx, p, batch)
	if err != nil {
		if errors.Is(err, ErrNotCoordinator) {
			return 0, err
		}
		if errors.Is(err, storage.ErrInvalidProducerEpoch) {
			return 0, err // a fenced producer: the client must see it (Kafka passes it through)
		}
		return 0, fmt.Errorf("%w: append %d transactional records to %s-%d: %w", ErrCoordinatorUnavailable, len(recs), OffsetsTopic, p, err)
	}
	return first, nil
}

// CompleteTxn applies a transaction marker written to partition p for
// producer pid: its pending offset commits in every group of p become
// committed offsets (commit) or are dropped (abort). A partition still
// loading keeps the completion for install.
func (c *Coordinator) CompleteTxn(p int32, pid int64, commit bool) {
	c.mu.Lock()
	ps := c.partitions[p]
	if ps == nil {
		c.mu.Unlock()
		return
	}
	if !ps.loaded {
		ps.completions = append(ps.completions, txnCompletion{pid: pid, commit: commit})
		c.mu.Unlock()
		return
	}
	var groups []*group
	for _, g := range c.groups {
		if g.partition == p {
			groups = append(groups, g)
		}
	}
	c.mu.Unlock()
	for _, g := range groups {
		g.mu.Lock()
		g.completeTxnLocked(pid, commit)
		g.mu.Unlock()
	}
}

// completeTxnLocked moves or drops pid's pending commits. A committed one
// replaces the partition's current offset only if that offset's record is
// earlier in the log (commitPending). g.mu held (or g not yet
// published).
func (g *group) completeTxnLocked(pid int64, commit bool) {
	pend, ok := g.pendingTxn[pid]
	if !ok {
		return
	}
	if commit {
		commitPending(g.offsets, pend)
	}
	delete(g.pendingTxn, pid)
}

// commitPending applies a committed transaction's offsets to offsets,
// Kafka's rule (GroupMetadata.completePendingTxnOffsetCommit, the loader's
// COMMIT marker, OffsetMetadataManager.replayEndTransactionMarker): a
// pending offset wins unless the partition's current offset was written
// to __consumer_offsets after it (a plain OffsetCommit between the
// TxnOffsetCommit and the marker stays). The live path and replay both
// use it, so a reload ends as the live coordinator did.
func commitPending(offsets, pend map[topicPartition]committed) {
	for tp, v := range pend {
		if cur, ok := offsets[tp]; ok && cur.logOffset > v.logOffset {
			continue
		}
		offsets[tp] = v
	}
}

// hasPendingTxn reports whether a transactional commit of tp awaits its
// marker. g.mu held.
func (g *group) hasPendingTxn(tp topicPartition) bool {
	for _, pend := range g.pendingTxn {
		if _, ok := pend[tp]; ok {
			return true
		}
	}
	return false
}
