package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata/zk"
)

// FinalizeRequestPath is where `zkraft migrate finalize` asks the active
// migrating controller to finalize (zkraft's own znode, not Kafka's).
const FinalizeRequestPath = "/zkraft_migration_finalize"

// Connect opens a ZooKeeper session and waits until it is established.
func Connect(ctx context.Context, servers []string, sessionTimeout, connectTimeout time.Duration, logger *zap.Logger) (*gozk.Conn, error) {
	conn, _, err := connect(ctx, servers, sessionTimeout, connectTimeout, logger)
	return conn, err
}

// connect is Connect that also returns the connection's event channel, for
// zk.CloseWait (the driver's Close waits for the client's goroutines).
func connect(ctx context.Context, servers []string, sessionTimeout, connectTimeout time.Duration, logger *zap.Logger) (*gozk.Conn, <-chan gozk.Event, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	conn, events, err := gozk.Connect(servers, sessionTimeout, gozk.WithLogger(zk.ClientLogger(logger)))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: connect %v: %w", ErrZooKeeper, servers, err)
	}
	wctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	for conn.State() != gozk.StateHasSession {
		select {
		case <-wctx.Done():
			zk.CloseWait(conn, events, connectTimeout)
			return nil, nil, fmt.Errorf("%w: no session with %v within %v: %w", ErrZooKeeper, servers, connectTimeout, wctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return conn, events, nil
}

// session is the driver's (or a tool's) view of one chrooted tree.
type session struct {
	conn   *gozk.Conn
	chroot string
	acl    []gozk.ACL
}

func newSession(conn *gozk.Conn, chroot string) *session {
	return &session{conn: conn, chroot: chroot, acl: gozk.WorldACL(gozk.PermAll)}
}

func (s *session) abs(p string) string { return s.chroot + p }

// createPath creates p and its missing parents (no data).
func (s *session) createPath(p string) error {
	cur := ""
	for _, part := range strings.Split(strings.TrimPrefix(s.abs(p), "/"), "/") {
		cur += "/" + part
		if _, err := s.conn.Create(cur, nil, 0, s.acl); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			return fmt.Errorf("%w: create %s: %w", ErrZooKeeper, cur, err)
		}
	}
	return nil
}

// createTopLevelPaths is Kafka's createTopLevelPaths plus /migration
// (all fields -1) when missing.
func (s *session) createTopLevelPaths() error {
	for _, p := range zk.PersistentPaths {
		if err := s.createPath(p); err != nil {
			return err
		}
	}
	empty := zk.EncodeMigration(zk.MigrationZNode{KRaftControllerID: -1, KRaftControllerEpoch: -1, KRaftMetadataOffset: -1, KRaftMetadataEpoch: -1})
	if _, err := s.conn.Create(s.abs(zk.MigrationPath), empty, 0, s.acl); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
		return fmt.Errorf("%w: create %s: %w", ErrZooKeeper, zk.MigrationPath, err)
	}
	return nil
}

// readMigration reads /migration (ok false if missing).
func (s *session) readMigration() (zk.MigrationZNode, int32, bool, error) {
	data, stat, err := s.conn.Get(s.abs(zk.MigrationPath))
	if errors.Is(err, gozk.ErrNoNode) {
		return zk.MigrationZNode{}, 0, false, nil
	}
	if err != nil {
		return zk.MigrationZNode{}, 0, false, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, zk.MigrationPath, err)
	}
	m, err := zk.DecodeMigration(data)
	return m, stat.Version, true, err
}

// readControllerEpoch reads /controller_epoch (creating it as 0).
func (s *session) readControllerEpoch() (epoch, version int32, err error) {
	for try := 0; try < 3; try++ {
		data, stat, err := s.conn.Get(s.abs(zk.ControllerEpochPath))
		if err == nil {
			e, derr := zk.DecodeControllerEpoch(data)
			return e, stat.Version, derr
		}
		if !errors.Is(err, gozk.ErrNoNode) {
			return 0, 0, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, zk.ControllerEpochPath, err)
		}
		if _, err := s.conn.Create(s.abs(zk.ControllerEpochPath), zk.EncodeControllerEpoch(0), 0, s.acl); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			return 0, 0, fmt.Errorf("%w: create %s: %w", ErrZooKeeper, zk.ControllerEpochPath, err)
		}
	}
	return 0, 0, fmt.Errorf("%s keeps changing: %w", zk.ControllerEpochPath, ErrControllerMoved)
}

// pendingDeletions are the children of /admin/delete_topics: topics whose
// deletion was requested in ZooKeeper mode and not finished yet.
func (s *session) pendingDeletions() (map[string]bool, error) {
	names, _, err := s.conn.Children(s.abs(zk.DeleteTopicsPath))
	if err != nil && !errors.Is(err, gozk.ErrNoNode) {
		return nil, fmt.Errorf("%w: list %s: %w", ErrZooKeeper, zk.DeleteTopicsPath, err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// fence is what a KRaft controller holds after taking over ZooKeeper:
// every write checks /controller_epoch at epochVersion and /migration at
// migrationVersion.
type fence struct {
	zkEpoch          int32 // /controller_epoch value after the takeover; stamped in state znodes
	epochVersion     int32
	migrationVersion int32
	kraftEpoch       int32
	migration        zk.MigrationZNode // as last written
}

// takeover is Kafka's tryRegisterKRaftControllerAsActiveController: one
// multi bumps /controller_epoch at its zkVersion, deletes /controller (the
// ZooKeeper controller's ephemeral node or an older KRaft leader's) and
// creates a persistent /controller with kraftControllerEpoch, so that no
// ZooKeeper controller writes again and ZooKeeper brokers do not re-elect.
// Then an unconditional write of /migration learns its zkVersion.
func (s *session) takeover(nodeID int32, kraftEpoch int32, now time.Time) (*fence, error) {
	for try := 0; try < 5; try++ {
		var ops []any
		data, stat, err := s.conn.Get(s.abs(zk.ControllerPath))
		switch {
		case err == nil:
			c, derr := zk.DecodeController(data)
			if derr == nil && c.IsKRaft() && c.KRaftControllerEpoch > kraftEpoch {
				return nil, fmt.Errorf("/controller names KRaft controller %d with epoch %d > %d: %w",
					c.BrokerID, c.KRaftControllerEpoch, kraftEpoch, ErrControllerMoved)
			}
			ops = append(ops, &gozk.DeleteRequest{Path: s.abs(zk.ControllerPath), Version: stat.Version})
		case !errors.Is(err, gozk.ErrNoNode):
			return nil, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, zk.ControllerPath, err)
		}
		epoch, ver, err := s.readControllerEpoch()
		if err != nil {
			return nil, err
		}
		node := zk.EncodeController(zk.ControllerZNode{BrokerID: nodeID, Timestamp: now.UnixMilli(), KRaftControllerEpoch: kraftEpoch})
		ops = append([]any{&gozk.SetDataRequest{Path: s.abs(zk.ControllerEpochPath), Data: zk.EncodeControllerEpoch(epoch + 1), Version: ver}}, ops...)
		ops = append(ops, &gozk.CreateRequest{Path: s.abs(zk.ControllerPath), Data: node, Acl: s.acl})
		res, err := s.conn.Multi(ops...)
		if err != nil {
			if errors.Is(err, gozk.ErrBadVersion) || errors.Is(err, gozk.ErrNoNode) || errors.Is(err, gozk.ErrNodeExists) {
				continue // raced with a ZooKeeper election or another controller: read again
			}
			return nil, fmt.Errorf("%w: take over %s: %w", ErrZooKeeper, zk.ControllerPath, err)
		}
		f := &fence{zkEpoch: epoch + 1, epochVersion: res[0].Stat.Version, kraftEpoch: kraftEpoch}
		m, _, ok, err := s.readMigration()
		if err != nil {
			return nil, err
		}
		if !ok {
			m = zk.MigrationZNode{KRaftMetadataOffset: -1, KRaftMetadataEpoch: -1}
		}
		m.KRaftControllerID, m.KRaftControllerEpoch = nodeID, kraftEpoch
		st, err := s.conn.Set(s.abs(zk.MigrationPath), zk.EncodeMigration(m), -1)
		if errors.Is(err, gozk.ErrNoNode) {
			if err := s.createTopLevelPaths(); err != nil {
				return nil, err
			}
			st, err = s.conn.Set(s.abs(zk.MigrationPath), zk.EncodeMigration(m), -1)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: write %s: %w", ErrZooKeeper, zk.MigrationPath, err)
		}
		f.migrationVersion, f.migration = st.Version, m
		return f, nil
	}
	return nil, fmt.Errorf("%s keeps changing: %w", zk.ControllerPath, ErrControllerMoved)
}

// loadTree reads the whole tree on conn plus sessions extra read-only
// sessions (closed before it returns): zk.LoadTreeFrom.
func loadTree(ctx context.Context, conn *gozk.Conn, cfg Config, logger *zap.Logger) (*zk.Tree, error) {
	type reader struct {
		conn   *gozk.Conn
		events <-chan gozk.Event
	}
	var readers []reader
	defer func() {
		for _, r := range readers {
			zk.CloseWait(r.conn, r.events, cfg.ConnectionTimeout)
		}
	}()
	conns := make([]*gozk.Conn, 0, cfg.LoadSessions)
	for i := 0; i < cfg.LoadSessions; i++ {
		c, ev, err := connect(ctx, cfg.Servers, cfg.SessionTimeout, cfg.ConnectionTimeout, logger)
		if err != nil {
			return nil, fmt.Errorf("open read session %d of %d: %w", i+1, cfg.LoadSessions, err)
		}
		readers = append(readers, reader{c, ev})
		conns = append(conns, c)
	}
	tree, err := zk.LoadTreeFrom(conn, conns, cfg.Chroot, cfg.LoadConcurrency)
	if err != nil {
		return nil, fmt.Errorf("%w: load the tree: %w", ErrZooKeeper, err)
	}
	return tree, nil
}

func (s *session) request(op zk.Op) any {
	switch op.Kind {
	case zk.OpCreate:
		var flags int32
		if op.Sequential {
			flags = gozk.FlagSequence
		}
		return &gozk.CreateRequest{Path: s.abs(op.Path), Data: op.Data, Acl: s.acl, Flags: flags}
	case zk.OpSet:
		return &gozk.SetDataRequest{Path: s.abs(op.Path), Data: op.Data, Version: op.Version}
	case zk.OpDelete:
		return &gozk.DeleteRequest{Path: s.abs(op.Path), Version: op.Version}
	default:
		return &gozk.CheckVersionRequest{Path: s.abs(op.Path), Version: op.Version}
	}
}

// writeFenced mirrors ops to ZooKeeper (Kafka's dual-write): each multi is
// [Check(/controller_epoch), ops..., SetData(/migration {offset, epoch})]
// with /migration at its expected zkVersion, so the offset of the last
// mirrored record rides in the same atomic write. A multi that fails on one
// of ops is replayed op by op, tolerating NodeExists (create becomes set)
// and NoNode (delete skipped, set becomes create) as Kafka's migration
// does. ErrControllerMoved: the epoch or /migration check failed.
func (s *session) writeFenced(f *fence, ops []zk.Op, offset int64, epoch int32, maxMulti int) error {
	check := &gozk.CheckVersionRequest{Path: s.abs(zk.ControllerEpochPath), Version: f.epochVersion}
	per := maxMulti - 2
	m := f.migration
	m.KRaftMetadataOffset, m.KRaftMetadataEpoch = offset, epoch
	for start := 0; start < len(ops) || start == 0; start += per {
		chunk := ops[start:min(start+per, len(ops))]
		reqs := make([]any, 0, len(chunk)+2)
		reqs = append(reqs, check)
		for _, op := range chunk {
			reqs = append(reqs, s.request(op))
		}
		reqs = append(reqs, &gozk.SetDataRequest{Path: s.abs(zk.MigrationPath), Data: zk.EncodeMigration(m), Version: f.migrationVersion})
		res, err := s.conn.Multi(reqs...)
		if err == nil {
			f.migrationVersion, f.migration = res[len(res)-1].Stat.Version, m
			if len(ops) == 0 {
				return nil
			}
			continue
		}
		bad := -1
		for i, r := range res {
			if failed(r.Error) {
				bad = i
				break
			}
		}
		switch {
		case len(res) == 0:
			return fmt.Errorf("%w: dual-write of %d ops: %w", ErrZooKeeper, len(chunk), err)
		case bad == 0:
			return fmt.Errorf("/controller_epoch is no longer at zkVersion %d: %w", f.epochVersion, ErrControllerMoved)
		case bad == len(res)-1 || bad < 0 && errors.Is(err, gozk.ErrBadVersion) && len(chunk) == 0:
			return fmt.Errorf("/migration is no longer at zkVersion %d: %w", f.migrationVersion, ErrControllerMoved)
		}
		for _, op := range chunk {
			if err := s.writeOne(check, op); err != nil {
				return err
			}
		}
		res, err = s.conn.Multi(check, &gozk.SetDataRequest{Path: s.abs(zk.MigrationPath), Data: zk.EncodeMigration(m), Version: f.migrationVersion})
		if err != nil {
			if len(res) > 0 && failed(res[0].Error) {
				return fmt.Errorf("/controller_epoch is no longer at zkVersion %d: %w", f.epochVersion, ErrControllerMoved)
			}
			return fmt.Errorf("/migration is no longer at zkVersion %d (%w): %w", f.migrationVersion, err, ErrControllerMoved)
		}
		f.migrationVersion, f.migration = res[1].Stat.Version, m
		if len(ops) == 0 {
			return nil
		}
	}
	return nil
}

// writeOne runs one op behind the epoch check, tolerating replays.
func (s *session) writeOne(check *gozk.CheckVersionRequest, op zk.Op) error {
	for try := 0; try < 3; try++ {
		res, err := s.conn.Multi(check, s.request(op))
		if err == nil {
			return nil
		}
		if len(res) > 0 && failed(res[0].Error) {
			return fmt.Errorf("/controller_epoch is no longer at zkVersion %d: %w", check.Version, ErrControllerMoved)
		}
		switch {
		case op.Kind == zk.OpCreate && errors.Is(err, gozk.ErrNodeExists):
			if op.Data == nil || op.Sequential {
				return nil
			}
			op.Kind, op.Version = zk.OpSet, -1
		case op.Kind == zk.OpDelete && errors.Is(err, gozk.ErrNoNode):
			return nil
		case op.Kind == zk.OpSet && errors.Is(err, gozk.ErrNoNode):
			op.Kind = zk.OpCreate
		default:
			return fmt.Errorf("%w: dual-write %s: %w", ErrZooKeeper, op, err)
		}
	}
	return fmt.Errorf("%w: dual-write %s: keeps changing", ErrZooKeeper, op)
}

// failed reports whether a multi result is the op that failed (the others
// of a failed multi carry 0 or RUNTIMEINCONSISTENCY, -2).
func failed(err error) bool {
	return err != nil && !errors.Is(err, gozk.ErrAPIError) && err.Error() != "unknown error: -2"
}
