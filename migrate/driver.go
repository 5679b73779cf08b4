package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// Quorum is what the driver needs from the controller's quorum node
// (*quorum.Node implements it, quorum/migration.go).
type Quorum interface {
	Image() *metadata.Image
	// LeaderTerm is the raft term while this node is the active controller.
	LeaderTerm() (int64, bool)
	// LeaderImage waits until the active controller has applied every
	// entry of earlier terms and returns that image and the term (a new
	// leader's image may lag the log it leads).
	LeaderImage(ctx context.Context) (*metadata.Image, int64, error)
	AppendRecords(ctx context.Context, what string, check func(*metadata.Image) error, recs []metadata.Record) (*metadata.Image, error)
	AppendTransaction(ctx context.Context, name string, check func(*metadata.Image) error,
		batches [][]metadata.Record, progress func(done, total int)) (*metadata.Image, error)
}

// Status is the driver's view of the migration (zkraft migrate status and
// the controller's logs).
type Status struct {
	Driver            DriverState
	State             int8    // ZkMigrationState of the log
	ExpectedBrokers   []int32 // /brokers/ids and brokers named in assignments
	RegisteredBrokers []int32 // registered with the quorum as migrating ZooKeeper brokers
	RecordsLoaded     int     // records of the initial load
	BatchesLoaded     int     // progress of the initial load
	Batches           int
	LoadTime          time.Duration // reading the tree + committing the transaction
	ReadTime          time.Duration // reading the tree
	MirroredOffset    int64         // last log offset mirrored to ZooKeeper (-1 none)
	ZkControllerEpoch int32         // /controller_epoch after the takeover (0 before)
	// HandedOver: the log is in REVERSE_MIGRATION and /migration is gone
	// (Rollback ran): the driver leaves ZooKeeper to its brokers.
	HandedOver bool
}

// Driver is the migration driver (Kafka's KRaftMigrationDriver). It runs
// on every controller with migration enabled and acts only while its node
// is the active controller: PRE_MIGRATION -> wait for brokers -> take over
// /controller -> load ZooKeeper into the log as one transaction ->
// MIGRATION, dual-writing every committed change to ZooKeeper until the log
// says POST_MIGRATION.
//
// Goroutines: Start runs one loop; Close ends it and closes the ZooKeeper
// session (go-zookeeper's goroutines end with it).
type Driver struct {
	cfg Config
	log *zap.Logger
	q   Quorum

	conn       *gozk.Conn
	connEvents <-chan gozk.Event // closed by the client library once its goroutines end
	s          *session
	wake       chan struct{}

	// Loop state (loop goroutine only).
	term      int64
	fence     *fence
	mirrored  *metadata.Image
	waitedLog time.Time
	missing   map[int32]bool // assignment brokers not registered at the last load attempt
	marked    bool           // FinalizedPath written for a POST_MIGRATION log

	mu     sync.Mutex
	status Status
	state  atomic.Int32

	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

// New checks cfg. Publish may be called before Start (it only wakes the loop).
func New(cfg Config, logger *zap.Logger) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	d := &Driver{cfg: cfg, log: logger.Named("migration"), wake: make(chan struct{}, 1), term: -1, missing: map[int32]bool{}}
	d.status.MirroredOffset = -1
	return d, nil
}

// Publish implements quorum.Publisher: a committed change wakes the loop,
// which mirrors it (never blocks).
func (d *Driver) Publish(_ *metadata.Delta, _ *metadata.Image) { d.poke() }

func (d *Driver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Start (once; not concurrently with Close) connects to ZooKeeper, creates Kafka's top-level paths and
// /migration, and starts the loop.
func (d *Driver) Start(ctx context.Context, q Quorum) error {
	if d.closed {
		return ErrClosed
	}
	if d.conn != nil {
		return errors.New("migrate: driver already started")
	}
	conn, events, err := connect(ctx, d.cfg.Servers, d.cfg.SessionTimeout, d.cfg.ConnectionTimeout, d.log.Named("zk"))
	if err != nil {
		return err
	}
	s := newSession(conn, d.cfg.Chroot)
	if err := s.createTopLevelPaths(); err != nil {
		zk.CloseWait(conn, events, d.cfg.ConnectionTimeout)
		return err
	}
	d.conn, d.connEvents, d.s, d.q = conn, events, s, q
	d.setState(Inactive)
	lctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.wg.Add(1)
	go d.loop(lctx)
	return nil
}

// Close stops the loop and closes the ZooKeeper session. The persistent
// /controller stays: ZooKeeper brokers must not elect while the quorum
// owns the metadata.
func (d *Driver) Close() error {
	d.closed = true
	if d.cancel != nil {
		d.cancel()
		d.wg.Wait()
		d.cancel = nil
	}
	if d.conn != nil {
		zk.CloseWait(d.conn, d.connEvents, d.cfg.ConnectionTimeout) // no client goroutine outlives Close
		d.conn = nil
	}
	return nil
}

// State is the driver state.
func (d *Driver) State() DriverState { return DriverState(d.state.Load()) }

// Status is a copy of the driver's status.
func (d *Driver) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.status
	st.Driver = d.State()
	st.ExpectedBrokers = slices.Clone(st.ExpectedBrokers)
	st.RegisteredBrokers = slices.Clone(st.RegisteredBrokers)
	return st
}

func (d *Driver) setState(s DriverState) {
	if old := DriverState(d.state.Swap(int32(s))); old != s {
		d.log.Info("migration driver state", zap.Stringer("from", old), zap.Stringer("to", s))
	}
}

func (d *Driver) loop(ctx context.Context) {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		d.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// step advances the driver by what the log and ZooKeeper say now.
func (d *Driver) step(ctx context.Context) {
	if !d.marked && !d.cfg.Reverse && d.q.Image().ZkMigrationState() == metadata.ZkMigrationPostMigration {
		// Finalized, perhaps by a controller without the ZooKeeper keys:
		// record it so that a rollback is refused (leader or not).
		if err := d.s.markFinalized(d.cfg.NodeID, time.Now()); err != nil {
			d.log.Warn("record the finalized migration in ZooKeeper", zap.Error(err))
		} else {
			d.marked = true
		}
	}
	term, leader := d.q.LeaderTerm()
	if !leader {
		if d.State() != Inactive {
			d.log.Info("not the active controller: migration driver inactive")
		}
		d.setState(Inactive)
		d.fence, d.mirrored, d.term = nil, nil, -1
		return
	}
	if term != d.term {
		// A new term: act only on an image holding everything the earlier
		// leaders committed (a stale PRE_MIGRATION would load twice, a stale
		// image would make SYNC_KRAFT_TO_ZK undo the last mirrored writes).
		d.fence, d.mirrored = nil, nil
		d.setState(WaitForControllerQuorum)
		_, t, err := d.q.LeaderImage(ctx)
		if err != nil || t != term {
			if ctx.Err() == nil {
				d.log.Debug("new term: waiting for the log of earlier terms", zap.Int64("term", term), zap.Error(err))
			}
			return
		}
		d.term = term
	}
	img := d.q.Image()
	d.mu.Lock()
	d.status.State = img.ZkMigrationState()
	d.mu.Unlock()
	var err error
	switch st := img.ZkMigrationState(); {
	case d.cfg.Reverse && (st == metadata.ZkMigrationNone || st == metadata.ZkMigrationPostMigration):
		err = d.reverse(ctx, img)
	case d.cfg.Reverse && st == metadata.ZkMigrationPreMigration:
		if d.State() != Inactive {
			d.log.Error("zookeeper.metadata.migration.reverse.enable on a log in PRE_MIGRATION: nothing to export; " +
				"finish or abandon the forward migration first")
		}
		d.setState(Inactive)
		return
	case st == metadata.ZkMigrationReverse:
		if d.fence == nil {
			if m, _, ok, rerr := d.s.readMigration(); rerr == nil && (!ok || m.KRaftControllerID < 0) {
				// Rollback deleted /migration (Start recreates it empty):
				// the ZooKeeper-mode brokers own the metadata; taking
				// /controller back would rewrite ZooKeeper from a log that
				// stopped at the hand-over.
				if !d.handedOver() {
					d.log.Error("reverse migration handed over to ZooKeeper mode (no /migration): not taking /controller back; " +
						"remove zookeeper.connect from this controller")
				}
				d.mu.Lock()
				d.status.HandedOver = true
				d.mu.Unlock()
				d.setState(Inactive)
				return
			}
		}
		err = d.migration(ctx, img) // dual-write; a new leader takes over and resyncs first
	case st == metadata.ZkMigrationNone:
		err = d.bootstrap(ctx, img)
	case st == metadata.ZkMigrationPostMigration:
		if d.State() != Inactive {
			d.log.Info("migration finalized (POST_MIGRATION): no more writes to ZooKeeper")
		}
		d.setState(Inactive)
		return
	case st == metadata.ZkMigrationPreMigration:
		err = d.preMigration(ctx, img)
	case st == metadata.ZkMigrationMigration:
		err = d.migration(ctx, img)
	}
	if err != nil && ctx.Err() == nil {
		if errors.Is(err, ErrControllerMoved) {
			d.log.Warn("lost the ZooKeeper controller role; taking over again", zap.Error(err))
			d.fence, d.mirrored = nil, nil
			d.setState(BecomeController)
			return
		}
		d.log.Warn("migration step failed; retrying", zap.Stringer("state", d.State()), zap.Error(err))
	}
}

// bootstrap writes PRE_MIGRATION into a log that holds no metadata yet
// (Kafka writes it with the bootstrap records). A log that already holds
// topics in state NONE was started without the flag: Kafka's trap; the
// migration can never run on it.
func (d *Driver) bootstrap(ctx context.Context, img *metadata.Image) error {
	if img.TopicCount() > 0 {
		if d.State() != Inactive {
			d.log.Error("the metadata log holds topics but was not created for a migration (state NONE); " +
				"wipe metadata.log.dir of every controller and start them with zookeeper.metadata.migration.enable=true")
		}
		d.setState(Inactive)
		return nil
	}
	_, err := d.q.AppendRecords(ctx, "migration: bootstrap PRE_MIGRATION", func(img *metadata.Image) error {
		if img.ZkMigrationState() != metadata.ZkMigrationNone || img.TopicCount() > 0 {
			return fmt.Errorf("state is %s: %w", StateName(img.ZkMigrationState()), ErrWrongState)
		}
		return nil
	}, []metadata.Record{&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationPreMigration}})
	if err == nil {
		d.log.Info("metadata log in PRE_MIGRATION: waiting for the ZooKeeper brokers to register")
	}
	return err
}

// preMigration waits for every ZooKeeper broker, then migrates.
func (d *Driver) preMigration(ctx context.Context, img *metadata.Image) error {
	d.setState(WaitForBrokers)
	ids, _, err := d.conn.Children(d.s.abs(zk.BrokerIDsPath))
	if err != nil {
		return fmt.Errorf("%w: list %s: %w", ErrZooKeeper, zk.BrokerIDsPath, err)
	}
	expected := map[int32]bool{}
	for _, c := range ids {
		if id, err := strconv.ParseInt(c, 10, 32); err == nil {
			expected[int32(id)] = true
		}
	}
	for id := range d.missing {
		expected[id] = true
	}
	missing := d.unregistered(img, expected)
	if len(expected) == 0 || len(missing) > 0 {
		if time.Since(d.waitedLog) > 5*time.Second {
			d.waitedLog = time.Now()
			if len(expected) == 0 {
				d.log.Info("no ZooKeeper brokers are known yet: waiting")
			} else {
				d.log.Info("still waiting for ZooKeeper brokers to register with the quorum", zap.Int32s("missing", missing))
			}
		}
		return nil
	}
	return d.migrate(ctx)
}

// unregistered are the expected brokers not registered as migrating ZooKeeper brokers.
func (d *Driver) unregistered(img *metadata.Image, expected map[int32]bool) []int32 {
	var registered, missing []int32
	for _, b := range img.Brokers() {
		if b.IsMigratingZkBroker {
			registered = append(registered, b.ID)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(expected)) {
		if !slices.Contains(registered, id) {
			missing = append(missing, id)
		}
	}
	d.mu.Lock()
	d.status.ExpectedBrokers = slices.Sorted(maps.Keys(expected))
	d.status.RegisteredBrokers = registered
	d.mu.Unlock()
	return missing
}

// migrate takes over /controller and loads the tree into the log.
func (d *Driver) migrate(ctx context.Context) error {
	d.setState(BecomeController)
	f, err := d.s.takeover(d.cfg.NodeID, int32(d.term), time.Now())
	if err != nil {
		return err
	}
	d.fence = f
	d.setZkEpoch(f.zkEpoch)
	d.log.Info("took over /controller", zap.Int32("controller_epoch", f.zkEpoch), zap.Int64("kraft_controller_epoch", d.term))
	d.setState(ZkMigration)
	if d.cfg.AfterTakeover != nil {
		d.cfg.AfterTakeover(ctx)
	}
	start := time.Now()
	tree, err := loadTree(ctx, d.conn, d.cfg, d.log.Named("zk"))
	if err != nil {
		return err
	}
	deleting, err := d.s.pendingDeletions()
	if err != nil {
		return err
	}
	// Brokers named in assignments must have registered too.
	expected := map[int32]bool{}
	for _, id := range AssignedBrokers(tree, deleting) {
		expected[id] = true
	}
	for id := range tree.Brokers {
		expected[id] = true
	}
	if missing := d.unregistered(d.q.Image(), expected); len(missing) > 0 {
		d.missing = map[int32]bool{}
		for _, id := range missing {
			d.missing[id] = true
		}
		d.log.Info("brokers named in topic assignments have not registered with the quorum yet", zap.Int32s("missing", missing))
		d.setState(WaitForBrokers)
		return nil
	}
	read := time.Since(start)
	batches := LoadRecords(tree, deleting, d.cfg.BatchSize)
	n := 0
	for _, b := range batches {
		n += len(b)
	}
	d.mu.Lock()
	d.status.Batches, d.status.BatchesLoaded, d.status.RecordsLoaded = len(batches), 0, 0
	d.mu.Unlock()
	d.log.Info("migrating metadata from ZooKeeper", zap.Int("topics", len(tree.Topics)), zap.Int("records", n),
		zap.Int("batches", len(batches)), zap.Duration("read", read), zap.Strings("finishing_deletion_of", slices.Sorted(maps.Keys(deleting))))
	lastLog := time.Now()
	img, err := d.q.AppendTransaction(ctx, MigrationTransactionName, func(img *metadata.Image) error {
		if img.ZkMigrationState() != metadata.ZkMigrationPreMigration {
			return fmt.Errorf("state is %s: %w", StateName(img.ZkMigrationState()), ErrWrongState)
		}
		return nil
	}, batches, func(done, total int) {
		d.mu.Lock()
		d.status.BatchesLoaded = done
		d.mu.Unlock()
		if time.Since(lastLog) > 2*time.Second {
			lastLog = time.Now()
			d.log.Info("migration load progress", zap.Int("batches", done), zap.Int("of", total))
		}
	})
	if err != nil {
		return fmt.Errorf("load ZooKeeper into the log: %w", err)
	}
	took := time.Since(start)
	d.mu.Lock()
	d.status.RecordsLoaded, d.status.BatchesLoaded, d.status.LoadTime, d.status.ReadTime = n, len(batches), took, read
	d.mu.Unlock()
	d.log.Info("Completed migration of metadata from ZooKeeper to KRaft", zap.Int("records", n),
		zap.Int("partitions", img.PartitionCount()), zap.Int64("offset", img.Offset()), zap.Duration("took", took))
	// No ZooKeeper-mode broker wrote after the takeover (their writes are
	// fenced on /controller_epoch and go to the quorum, which refused them
	// until now): ZooKeeper holds what was loaded, except the topics the
	// load completed or deleted. Write those and record the offset. If this
	// fails, the next step resyncs the whole tree (SYNC_KRAFT_TO_ZK).
	ops := CompletionOps(tree, deleting, img, f.zkEpoch)
	if err := d.s.writeFenced(f, ops, img.Offset(), int32(img.Epoch()), d.cfg.MaxMultiOps); err != nil {
		return err
	}
	if len(ops) > 0 {
		d.log.Info("completed the topic creations and deletions the ZooKeeper controller had not finished",
			zap.Int("ops", len(ops)), zap.Int("deleted", len(deleting)))
	}
	d.mirrored = img
	d.setMirrored(img.Offset())
	d.setState(KRaftControllerToBrokerComm)
	d.setState(DualWrite)
	return nil
}

func (d *Driver) handedOver() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status.HandedOver
}

func (d *Driver) setZkEpoch(e int32) {
	d.mu.Lock()
	d.status.ZkControllerEpoch = e
	d.mu.Unlock()
}

func (d *Driver) setMirrored(off int64) {
	d.mu.Lock()
	d.status.MirroredOffset = off
	d.mu.Unlock()
}

// migration is the MIGRATION state: take over (after a leader change or a
// restart), repair ZooKeeper from the image, then mirror every change.
func (d *Driver) migration(ctx context.Context, img *metadata.Image) error {
	if img.ZkMigrationState() == metadata.ZkMigrationMigration && d.fence != nil && d.mirrored != nil && d.finalizeRequested() {
		return d.finalize(ctx)
	}
	if d.fence == nil || d.mirrored == nil {
		if d.fence == nil {
			d.setState(BecomeController)
			f, err := d.s.takeover(d.cfg.NodeID, int32(d.term), time.Now())
			if err != nil {
				return err
			}
			d.fence = f
			d.setZkEpoch(f.zkEpoch)
			d.log.Info("took over /controller", zap.Int32("controller_epoch", f.zkEpoch), zap.Int64("kraft_controller_epoch", d.term))
		}
		d.setState(SyncKRaftToZk)
		tree, err := loadTree(ctx, d.conn, d.cfg, d.log.Named("zk"))
		if err != nil {
			return err
		}
		deleting, err := d.s.pendingDeletions()
		if err != nil {
			return err
		}
		ops, err := SyncOps(tree, deleting, img, d.fence.zkEpoch)
		if err != nil {
			return err
		}
		if err := d.s.writeFenced(d.fence, ops, img.Offset(), int32(img.Epoch()), d.cfg.MaxMultiOps); err != nil {
			return err
		}
		d.log.Info("ZooKeeper synchronized with the metadata log", zap.Int("ops", len(ops)), zap.Int64("offset", img.Offset()))
		d.mirrored = img
		d.setMirrored(img.Offset())
		d.setState(KRaftControllerToBrokerComm)
		d.setState(DualWrite)
		return nil
	}
	if img == d.mirrored || img.Offset() == d.mirrored.Offset() {
		return nil
	}
	ops := DiffOps(d.mirrored, img, d.fence.zkEpoch)
	if len(ops) > 0 {
		if err := d.s.writeFenced(d.fence, ops, img.Offset(), int32(img.Epoch()), d.cfg.MaxMultiOps); err != nil {
			return err
		}
		d.log.Debug("dual-write", zap.Int("ops", len(ops)), zap.Int64("offset", img.Offset()))
		d.setMirrored(img.Offset())
	}
	d.mirrored = img
	return nil
}

// reverse is the start of the reverse migration: export the image to
// ZooKeeper behind a fresh takeover, then append REVERSE_MIGRATION, after
// which migration dual-writes what was committed since the export. A
// failure anywhere (a leader change, kill -9) leaves the log in NONE or
// POST_MIGRATION, and the next active controller exports again.
func (d *Driver) reverse(ctx context.Context, img *metadata.Image) error {
	d.setState(BecomeController)
	f, res, err := d.s.export(ctx, d.cfg, img, int32(d.term), d.log)
	if err != nil {
		return fmt.Errorf("reverse migration: export to ZooKeeper: %w", err)
	}
	d.fence = f
	d.setZkEpoch(f.zkEpoch)
	from := img.ZkMigrationState()
	if _, err := d.q.AppendRecords(ctx, "migration: reverse", func(cur *metadata.Image) error {
		if s := cur.ZkMigrationState(); s != from {
			return fmt.Errorf("state is %s: %w", StateName(s), ErrWrongState)
		}
		return nil
	}, []metadata.Record{&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationReverse}}); err != nil {
		return fmt.Errorf("reverse migration: record REVERSE_MIGRATION: %w", err)
	}
	d.mirrored = img
	d.setMirrored(img.Offset())
	d.log.Info("reverse migration: image exported to ZooKeeper, dual-writing until the ZooKeeper-mode brokers take /controller back",
		zap.Int("partitions", res.Partitions), zap.Int32("controller_epoch", f.zkEpoch), zap.Duration("took", res.ReadTime+res.WriteTime))
	d.setState(DualWrite)
	return nil
}

func (d *Driver) finalizeRequested() bool {
	ok, _, err := d.conn.Exists(d.s.abs(FinalizeRequestPath))
	return err == nil && ok
}

// finalize writes POST_MIGRATION (requested by `zkraft migrate finalize`).
// FinalizedPath goes first, behind the fence and with /migration's
// version bumped, so a rollback racing with it fails its multi and then
// sees the marker; from then on ZooKeeper may fall behind the log.
func (d *Driver) finalize(ctx context.Context) error {
	if d.fence == nil || d.mirrored == nil {
		return nil // take over and resync first (migration does)
	}
	off := d.mirrored.Offset()
	if err := d.s.writeFenced(d.fence, []zk.Op{finalizedOp(d.cfg.NodeID, off, time.Now())}, off, int32(d.mirrored.Epoch()), d.cfg.MaxMultiOps); err != nil {
		return fmt.Errorf("record the finalize in ZooKeeper: %w", err)
	}
	if err := Finalize(ctx, d.q); err != nil {
		return err
	}
	if err := d.conn.Delete(d.s.abs(FinalizeRequestPath), -1); err != nil && !errors.Is(err, gozk.ErrNoNode) {
		d.log.Warn("remove the finalize request", zap.Error(err))
	}
	d.setState(Inactive)
	return nil
}

// Finalize appends ZkMigrationStateRecord(POST_MIGRATION) when the log is in
// MIGRATION (Kafka's controller does it when it activates with the
// migration flag off). Afterwards nothing is written to ZooKeeper again and
// a rollback is no longer possible.
func Finalize(ctx context.Context, q Quorum) error {
	_, err := q.AppendRecords(ctx, "migration: finalize", func(img *metadata.Image) error {
		if s := img.ZkMigrationState(); s != metadata.ZkMigrationMigration {
			return fmt.Errorf("finalize needs state MIGRATION, the log is in %s: %w", StateName(s), ErrWrongState)
		}
		return nil
	}, []metadata.Record{&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationPostMigration}})
	return err
}
