package quorum

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// The active controller is the raft leader. Each write takes writeSem (one
// writer at a time), checks that this node still leads, computes records
// with the pure metadata functions against the latest applied image, and
// appends them as one raft entry. The leader's FSM applies an entry before
// its future resolves, so the next writer sees the result.

// await waits for a raft future, or for ctx. Raft futures cannot be
// cancelled and offer no channel, so a helper goroutine waits on f.Error();
// it ends when raft resolves f, at the latest when Close shuts raft down,
// and Close waits for it (n.waiters).
func (n *Node) await(ctx context.Context, f raft.Future) (interface{}, error) {
	n.waitMu.Lock()
	if n.closed {
		n.waitMu.Unlock()
		return nil, ErrClosed
	}
	n.waiters.Add(1)
	n.waitMu.Unlock()
	done := make(chan error, 1)
	go func() {
		defer n.waiters.Done()
		done <- f.Error()
	}()
	select {
	case err := <-done:
		if err != nil {
			return nil, mapRaftError(err)
		}
		if af, ok := f.(raft.ApplyFuture); ok {
			return af.Response(), nil
		}
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func mapRaftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrNotVoter):
		return fmt.Errorf("%w: %w", ErrNotController, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return fmt.Errorf("quorum: raft: %w", err)
}

// acquireWrite takes the writer slot (writeSem) and readies this node to
// compute a write: a write abandoned by its caller has resolved (the image is
// not final until it does), the node is still the leader, and every entry of
// earlier terms is applied (raft §5.4.2 commits them with the leader's first
// entry), so the write is computed against the whole log, like Kafka's active
// controller. On success the caller must call release.
func (n *Node) acquireWrite(ctx context.Context, what string) (r *raft.Raft, release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	select {
	case n.writeSem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	held := func() { <-n.writeSem }
	defer func() {
		if err != nil {
			held() // every error return gives the slot back
		}
	}()
	if r = n.raftHandle(); r == nil {
		return nil, nil, ErrClosed
	}
	if n.pending != nil {
		if _, err := n.await(ctx, n.pending); err != nil && ctx.Err() != nil {
			return nil, nil, err
		}
		n.pending = nil
	}
	if r.State() != raft.Leader {
		return nil, nil, ErrNotController
	}
	if term := r.CurrentTerm(); n.readyTerm != term {
		if _, err := n.await(ctx, r.Barrier(n.cfg.ApplyTimeout)); err != nil {
			return nil, nil, fmt.Errorf("%s: wait for the log of earlier terms: %w", what, err)
		}
		if err := n.writeBootstrap(ctx, r); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", what, err)
		}
		n.readyTerm = term
	}
	return r, held, nil
}

// write runs compute against the latest image and commits its records as
// one entry. It returns the applied result (Image is the image after the
// entry; for zero records, the image compute saw).
func (n *Node) write(ctx context.Context, what string, compute func(img *metadata.Image) ([]metadata.Record, error)) (*applyResult, error) {
	r, release, err := n.acquireWrite(ctx, what)
	if err != nil {
		return nil, err
	}
	defer release()
	img := n.fsm.image()
	recs, err := compute(img)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return &applyResult{Image: img}, nil
	}
	if r.State() != raft.Leader {
		return nil, ErrNotController
	}
	start := time.Now()
	fut := r.Apply(metadata.AppendBatch(nil, recs), n.cfg.ApplyTimeout)
	resp, err := n.await(ctx, fut)
	if err != nil {
		if ctx.Err() != nil {
			n.pending = fut
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if o := n.cfg.Observer; o != nil {
		o.ObserveCommit(time.Since(start))
	}
	res, ok := resp.(*applyResult)
	if !ok {
		return nil, fmt.Errorf("%s: unexpected fsm response %T", what, resp)
	}
	if res.Err != nil {
		return nil, fmt.Errorf("%s: %w", what, res.Err)
	}
	return res, nil
}

// writeEach is write for the admin calls that answer one result per item
// (ACLs, SCRAM users, configs, quotas, elections): compute runs outside
// PRE_MIGRATION only and returns the records and the results; when the
// entry as a whole fails, failed(err) answers for every item. ok reports
// whether the entry was written (or had nothing to write).
func writeEach[R any](ctx context.Context, n *Node, what string, compute func(*metadata.Image) ([]metadata.Record, []R), failed func(error) []R) (res []R, ok bool) {
	_, err := n.write(ctx, what, func(img *metadata.Image) ([]metadata.Record, error) {
		if err := refusePreMigration(img, what); err != nil {
			return nil, err
		}
		recs, r := compute(img)
		res = r
		return recs, nil
	})
	if err != nil {
		return failed(err), false
	}
	return res, true
}

// failEach answers err for each of n items (writeEach's failed).
func failEach(n int) func(error) []error {
	return func(err error) []error {
		errs := make([]error, n)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
}

// CreateTopics creates each topic as one raft entry (the TopicRecord with
// all its PartitionRecords and ConfigRecords) and returns once it is applied
// locally. errs[i] belongs to specs[i]. A name given twice fails with
// metadata.ErrInvalidRequest for every occurrence, as Kafka does.
func (n *Node) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	errs := make([]error, len(specs))
	seen := make(map[string]int, len(specs))
	for _, s := range specs {
		seen[s.Name]++
	}
	for i, spec := range specs {
		if seen[spec.Name] > 1 {
			errs[i] = fmt.Errorf("create topic %q: named %d times in one request: %w", spec.Name, seen[spec.Name], metadata.ErrInvalidRequest)
			continue
		}
		spec := spec
		_, err := n.write(ctx, "create topic "+spec.Name, func(img *metadata.Image) ([]metadata.Record, error) {
			if err := refusePreMigration(img, "create topic "+spec.Name); err != nil {
				return nil, err
			}
			recs, err := metadata.CreateTopic(img, spec, n.cfg.Controller)
			if err != nil || validateOnly {
				return nil, err
			}
			return recs, nil
		})
		errs[i] = err
		if err == nil && !validateOnly {
			n.log.Info("created topic", zap.String("topic", spec.Name))
		}
	}
	return errs
}

// DeleteTopics removes each topic as one raft entry. errs[i] belongs to names[i].
func (n *Node) DeleteTopics(ctx context.Context, names []string) []error {
	errs := make([]error, len(names))
	for i, name := range names {
		name := name
		_, errs[i] = n.write(ctx, "delete topic "+name, func(img *metadata.Image) ([]metadata.Record, error) {
			if err := refusePreMigration(img, "delete topic "+name); err != nil {
				return nil, err
			}
			return metadata.DeleteTopic(img, name)
		})
		if errs[i] == nil {
			n.log.Info("deleted topic", zap.String("topic", name))
		}
	}
	return errs
}

// AllocateProducerIDs hands brokerID the next block of producer ids.
func (n *Node) AllocateProducerIDs(ctx context.Context, brokerID int32) (first int64, count int64, err error) {
	_, err = n.write(ctx, fmt.Sprintf("allocate producer ids for broker %d", brokerID), func(img *metadata.Image) ([]metadata.Record, error) {
		if err := refusePreMigration(img, "allocate producer ids"); err != nil {
			return nil, err
		}
		epoch := int64(-1)
		if b, ok := img.Broker(brokerID); ok {
			epoch = b.Epoch
		}
		var recs []metadata.Record
		first, count, recs = metadata.AllocateProducerIDs(img, brokerID, epoch)
		return recs, nil
	})
	if err != nil {
		return 0, 0, err
	}
	return first, count, nil
}

// RegisterBroker registers (or re-registers) a broker, fenced. A new
// incarnation's epoch is the raft index of the entry holding its
// RegisterBrokerRecord, stamped by the FSM on every node (Kafka uses the
// record's offset); a retry with the same incarnation keeps its epoch.
func (n *Node) RegisterBroker(ctx context.Context, reg metadata.BrokerRegistration) (epoch int64, err error) {
	res, err := n.write(ctx, fmt.Sprintf("register broker %d", reg.ID), func(img *metadata.Image) ([]metadata.Record, error) {
		if err := refuseKRaftBrokerInPreMigration(img, reg); err != nil {
			return nil, err
		}
		live := n.sessionLive(reg.ID)
		recs, err := metadata.RegisterBroker(img, reg, live)
		if err != nil {
			return nil, err
		}
		old, retry := img.Broker(reg.ID)
		retry = retry && old.IncarnationID == reg.IncarnationID
		for _, r := range recs {
			if rb, ok := r.(*metadata.RegisterBrokerRecord); ok && !retry {
				rb.BrokerEpoch = -1 // the FSM stamps the entry's index
			}
		}
		return recs, nil
	})
	if err != nil {
		return -1, err
	}
	b, ok := res.Image.Broker(reg.ID)
	if !ok {
		return -1, fmt.Errorf("register broker %d: not in the image after apply: %w", reg.ID, metadata.ErrUnknownBroker)
	}
	n.touchSession(reg.ID)
	n.log.Info("registered broker", zap.Int32("broker", reg.ID), zap.Int64("epoch", b.Epoch))
	return b.Epoch, nil
}

// UnfenceBroker unfences a registered broker whose epoch matches.
func (n *Node) UnfenceBroker(ctx context.Context, id int32, epoch int64) error {
	_, err := n.write(ctx, fmt.Sprintf("unfence broker %d", id), func(img *metadata.Image) ([]metadata.Record, error) {
		return n.unfenceBroker(img, id, epoch)
	})
	return err
}
