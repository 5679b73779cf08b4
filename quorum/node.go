package quorum

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// Node is one metadata quorum voter: raft with its stores, the FSM holding
// the metadata image, and the active controller (when this node leads).
type Node struct {
	cfg  Config
	log  *zap.Logger
	meta metaProperties
	fsm  *fsm

	// Lifecycle. mu serializes Start and Close (held while raft starts and
	// stops, so nothing called from the FSM or a publisher may take it).
	mu      sync.Mutex
	started bool
	store   *raftboltdb.BoltStore
	trans   raft.Transport
	raft    atomic.Pointer[raft.Raft] // set by Start; read without locks
	// waitMu guards closed and waiters.Add, so that Close's waiters.Wait
	// never races an Add.
	waitMu sync.Mutex
	closed bool

	notifyCh chan bool // raft leadership changes, drained by loop
	// stopCtx ends loop and its writes; Close cancels it with stop. (The one
	// context kept in a struct: it is the node's lifetime, not a request's.)
	stopCtx context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup // loop
	waiters sync.WaitGroup // await helpers; Add only under waitMu while !closed

	// Controller writes, one at a time (see controller.go).
	writeSem  chan struct{}
	pending   raft.ApplyFuture  // write abandoned by its caller's ctx, still in flight
	readyTerm uint64            // term whose barrier has completed (guarded by writeSem)
	bootstrap []metadata.Record // BootstrapFile's records, written by the first leader of an empty log

	// sessions is the active controller's soft state (lifecycle.go): when
	// each broker was last heard from. Like Kafka's BrokerHeartbeatManager it
	// is not in the log; a new active controller starts every registered
	// broker's session afresh. Lock order: writeSem before sessMu.
	sessMu   sync.Mutex
	sessions map[int32]time.Time
	// gossipDead: brokers memberlist declared dead since their last
	// heartbeat (fenced without waiting for the session timeout).
	gossipDead map[int32]bool
	// gossip is memberlist on the voter port (gossip.go), nil until StartGossip.
	gossip atomic.Pointer[Gossip]

	// Set by Start when the node has its own TCP port: the connection-type
	// multiplexer and the Kafka-protocol controller listener on it.
	mux *mux
	srv *network.Server
	// fetch serves the metadata log to brokers (fetch.go).
	fetch fetchState
	// progress is what this node, as leader, heard from the voters and
	// the observers (progress.go), for DescribeQuorum.
	progress progressTracker
	// snapPolicy triggers snapshots by bytes and interval (snapshot_policy.go).
	snapPolicy *snapshotPolicy
}

// New checks cfg and formats cfg.Dir (meta.properties) when it is new. It
// starts nothing: Start does.
func New(cfg Config, logger *zap.Logger, pubs ...Publisher) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("quorum: create metadata.log.dir %s: %w", cfg.Dir, err)
	}
	meta, err := loadOrFormat(cfg)
	if err != nil {
		return nil, err
	}
	boot, err := ReadBootstrap(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("quorum: bootstrap records: %w", err)
	}
	if cfg.Controller.NewUuid == nil {
		cfg.Controller.NewUuid = metadata.RandomUuid
	}
	stopCtx, stop := context.WithCancel(context.Background())
	log := logger.Named("quorum").With(zap.Int32("node", cfg.NodeID))
	return &Node{
		cfg:       cfg,
		log:       log,
		meta:      meta,
		fsm:       newFSM(log.Named("fsm").With(zap.String("log", filepath.Join(cfg.Dir, "raft.db"))), meta.ClusterID, pubs),
		notifyCh:  make(chan bool, 16),
		stopCtx:   stopCtx,
		stop:      stop,
		writeSem:  make(chan struct{}, 1),
		bootstrap: boot,

		snapPolicy: newSnapshotPolicy(cfg),
	}, nil
}

// ClusterID is the cluster.id from meta.properties.
func (n *Node) ClusterID() string { return n.meta.ClusterID }

// Start opens the stores, starts raft (restoring the latest snapshot) and,
// on a node with no raft state, bootstraps the cluster with all voters.
// It does not wait for an election: see WaitLeader and WaitCaughtUp.
func (n *Node) Start(ctx context.Context) (err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.waitMu.Lock()
	closed := n.closed
	n.waitMu.Unlock()
	if closed {
		return ErrClosed
	}
	if n.started {
		return errors.New("quorum: node already started")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	hlog := newHclog(n.log, "raft")
	store, err := raftboltdb.NewBoltStore(filepath.Join(n.cfg.Dir, "raft.db"))
	if err != nil {
		return fmt.Errorf("quorum: open %s: %w", filepath.Join(n.cfg.Dir, "raft.db"), err)
	}
	defer func() {
		if err != nil {
			store.Close()
		}
	}()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(n.cfg.Dir, n.cfg.SnapshotRetain, hlog.Named("snapshots"))
	if err != nil {
		return fmt.Errorf("quorum: open snapshots in %s: %w", n.cfg.Dir, err)
	}
	target, err := lastCommandIndex(store, snaps)
	if err != nil {
		return fmt.Errorf("quorum: scan raft log in %s: %w", n.cfg.Dir, err)
	}
	n.fsm.setTarget(target)

	trans := n.cfg.transport
	if trans == nil {
		m, err := newMux(n.cfg.BindAddr, n.log.Named("mux"))
		if err != nil {
			return err
		}
		defer func() {
			if err != nil {
				m.close()
			}
		}()
		rt, err := newRaftTLS(n.cfg.RaftTLS)
		if err != nil {
			return err
		}
		trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream:  &raftStream{muxListener: m.raft, tls: rt},
			MaxPool: 3,
			Timeout: 10 * time.Second,
			Logger:  hlog.Named("transport"),
		})
		srv := network.NewServer(n.cfg.Network, &controllerHandler{n: n}, n.log)
		if err := srv.Serve(ControllerListenerName, m.kafka); err != nil {
			return fmt.Errorf("quorum: serve the controller listener on %s: %w", m.ln.Addr(), err)
		}
		n.mux, n.srv = m, srv
	}
	defer func() {
		if err != nil {
			if n.srv != nil {
				_ = n.srv.Close()
				n.srv, n.mux = nil, nil
			}
			closeTransport(trans)
		}
	}()

	trans = &progressTransport{Transport: trans, p: &n.progress, raft: &n.raft}

	rc := raft.DefaultConfig()
	rc.LocalID = serverID(n.cfg.NodeID)
	rc.Logger = hlog
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = n.cfg.LeaderLeaseTimeout
	rc.CommitTimeout = n.cfg.CommitTimeout
	rc.SnapshotThreshold = n.cfg.SnapshotThreshold
	rc.SnapshotInterval = n.cfg.SnapshotInterval
	rc.TrailingLogs = n.cfg.TrailingLogs
	rc.NotifyCh = n.notifyCh
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("quorum: raft config: %w: %w", err, ErrInvalidConfig)
	}

	logs, err := raft.NewLogCache(512, store)
	if err != nil {
		return fmt.Errorf("quorum: log cache: %w", err)
	}
	hasState, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		return fmt.Errorf("quorum: inspect raft state in %s: %w", n.cfg.Dir, err)
	}
	r, err := raft.NewRaft(rc, countingFSM{n.fsm, n.snapPolicy}, logs, store, snaps, trans)
	if err != nil {
		return fmt.Errorf("quorum: start raft: %w", err)
	}
	if !hasState {
		var servers []raft.Server
		for _, id := range sortedIDs(n.cfg.Voters) {
			addr := raft.ServerAddress(n.cfg.Voters[id])
			if _, port, _ := net.SplitHostPort(string(addr)); id == n.cfg.NodeID && (port == "0" || n.cfg.transport != nil) {
				addr = trans.LocalAddr()
			}
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: serverID(id), Address: addr})
		}
		// Every voter bootstraps with the same configuration; raft accepts
		// identical bootstraps (ErrCantBootstrap only means state exists).
		if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			_ = r.Shutdown().Error()
			return fmt.Errorf("quorum: bootstrap voters %s: %w", FormatVoters(n.cfg.Voters), err)
		}
		n.log.Info("bootstrapped metadata quorum", zap.String("voters", FormatVoters(n.cfg.Voters)),
			zap.String("cluster_id", n.meta.ClusterID))
	}
	n.store, n.trans, n.started = store, trans, true
	n.raft.Store(r)
	if n.srv != nil {
		n.srv.Start()
	}
	n.log.Info("started", zap.String("addr", string(trans.LocalAddr())), zap.Uint64("replay_target", target))
	n.wg.Add(2)
	go n.loop(r)
	go n.snapshotLoop(r)
	return nil
}

// lastCommandIndex is the index of the last LogCommand entry after the
// latest snapshot (0 if none): the point up to which a restarting node
// replays before it publishes.
func lastCommandIndex(logs raft.LogStore, snaps raft.SnapshotStore) (uint64, error) {
	last, err := logs.LastIndex()
	if err != nil {
		return 0, err
	}
	first, err := logs.FirstIndex()
	if err != nil {
		return 0, err
	}
	metas, err := snaps.List()
	if err != nil {
		return 0, err
	}
	if len(metas) > 0 && metas[0].Index+1 > first {
		first = metas[0].Index + 1
	}
	if first == 0 {
		first = 1
	}
	for i := last; i >= first && i > 0; i-- {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) {
				continue
			}
			return 0, fmt.Errorf("read entry %d: %w", i, err)
		}
		if l.Type == raft.LogCommand {
			return i, nil
		}
	}
	return 0, nil
}

// loop is the controller loop. It follows leadership changes; on becoming
// leader it appends a NoOpRecord (Kafka's controller writes NoOpRecords too,
// KIP-835), which also guarantees that every node sees a command entry past
// any uncommitted tail it had at start, so its start-up catch-up completes.
// Broker fencing on heartbeat timeout will live here (a later issue).
func (n *Node) loop(r *raft.Raft) {
	defer n.wg.Done()
	ctx := n.stopCtx
	caughtUp := n.fsm.caughtUpCh
	tick := time.NewTicker(n.sessionCheckInterval())
	defer tick.Stop()
	var rebalance <-chan time.Time // auto.leader.rebalance.enable (admin_partitions.go)
	if d := n.rebalanceInterval(); d > 0 {
		rt := time.NewTicker(d)
		defer rt.Stop()
		rebalance = rt.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if r.State() == raft.Leader {
				n.checkSessions(ctx)
			}
		case <-rebalance:
			if r.State() == raft.Leader {
				n.rebalanceLeaders(ctx)
			}
		case leader := <-n.notifyCh:
			n.resetSessions()
			if leader {
				n.reseedGossipDead()
			}
			if !leader {
				n.log.Info("no longer active controller")
				continue
			}
			n.log.Info("became active controller", zap.Uint64("term", r.CurrentTerm()))
			_, err := n.write(ctx, "leader no-op", func(*metadata.Image) ([]metadata.Record, error) {
				return []metadata.Record{&metadata.NoOpRecord{}}, nil
			})
			if err != nil && ctx.Err() == nil {
				n.log.Warn("leader no-op not written", zap.Error(err))
			}
		case <-caughtUp:
			caughtUp = nil
			n.log.Info("metadata caught up", zap.Int64("offset", n.fsm.image().Offset()))
		}
	}
}

// Close shuts raft down, stops the loop, and closes the transport and the
// raft store. It is safe to call more than once.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.waitMu.Lock()
	already := n.closed
	n.closed = true
	n.waitMu.Unlock()
	if already || !n.started {
		n.stop()
		return nil
	}
	var errs []error
	n.stop() // ends long-polling metadata fetches
	n.closeGossip()
	if n.srv != nil {
		if err := n.srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("quorum: close controller listener: %w", err))
		}
	}
	if err := n.raft.Load().Shutdown().Error(); err != nil {
		errs = append(errs, fmt.Errorf("quorum: shut down raft: %w", err))
	}
	n.wg.Wait()
	n.waiters.Wait() // raft resolved every future on shutdown
	closeTransport(n.trans)
	if n.mux != nil {
		n.mux.close()
	}
	if err := n.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("quorum: close raft.db: %w", err))
	}
	n.log.Info("closed")
	return errors.Join(errs...)
}

func closeTransport(t raft.Transport) {
	if c, ok := t.(raft.WithClose); ok {
		_ = c.Close()
	}
}

// raftHandle is the running raft, or nil before Start and after Close.
func (n *Node) raftHandle() *raft.Raft {
	n.waitMu.Lock()
	closed := n.closed
	n.waitMu.Unlock()
	if closed {
		return nil
	}
	return n.raft.Load()
}

// Subscribe adds a publisher after New, before or after Start: it sees the
// caught-up image as a delta from the empty image (at once when the node has
// caught up already), then every later image, as New's publishers do.
func (n *Node) Subscribe(pub Publisher) { n.fsm.subscribe(pub) }

// Image is the latest applied metadata image (empty before the first entry).
func (n *Node) Image() *metadata.Image { return n.fsm.image() }

// Leader is the current raft leader's node id, if one is known.
func (n *Node) Leader() (id int32, ok bool) {
	r := n.raftHandle()
	if r == nil {
		return -1, false
	}
	_, sid := r.LeaderWithID()
	if sid == "" {
		return -1, false
	}
	return parseServerID(sid)
}

// IsController reports whether this node is the raft leader.
func (n *Node) IsController() bool {
	r := n.raftHandle()
	return r != nil && r.State() == raft.Leader
}

// WaitLeader waits until some leader is known and returns its id.
func (n *Node) WaitLeader(ctx context.Context) (int32, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if id, ok := n.Leader(); ok {
			return id, nil
		}
		if n.raftHandle() == nil {
			return -1, ErrClosed
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-t.C:
		}
	}
}

// WaitCaughtUp waits until the node has replayed the log present at start
// and published its first image.
func (n *Node) WaitCaughtUp(ctx context.Context) error {
	select {
	case <-n.fsm.caughtUpCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ApplyErrors returns how many log entries failed to apply since start and
// the last such error (corrupt or rejected entries are logged, counted and
// kept here; they never stop the node).
func (n *Node) ApplyErrors() (count int64, last error) { return n.fsm.lastError() }

// Snapshot asks raft for a snapshot now (operators, tests).
func (n *Node) Snapshot(ctx context.Context) error {
	r := n.raftHandle()
	if r == nil {
		return ErrClosed
	}
	_, err := n.await(ctx, r.Snapshot())
	return err
}

// Addr is the bound address of the voter port (raft and the controller
// listener), or nil with an injected transport or before Start.
func (n *Node) Addr() net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mux == nil {
		return nil
	}
	return n.mux.ln.Addr()
}

// Resign moves raft leadership to another voter when this node is the
// active controller (a controller's controlled shutdown, before Close), so
// writes resume without waiting for an election timeout. Best effort:
// bounded by ctx; a no-op on a follower or a single voter.
func (n *Node) Resign(ctx context.Context) error {
	r := n.raftHandle()
	if r == nil || r.State() != raft.Leader || len(n.cfg.Voters) < 2 {
		return nil
	}
	if _, err := n.await(ctx, r.LeadershipTransfer()); err != nil {
		return fmt.Errorf("quorum: hand leadership over: %w", err)
	}
	n.log.Info("handed leadership over")
	return nil
}
