package migrate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/quorum"
)

// BrokerSourceConfig configures a BrokerSource.
type BrokerSourceConfig struct {
	// ZooKeeper is the ZooKeeper side: the backend (FenceClientWrites is
	// forced on), the endpoints registered in /brokers/ids, the register
	// wait and the ZooKeeper-mode controlled shutdown.
	ZooKeeper zk.SourceConfig
	// Quorum is the controller-quorum client (MigratingZkBroker is forced
	// on): it registers the broker with the quorum, heartbeats and follows
	// the metadata log.
	Quorum quorum.ClientConfig
	// RecheckInterval is how often the image source is re-checked (a
	// /controller change publishes nothing by itself); 0 = 500 ms.
	RecheckInterval time.Duration
}

// BrokerSource is the metadata source and controller of a ZooKeeper-mode
// broker with zookeeper.metadata.migration.enable=true (step 3 of
// docs/migration.md): a zk.Backend, as any ZooKeeper-mode broker has, plus
// a quorum.Client that registers the broker with the controller quorum as a
// migrating ZooKeeper broker (IsMigratingZkBroker), heartbeats, and follows
// the metadata log.
//
// Until the log holds the ZooKeeper data (state MIGRATION) and a KRaft
// controller holds /controller, the broker is a plain ZooKeeper-mode
// broker: image from the tree, writes to ZooKeeper.
// From then on (Kafka's ZooKeeper brokers then take their metadata from the
// KRaft controller's UpdateMetadata/LeaderAndIsr and forward their writes
// to it) its image comes from the log it follows, switched over with one
// delta (metadata.DeltaBetween), and CreateTopics, DeleteTopics,
// producer-id blocks and AlterPartition go to the active controller.
// Following the log rather than the dual-written tree lets it see brokers
// already restarted into quorum mode, which have no /brokers/ids znode. It
// keeps its /brokers/ids registration (the driver waits for it; a rollback
// needs it). When a ZooKeeper-mode broker wins /controller again (a
// rollback deleted the quorum's), the image comes from the tree again and
// writes go to ZooKeeper, until the broker is restarted without the flag
// (or a KRaft controller takes /controller over again).
//
// It implements broker/server's Source with Runner and Epocher
// (structurally: this package does not import the broker tree), and
// broker.ControlledShutdowner:
//   - Start once, then Run (the recheck loop) until its ctx ends, Shutdown
//     at most once, then Close. Close may be called at any point (also
//     unstarted) and more than once; no Publish runs once it returned.
//   - The publisher given to Start sees every image from registration on,
//     in order and never concurrently, whichever side it comes from; its
//     first call is the whole image as a delta from the empty image, and a
//     switch of side is one delta from the image it last got.
//   - The controller calls are safe for concurrent use after Start and
//     return once ctx is done; each goes to one side (toQuorum), and a
//     ZooKeeper write refused because a KRaft controller took over
//     (zk.ErrKRaftController) is sent to the quorum instead.
//
// Lock: mu guards pub, useLog and the images, and is held across every
// Publish to pub (from either side's publishing goroutine) and across the
// recheck. Under it only the zk.Backend's and quorum.Client's lock-free
// readers (Controller, Image) and pub's own locks are taken; neither side
// calls back into the source while holding a lock of its own
// (docs/lock-ordering.md).
type BrokerSource struct {
	log      *zap.Logger
	id       int32  // broker.id
	voters   string // controller.quorum.voters, for errors
	connect  string // zookeeper.connect, for errors
	zk       *zk.Backend
	client   *quorum.Client
	shutdown zk.ShutdownConfig
	endpts   []metadata.Endpoint
	regWait  time.Duration
	interval time.Duration
	epoch    atomic.Int64

	mu     sync.Mutex
	pub    metadata.Publisher // nil until registered, and after Close
	closed bool
	useLog bool            // the image comes from the log
	last   *metadata.Image // last image given to pub
	logImg *metadata.Image // latest image of the log
	zkImg  *metadata.Image // latest image of the tree
}

// NewBrokerSource checks cfg and builds both sides. It connects to
// nothing: Start does.
func NewBrokerSource(cfg BrokerSourceConfig, logger *zap.Logger) (*BrokerSource, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	if len(cfg.ZooKeeper.Endpoints) == 0 {
		return nil, fmt.Errorf("listeners: no endpoint to register for broker %d: %w", cfg.ZooKeeper.Backend.BrokerID, ErrInvalidConfig)
	}
	s := newBrokerSource(logger.Named("migration"))
	s.id, s.voters, s.connect = cfg.ZooKeeper.Backend.BrokerID, quorum.FormatVoters(cfg.Quorum.Voters), cfg.ZooKeeper.Backend.ConnectString()
	s.shutdown, s.endpts, s.regWait = cfg.ZooKeeper.Shutdown, cfg.ZooKeeper.Endpoints, cfg.ZooKeeper.RegisterWait
	if cfg.RecheckInterval > 0 {
		s.interval = cfg.RecheckInterval
	}
	zcfg := cfg.ZooKeeper.Backend
	zcfg.FenceClientWrites = true // no ZooKeeper write after a KRaft controller's takeover
	backend, err := zk.New(zcfg, logger, treeSide{s})
	if err != nil {
		return nil, err
	}
	ccfg := cfg.Quorum
	ccfg.MigratingZkBroker = true
	client, err := quorum.NewClient(ccfg, logger, logSide{s})
	if err != nil {
		return nil, err
	}
	s.zk, s.client = backend, client
	return s, nil
}

// newBrokerSource is a source without sides (tests attach their own).
func newBrokerSource(logger *zap.Logger) *BrokerSource {
	s := &BrokerSource{log: logger, interval: 500 * time.Millisecond, shutdown: zk.DefaultShutdownConfig()}
	s.epoch.Store(-1)
	return s
}

// Start starts the ZooKeeper backend and waits for the tree, then starts
// the quorum client (registration with the quorum, heartbeats, the log)
// and waits until it caught up with the log; the quorum's cluster id, once
// it has one, must be ZooKeeper's. Then it registers the broker in
// /brokers/ids (zk.Backend.RegisterBrokerWait) and hands pub the current
// image (the log's if it already holds the metadata while no
// ZooKeeper-mode broker is controller, else the tree's). As in ZooKeeper
// mode, only a registered broker acts on the image.
func (s *BrokerSource) Start(ctx context.Context, pub metadata.Publisher) error {
	if err := s.zk.Start(ctx); err != nil {
		return fmt.Errorf("start zookeeper backend (zookeeper.connect=%s): %w", s.connect, err)
	}
	if err := s.zk.WaitCaughtUp(ctx); err != nil {
		return fmt.Errorf("load the zookeeper tree: %w", err)
	}
	if err := s.client.Start(ctx); err != nil {
		return fmt.Errorf("reach the controller quorum %s: %w", s.voters, err)
	}
	if err := s.client.WaitCaughtUp(ctx); err != nil {
		return fmt.Errorf("catch up with the metadata log: %w", err)
	}
	if got := s.client.Image().ClusterID(); got != "" && got != s.zk.ClusterID() {
		return fmt.Errorf("the controller quorum's cluster id %s is not ZooKeeper's %s: start the controllers with "+
			"zookeeper.connect and zookeeper.metadata.migration.enable=true on an empty metadata.log.dir: %w",
			got, s.zk.ClusterID(), ErrClusterIDMismatch)
	}
	epoch, err := s.zk.RegisterBrokerWait(ctx, metadata.BrokerRegistration{
		ID: s.id, IncarnationID: metadata.RandomUuid(), Endpoints: s.endpts}, s.regWait)
	if err != nil {
		return err
	}
	s.epoch.Store(epoch)
	s.attach(pub)
	return nil
}

// ZooKeeper is the source's ZooKeeper backend (session state and
// controller status for metrics).
func (s *BrokerSource) ZooKeeper() *zk.Backend { return s.zk }

// ClusterID is ZooKeeper's /cluster/id (valid after Start).
func (s *BrokerSource) ClusterID() string { return s.zk.ClusterID() }

// Image is the image last given to the publisher (the tree's before
// Start registered the broker).
func (s *BrokerSource) Image() *metadata.Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil {
		return s.last
	}
	return s.zk.Image()
}

// BrokerEpoch is the ZooKeeper registration's epoch (czxid of
// /brokers/ids/<id>) that Start got, -1 before.
func (s *BrokerSource) BrokerEpoch() int64 { return s.epoch.Load() }

// Migrated reports whether the image comes from the log.
func (s *BrokerSource) Migrated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.useLog
}

// Shutdown is this broker's controlled shutdown, sent to whichever
// controller is current (zkControlsShutdown): a ZooKeeper-mode controller
// gets ControlledShutdown (zk.Backend.ShutdownBroker, stopFetching called
// first; nothing with controlled.shutdown.enable=false), the quorum a
// heartbeat asking for it (quorum.Client.Shutdown). moved is how many
// replicated partitions this broker led in its image when it began.
func (s *BrokerSource) Shutdown(ctx context.Context, stopFetching func()) (moved int, err error) {
	led := len(metadata.LeadsReplicated(s.Image(), s.id))
	if s.zkControlsShutdown(ctx) {
		if !s.shutdown.Enable {
			led = 0
		}
		return led, s.zk.ShutdownBroker(ctx, s.shutdown, s.epoch.Load(), stopFetching)
	}
	s.log.Info("shutting down: controlled shutdown through the controller quorum", zap.Int("partitions_led", led))
	return led, s.client.Shutdown(ctx)
}

// Close stops publishing, then closes the quorum client and the ZooKeeper
// backend (its session ends: /brokers/ids/<id> goes at once).
func (s *BrokerSource) Close() error {
	s.mu.Lock()
	s.closed, s.pub = true, nil
	s.mu.Unlock()
	var errs []error
	if err := s.client.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close the quorum client: %w", err))
	}
	if err := s.zk.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close the zookeeper backend: %w", err))
	}
	return errors.Join(errs...)
}

// treeSide is what the ZooKeeper backend publishes to.
type treeSide struct{ s *BrokerSource }

func (t treeSide) Publish(d *metadata.Delta, img *metadata.Image) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zkImg = img
	if s.pub != nil && !s.useLog {
		s.pub.Publish(d, img)
		s.last = img
	}
	s.reconcileLocked()
}

// logSide is what the quorum client publishes to.
type logSide struct{ s *BrokerSource }

func (l logSide) Publish(d *metadata.Delta, img *metadata.Image) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logImg = img
	if s.pub != nil && s.useLog {
		s.pub.Publish(d, img)
		s.last = img
	}
	s.reconcileLocked()
}

// reconcileLocked picks the image source: the log once it holds the
// metadata while a KRaft controller holds /controller (its takeover); the
// tree again when a ZooKeeper-mode broker won /controller (after a
// rollback deleted the quorum's /controller), so that the broker follows
// the ZooKeeper controller until it is restarted without the migration
// flag. Anything in between (no /controller, or one naming a broker the
// tree does not list yet) keeps the source it has: after a rollback the
// log is stale for good (its controllers are stopped), and the gap of a
// ZooKeeper-mode election, when the controller broker stops, must not
// hand the publisher the log's old registrations and then the tree's
// again, whose partition epochs the replica layer cannot compare.
func (s *BrokerSource) reconcileLocked() {
	if s.pub == nil {
		return
	}
	switch {
	case !s.useLog && s.quorumControlsLocked():
		s.switchLocked(s.logImg, true)
	case s.useLog && s.zkControllerLocked() && s.zkImg != nil:
		s.switchLocked(s.zkImg, false)
	}
}

// quorumControlsLocked: /controller names a KRaft controller and the log
// holds the ZooKeeper data.
func (s *BrokerSource) quorumControlsLocked() bool {
	return s.zk.KRaftController() && s.logImg != nil && logHoldsMetadata(s.logImg)
}

// zkControllerLocked: /controller names a ZooKeeper-mode broker (a broker
// registered in /brokers/ids; a KRaft controller's node id never is).
func (s *BrokerSource) zkControllerLocked() bool {
	id, _ := s.zk.Controller()
	if id < 0 {
		return false
	}
	img := s.zkImg
	if img == nil {
		img = s.zk.Image()
	}
	_, ok := img.Broker(id)
	return ok
}

// Run re-checks the image source every RecheckInterval until ctx ends (a
// /controller change publishes nothing by itself), then returns nil.
func (s *BrokerSource) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.mu.Lock()
		s.reconcileLocked()
		s.mu.Unlock()
	}
}

// logHoldsMetadata: the ZooKeeper data is in the log (MIGRATION, or
// POST_MIGRATION for a broker restarted late).
func logHoldsMetadata(img *metadata.Image) bool {
	st := img.ZkMigrationState()
	return st == metadata.ZkMigrationMigration || st == metadata.ZkMigrationPostMigration || st == metadata.ZkMigrationReverse
}

// switchLocked moves the publisher to img (the log's when toLog, else the
// tree's) with one delta from the image it has, marked as a switch of
// source (metadata.Delta.MarkSourceSwitch): the replica layer then takes
// the new side's partition registrations as they are.
func (s *BrokerSource) switchLocked(img *metadata.Image, toLog bool) {
	d := metadata.DeltaBetween(s.last, img)
	d.MarkSourceSwitch() // the sides' partition epochs are not comparable
	s.pub.Publish(d, img)
	s.last, s.useLog = img, toLog
	if toLog {
		s.log.Info("metadata now comes from the quorum's log (ZkMigrationState MIGRATION); writes go to the active controller",
			zap.Int64("offset", img.Offset()))
	} else {
		s.log.Warn("a ZooKeeper-mode broker is controller again (rollback): metadata comes from ZooKeeper, writes go to ZooKeeper")
	}
}

// attach gives pub the current image (the log's if it already holds the
// metadata, else the tree's) as one delta from the empty image.
func (s *BrokerSource) attach(pub metadata.Publisher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	img := s.zk.Image()
	s.zkImg = img
	if li := s.client.Image(); logHoldsMetadata(li) && s.zk.KRaftController() {
		img, s.useLog = li, true
	}
	pub.Publish(metadata.FullDelta(img), img)
	s.pub, s.last = pub, img
}

// zkControlsShutdown reports whether this broker's controlled shutdown goes
// to a ZooKeeper-mode controller (ControlledShutdown) rather than to the
// quorum (heartbeats, quorum.Client.Shutdown): whichever controller is
// current, looked up now rather than at the last periodic check. A
// ZooKeeper-mode broker holding /controller (before the takeover, or after
// a rollback) means ZooKeeper; a KRaft controller there means the quorum.
// While /controller is empty (right after a rollback deleted the quorum's,
// before a ZooKeeper-mode broker won the election) it waits for the
// election, up to ctx; then it goes by the image source.
func (s *BrokerSource) zkControlsShutdown(ctx context.Context) bool {
	for {
		s.mu.Lock()
		s.reconcileLocked()
		id, _ := s.zk.Controller()
		zkCtrl, useLog := s.zkControllerLocked(), s.useLog
		s.mu.Unlock()
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

// toQuorum: writes go straight to the controller quorum (Kafka's
// ZooKeeper brokers forward to the KRaft controller) once the image comes
// from the log, or the log holds the ZooKeeper data while a KRaft
// controller holds /controller. Otherwise they go to ZooKeeper, fenced
// (zk.Config.FenceClientWrites): once /controller names a KRaft controller
// (kraftControllerEpoch set, even while the log is still in PRE_MIGRATION)
// ZooKeeper refuses them with zk.ErrKRaftController, and they are sent to
// the quorum instead. Between the takeover and the end of the initial load
// the quorum answers NOT_CONTROLLER (PRE_MIGRATION) and the client retries,
// so a change made then lands in the log after the load, exactly once, and
// is dual-written to ZooKeeper; no ZooKeeper write lands after the
// takeover, so the load reads a final tree.
func (s *BrokerSource) toQuorum() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.useLog {
		return true
	}
	return s.quorumControlsLocked()
}

// CreateTopics implements broker.Controller.
func (s *BrokerSource) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	if s.toQuorum() {
		return s.client.CreateTopics(ctx, specs, validateOnly)
	}
	errs := s.zk.CreateTopics(ctx, specs, validateOnly)
	again := refused(errs)
	if len(again) > 0 {
		retry := make([]metadata.CreateTopicSpec, len(again))
		for j, i := range again {
			retry[j] = specs[i]
		}
		for j, err := range s.client.CreateTopics(ctx, retry, validateOnly) {
			errs[again[j]] = err
		}
	}
	return errs
}

// DeleteTopics implements broker.Controller.
func (s *BrokerSource) DeleteTopics(ctx context.Context, names []string) []error {
	if s.toQuorum() {
		return s.client.DeleteTopics(ctx, names)
	}
	errs := s.zk.DeleteTopics(ctx, names)
	again := refused(errs)
	if len(again) > 0 {
		retry := make([]string, len(again))
		for j, i := range again {
			retry[j] = names[i]
		}
		for j, err := range s.client.DeleteTopics(ctx, retry) {
			errs[again[j]] = err
		}
	}
	return errs
}

// refused lists the indexes of errs that ZooKeeper refused because a KRaft
// controller took over.
func refused(errs []error) []int {
	var again []int
	for i, err := range errs {
		if errors.Is(err, zk.ErrKRaftController) {
			again = append(again, i)
		}
	}
	return again
}

// AllocateProducerIDs implements broker.Controller.
func (s *BrokerSource) AllocateProducerIDs(ctx context.Context, brokerID int32) (int64, int64, error) {
	if !s.toQuorum() {
		first, n, err := s.zk.AllocateProducerIDs(ctx, brokerID)
		if !errors.Is(err, zk.ErrKRaftController) {
			return first, n, err
		}
	}
	return s.client.AllocateProducerIDs(ctx, brokerID)
}

// AlterPartition implements replica.Controller. Sent to the quorum, it
// carries the broker epoch of the quorum registration: while the image
// still comes from ZooKeeper the replica layer knows only the czxid epoch.
func (s *BrokerSource) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	if !s.toQuorum() {
		reg, err := s.zk.AlterPartition(ctx, req)
		if !errors.Is(err, zk.ErrKRaftController) {
			return reg, err
		}
	}
	req.BrokerEpoch = s.client.BrokerEpoch()
	return s.client.AlterPartition(ctx, req)
}

// ControlledShutdown implements broker.ControlledShutdowner: while this
// broker is the ZooKeeper-mode controller (before the takeover, or after a
// rollback), other ZooKeeper-mode brokers' ControlledShutdown requests are
// its to serve; otherwise the backend answers NOT_CONTROLLER.
func (s *BrokerSource) ControlledShutdown(ctx context.Context, brokerID int32, brokerEpoch int64) ([]metadata.TopicPartition, error) {
	return s.zk.ControlledShutdown(ctx, brokerID, brokerEpoch)
}

// CreateAcls implements broker.SecurityController: ZooKeeper's znodes
// until a KRaft controller took over, then the quorum (which dual-writes
// them back to ZooKeeper). A write ZooKeeper refused is redone through
// the quorum as a whole (an existing ACL succeeds there).
func (s *BrokerSource) CreateAcls(ctx context.Context, bindings []metadata.AclBinding) []error {
	if !s.toQuorum() {
		errs := s.zk.CreateAcls(ctx, bindings)
		if len(refused(errs)) == 0 {
			return errs
		}
	}
	return s.client.CreateAcls(ctx, bindings)
}

// DeleteAcls implements broker.SecurityController, routed as CreateAcls.
func (s *BrokerSource) DeleteAcls(ctx context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult {
	if !s.toQuorum() {
		out := s.zk.DeleteAcls(ctx, filters)
		refusedAny := false
		for _, r := range out {
			refusedAny = refusedAny || errors.Is(r.Err, zk.ErrKRaftController)
		}
		if !refusedAny {
			return out
		}
	}
	return s.client.DeleteAcls(ctx, filters)
}

// AlterScramCredentials implements broker.SecurityController, routed as
// CreateAcls.
func (s *BrokerSource) AlterScramCredentials(ctx context.Context, dels []metadata.ScramDeletion, ups []metadata.ScramUpsertion) []metadata.ScramAlterResult {
	if !s.toQuorum() {
		out := s.zk.AlterScramCredentials(ctx, dels, ups)
		refusedAny := false
		for _, r := range out {
			refusedAny = refusedAny || errors.Is(r.Err, zk.ErrKRaftController)
		}
		if !refusedAny {
			return out
		}
	}
	return s.client.AlterScramCredentials(ctx, dels, ups)
}

// AlterClientQuotas implements broker.QuotaController, routed as
// CreateAcls.
func (s *BrokerSource) AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error {
	if !s.toQuorum() {
		errs := s.zk.AlterClientQuotas(ctx, alts, validateOnly)
		if len(refused(errs)) == 0 {
			return errs
		}
	}
	return s.client.AlterClientQuotas(ctx, alts, validateOnly)
}

// AlterConfigs implements broker.ConfigController, routed as CreateAcls:
// /config/<type>/<name> znodes before the takeover, ConfigRecords through
// the quorum after it (which the dual-write mirrors back to the znodes).
func (s *BrokerSource) AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	if !s.toQuorum() {
		errs := s.zk.AlterConfigs(ctx, alts, validateOnly)
		if len(refused(errs)) == 0 {
			return errs
		}
	}
	return s.client.AlterConfigs(ctx, alts, validateOnly)
}

// AlterPartitionReassignments implements broker.ReassignController,
// routed as CreateAcls: to the ZooKeeper controller (zk.Backend forwards
// to the /controller broker) until a KRaft controller took over, then to
// the quorum, which loaded the reassignments in progress with the tree
// (the topic znodes' adding_replicas/removing_replicas).
func (s *BrokerSource) AlterPartitionReassignments(ctx context.Context, rs []metadata.Reassignment) []error {
	if !s.toQuorum() {
		errs := s.zk.AlterPartitionReassignments(ctx, rs, s.shutdown.ListenerName, s.shutdown.Security)
		if len(refused(errs)) == 0 && !anyNotController(errs) {
			return errs
		}
	}
	return s.client.AlterPartitionReassignments(ctx, rs)
}

// anyNotController: the ZooKeeper side had no controller to take the
// request (a KRaft controller holds /controller).
func anyNotController(errs []error) bool {
	for _, err := range errs {
		if errors.Is(err, metadata.ErrNotController) {
			return true
		}
	}
	return false
}

// CreatePartitions implements broker.PartitionController, routed as
// CreateTopics: /brokers/topics/<t> until a KRaft controller took over,
// then the quorum (which dual-writes the new partitions back).
func (s *BrokerSource) CreatePartitions(ctx context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error {
	if s.toQuorum() {
		return s.client.CreatePartitions(ctx, specs, validateOnly)
	}
	errs := s.zk.CreatePartitions(ctx, specs, validateOnly)
	again := refused(errs)
	if len(again) > 0 {
		retry := make([]metadata.CreatePartitionsSpec, len(again))
		for j, i := range again {
			retry[j] = specs[i]
		}
		for j, err := range s.client.CreatePartitions(ctx, retry, validateOnly) {
			errs[again[j]] = err
		}
	}
	return errs
}

// ElectLeaders implements broker.PartitionController: the ZooKeeper-mode
// controller until a KRaft controller took over, then the quorum; an
// election ZooKeeper refused (or that found no ZooKeeper-mode controller)
// is redone through the quorum as a whole.
func (s *BrokerSource) ElectLeaders(ctx context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult {
	if !s.toQuorum() {
		out := s.zk.ElectLeaders(ctx, s.shutdown, typ, parts)
		errs := make([]error, len(out))
		for i, r := range out {
			errs[i] = r.Err
		}
		if len(refused(errs)) == 0 && !anyNotController(errs) {
			return out
		}
	}
	return s.client.ElectLeaders(ctx, typ, parts)
}
