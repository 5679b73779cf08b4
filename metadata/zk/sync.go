package zk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// The loop goroutine owns the tree, the published image and the controller
// state. go-zookeeper delivers every watch and session event to
// eventQueue.push; the loop re-reads the znodes the events name (setting
// the watch again), translates what changed into records, replays them on
// the current image and publishes the result. Watch channels returned by
// GetW/ChildrenW/ExistsW are ignored: the callback already saw the event.

// syncer is the loop's state. Only the loop goroutine touches it.
type syncer struct {
	b    *Backend
	conn *gozk.Conn
	log  *zap.Logger
	// readers, when set (LoadTreeFrom), spread fetch's reads over several
	// sessions, without data watches.
	readers []*gozk.Conn

	tree      *Tree
	published bool
	seq       int64 // images published (the image's offset)
	session   int64

	full      bool            // reload the whole tree next
	paths     map[string]bool // znodes to re-read
	elect     bool            // run the controller election
	dirty     dirtySet
	deletes   map[string]bool // children of /admin/delete_topics
	lastNotif string          // last /config/changes child handled
	shutdowns []shutdownReq   // ControlledShutdown requests to answer (shutdown.go)
	reassigns []reassignReq   // AlterPartitionReassignments to answer (reassign.go)
	elections []electReq      // ElectLeaders requests to answer (partitions_admin.go)
	// preferred: the partitions of /admin/preferred_replica_election, nil
	// when it is absent (partitions_admin.go).
	preferred []metadata.TopicPartition

	ctrl ctrlState
}

type ctrlState struct {
	active    bool
	epoch     int32
	zkVersion int32 // zkVersion of /controller_epoch, checked by every write
	retry     bool  // reconcile left work undone
	// brokers are the broker epochs (czxids) the last complete reconcile
	// saw; nil right after the election (no bounce is detected then).
	brokers map[int32]int64
	// shuttingDown: brokers in controlled shutdown -> their epoch (Kafka's
	// controllerContext.shuttingDownBrokerIds); never elected leader.
	shuttingDown map[int32]int64
	// reassignZNode: /admin/reassign_partitions is to be (re-)read
	// (reassign.go).
	reassignZNode bool
}

type dirtySet struct {
	brokers map[int32]bool
	topics  map[string]bool
	configs map[ConfigEntity]bool
	pids    bool
	// security: SCRAM credentials or ACLs were re-read (compared whole).
	security bool
}

func newDirty() dirtySet {
	return dirtySet{brokers: map[int32]bool{}, topics: map[string]bool{}, configs: map[ConfigEntity]bool{}}
}

func (d dirtySet) empty() bool {
	return len(d.brokers) == 0 && len(d.topics) == 0 && len(d.configs) == 0 && !d.pids && !d.security
}

func (b *Backend) loop(ctx context.Context, session int64) {
	defer b.wg.Done()
	s := &syncer{b: b, conn: b.conn, log: b.log, tree: NewTree(), session: session, full: true, elect: true,
		paths: map[string]bool{}, dirty: newDirty(), deletes: map[string]bool{}}
	defer s.failShutdowns(ErrClosed)
	defer s.failReassigns(ErrClosed)
	defer s.failElections(ErrClosed)
	var rebalance <-chan time.Time // auto.leader.rebalance.enable (partitions_admin.go)
	if d := b.rebalanceInterval(); d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		rebalance = t.C
	}
	backoff := 100 * time.Millisecond
	for {
		for _, ev := range b.events.drain() {
			s.handle(ev)
		}
		if ctx.Err() != nil {
			return
		}
		var retry <-chan time.Time
		if err := s.step(); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("metadata sync step failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
			retry = time.After(backoff)
			backoff = min(2*backoff, 2*time.Second)
		} else {
			backoff = 100 * time.Millisecond
			if s.ctrl.retry {
				retry = time.After(200 * time.Millisecond)
			}
		}
		s.serveShutdowns()
		s.serveReassigns()
		s.serveElections()
		select {
		case <-ctx.Done():
			return
		case <-b.events.signal:
		case <-retry:
		case r := <-b.shutdownCh:
			s.shutdowns = append(s.shutdowns, r)
		case r := <-b.reassignCh:
			s.reassigns = append(s.reassigns, r)
		case r := <-b.electCh:
			s.elections = append(s.elections, r)
		case <-rebalance:
			s.rebalance()
		}
	}
}

// handle records what an event asks for.
func (s *syncer) handle(ev gozk.Event) {
	switch {
	case ev.Type == gozk.EventSession:
		switch ev.State {
		case gozk.StateExpired:
			s.log.Warn("zookeeper session expired")
			s.resign("session expired")
		case gozk.StateHasSession:
			if id := s.conn.SessionID(); id != s.session {
				s.newSession(id)
			}
		}
	case ev.Type == gozk.EventNotWatching:
		s.full = true
	default:
		if p := s.b.rel(ev.Path); p != "" {
			s.paths[p] = true
		}
	}
}

// newSession: Kafka's RegisterBrokerAndReelect after an expired session.
func (s *syncer) newSession(id int64) {
	s.log.Info("new zookeeper session", zap.Int64("old", s.session), zap.Int64("new", id))
	s.b.mu.Lock()
	s.b.oldSess[s.session] = true
	reg := s.b.reg
	s.b.mu.Unlock()
	s.session = id
	s.resign("new session")
	s.full, s.elect = true, true
	if reg != nil {
		if epoch, err := s.b.register(s.conn, *reg); err != nil {
			s.log.Error("re-register broker failed", zap.Error(err))
		} else {
			s.log.Info("re-registered broker", zap.Int64("epoch", epoch))
		}
	}
}

// step does what the events asked: reload or re-read znodes, publish,
// run the election, do the controller's work.
func (s *syncer) step() error {
	if s.full {
		if err := s.reload(); err != nil {
			return err
		}
		s.full = false
		clear(s.paths)
	}
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(s.paths)) {
		if err := s.refresh(p); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(s.paths, p)
	}
	s.publish()
	if s.elect {
		if err := s.runElection(); err != nil {
			errs = append(errs, err)
		} else {
			s.elect = false
		}
	}
	if s.ctrl.active {
		if _, err := s.reconcile(); err != nil {
			errs = append(errs, err)
		}
		s.publish()
		if s.ctrl.active {
			if err := s.completeReassignments(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := s.runPreferred(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// refresh re-reads one znode (and sets its watch again).
func (s *syncer) refresh(p string) error {
	if p == ControllerPath {
		s.elect = true
		return nil
	}
	if id, ok := ParseBrokerPath(p); ok {
		return s.refreshBroker(id)
	}
	if t, part, ok := ParseStatePath(p); ok {
		return s.refreshState(t, part)
	}
	if t, ok := ParseTopicPath(p); ok {
		return s.refreshTopic(t)
	}
	if isAclChangePath(p) {
		return s.reloadAcls()
	}
	switch p {
	case BrokerIDsPath:
		return s.refreshBrokerList()
	case BrokerTopicsPath:
		return s.refreshTopicList()
	case ConfigChangesPath:
		return s.refreshConfigChanges()
	case DeleteTopicsPath:
		return s.refreshDeletes()
	case ReassignPartitionsPath:
		s.ctrl.reassignZNode = s.ctrl.active
		return nil
	case PreferredReplicaElection:
		return s.refreshPreferred()
	case ProducerIDBlockPath:
		return s.refreshProducerIDs()
	}
	return nil
}

func (s *syncer) abs(p string) string { return s.b.abs(p) }

func (s *syncer) refreshBrokerList() error {
	names, _, _, err := s.conn.ChildrenW(s.abs(BrokerIDsPath))
	if err != nil {
		return fmt.Errorf("list %s: %w", BrokerIDsPath, err)
	}
	seen := map[int32]bool{}
	for _, n := range names {
		id, err := ParseBrokerID(n)
		if err != nil {
			s.log.Warn("ignoring znode", zap.String("path", BrokerIDsPath+"/"+n))
			continue
		}
		seen[id] = true
		if _, known := s.tree.Brokers[id]; !known {
			if err := s.refreshBroker(id); err != nil {
				return err
			}
		}
	}
	for id := range s.tree.Brokers {
		if !seen[id] {
			delete(s.tree.Brokers, id)
			s.dirty.brokers[id] = true
		}
	}
	return nil
}

func (s *syncer) refreshBroker(id int32) error {
	s.dirty.brokers[id] = true
	data, stat, _, err := s.conn.GetW(s.abs(BrokerPath(id)))
	if errors.Is(err, gozk.ErrNoNode) {
		delete(s.tree.Brokers, id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", BrokerPath(id), err)
	}
	zn, err := DecodeBroker(data)
	if err != nil {
		s.log.Warn("ignoring broker znode", zap.Int32("id", id), zap.Error(err))
		delete(s.tree.Brokers, id)
		return nil
	}
	s.tree.Brokers[id] = BrokerNode{ZNode: zn, Czxid: stat.Czxid}
	return nil
}

func (s *syncer) refreshTopicList() error {
	names, _, _, err := s.conn.ChildrenW(s.abs(BrokerTopicsPath))
	if err != nil {
		return fmt.Errorf("list %s: %w", BrokerTopicsPath, err)
	}
	var fresh []string
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
		if _, known := s.tree.Topics[n]; !known {
			fresh = append(fresh, n)
		}
	}
	for n := range s.tree.Topics {
		if !seen[n] {
			delete(s.tree.Topics, n)
			s.dirty.topics[n] = true
		}
	}
	return s.loadTopics(fresh)
}

// loadTopics reads topic znodes, their configs and states with
// LoadConcurrency reads in flight (ZooKeeper pipelines them on the session).
func (s *syncer) loadTopics(names []string) error {
	paths := make([]string, 0, 2*len(names))
	for _, n := range names {
		paths = append(paths, TopicPath(n), TopicConfigPath(n))
	}
	res := s.fetch(paths, func(i int) bool { return i%2 == 0 })
	var statePaths []string
	for i, n := range names {
		tr, cr := res[2*i], res[2*i+1]
		s.dirty.topics[n] = true
		s.dirty.configs[ConfigEntity{ConfigTopics, n}] = true
		if err := s.setConfig(ConfigEntity{ConfigTopics, n}, cr); err != nil {
			return err
		}
		if errors.Is(tr.err, gozk.ErrNoNode) {
			delete(s.tree.Topics, n)
			continue
		}
		if tr.err != nil {
			return fmt.Errorf("read %s: %w", TopicPath(n), tr.err)
		}
		tn, err := s.setTopic(n, tr.data)
		if err != nil || tn == nil {
			continue
		}
		for p := range tn.ZNode.Partitions {
			statePaths = append(statePaths, PartitionStatePath(n, p))
		}
	}
	for i, r := range s.fetch(statePaths, func(int) bool { return true }) {
		t, p, _ := ParseStatePath(statePaths[i])
		if err := s.setState(t, p, r); err != nil {
			return err
		}
	}
	return nil
}

// setTopic stores a topic znode's content (nil if it does not decode).
func (s *syncer) setTopic(name string, data []byte) (*TopicNode, error) {
	zn, err := DecodeTopic(data)
	if err != nil {
		s.log.Warn("ignoring topic znode", zap.String("topic", name), zap.Error(err))
		delete(s.tree.Topics, name)
		return nil, nil
	}
	tn := s.tree.Topics[name]
	if tn == nil || tn.ZNode.TopicID != zn.TopicID {
		tn = &TopicNode{States: map[int32]StateNode{}}
		s.tree.Topics[name] = tn
	}
	tn.ZNode = zn
	for p := range tn.States {
		if _, ok := zn.Partitions[p]; !ok {
			delete(tn.States, p)
		}
	}
	s.dirty.topics[name] = true
	return tn, nil
}

func (s *syncer) refreshTopic(name string) error {
	data, _, _, err := s.conn.GetW(s.abs(TopicPath(name)))
	s.dirty.topics[name] = true
	if errors.Is(err, gozk.ErrNoNode) {
		delete(s.tree.Topics, name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", TopicPath(name), err)
	}
	tn, _ := s.setTopic(name, data)
	if tn == nil {
		return nil
	}
	for p := range tn.ZNode.Partitions {
		if _, ok := tn.States[p]; !ok {
			if err := s.refreshState(name, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *syncer) refreshState(topic string, p int32) error {
	path := PartitionStatePath(topic, p)
	data, stat, _, err := s.conn.GetW(s.abs(path))
	return s.setState(topic, p, fetchResult{data: data, stat: stat, err: err})
}

// setState stores a state read; a missing state gets an exists-watch so its
// creation is seen.
func (s *syncer) setState(topic string, p int32, r fetchResult) error {
	path := PartitionStatePath(topic, p)
	tn := s.tree.Topics[topic]
	if errors.Is(r.err, gozk.ErrNoNode) {
		ok, _, _, err := s.conn.ExistsW(s.abs(path))
		if err != nil {
			return fmt.Errorf("watch %s: %w", path, err)
		}
		if ok {
			return s.refreshState(topic, p)
		}
		if tn != nil {
			delete(tn.States, p)
			s.dirty.topics[topic] = true
		}
		return nil
	}
	if r.err != nil {
		return fmt.Errorf("read %s: %w", path, r.err)
	}
	if tn == nil {
		return nil
	}
	st, err := DecodePartitionState(r.data)
	if err != nil {
		s.log.Warn("ignoring partition state", zap.String("path", path), zap.Error(err))
		delete(tn.States, p)
	} else {
		tn.States[p] = StateNode{State: st, ZkVersion: r.stat.Version}
	}
	s.dirty.topics[topic] = true
	return nil
}

func (s *syncer) setConfig(e ConfigEntity, r fetchResult) error {
	s.dirty.configs[e] = true
	if errors.Is(r.err, gozk.ErrNoNode) {
		delete(s.tree.Configs, e)
		return nil
	}
	if r.err != nil {
		return fmt.Errorf("read %s: %w", EntityConfigPath(e.Type, e.Name), r.err)
	}
	cfg, err := DecodeEntityConfig(r.data)
	if err != nil {
		s.log.Warn("ignoring config znode", zap.String("entity", e.Type+"/"+e.Name), zap.Error(err))
		delete(s.tree.Configs, e)
		return nil
	}
	if len(cfg) == 0 {
		delete(s.tree.Configs, e)
	} else {
		s.tree.Configs[e] = cfg
	}
	return nil
}

func (s *syncer) reloadConfig(e ConfigEntity) error {
	data, stat, err := s.conn.Get(s.abs(EntityConfigPath(e.Type, e.Name)))
	return s.setConfig(e, fetchResult{data: data, stat: stat, err: err})
}

// refreshConfigChanges handles new /config/changes notifications (Kafka's
// ZkNodeChangeNotificationListener): each names an entity to re-read.
func (s *syncer) refreshConfigChanges() error {
	names, _, _, err := s.conn.ChildrenW(s.abs(ConfigChangesPath))
	if err != nil {
		return fmt.Errorf("list %s: %w", ConfigChangesPath, err)
	}
	slices.Sort(names)
	for _, n := range names {
		if n <= s.lastNotif {
			continue
		}
		data, _, err := s.conn.Get(s.abs(ConfigChangesPath + "/" + n))
		if err == nil {
			if ep, derr := DecodeConfigChange(data); derr == nil {
				typ, name, _ := cutEntity(ep)
				if typ == ConfigTopics || typ == ConfigBrokers {
					if err := s.reloadConfig(ConfigEntity{typ, name}); err != nil {
						return err
					}
				}
				if typ == ConfigUsers || typ == ConfigClients || typ == ConfigIPs {
					if err := s.reloadEntity(typ + "/" + name); err != nil {
						return err
					}
				}
			}
		} else if !errors.Is(err, gozk.ErrNoNode) {
			return fmt.Errorf("read config change %s: %w", n, err)
		}
		s.lastNotif = n
	}
	return nil
}

func cutEntity(ep string) (typ, name string, ok bool) {
	for i := 0; i < len(ep); i++ {
		if ep[i] == '/' {
			return ep[:i], ep[i+1:], true
		}
	}
	return "", "", false
}

func (s *syncer) refreshDeletes() error {
	names, _, _, err := s.conn.ChildrenW(s.abs(DeleteTopicsPath))
	if err != nil {
		return fmt.Errorf("list %s: %w", DeleteTopicsPath, err)
	}
	clear(s.deletes)
	for _, n := range names {
		s.deletes[n] = true
	}
	return nil
}

func (s *syncer) refreshProducerIDs() error {
	data, _, _, err := s.conn.GetW(s.abs(ProducerIDBlockPath))
	s.dirty.pids = true
	if errors.Is(err, gozk.ErrNoNode) || (err == nil && len(data) == 0) {
		s.tree.ProducerIDs = nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", ProducerIDBlockPath, err)
	}
	blk, err := DecodeProducerIDBlock(data)
	if err != nil {
		s.log.Warn("ignoring producer id block", zap.Error(err))
		return nil
	}
	s.tree.ProducerIDs = &blk
	return nil
}

// reload reads the whole tree again (at start, after a lost watch or a new
// session, and on controller failover) and marks everything dirty.
func (s *syncer) reload() error {
	old := s.tree
	s.tree = NewTree()
	s.tree.ClusterID = s.b.ClusterID()
	restore := func(err error) error { s.tree = old; return err }
	if err := s.refreshBrokerList(); err != nil {
		return restore(err)
	}
	if err := s.refreshTopicList(); err != nil {
		return restore(err)
	}
	// Broker configs (topic configs came with their topics), then the
	// notification sequence so only newer ones are handled.
	names, _, err := s.conn.Children(s.abs(ConfigPath + "/" + ConfigBrokers))
	if err != nil && !errors.Is(err, gozk.ErrNoNode) {
		return restore(fmt.Errorf("list broker configs: %w", err))
	}
	for _, n := range names {
		if err := s.reloadConfig(ConfigEntity{ConfigBrokers, n}); err != nil {
			return restore(err)
		}
	}
	notifs, _, _, err := s.conn.ChildrenW(s.abs(ConfigChangesPath))
	if err != nil {
		return restore(fmt.Errorf("list %s: %w", ConfigChangesPath, err))
	}
	s.lastNotif = ""
	for _, n := range notifs {
		s.lastNotif = max(s.lastNotif, n)
	}
	if err := s.refreshDeletes(); err != nil {
		return restore(err)
	}
	if err := s.refreshPreferred(); err != nil {
		return restore(err)
	}
	if err := s.refreshProducerIDs(); err != nil {
		return restore(err)
	}
	if err := s.reloadEntityConfigs(); err != nil {
		return restore(err)
	}
	if err := s.reloadAcls(); err != nil {
		return restore(err)
	}
	// Everything in the old image is re-examined too.
	img := s.b.Image()
	for _, br := range img.Brokers() {
		s.dirty.brokers[br.ID] = true
	}
	for _, t := range img.Topics() {
		s.dirty.topics[t.Name] = true
	}
	for _, r := range img.ConfigResources() {
		if e, ok := EntityFor(r); ok {
			s.dirty.configs[e] = true
		}
	}
	s.dirty.pids = true
	return nil
}

type fetchResult struct {
	data []byte
	stat *gozk.Stat
	err  error
}

// fetch reads paths concurrently; watch(i) says whether to set a data watch.
func (s *syncer) fetch(paths []string, watch func(i int) bool) []fetchResult {
	out := make([]fetchResult, len(paths))
	if len(paths) == 0 {
		return out
	}
	next := make(chan int)
	var wg sync.WaitGroup
	conns := s.readers
	if len(conns) == 0 {
		conns = []*gozk.Conn{s.conn}
	}
	for w := 0; w < min(s.b.cfg.LoadConcurrency*len(conns), len(paths)); w++ {
		conn := conns[w%len(conns)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var r fetchResult
				if s.readers == nil && watch(i) {
					r.data, r.stat, _, r.err = conn.GetW(s.abs(paths[i]))
				} else {
					r.data, r.stat, r.err = conn.Get(s.abs(paths[i]))
				}
				out[i] = r
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// publish turns the dirty entities into records, replays them on the
// current image and hands the result to the publishers.
func (s *syncer) publish() {
	if s.published && s.dirty.empty() {
		return
	}
	base := s.b.Image()
	var recs []metadata.Record
	if !s.published {
		base = metadata.EmptyImage()
		recs = s.tree.Records()
	} else {
		recs = diffRecords(s.tree, base, s.dirty)
	}
	s.dirty = newDirty()
	d := metadata.NewDelta(base)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			s.log.Warn("record from zookeeper tree not applied", zap.Stringer("type", r.Type()), zap.Error(err))
		}
	}
	if s.published && len(recs) == 0 {
		return
	}
	s.seq++
	d.SetProvenance(s.seq, int64(s.ctrl.epoch))
	d.SetClusterID(s.b.ClusterID())
	next := d.Apply()
	for _, p := range s.b.pubs {
		p.Publish(d, next)
	}
	s.b.img.Store(next)
	s.b.imgMu.Lock()
	close(s.b.imgCh)
	s.b.imgCh = make(chan struct{})
	s.b.imgMu.Unlock()
	if !s.published {
		s.published = true
		close(s.b.caughtUp)
		s.log.Info("metadata loaded from zookeeper", zap.Int("brokers", next.BrokerCount()),
			zap.Int("topics", next.TopicCount()), zap.Int("partitions", next.PartitionCount()))
	}
}

// diffRecords returns the records that bring img's dirty entities to the tree's state.
func diffRecords(t *Tree, img *metadata.Image, dirty dirtySet) []metadata.Record {
	var out []metadata.Record
	for _, id := range slices.Sorted(maps.Keys(dirty.brokers)) {
		bn, inTree := t.Brokers[id]
		old, inImg := img.Broker(id)
		switch {
		case inTree:
			reg := bn.ZNode.Registration(id, bn.Czxid)
			if !inImg || !brokerSame(old, &reg) {
				out = append(out, metadata.BrokerRecord(&reg))
			}
		case inImg:
			out = append(out, &metadata.UnregisterBrokerRecord{BrokerID: id, BrokerEpoch: old.Epoch})
		}
	}
	recreated := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(dirty.topics)) {
		tn := t.Topics[name]
		it, inImg := img.Topic(name)
		if inImg && (tn == nil || tn.ZNode.TopicID != it.ID) {
			out = append(out, &metadata.RemoveTopicRecord{TopicID: it.ID})
			inImg = false
		}
		if tn == nil {
			continue
		}
		if !inImg {
			if recs := t.TopicRecords(name); recs != nil {
				out = append(out, recs...)
				out = append(out, t.ConfigRecords(ConfigEntity{ConfigTopics, name}, nil)...)
				recreated[name] = true
			}
			continue
		}
		for _, p := range slices.Sorted(maps.Keys(tn.States)) {
			reg, _ := tn.Registration(p)
			if old, ok := it.Partitions[p]; !ok || !old.Equal(reg) {
				out = append(out, metadata.PartitionToRecord(it.ID, p, reg))
			}
		}
	}
	for _, e := range slices.SortedFunc(maps.Keys(dirty.configs), compareEntity) {
		res, ok := ConfigResource(e)
		if !ok || recreated[e.Name] && e.Type == ConfigTopics {
			continue
		}
		if e.Type == ConfigTopics {
			if tn := t.Topics[e.Name]; tn == nil || !tn.Complete() {
				continue // configs arrive with their topic
			}
			if _, inImg := img.Topic(e.Name); !inImg {
				continue
			}
		}
		out = append(out, t.ConfigRecords(e, img.Configs(res.Type, res.Name))...)
	}
	if dirty.pids {
		if r := t.ProducerIDsRecord(); r != nil && r.NextProducerID > img.NextProducerID() {
			out = append(out, r)
		}
	}
	if dirty.security {
		out = append(out, t.SecurityRecords(img)...)
	}
	return out
}

func brokerSame(a, b *metadata.BrokerRegistration) bool {
	return a.ID == b.ID && a.Epoch == b.Epoch && a.Rack == b.Rack && !a.Fenced && !a.InControlledShutdown &&
		slices.Equal(a.Endpoints, b.Endpoints) && slices.Equal(a.Features, b.Features)
}
