package zk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// Controlled shutdown in ZooKeeper mode (Kafka's
// KafkaController.doControlledShutdown). A stopping broker sends
// ControlledShutdown (api key 7) to the controller; the broker's handler
// calls Backend.ControlledShutdown there, which hands the request to the
// loop (the owner of the tree and of the controller state). The loop marks
// the broker as shutting down (soft state, lost at a failover as in Kafka,
// cleared when the broker's registration goes or changes), moves the
// leadership of each replicated partition it leads to the next ISR member
// that is live and not shutting down, takes it out of the ISRs it follows
// in, and writes the changed states with execFenced, like every other
// controller write. An ISR shrink where the leader stays keeps the leader
// epoch (metadata.ControlledShutdown). The answer is the replicated
// partitions the broker still leads.

// shutdownReq is one ControlledShutdown request waiting for the loop.
type shutdownReq struct {
	id    int32
	epoch int64
	reply chan shutdownResult // capacity 1: the loop never blocks on it
}

type shutdownResult struct {
	remaining []metadata.TopicPartition
	err       error
}

// ControlledShutdown is the controller's side of ControlledShutdown
// (broker.ControlledShutdowner): it moves leadership and ISR membership off
// broker id, registered with epoch (the czxid of /brokers/ids/<id>), and
// returns the replicated partitions id still leads. Errors wrap
// metadata.ErrNotController, metadata.ErrUnknownBroker,
// metadata.ErrStaleBrokerEpoch, ErrControllerMoved (as
// metadata.ErrNotController) or the ZooKeeper write's error.
func (b *Backend) ControlledShutdown(ctx context.Context, id int32, epoch int64) ([]metadata.TopicPartition, error) {
	if !b.isController.Load() {
		return nil, fmt.Errorf("controlled shutdown of broker %d: broker %d is not the controller (controller %d): %w",
			id, b.cfg.BrokerID, b.activeController.Load().id, metadata.ErrNotController)
	}
	r := shutdownReq{id: id, epoch: epoch, reply: make(chan shutdownResult, 1)}
	select {
	case b.shutdownCh <- r:
	case <-ctx.Done():
		return nil, fmt.Errorf("controlled shutdown of broker %d: %w", id, ctx.Err())
	}
	select {
	case res := <-r.reply:
		return res.remaining, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("controlled shutdown of broker %d: %w", id, ctx.Err())
	}
}

// LeadsReplicated lists the replicated partitions (more than one replica)
// the latest image names this broker leader of: what a controlled shutdown
// must move before the broker stops.
func (b *Backend) LeadsReplicated() []metadata.TopicPartition {
	return metadata.LeadsReplicated(b.Image(), b.cfg.BrokerID)
}

// WaitLeadsNothing waits until the image names this broker leader of no
// replicated partition, so that its answers to clients already name the new
// leaders (NOT_LEADER_OR_FOLLOWER with KIP-951's hint).
func (b *Backend) WaitLeadsNothing(ctx context.Context) error {
	return b.waitImage(ctx, "controlled shutdown", func(img *metadata.Image) bool {
		return len(metadata.LeadsReplicated(img, b.cfg.BrokerID)) == 0
	})
}

// serveShutdowns answers the queued requests (loop only).
func (s *syncer) serveShutdowns() {
	for _, r := range s.shutdowns {
		remaining, err := s.controlledShutdown(r.id, r.epoch)
		r.reply <- shutdownResult{remaining: remaining, err: err}
	}
	s.shutdowns = nil
}

// failShutdowns answers the queued requests with err (the loop is ending).
func (s *syncer) failShutdowns(err error) {
	for _, r := range s.shutdowns {
		r.reply <- shutdownResult{err: err}
	}
	s.shutdowns = nil
}

// forgetShutdowns drops shutting-down marks of brokers whose registration
// went or changed (a restarted broker is no longer shutting down).
func (s *syncer) forgetShutdowns() {
	for id, epoch := range s.ctrl.shuttingDown {
		if bn, ok := s.tree.Brokers[id]; !ok || bn.Czxid != epoch {
			delete(s.ctrl.shuttingDown, id)
		}
	}
}

// shuttingDown reports whether broker id is in controlled shutdown.
func (s *syncer) isShuttingDown(id int32) bool {
	_, ok := s.ctrl.shuttingDown[id]
	return ok
}

func (s *syncer) controlledShutdown(id int32, epoch int64) ([]metadata.TopicPartition, error) {
	if !s.ctrl.active {
		return nil, fmt.Errorf("controlled shutdown of broker %d: broker %d is no longer the controller: %w",
			id, s.b.cfg.BrokerID, metadata.ErrNotController)
	}
	bn, ok := s.tree.Brokers[id]
	if !ok {
		return nil, fmt.Errorf("controlled shutdown: broker %d is not registered: %w", id, metadata.ErrUnknownBroker)
	}
	if bn.Czxid != epoch {
		return nil, fmt.Errorf("controlled shutdown: broker %d epoch %d, registered epoch %d: %w",
			id, epoch, bn.Czxid, metadata.ErrStaleBrokerEpoch)
	}
	if s.ctrl.shuttingDown == nil {
		s.ctrl.shuttingDown = map[int32]int64{}
	}
	s.forgetShutdowns()
	s.ctrl.shuttingDown[id] = epoch

	// The image with every shutting-down broker marked InControlledShutdown,
	// so that none of them is elected.
	img := s.b.Image()
	d := metadata.NewDelta(img)
	for _, sid := range slices.Sorted(maps.Keys(s.ctrl.shuttingDown)) {
		if reg, ok := img.Broker(sid); ok && reg.Epoch == s.ctrl.shuttingDown[sid] && !reg.InControlledShutdown {
			if err := d.Replay(&metadata.BrokerRegistrationChangeRecord{BrokerID: sid, BrokerEpoch: reg.Epoch, InControlledShutdown: 1}); err != nil {
				return nil, fmt.Errorf("controlled shutdown of broker %d: %w", id, err)
			}
		}
	}
	base := d.Apply()
	recs, err := metadata.ControlledShutdown(base, id, epoch)
	if err != nil {
		return nil, err
	}
	var changes []metadata.Record
	for _, r := range recs {
		pc, ok := r.(*metadata.PartitionChangeRecord)
		if !ok || pc.Leader == metadata.NoLeader {
			// A partition with no other usable ISR member stays led by the
			// broker (it is reported as remaining), as in Kafka.
			continue
		}
		if t, ok := base.TopicByID(pc.TopicID); ok && len(t.Partitions[pc.PartitionID].Replicas) <= 1 {
			continue // not replicated: Kafka leaves it alone
		}
		changes = append(changes, pc)
	}
	if len(changes) > 0 {
		ops, err := RecordsToOps(base, changes, s.ctrl.epoch)
		if err != nil {
			return nil, fmt.Errorf("controlled shutdown of broker %d: %w", id, err)
		}
		_, err = s.writeFenced(ops)
		if errors.Is(err, ErrControllerMoved) {
			return nil, fmt.Errorf("controlled shutdown of broker %d: %w (%w)", id, metadata.ErrNotController, err)
		}
		if err != nil {
			return nil, fmt.Errorf("controlled shutdown of broker %d: %w", id, err)
		}
		s.publish()
	}
	remaining := metadata.LeadsReplicated(s.b.Image(), id)
	s.log.Info("controlled shutdown", zap.Int32("broker", id), zap.Int("partition_changes", len(changes)),
		zap.Int("remaining", len(remaining)))
	return remaining, nil
}
