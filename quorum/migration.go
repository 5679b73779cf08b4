package quorum

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata"
)

// Hooks for the ZooKeeper migration (package migrate, KIP-866): the
// migration driver runs on the active controller, reads its leadership
// term (Kafka's kraftControllerEpoch), appends its own records and loads the
// ZooKeeper tree as one metadata transaction spread over several entries.

// ErrPreMigration: the metadata log is in PRE_MIGRATION (a migration is
// set up but the ZooKeeper data is not loaded yet), so the controller
// accepts no metadata mutation (Kafka's ControllerExceptions
// .newPreMigrationException). Returned errors wrap ErrNotController too, so
// the controller listener answers NOT_CONTROLLER (41, retriable) and
// brokers retry until the load has committed; a registration of a broker
// that is not a migrating ZooKeeper broker wraps kerr.BrokerIDNotRegistered
// (102) instead, as Kafka's ClusterControlManager answers.
var ErrPreMigration = errors.New("quorum: the metadata log is in PRE_MIGRATION: no metadata changes until the ZooKeeper migration has loaded")

// refusePreMigration is the check every metadata mutation (CreateTopics,
// DeleteTopics, AlterPartition, AllocateProducerIds) runs against the image
// it computes on, under the writer semaphore: the load's transaction and a
// mutation never interleave, and a mutation never lands in the log before
// the ZooKeeper data it would conflict with.
func refusePreMigration(img *metadata.Image, what string) error {
	if img.ZkMigrationState() != metadata.ZkMigrationPreMigration {
		return nil
	}
	return fmt.Errorf("%s: %w (%w)", what, ErrPreMigration, ErrNotController)
}

// refuseKRaftBrokerInPreMigration: in PRE_MIGRATION only migrating
// ZooKeeper brokers may register (KAFKA-REFERENCE §3.4).
func refuseKRaftBrokerInPreMigration(img *metadata.Image, reg metadata.BrokerRegistration) error {
	if reg.IsMigratingZkBroker || img.ZkMigrationState() != metadata.ZkMigrationPreMigration {
		return nil
	}
	return fmt.Errorf("register broker %d: the controller is in pre-migration mode and cannot register KRaft brokers "+
		"until the metadata migration is complete: %w (%w)", reg.ID, ErrPreMigration, kerr.BrokerIDNotRegistered)
}

// LeaderTerm is the raft term while this node is the active controller
// (ok false otherwise). The migration stamps it into /controller as
// kraftControllerEpoch.
func (n *Node) LeaderTerm() (term int64, ok bool) {
	r := n.raftHandle()
	if r == nil || r.State() != raft.Leader {
		return -1, false
	}
	return int64(r.CurrentTerm()), true
}

// LeaderImage is, on the active controller, the image once every entry of
// earlier terms is applied (the same raft barrier every controller write
// waits for once per term), and the term. A new leader's FSM may still lag
// the log it leads; the migration driver must not take over ZooKeeper or
// resync it from such a stale image (Kafka's controller likewise activates
// only after replaying the log up to its epoch's start).
func (n *Node) LeaderImage(ctx context.Context) (*metadata.Image, int64, error) {
	r, release, err := n.acquireWrite(ctx, "migration: read the caught-up image")
	if err != nil {
		return nil, -1, err
	}
	defer release()
	return n.fsm.image(), int64(r.CurrentTerm()), nil
}

// AppendRecords appends recs as one entry on the active controller. check
// (may be nil) runs against the latest applied image first; its error
// aborts the write. It returns the image after the entry.
func (n *Node) AppendRecords(ctx context.Context, what string, check func(*metadata.Image) error, recs []metadata.Record) (*metadata.Image, error) {
	res, err := n.write(ctx, what, func(img *metadata.Image) ([]metadata.Record, error) {
		if check != nil {
			if err := check(img); err != nil {
				return nil, err
			}
		}
		return recs, nil
	})
	if err != nil {
		return nil, err
	}
	return res.Image, nil
}

// txWindow is how many transaction entries are in flight at once.
const txWindow = 8

// AppendTransaction appends one metadata transaction (KIP-868):
// BeginTransactionRecord(name) in the first entry, one entry per batch, and
// EndTransactionRecord in the last; the FSM applies the records at End, all
// or nothing. No other controller write runs in between (the writer
// semaphore is held throughout). check (may be nil) runs against the image
// first. If an entry fails after Begin was appended, an
// AbortTransactionRecord is appended (best effort; a new leader aborts an
// open transaction too, see migrate). progress (may be nil) is called with
// the number of batches committed so far. It returns the image after End.
func (n *Node) AppendTransaction(ctx context.Context, name string, check func(*metadata.Image) error,
	batches [][]metadata.Record, progress func(done, total int)) (*metadata.Image, error) {
	r, release, err := n.acquireWrite(ctx, fmt.Sprintf("transaction %q", name))
	if err != nil {
		return nil, err
	}
	defer release()
	if check != nil {
		if err := check(n.fsm.image()); err != nil {
			return nil, err
		}
	}
	if n.fsm.txIsOpen() {
		// Left open by an earlier leader that died mid-transaction (Kafka's
		// "Controller failover" abort).
		if _, err := n.applyAwait(ctx, r, []metadata.Record{&metadata.AbortTransactionRecord{Reason: migrationStr("Controller failover")}}); err != nil {
			return nil, fmt.Errorf("transaction %q: abort the open transaction: %w", name, err)
		}
	}
	entries := make([][]metadata.Record, 0, len(batches)+2)
	entries = append(entries, []metadata.Record{&metadata.BeginTransactionRecord{Name: migrationStr(name)}})
	entries = append(entries, batches...)
	entries = append(entries, []metadata.Record{&metadata.EndTransactionRecord{}})
	var futs []raft.ApplyFuture
	var last *applyResult
	wait := func(f raft.ApplyFuture) error {
		resp, err := n.await(ctx, f)
		if err != nil {
			return err
		}
		res, ok := resp.(*applyResult)
		if !ok {
			return fmt.Errorf("unexpected fsm response %T", resp)
		}
		if res.Err != nil {
			return res.Err
		}
		last = res
		return nil
	}
	fail := func(err error) (*metadata.Image, error) {
		for _, f := range futs {
			_ = f.Error() // raft resolves every future (commit, leadership loss or shutdown)
		}
		if r.State() == raft.Leader && n.fsm.txIsOpen() {
			actx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
			_, _ = n.applyAwait(actx, r, []metadata.Record{&metadata.AbortTransactionRecord{Reason: migrationStr("Migration failed: " + err.Error())}})
			cancel()
		}
		return nil, fmt.Errorf("transaction %q: %w", name, err)
	}
	done := 0
	for i, e := range entries {
		if r.State() != raft.Leader {
			return fail(ErrNotController)
		}
		futs = append(futs, r.Apply(metadata.AppendBatch(nil, e), n.cfg.ApplyTimeout))
		if len(futs) < txWindow && i < len(entries)-1 {
			continue
		}
		for len(futs) > 0 && (len(futs) >= txWindow || i == len(entries)-1) {
			f := futs[0]
			futs = futs[1:]
			if err := wait(f); err != nil {
				return fail(err)
			}
			done++
			if progress != nil && done > 1 && done < len(entries) {
				progress(done-1, len(batches))
			}
		}
	}
	if last == nil {
		return nil, fmt.Errorf("transaction %q: no entry applied", name)
	}
	return last.Image, nil
}

// applyAwait appends one entry and waits for it (writeSem held by the caller).
func (n *Node) applyAwait(ctx context.Context, r *raft.Raft, recs []metadata.Record) (*applyResult, error) {
	resp, err := n.await(ctx, r.Apply(metadata.AppendBatch(nil, recs), n.cfg.ApplyTimeout))
	if err != nil {
		return nil, err
	}
	res, ok := resp.(*applyResult)
	if !ok {
		return nil, fmt.Errorf("unexpected fsm response %T", resp)
	}
	return res, res.Err
}

// txIsOpen reports whether a metadata transaction is open in the log.
func (f *fsm) txIsOpen() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.txOpen
}

func migrationStr(s string) *string { return &s }
