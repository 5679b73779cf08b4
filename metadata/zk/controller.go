package zk

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// runElection is Kafka's KafkaController.elect: read /controller; if it is
// empty, one multi creates the ephemeral /controller and bumps
// /controller_epoch conditioned on its zkVersion.
func (s *syncer) runElection() error {
	self := s.b.cfg.BrokerID
	for try := 0; try < 5; try++ {
		data, stat, _, err := s.conn.GetW(s.abs(ControllerPath))
		if err == nil {
			c, derr := DecodeController(data)
			if derr != nil {
				return derr
			}
			s.b.activeController.Store(&controllerSeen{id: c.BrokerID, kraft: c.IsKRaft()})
			if s.ctrl.active && (c.BrokerID != self || stat.EphemeralOwner != s.conn.SessionID()) {
				s.resign(fmt.Sprintf("/controller now names broker %d", c.BrokerID))
			}
			return nil
		}
		if !errors.Is(err, gozk.ErrNoNode) {
			return fmt.Errorf("read %s: %w", ControllerPath, err)
		}
		if s.ctrl.active {
			s.resign("/controller deleted")
		}
		s.b.activeController.Store(&controllerSeen{id: -1})
		epoch, ver, err := s.readControllerEpoch()
		if err != nil {
			return err
		}
		node := EncodeController(ControllerZNode{BrokerID: self, Timestamp: s.b.cfg.Now().UnixMilli(), KRaftControllerEpoch: -1})
		res, err := s.conn.Multi(
			&gozk.CreateRequest{Path: s.abs(ControllerPath), Data: node, Acl: s.b.acl, Flags: gozk.FlagEphemeral},
			&gozk.SetDataRequest{Path: s.abs(ControllerEpochPath), Data: EncodeControllerEpoch(epoch + 1), Version: ver})
		if err == nil {
			// Watch /controller so its deletion re-runs the election.
			if _, _, _, werr := s.conn.ExistsW(s.abs(ControllerPath)); werr != nil {
				s.log.Warn("watch /controller", zap.Error(werr))
			}
			s.becomeController(epoch+1, res[1].Stat.Version)
			return nil
		}
		if !errors.Is(err, gozk.ErrNodeExists) && !errors.Is(err, gozk.ErrBadVersion) {
			return fmt.Errorf("controller election: %w", err)
		}
		// Lost the race (ControllerMovedException); read the winner.
	}
	return fmt.Errorf("controller election: /controller keeps changing: %w", ErrControllerMoved)
}

// readControllerEpoch reads /controller_epoch, creating it as "0" (Kafka's
// InitialControllerEpoch) when missing.
func (s *syncer) readControllerEpoch() (int32, int32, error) {
	for try := 0; try < 3; try++ {
		data, stat, err := s.conn.Get(s.abs(ControllerEpochPath))
		if err == nil {
			e, derr := DecodeControllerEpoch(data)
			return e, stat.Version, derr
		}
		if !errors.Is(err, gozk.ErrNoNode) {
			return 0, 0, fmt.Errorf("read %s: %w", ControllerEpochPath, err)
		}
		if _, err := s.conn.Create(s.abs(ControllerEpochPath), EncodeControllerEpoch(0), 0, s.b.acl); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
			return 0, 0, fmt.Errorf("create %s: %w", ControllerEpochPath, err)
		}
	}
	return 0, 0, fmt.Errorf("%s keeps changing: %w", ControllerEpochPath, ErrControllerMoved)
}

// becomeController is Kafka's onControllerFailover: load the whole tree,
// then give every partition a live leader and every new topic its states.
func (s *syncer) becomeController(epoch, zkVersion int32) {
	start := time.Now()
	s.ctrl = ctrlState{active: true, epoch: epoch, zkVersion: zkVersion, reassignZNode: true}
	s.b.isController.Store(true)
	s.b.controllerEpoch.Store(epoch)
	s.b.epochZkVersion.Store(zkVersion)
	s.b.activeController.Store(&controllerSeen{id: s.b.cfg.BrokerID})
	s.log.Info("elected controller", zap.Int32("epoch", epoch), zap.Int32("epoch_zk_version", zkVersion))
	loadStart := time.Now()
	if err := s.reload(); err != nil {
		s.log.Warn("controller failover: load tree failed; will retry", zap.Error(err))
		s.full = true
		return
	}
	load := time.Since(loadStart)
	s.publish()
	elected, err := s.reconcile()
	if err != nil {
		s.log.Warn("controller failover: reconcile incomplete", zap.Error(err))
	}
	s.publish()
	st := &FailoverStats{Epoch: epoch, Partitions: s.b.Image().PartitionCount(), Elected: elected, Load: load, Total: time.Since(start)}
	s.b.lastFailover.Store(st)
	s.b.failovers.Add(1)
	s.log.Info("controller failover done", zap.Int32("epoch", epoch), zap.Int("partitions", st.Partitions),
		zap.Int("elected", elected), zap.Duration("load", load), zap.Duration("total", st.Total))
}

// resign forgets the controller role (Kafka's onControllerResignation).
func (s *syncer) resign(why string) {
	if !s.ctrl.active {
		return
	}
	s.log.Info("resigned as controller", zap.Int32("epoch", s.ctrl.epoch), zap.String("why", why))
	s.ctrl = ctrlState{}
	s.b.isController.Store(false)
	s.b.controllerEpoch.Store(0)
}

// reconcile is the controller's job, computed from the tree and the image:
// ids and partition states for topics that lack them (topics written to
// /brokers/topics/<t> by brokers or old tools), leaders for partitions
// whose leader is gone, and topic deletions queued in /admin/delete_topics.
// It returns how many partitions got a new leader or first state.
func (s *syncer) reconcile() (int, error) {
	s.ctrl.retry = false
	var ops []Op
	live := func(id int32) bool { _, ok := s.tree.Brokers[id]; return ok }

	// 1. New topics and partitions (Kafka's onNewPartitionCreation):
	// leader = first live replica, ISR = live replicas, epochs 0.
	started := 0
	for _, name := range slices.Sorted(maps.Keys(s.tree.Topics)) {
		tn := s.tree.Topics[name]
		if s.deletes[name] {
			continue
		}
		if tn.ZNode.TopicID == metadata.ZeroUuid {
			zn := tn.ZNode
			zn.TopicID = s.b.cfg.Controller.NewUuid()
			ops = append(ops, Op{Kind: OpSet, Path: TopicPath(name), Data: EncodeTopic(zn), Version: -1})
			continue // states follow once the id is seen
		}
		missing := false
		for _, p := range slices.Sorted(maps.Keys(tn.ZNode.Partitions)) {
			if _, ok := tn.States[p]; ok {
				continue
			}
			var isr []int32
			for _, r := range tn.ZNode.Partitions[p] {
				if live(r) && !slices.Contains(isr, r) {
					isr = append(isr, r)
				}
			}
			if len(isr) == 0 {
				s.ctrl.retry = true // NewPartition until a replica is live
				continue
			}
			if !missing {
				ops = append(ops, Op{Kind: OpCreate, Path: PartitionsPath(name), Tolerant: true})
				missing = true
			}
			st := PartitionState{Leader: isr[0], ControllerEpoch: s.ctrl.epoch, ISR: isr}
			ops = append(ops, Op{Kind: OpCreate, Path: PartitionPath(name, p), Tolerant: true},
				Op{Kind: OpCreate, Path: PartitionStatePath(name, p), Data: EncodePartitionState(st)})
			started++
		}
	}

	// 2. Leaders: dead brokers leave ISRs and leadership (metadata.FenceBroker
	// on an image where they are registered and fenced), then leaderless
	// partitions get the first live ISR member in replica order. A broker
	// that re-registered since the last pass (a new czxid: restarted, or a
	// new session, before this controller saw its old znode go) counts as
	// dead first, then live: Kafka's processBrokerChange handles such
	// "bounced" brokers as onBrokerFailure followed by onBrokerStartup, so
	// the new incarnation never inherits the old one's leader epoch.
	bounced := map[int32]bool{}
	for id, bn := range s.tree.Brokers {
		if known, ok := s.ctrl.brokers[id]; ok && bn.Czxid != known {
			bounced[id] = true
			s.log.Info("broker re-registered with a new epoch; handling it as failed, then started",
				zap.Int32("id", id), zap.Int64("old_epoch", known), zap.Int64("new_epoch", bn.Czxid))
		}
	}
	img := s.b.Image()
	s.forgetShutdowns()
	recs, base, err := failoverRecords(img, live, bounced, s.isShuttingDown)
	if err != nil {
		return 0, err
	}
	elected := 0
	for _, r := range recs {
		if pc, ok := r.(*metadata.PartitionChangeRecord); ok && pc.Leader >= 0 {
			elected++
		}
	}
	if len(recs) > 0 {
		more, err := RecordsToOps(base, recs, s.ctrl.epoch)
		if err != nil {
			return 0, err
		}
		ops = append(ops, more...)
	}

	// 3. Deletions (Kafka's TopicDeletionManager, minus StopReplica: brokers
	// drop the logs when the topic leaves their image).
	for _, name := range slices.Sorted(maps.Keys(s.deletes)) {
		if tn, ok := s.tree.Topics[name]; ok {
			parts := slices.Sorted(maps.Keys(tn.ZNode.Partitions))
			ops = append(ops, DeleteTopicOps(name, parts)...)
			ops = append(ops, Op{Kind: OpDelete, Path: TopicConfigPath(name), Version: -1, Tolerant: true})
		}
		ops = append(ops, Op{Kind: OpDelete, Path: DeleteTopicPath(name), Version: -1, Tolerant: true})
	}
	if len(ops) == 0 {
		s.knowBrokers()
		return 0, nil
	}
	results, err := s.writeFenced(ops)
	if errors.Is(err, ErrControllerMoved) {
		return started + elected, err
	}
	if err != nil {
		s.ctrl.retry = true
		return started + elected, err
	}
	for _, r := range results {
		if !r.ok {
			s.ctrl.retry = true
		}
	}
	if !s.ctrl.retry {
		s.knowBrokers()
	}
	return started + elected, nil
}

// writeFenced is a controller write (execFenced) whose applied ops go into
// the tree at once (written); a controller that moved resigns and runs the
// election again.
func (s *syncer) writeFenced(ops []Op) ([]opResult, error) {
	results, err := s.b.execFenced(s.conn, s.ctrl.zkVersion, ops)
	for _, r := range results {
		s.written(r)
	}
	if errors.Is(err, ErrControllerMoved) {
		s.resign(err.Error())
		s.elect = true
	}
	return results, err
}

// knowBrokers remembers the broker epochs (czxids) a complete reconcile
// acted on; the next pass handles a changed one as a bounce. After a
// failed write they are kept, so the bounce is handled again.
func (s *syncer) knowBrokers() {
	s.ctrl.brokers = make(map[int32]int64, len(s.tree.Brokers))
	for id, bn := range s.tree.Brokers {
		s.ctrl.brokers[id] = bn.Czxid
	}
}

// failoverRecords computes the leader changes a ZooKeeper controller makes
// for dead brokers (onBrokerFailure) and for leaderless partitions whose
// ISR holds a live broker (onBrokerStartup / OnlinePartition). Bounced
// brokers are live but are first moved out of ISRs and leadership like dead
// ones. Brokers in controlled shutdown (shuttingDown) are not elected.
// base is the image the records apply to (img plus fenced stand-ins for
// dead brokers).
func failoverRecords(img *metadata.Image, live func(int32) bool, bounced map[int32]bool, shuttingDown func(int32) bool) ([]metadata.Record, *metadata.Image, error) {
	dead := map[int32]bool{}
	gone := func(id int32) bool { return !live(id) || bounced[id] }
	for _, t := range img.Topics() {
		for _, p := range t.Partitions {
			if p.Leader >= 0 && gone(p.Leader) {
				dead[p.Leader] = true
			}
			for _, r := range p.ISR {
				if gone(r) {
					dead[r] = true
				}
			}
		}
	}
	base := img
	if len(dead) > 0 {
		d := metadata.NewDelta(img)
		for id := range dead {
			if _, ok := img.Broker(id); ok {
				continue
			}
			if err := d.Replay(&metadata.RegisterBrokerRecord{BrokerID: id, BrokerEpoch: -1, Fenced: true}); err != nil {
				return nil, nil, err
			}
		}
		base = d.Apply()
	}
	cur := base
	var recs []metadata.Record
	for _, id := range slices.Sorted(maps.Keys(dead)) {
		var rs []metadata.Record
		for _, r := range metadata.FenceBroker(cur, id) {
			if _, ok := r.(*metadata.PartitionChangeRecord); ok {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		d := metadata.NewDelta(cur)
		for _, r := range rs {
			if err := d.Replay(r); err != nil {
				return nil, nil, err
			}
		}
		cur = d.Apply()
		recs = append(recs, rs...)
	}
	for _, t := range cur.Topics() {
		for _, pid := range t.PartitionIDs() {
			p := t.Partitions[pid]
			if p.Leader != metadata.NoLeader {
				continue
			}
			for _, r := range p.Replicas {
				if live(r) && p.InISR(r) && !shuttingDown(r) {
					rec := metadata.NewPartitionChangeRecord(t.ID, pid)
					rec.Leader = r
					recs = append(recs, rec)
					break
				}
			}
		}
	}
	return recs, base, nil
}

// written applies a successful controller write to the tree at once, so the
// next reconcile does not repeat it before the watch event arrives.
func (s *syncer) written(r opResult) {
	if !r.ok {
		return
	}
	op := r.op
	if t, p, ok := ParseStatePath(op.Path); ok {
		tn := s.tree.Topics[t]
		if tn == nil {
			return
		}
		switch op.Kind {
		case OpCreate, OpSet:
			st, err := DecodePartitionState(op.Data)
			if err != nil {
				return
			}
			ver := int32(0)
			if op.Kind == OpSet && r.stat != nil {
				ver = r.stat.Version
			}
			tn.States[p] = StateNode{State: st, ZkVersion: ver}
		case OpDelete:
			delete(tn.States, p)
		}
		s.dirty.topics[t] = true
		return
	}
	if t, ok := ParseTopicPath(op.Path); ok {
		switch op.Kind {
		case OpSet:
			_, _ = s.setTopic(t, op.Data)
		case OpDelete:
			delete(s.tree.Topics, t)
			s.dirty.topics[t] = true
		}
		return
	}
	if rest, ok := cutPrefix(op.Path, DeleteTopicsPath+"/"); ok && op.Kind == OpDelete {
		delete(s.deletes, rest)
	}
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

// opResult is one op of a fenced write: ok if it was applied (or tolerated).
type opResult struct {
	op   Op
	stat *gozk.Stat
	ok   bool
}

func (b *Backend) request(op Op) any {
	switch op.Kind {
	case OpCreate:
		var flags int32
		if op.Sequential {
			flags = gozk.FlagSequence
		}
		return &gozk.CreateRequest{Path: b.abs(op.Path), Data: op.Data, Acl: b.acl, Flags: flags}
	case OpSet:
		return &gozk.SetDataRequest{Path: b.abs(op.Path), Data: op.Data, Version: op.Version}
	case OpDelete:
		return &gozk.DeleteRequest{Path: b.abs(op.Path), Version: op.Version}
	default:
		return &gozk.CheckVersionRequest{Path: b.abs(op.Path), Version: op.Version}
	}
}

// execFenced runs ops as the controller: every multi starts with
// Check(/controller_epoch, epochZkVersion) (Kafka's
// wrapRequestWithControllerEpochCheck), so a controller that lost its role
// — a zombie paused past its session — writes nothing: the check fails and
// execFenced returns ErrControllerMoved. Ops go MaxMultiOps-1 per multi;
// a multi that fails on an op (not on the check) is replayed op by op, with
// Tolerant ops tolerated and other failures reported (ok=false).
func (b *Backend) execFenced(conn *gozk.Conn, epochZkVersion int32, ops []Op) ([]opResult, error) {
	check := &gozk.CheckVersionRequest{Path: b.abs(ControllerEpochPath), Version: epochZkVersion}
	moved := func(err error) error {
		return fmt.Errorf("/controller_epoch is no longer at zkVersion %d (%v): %w", epochZkVersion, err, ErrControllerMoved)
	}
	var out []opResult
	per := b.cfg.MaxMultiOps - 1
	for start := 0; start < len(ops); start += per {
		chunk := ops[start:min(start+per, len(ops))]
		reqs := make([]any, 0, len(chunk)+1)
		reqs = append(reqs, check)
		for _, op := range chunk {
			reqs = append(reqs, b.request(op))
		}
		res, err := conn.Multi(reqs...)
		if err == nil {
			for i, op := range chunk {
				out = append(out, opResult{op: op, stat: res[i+1].Stat, ok: true})
			}
			continue
		}
		if len(res) == 0 {
			return out, fmt.Errorf("controller write of %d ops: %w", len(chunk), err)
		}
		if res[0].Error != nil {
			return out, moved(res[0].Error)
		}
		for _, op := range chunk {
			r, err := b.execOne(conn, check, op)
			if errors.Is(err, ErrControllerMoved) {
				return out, moved(err)
			}
			if err != nil && r.stat == nil && !r.ok && isConnErr(err) {
				return out, fmt.Errorf("controller write %s: %w", op, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func isConnErr(err error) bool {
	return errors.Is(err, gozk.ErrConnectionClosed) || errors.Is(err, gozk.ErrNoServer) || errors.Is(err, gozk.ErrSessionExpired)
}

// execOne runs one op behind the epoch check, tolerating as the op allows.
func (b *Backend) execOne(conn *gozk.Conn, check *gozk.CheckVersionRequest, op Op) (opResult, error) {
	res, err := conn.Multi(check, b.request(op))
	if err == nil {
		return opResult{op: op, stat: res[1].Stat, ok: true}, nil
	}
	if len(res) > 0 && res[0].Error != nil {
		return opResult{op: op}, ErrControllerMoved
	}
	switch {
	case op.Tolerant && op.Kind == OpCreate && errors.Is(err, gozk.ErrNodeExists):
		if op.Data == nil {
			return opResult{op: op, ok: true}, nil
		}
		set := op
		set.Kind, set.Version = OpSet, -1
		return b.execOne(conn, check, set)
	case op.Tolerant && op.Kind == OpDelete && errors.Is(err, gozk.ErrNoNode):
		return opResult{op: op, ok: true}, nil
	}
	b.log.Debug("controller write not applied", zap.Stringer("op", op), zap.Error(err))
	return opResult{op: op}, err
}
