package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/quorum"
)

// serveMigratingZooKeeper runs a ZooKeeper-mode broker with
// zookeeper.metadata.migration.enable=true (step 3 of docs/migration.md):
// everything serveZooKeeper runs, plus a quorum.Client that registers the
// broker with the controller quorum as a migrating ZooKeeper broker
// (IsMigratingZkBroker), heartbeats, and follows the metadata log.
//
// Until the log holds the ZooKeeper data (state MIGRATION) the broker is a
// plain ZooKeeper-mode broker: image from the tree, writes to ZooKeeper.
// From then on (Kafka's ZooKeeper brokers then take their metadata from the
// KRaft controller's UpdateMetadata/LeaderAndIsr and forward their writes
// to it) its image comes from the log it follows, switched over with one
// delta, and CreateTopics, DeleteTopics, producer-id blocks and
// AlterPartition go to the active controller. Following the log rather than
// the dual-written tree lets it see brokers already restarted into quorum
// mode, which have no /brokers/ids znode. It keeps its /brokers/ids
// registration (the driver waits for it; a rollback needs it).
func serveMigratingZooKeeper(ctx context.Context, cfg *config.Config, logger *zap.Logger) (err error) {
	endpoints, logs, err := openBroker(cfg, logger)
	if err != nil {
		return err
	}
	defer closeInto(&err, "close logs", logs.Close)

	h := &hybridMetadata{log: logger.Named("migration")}
	zcfg := zkConfig(cfg)
	zcfg.FenceClientWrites = true // no ZooKeeper write after a KRaft controller's takeover
	backend, err := zk.New(zcfg, logger, zkSide{h})
	if err != nil {
		return err
	}
	ccfg := clientConfig(cfg, endpoints)
	ccfg.MigratingZkBroker = true
	client, err := quorum.NewClient(ccfg, logger, logSide{h})
	if err != nil {
		return err
	}
	h.zk, h.client = backend, client

	startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	if err := backend.Start(startCtx); err != nil {
		return fmt.Errorf("start zookeeper backend (zookeeper.connect=%s): %w", cfg.ZooKeeperConnect, err)
	}
	defer func() { _ = backend.Close() }()
	if err := backend.WaitCaughtUp(startCtx); err != nil {
		return fmt.Errorf("load the zookeeper tree: %w", err)
	}
	if err := client.Start(startCtx); err != nil {
		return fmt.Errorf("reach the controller quorum %s: %w", quorum.FormatVoters(ccfg.Voters), err)
	}
	defer func() { _ = client.Close() }()
	if err := client.WaitCaughtUp(startCtx); err != nil {
		return fmt.Errorf("catch up with the metadata log: %w", err)
	}
	if got := client.Image().ClusterID(); got != "" && got != backend.ClusterID() {
		return fmt.Errorf("the controller quorum's cluster id %s is not ZooKeeper's %s: start the controllers with "+
			"zookeeper.connect and zookeeper.metadata.migration.enable=true on an empty metadata.log.dir", got, backend.ClusterID())
	}

	repl, err := startReplication(cfg, logs, h, logger)
	if err != nil {
		return err
	}
	defer func() { _ = repl.Close() }()
	b, err := broker.New(brokerConfig(cfg, backend.ClusterID(), endpoints), logs, h, logger, broker.WithReplication(repl))
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	epoch, err := registerZkBroker(startCtx, backend, metadata.BrokerRegistration{
		ID: cfg.NodeID, IncarnationID: metadata.RandomUuid(), Endpoints: endpoints}, cfg.ZooKeeperSessionTimeout, logger)
	if err != nil {
		return err
	}
	// As in serveZooKeeper: only a registered broker acts on the image.
	h.attach(b)
	hctx, hcancel := context.WithCancel(context.Background())
	hdone := make(chan struct{})
	go func() { defer close(hdone); h.run(hctx, 500*time.Millisecond) }()
	defer func() { hcancel(); <-hdone }()
	srv, err := serveKafka(cfg, b, logger)
	if err != nil {
		return err
	}
	listener, _ := cfg.BrokerListener()
	logger.Info("zkraft broker started (zookeeper mode, migrating)",
		zap.Int32("broker.id", cfg.NodeID),
		zap.String("cluster.id", backend.ClusterID()),
		zap.String("listener", listener.String()),
		zap.String("zookeeper.connect", cfg.ZooKeeperConnect),
		zap.String("controller.quorum.voters", quorum.FormatVoters(cfg.QuorumVoters())),
		zap.Int64("broker.epoch", epoch),
		zap.Bool("metadata_from_log", h.migrated()))

	<-ctx.Done()
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
	var serr error
	if h.zkControlsShutdown(sctx) {
		serr = zkControlledShutdown(sctx, cfg, backend, epoch, repl, logger)
	} else {
		logger.Info("shutting down: controlled shutdown through the controller quorum")
		serr = client.Shutdown(sctx)
	}
	if serr != nil {
		logger.Warn("controlled shutdown incomplete", zap.Error(serr))
	}
	cancel()
	if cerr := srv.Close(); cerr != nil {
		logger.Warn("close network server", zap.Error(cerr))
	}
	return nil
}

// hybridMetadata is a migrating ZooKeeper broker's metadata source and
// controller: the ZooKeeper backend until the log is in MIGRATION, the
// quorum client from then on (see serveMigratingZooKeeper).
type hybridMetadata struct {
	log    *zap.Logger
	zk     *zk.Backend
	client *quorum.Client

	mu     sync.Mutex // guards the fields below and every publish to b
	b      *broker.Broker
	useLog bool
	last   *metadata.Image // last image given to b
	logImg *metadata.Image // latest image of the log
	zkImg  *metadata.Image // latest image of the tree
}

type zkSide struct{ h *hybridMetadata }

func (s zkSide) Publish(d *metadata.Delta, img *metadata.Image) {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.zkImg = img
	if h.b != nil && !h.useLog {
		h.b.Publish(d, img)
		h.last = img
	}
	h.reconcileLocked()
}

type logSide struct{ h *hybridMetadata }

func (s logSide) Publish(d *metadata.Delta, img *metadata.Image) {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logImg = img
	if h.b != nil && h.useLog {
		h.b.Publish(d, img)
		h.last = img
	}
	h.reconcileLocked()
}

// reconcileLocked picks the image source: the log once it holds the
// metadata while no ZooKeeper-mode broker is controller; the tree again
// when a ZooKeeper-mode broker won /controller (after a rollback deleted
// the quorum's /controller), so that the broker follows the ZooKeeper
// controller until it is restarted without the migration flag.
func (h *hybridMetadata) reconcileLocked() {
	if h.b == nil {
		return
	}
	zkCtrl := h.zkControllerLocked()
	switch {
	case !h.useLog && !zkCtrl && h.logImg != nil && logHoldsMetadata(h.logImg):
		h.switchLocked(h.logImg, true)
	case h.useLog && zkCtrl && h.zkImg != nil:
		h.switchLocked(h.zkImg, false)
	}
}

// zkControllerLocked: /controller names a ZooKeeper-mode broker (a broker
// registered in /brokers/ids; a KRaft controller's node id never is).
func (h *hybridMetadata) zkControllerLocked() bool {
	id, _ := h.zk.Controller()
	if id < 0 {
		return false
	}
	img := h.zkImg
	if img == nil {
		img = h.zk.Image()
	}
	_, ok := img.Broker(id)
	return ok
}

// run re-checks the image source every interval until ctx ends (a
// /controller change publishes nothing by itself).
func (h *hybridMetadata) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		h.reconcileLocked()
		h.mu.Unlock()
	}
}

// logHoldsMetadata: the ZooKeeper data is in the log (MIGRATION, or
// POST_MIGRATION for a broker restarted late).
func logHoldsMetadata(img *metadata.Image) bool {
	s := img.ZkMigrationState()
	return s == metadata.ZkMigrationMigration || s == metadata.ZkMigrationPostMigration || s == metadata.ZkMigrationReverse
}

// switchLocked moves the broker to img (the log's when toLog, else the
// tree's) with one delta from the image it has.
func (h *hybridMetadata) switchLocked(img *metadata.Image, toLog bool) {
	d, err := quorum.DeltaBetween(h.last, img)
	if err != nil {
		h.log.Error("switch the broker's metadata source", zap.Bool("to_log", toLog), zap.Error(err))
		return
	}
	d.SetProvenance(img.Offset(), img.Epoch())
	d.SetClusterID(img.ClusterID())
	h.b.Publish(d, img)
	h.last, h.useLog = img, toLog
	if toLog {
		h.log.Info("metadata now comes from the quorum's log (ZkMigrationState MIGRATION); writes go to the active controller",
			zap.Int64("offset", img.Offset()))
	} else {
		h.log.Warn("a ZooKeeper-mode broker is controller again (rollback): metadata comes from ZooKeeper, writes go to ZooKeeper")
	}
}

// attach gives b the current image (the log's if it already holds the
// metadata, else the tree's) as one delta from the empty image.
func (h *hybridMetadata) attach(b *broker.Broker) {
	h.mu.Lock()
	defer h.mu.Unlock()
	img := h.zk.Image()
	h.zkImg = img
	if li := h.client.Image(); logHoldsMetadata(li) && !h.zkControllerLocked() {
		img, h.useLog = li, true
	}
	d := metadata.NewDelta(metadata.EmptyImage())
	for _, r := range metadata.WriteImage(img) {
		_ = d.Replay(r) // records written from a valid image replay
	}
	d.SetProvenance(img.Offset(), img.Epoch())
	d.SetClusterID(img.ClusterID())
	b.Publish(d, img)
	h.b, h.last = b, img
}

// zkControlsShutdown reports whether this broker's controlled shutdown goes
// to a ZooKeeper-mode controller (ControlledShutdown, zkControlledShutdown)
// rather than to the quorum (heartbeats, quorum.Client.Shutdown): whichever
// controller is current, looked up now rather than at the last periodic
// check. A ZooKeeper-mode broker holding /controller (before the takeover,
// or after a rollback) means ZooKeeper; a KRaft controller there means the
// quorum. While /controller is empty (right after a rollback deleted the
// quorum's, before a ZooKeeper-mode broker won the election) it waits for
// the election, up to ctx; then it goes by the image source.
func (h *hybridMetadata) zkControlsShutdown(ctx context.Context) bool {
	for {
		h.mu.Lock()
		h.reconcileLocked()
		id, _ := h.zk.Controller()
		zkCtrl, useLog := h.zkControllerLocked(), h.useLog
		h.mu.Unlock()
		if id >= 0 {
			return zkCtrl
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return !useLog
		case <-t.C:
		}
	}
}

func (h *hybridMetadata) migrated() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.useLog
}

// toQuorum: writes go straight to the controller quorum (Kafka's
// ZooKeeper brokers forward to the KRaft controller) once the image comes
// from the log, or the log holds the ZooKeeper data while no ZooKeeper-mode
// broker is controller. Otherwise they go to ZooKeeper, fenced
// (zk.Config.FenceClientWrites): once /controller names a KRaft controller
// (kraftControllerEpoch set, even while the log is still in PRE_MIGRATION)
// ZooKeeper refuses them with zk.ErrKRaftController, and they are sent to
// the quorum instead. Between the takeover and the end of the initial load
// the quorum answers NOT_CONTROLLER (PRE_MIGRATION) and the client retries,
// so a change made then lands in the log after the load, exactly once, and
// is dual-written to ZooKeeper; no ZooKeeper write lands after the
// takeover, so the load reads a final tree.
func (h *hybridMetadata) toQuorum() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.useLog {
		return true
	}
	return !h.zkControllerLocked() && h.logImg != nil && logHoldsMetadata(h.logImg)
}

// CreateTopics implements broker.Controller.
func (h *hybridMetadata) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	if h.toQuorum() {
		return h.client.CreateTopics(ctx, specs, validateOnly)
	}
	errs := h.zk.CreateTopics(ctx, specs, validateOnly)
	var again []int
	for i, err := range errs {
		if errors.Is(err, zk.ErrKRaftController) {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		retry := make([]metadata.CreateTopicSpec, len(again))
		for j, i := range again {
			retry[j] = specs[i]
		}
		for j, err := range h.client.CreateTopics(ctx, retry, validateOnly) {
			errs[again[j]] = err
		}
	}
	return errs
}

// DeleteTopics implements broker.Controller.
func (h *hybridMetadata) DeleteTopics(ctx context.Context, names []string) []error {
	if h.toQuorum() {
		return h.client.DeleteTopics(ctx, names)
	}
	errs := h.zk.DeleteTopics(ctx, names)
	var again []int
	for i, err := range errs {
		if errors.Is(err, zk.ErrKRaftController) {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		retry := make([]string, len(again))
		for j, i := range again {
			retry[j] = names[i]
		}
		for j, err := range h.client.DeleteTopics(ctx, retry) {
			errs[again[j]] = err
		}
	}
	return errs
}

// AllocateProducerIDs implements broker.Controller.
func (h *hybridMetadata) AllocateProducerIDs(ctx context.Context, brokerID int32) (int64, int64, error) {
	if !h.toQuorum() {
		first, n, err := h.zk.AllocateProducerIDs(ctx, brokerID)
		if !errors.Is(err, zk.ErrKRaftController) {
			return first, n, err
		}
	}
	return h.client.AllocateProducerIDs(ctx, brokerID)
}

// AlterPartition implements replica.Controller. Sent to the quorum, it
// carries the broker epoch of the quorum registration: while the image
// still comes from ZooKeeper the replica layer knows only the czxid epoch.
func (h *hybridMetadata) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	if !h.toQuorum() {
		reg, err := h.zk.AlterPartition(ctx, req)
		if !errors.Is(err, zk.ErrKRaftController) {
			return reg, err
		}
	}
	req.BrokerEpoch = h.client.BrokerEpoch()
	return h.client.AlterPartition(ctx, req)
}

// ControlledShutdown implements broker.ControlledShutdowner: while this
// broker is the ZooKeeper-mode controller (before the takeover, or after a
// rollback), other ZooKeeper-mode brokers' ControlledShutdown requests are
// its to serve; otherwise the backend answers NOT_CONTROLLER.
func (h *hybridMetadata) ControlledShutdown(ctx context.Context, brokerID int32, brokerEpoch int64) ([]metadata.TopicPartition, error) {
	return h.zk.ControlledShutdown(ctx, brokerID, brokerEpoch)
}
