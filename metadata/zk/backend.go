package zk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// Publisher sees each new image, in order, never concurrently (the same
// shape as quorum.Publisher; broker.Broker implements it).
type Publisher interface {
	Publish(delta *metadata.Delta, img *metadata.Image)
}

// Backend is the ZooKeeper metadata backend of one zkraft broker: its
// session, its /brokers/ids registration, the image built from the tree and
// kept current by watches, and, when this broker wins the /controller
// election, the Kafka ZooKeeper controller.
type Backend struct {
	cfg  Config
	log  *zap.Logger
	pubs []Publisher
	acl  []gozk.ACL

	mu   sync.Mutex // guards conn/started/closed and reg
	conn *gozk.Conn
	// connEvents is the event channel of conn; the library closes it once its
	// goroutines have ended (CloseWait).
	connEvents <-chan gozk.Event
	started    bool
	closed     bool
	reg        *metadata.BrokerRegistration // registered broker, re-registered on a new session
	oldSess    map[int64]bool               // earlier session ids of this backend (KAFKA-7165)

	clusterID atomic.Value // string
	img       atomic.Pointer[metadata.Image]
	imgMu     sync.Mutex
	imgCh     chan struct{} // closed and replaced on every publish
	caughtUp  chan struct{} // closed after the first publish

	// secMu serializes this broker's security writes (security_admin.go):
	// each computes its znodes from the image the previous one produced.
	secMu sync.Mutex
	// beforeZnodeWrite, when set (tests), runs between the read of a
	// config or ACL znode and its conditional write (casZnode, cas.go).
	beforeZnodeWrite func(path string)

	// Controller state readable by any goroutine; written by the loop.
	isController     atomic.Bool
	activeController atomic.Pointer[controllerSeen]
	controllerEpoch  atomic.Int32
	epochZkVersion   atomic.Int32 // zkVersion of /controller_epoch when this broker won
	failovers        atomic.Int64
	lastFailover     atomic.Pointer[FailoverStats]

	events     *eventQueue
	shutdownCh chan shutdownReq // ControlledShutdown requests for the loop (shutdown.go)
	reassignCh chan reassignReq // AlterPartitionReassignments for the loop (reassign.go)
	electCh    chan electReq    // ElectLeaders requests for the loop (partitions_admin.go)
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// FailoverStats describes the last time this broker became controller.
type FailoverStats struct {
	Epoch      int32
	Partitions int           // partitions in the loaded tree
	Elected    int           // partitions given a new leader (or first state)
	Load       time.Duration // reading the whole tree
	Total      time.Duration // election won -> every partition has its leader written
}

// New checks cfg. It connects to nothing: Start does.
func New(cfg Config, logger *zap.Logger, pubs ...Publisher) (*Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Controller.NewUuid == nil {
		cfg.Controller.NewUuid = metadata.RandomUuid
	}
	b := &Backend{
		cfg: cfg, log: logger.Named("zk").With(zap.Int32("broker", cfg.BrokerID)), pubs: pubs,
		acl: gozk.WorldACL(gozk.PermAll), imgCh: make(chan struct{}), caughtUp: make(chan struct{}),
		events: newEventQueue(), oldSess: map[int64]bool{}, shutdownCh: make(chan shutdownReq), reassignCh: make(chan reassignReq),
		electCh: make(chan electReq),
	}
	b.img.Store(metadata.EmptyImage())
	b.clusterID.Store("")
	b.activeController.Store(&controllerSeen{id: -1})
	return b, nil
}

// abs turns a Kafka path into a path under the chroot.
func (b *Backend) abs(p string) string { return b.cfg.Chroot + p }

// rel strips the chroot from an event path ("" if outside it).
func (b *Backend) rel(p string) string {
	if b.cfg.Chroot == "" {
		return p
	}
	r, ok := strings.CutPrefix(p, b.cfg.Chroot)
	if !ok {
		return ""
	}
	if r == "" {
		return "/"
	}
	return r
}

// ClientLogger adapts l to go-zookeeper's logger: the library's lines
// (connects, reconnects, session events) go to l at debug level. Every
// ZooKeeper session zkraft opens logs through it.
func ClientLogger(l *zap.Logger) gozk.Logger { return zapZkLogger{l} }

type zapZkLogger struct{ l *zap.Logger }

func (z zapZkLogger) Printf(format string, args ...any) {
	z.l.Debug(fmt.Sprintf(format, args...))
}

// Start connects, waits for a session, creates the chroot, Kafka's
// persistent paths and /cluster/id (first broker wins), then starts the
// loop that loads the tree, publishes images, and runs the controller
// election. It does not register the broker: RegisterBroker does.
func (b *Backend) Start(ctx context.Context) (err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.started {
		return errors.New("zk: backend already started")
	}
	conn, connEvents, err := gozk.Connect(b.cfg.Servers, b.cfg.SessionTimeout,
		gozk.WithLogger(ClientLogger(b.log.Named("client"))), gozk.WithEventCallback(b.events.push))
	if err != nil {
		return fmt.Errorf("zk: connect %v: %w", b.cfg.Servers, err)
	}
	defer func() {
		if err != nil {
			CloseWait(conn, connEvents, closeWaitTimeout)
		}
	}()
	b.connEvents = connEvents
	wctx, cancel := context.WithTimeout(ctx, b.cfg.ConnectionTimeout)
	defer cancel()
	for conn.State() != gozk.StateHasSession {
		select {
		case <-wctx.Done():
			return fmt.Errorf("zk: no session with %v within zookeeper.connection.timeout.ms=%d: %w",
				b.cfg.Servers, b.cfg.ConnectionTimeout.Milliseconds(), wctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if b.cfg.Chroot != "" {
		if err := b.createPath(conn, "", b.cfg.Chroot); err != nil {
			return err
		}
	}
	for _, p := range PersistentPaths {
		if err := b.createPath(conn, b.cfg.Chroot, p); err != nil {
			return err
		}
	}
	id, err := b.getOrCreateClusterID(conn)
	if err != nil {
		return err
	}
	b.clusterID.Store(id)
	b.conn, b.started = conn, true
	lctx, lcancel := context.WithCancel(context.Background())
	b.cancel = lcancel
	b.wg.Add(1)
	go b.loop(lctx, conn.SessionID())
	b.log.Info("connected to zookeeper", zap.Strings("servers", b.cfg.Servers), zap.String("chroot", b.cfg.Chroot),
		zap.String("cluster_id", id), zap.Int64("session", conn.SessionID()))
	return nil
}

// createPath creates root+p and its missing parents (no data).
func (b *Backend) createPath(conn *gozk.Conn, root, p string) error {
	cur := root
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		cur += "/" + part
		if _, err := conn.Create(cur, nil, 0, b.acl); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			return fmt.Errorf("zk: create %s: %w", cur, err)
		}
	}
	return nil
}

// getOrCreateClusterID reads /cluster/id, creating it with a new id if missing.
func (b *Backend) getOrCreateClusterID(conn *gozk.Conn) (string, error) {
	for try := 0; try < 3; try++ {
		data, _, err := conn.Get(b.abs(ClusterIDPath))
		if err == nil {
			return DecodeClusterID(data)
		}
		if !errors.Is(err, gozk.ErrNoNode) {
			return "", fmt.Errorf("zk: read %s: %w", ClusterIDPath, err)
		}
		if err := b.createPath(conn, b.cfg.Chroot, "/cluster"); err != nil {
			return "", err
		}
		id := metadata.RandomUuid().String()
		if _, err := conn.Create(b.abs(ClusterIDPath), EncodeClusterID(id), 0, b.acl); err == nil {
			b.log.Info("created cluster id", zap.String("cluster_id", id))
			return id, nil
		} else if !errors.Is(err, gozk.ErrNodeExists) {
			return "", fmt.Errorf("zk: create %s: %w", ClusterIDPath, err)
		}
	}
	return "", fmt.Errorf("zk: %s keeps changing: %w", ClusterIDPath, ErrCorruptZNode)
}

// Close resigns (by closing the session, which deletes this broker's
// ephemeral znodes at once), stops the loop and waits for it.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	conn, events, started := b.conn, b.connEvents, b.started
	b.mu.Unlock()
	if !started {
		return nil
	}
	b.cancel()
	// Ends the session (ephemerals go at once), fails calls in flight, and
	// waits for the client library's goroutines.
	CloseWait(conn, events, closeWaitTimeout)
	b.wg.Wait()
	b.isController.Store(false)
	b.log.Info("closed")
	return nil
}

func (b *Backend) session() (*gozk.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if !b.started {
		return nil, ErrNotStarted
	}
	return b.conn, nil
}

// SessionState is the ZooKeeper connection's state as go-zookeeper names
// it (StateHasSession, StateDisconnected, StateExpired, ...): "StateClosed"
// after Close, "StateUnknown" before Start (metrics).
func (b *Backend) SessionState() string {
	conn, err := b.session()
	switch {
	case errors.Is(err, ErrClosed):
		return "StateClosed"
	case err != nil || conn == nil:
		return "StateUnknown"
	}
	return conn.State().String()
}

// ClusterID is /cluster/id (valid after Start).
func (b *Backend) ClusterID() string { return b.clusterID.Load().(string) }

// Image is the latest published image.
func (b *Backend) Image() *metadata.Image { return b.img.Load() }

// WaitCaughtUp waits for the first image (the whole tree as loaded at start).
func (b *Backend) WaitCaughtUp(ctx context.Context) error {
	select {
	case <-b.caughtUp:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IsController reports whether this broker is the active controller.
func (b *Backend) IsController() bool { return b.isController.Load() }

// Controller is the broker id in /controller as last seen (-1 if none) and
// this broker's controller epoch if it is the controller (else 0).
func (b *Backend) Controller() (id int32, epoch int32) {
	return b.activeController.Load().id, b.controllerEpoch.Load()
}

// KRaftController reports whether /controller, as last seen, names a KRaft
// controller (kraftControllerEpoch set: a migration's takeover) rather
// than a ZooKeeper-mode broker, or nobody.
func (b *Backend) KRaftController() bool { return b.activeController.Load().kraft }

// controllerSeen is /controller as this broker last read it.
type controllerSeen struct {
	id    int32 // -1: no /controller
	kraft bool  // a KRaft controller (kraftControllerEpoch >= 0)
}

// LastFailover is the measurement of this broker's last controller failover.
func (b *Backend) LastFailover() (FailoverStats, bool) {
	s := b.lastFailover.Load()
	if s == nil {
		return FailoverStats{}, false
	}
	return *s, true
}

// waitImage waits until cond holds for the latest image.
func (b *Backend) waitImage(ctx context.Context, what string, cond func(*metadata.Image) bool) error {
	for {
		b.imgMu.Lock()
		ch := b.imgCh
		b.imgMu.Unlock()
		if cond(b.Image()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s: wait for the image: %w", what, ctx.Err())
		}
	}
}

// RegisterBroker registers /brokers/ids/<id> as Kafka does ("checked
// ephemeral": multi(create ephemeral, setData version 0)) and returns the
// broker epoch, the znode's czxid, once the image holds it. A node left by
// an earlier session of this backend is deleted and recreated (KAFKA-7165);
// one held by another live session is ErrBrokerIDInUse (a duplicate
// broker.id, or this broker's previous process whose session has not
// expired yet: retry after zookeeper.session.timeout.ms).
func (b *Backend) RegisterBroker(ctx context.Context, reg metadata.BrokerRegistration) (int64, error) {
	if reg.ID != b.cfg.BrokerID {
		return -1, fmt.Errorf("register broker %d: this backend is broker.id=%d: %w", reg.ID, b.cfg.BrokerID, metadata.ErrInvalidRequest)
	}
	conn, err := b.session()
	if err != nil {
		return -1, err
	}
	epoch, err := b.register(conn, reg)
	if err != nil {
		return -1, err
	}
	b.mu.Lock()
	r := reg
	b.reg = &r
	b.mu.Unlock()
	err = b.waitImage(ctx, fmt.Sprintf("register broker %d", reg.ID), func(img *metadata.Image) bool {
		br, ok := img.Broker(reg.ID)
		return ok && br.Epoch >= epoch
	})
	if err != nil {
		return -1, err
	}
	b.log.Info("registered broker", zap.Int64("epoch", epoch))
	return epoch, nil
}

func (b *Backend) register(conn *gozk.Conn, reg metadata.BrokerRegistration) (int64, error) {
	data, err := EncodeBroker(NewBrokerZNode(reg, b.cfg.Now().UnixMilli()))
	if err != nil {
		return -1, fmt.Errorf("register broker %d: %w", reg.ID, err)
	}
	path := b.abs(BrokerPath(reg.ID))
	for try := 0; try < 5; try++ {
		res, err := conn.Multi(&gozk.CreateRequest{Path: path, Acl: b.acl, Flags: gozk.FlagEphemeral},
			&gozk.SetDataRequest{Path: path, Data: data, Version: 0})
		if err == nil {
			return res[1].Stat.Czxid, nil
		}
		if !errors.Is(err, gozk.ErrNodeExists) {
			return -1, fmt.Errorf("register broker %d at %s: %w", reg.ID, path, err)
		}
		_, stat, gerr := conn.Get(path)
		if errors.Is(gerr, gozk.ErrNoNode) {
			continue
		}
		if gerr != nil {
			return -1, fmt.Errorf("register broker %d: read %s: %w", reg.ID, path, gerr)
		}
		if stat.EphemeralOwner == conn.SessionID() {
			if _, err := conn.Set(path, data, -1); err != nil {
				return -1, fmt.Errorf("register broker %d: update %s: %w", reg.ID, path, err)
			}
			return stat.Czxid, nil
		}
		b.mu.Lock()
		ours := b.oldSess[stat.EphemeralOwner]
		b.mu.Unlock()
		if !ours {
			return -1, fmt.Errorf("register broker %d: %s is owned by session 0x%x: %w", reg.ID, path, stat.EphemeralOwner, ErrBrokerIDInUse)
		}
		if err := conn.Delete(path, stat.Version); err != nil && !errors.Is(err, gozk.ErrNoNode) {
			return -1, fmt.Errorf("register broker %d: delete stale %s: %w", reg.ID, path, err)
		}
	}
	return -1, fmt.Errorf("register broker %d: %s keeps changing: %w", reg.ID, path, ErrBrokerIDInUse)
}

// UnfenceBroker only checks the epoch: a registered ZooKeeper-mode broker
// is live (there is no fencing in Kafka's ZooKeeper mode).
func (b *Backend) UnfenceBroker(ctx context.Context, id int32, epoch int64) error {
	return metadata.CheckBrokerEpoch(b.Image(), id, epoch)
}

// eventQueue receives go-zookeeper's callback (which must not block: it runs
// on the client's receive goroutine) and hands events to the loop.
type eventQueue struct {
	mu     sync.Mutex
	evs    []gozk.Event
	signal chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{signal: make(chan struct{}, 1)} }

func (q *eventQueue) push(ev gozk.Event) {
	q.mu.Lock()
	q.evs = append(q.evs, ev)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) drain() []gozk.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.evs
	q.evs = nil
	return evs
}
