package zk

// CreatePartitions and ElectLeaders in ZooKeeper mode, as Kafka's
// ZooKeeper-mode brokers and controller make them.
//
// CreatePartitions (AdminZkClient.addPartitions): the broker validates
// with metadata.CreatePartitions against its image, refuses a topic queued
// in /admin/delete_topics, and rewrites /brokers/topics/<t> with the new
// partitions' replicas at the znode's zkVersion (a concurrent rewrite
// makes it compute again). The controller's reconcile creates the new
// partitions' states (onNewPartitionCreation), as for a new topic.
//
// ElectLeaders: PREFERRED is written to /admin/preferred_replica_election
// ({"version":1,"partitions":[...]}, the znode kafka-preferred-replica-
// election.sh wrote), which the controller watches: it elects the
// preferred replicas with metadata.ElectLeaders, writes the changed states
// fenced by /controller_epoch (execFenced) and deletes the znode. UNCLEAN
// has no znode: the broker sends ElectLeaders over the Kafka protocol to
// the broker holding /controller, whose loop writes the states the same
// way. On the controller itself both go straight to its loop. The
// controller also runs the automatic rebalance
// (auto.leader.rebalance.enable) from its loop.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// CreatePartitions adds partitions to each topic (validateOnly: checks
// only) and returns one error per spec, once this broker's image holds
// the new partitions.
func (b *Backend) CreatePartitions(ctx context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error {
	errs := make([]error, len(specs))
	seen := make(map[string]int, len(specs))
	for _, s := range specs {
		seen[s.Topic]++
	}
	conn, err := b.session()
	for i, spec := range specs {
		switch {
		case err != nil:
			errs[i] = err
		case seen[spec.Topic] > 1:
			errs[i] = fmt.Errorf("create partitions of %q: named %d times in one request: %w", spec.Topic, seen[spec.Topic], metadata.ErrInvalidRequest)
		default:
			errs[i] = b.createPartitions(ctx, conn, spec, validateOnly)
		}
	}
	return errs
}

func (b *Backend) createPartitions(ctx context.Context, conn *gozk.Conn, spec metadata.CreatePartitionsSpec, validateOnly bool) error {
	what := "create partitions of " + spec.Topic
	for try := 0; ; try++ {
		if ok, _, err := conn.Exists(b.abs(DeleteTopicPath(spec.Topic))); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		} else if ok {
			return fmt.Errorf("%s: the topic is queued for deletion: %w", what, metadata.ErrInvalidTopic)
		}
		img := b.Image()
		recs, err := metadata.CreatePartitions(img, spec)
		if err != nil || validateOnly {
			return err
		}
		data, stat, err := conn.Get(b.abs(TopicPath(spec.Topic)))
		if errors.Is(err, gozk.ErrNoNode) {
			return fmt.Errorf("%s: %w", what, metadata.ErrUnknownTopic)
		}
		if err != nil {
			return fmt.Errorf("%s: read %s: %w", what, TopicPath(spec.Topic), err)
		}
		zn, err := DecodeTopic(data)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if t, _ := img.Topic(spec.Topic); zn.TopicID != t.ID || len(zn.Partitions) != int(t.NumPartitions()) {
			// This broker's image is behind the znode: wait for it, then compute again.
			if try >= 20 {
				return fmt.Errorf("%s: %s and this broker's metadata disagree: %w", what, TopicPath(spec.Topic), metadata.ErrInvalidRequest)
			}
			if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			continue
		}
		for _, r := range recs {
			if pr, ok := r.(*metadata.PartitionRecord); ok {
				zn.Partitions[pr.PartitionID] = pr.Replicas
			}
		}
		_, err = b.clientWrite(conn, &gozk.SetDataRequest{Path: b.abs(TopicPath(spec.Topic)), Data: EncodeTopic(zn), Version: stat.Version})
		if errors.Is(err, gozk.ErrBadVersion) && try < 20 {
			continue // rewritten meanwhile: compute again
		}
		if err != nil {
			return fmt.Errorf("%s: write %s: %w", what, TopicPath(spec.Topic), err)
		}
		b.log.Info("added partitions to topic znode", zap.String("topic", spec.Topic), zap.Int32("count", spec.Count))
		return b.waitImage(ctx, what, func(img *metadata.Image) bool {
			t, ok := img.Topic(spec.Topic)
			return !ok || t.NumPartitions() >= spec.Count
		})
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// electReq is one election waiting for the loop.
type electReq struct {
	typ   metadata.ElectionType
	parts []metadata.TopicPartition // nil: all
	reply chan electResult          // capacity 1
}

type electResult struct {
	res []metadata.ElectionResult
	err error
}

// ElectLeaders runs the elections through the controller and returns one
// result per partition once this broker's image shows them. fwd is how
// to reach the controller broker for UNCLEAN (its listener and security:
// the controlled-shutdown settings).
func (b *Backend) ElectLeaders(ctx context.Context, fwd ShutdownConfig, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult {
	var res []metadata.ElectionResult
	var err error
	switch {
	case b.isController.Load():
		res, err = b.electOnLoop(ctx, typ, parts)
	case typ == metadata.ElectPreferred:
		res, err = b.electPreferredZnode(ctx, parts)
	default:
		res, err = b.electOnController(ctx, fwd, typ, parts)
	}
	if err != nil {
		return failedElections(res, parts, err)
	}
	if werr := b.waitImage(ctx, "elect leaders", func(img *metadata.Image) bool { return metadata.ElectionsShown(img, typ, res) }); werr != nil {
		for i := range res {
			if res[i].Err == nil {
				res[i].Err = werr
			}
		}
	}
	return res
}

func failedElections(res []metadata.ElectionResult, parts []metadata.TopicPartition, err error) []metadata.ElectionResult {
	if parts == nil {
		for i := range res {
			res[i].Err = err
		}
		return res
	}
	out := make([]metadata.ElectionResult, len(parts))
	for i, tp := range parts {
		out[i] = metadata.ElectionResult{TopicPartition: tp, Err: err}
	}
	return out
}

// electOnLoop hands the election to this controller's loop.
func (b *Backend) electOnLoop(ctx context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) ([]metadata.ElectionResult, error) {
	r := electReq{typ: typ, parts: parts, reply: make(chan electResult, 1)}
	select {
	case b.electCh <- r:
	case <-ctx.Done():
		return nil, fmt.Errorf("elect leaders: %w", ctx.Err())
	}
	select {
	case res := <-r.reply:
		return res.res, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("elect leaders: %w", ctx.Err())
	}
}

// electPreferredZnode writes /admin/preferred_replica_election with the
// partitions this broker's image says need and allow a PREFERRED election
// (the others' results come from that image), waiting out an election in
// progress (the znode exists).
func (b *Backend) electPreferredZnode(ctx context.Context, parts []metadata.TopicPartition) ([]metadata.ElectionResult, error) {
	recs, res := metadata.ElectLeaders(b.Image(), metadata.ElectPreferred, parts)
	if len(recs) == 0 {
		return res, nil
	}
	var list []TopicPartition
	for _, r := range res {
		if r.Err == nil {
			list = append(list, TopicPartition{Topic: r.Topic, Partition: r.Partition})
		}
	}
	conn, err := b.session()
	if err != nil {
		return res, err
	}
	for {
		_, err := b.clientWrite(conn, &gozk.CreateRequest{Path: b.abs(PreferredReplicaElection), Data: EncodePartitionList(list), Acl: b.acl})
		if err == nil {
			break
		}
		if !errors.Is(err, gozk.ErrNodeExists) {
			return res, fmt.Errorf("elect leaders: write %s: %w", PreferredReplicaElection, err)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil { // an election in progress
			return res, fmt.Errorf("elect leaders: %s still exists (an election in progress): %w", PreferredReplicaElection, err)
		}
	}
	b.log.Info("wrote preferred replica election", zap.Int("partitions", len(list)))
	return res, nil
}

// electOnController sends ElectLeaders to the broker holding /controller.
func (b *Backend) electOnController(ctx context.Context, fwd ShutdownConfig, typ metadata.ElectionType, parts []metadata.TopicPartition) ([]metadata.ElectionResult, error) {
	ctrl, _ := b.Controller()
	if ctrl < 0 {
		return nil, fmt.Errorf("elect leaders: no controller in /controller: %w", metadata.ErrNotController)
	}
	reg, ok := b.Image().Broker(ctrl)
	if !ok {
		return nil, fmt.Errorf("elect leaders: controller %d is not in /brokers/ids: %w", ctrl, metadata.ErrNotController)
	}
	ep, ok := reg.Endpoint(fwd.ListenerName)
	if !ok {
		return nil, fmt.Errorf("elect leaders: controller %d has no %s endpoint: %w", ctrl, fwd.ListenerName, metadata.ErrNotController)
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID(fmt.Sprintf("broker-%d-elect-leaders", b.cfg.BrokerID))},
		fwd.Security.KgoOpts()...)...)
	if err != nil {
		return nil, fmt.Errorf("elect leaders: client for controller %d at %s: %w", ctrl, addr, err)
	}
	defer cl.Close()
	req := kmsg.NewPtrElectLeadersRequest()
	req.Version, req.ElectionType, req.TimeoutMillis = 2, int8(typ), 30000
	if parts != nil {
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		for _, tp := range parts {
			t := kmsg.NewElectLeadersRequestTopic()
			t.Topic, t.Partitions = tp.Topic, []int32{tp.Partition}
			req.Topics = append(req.Topics, t)
		}
	}
	raw, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("elect leaders: ElectLeaders to controller %d at %s: %w", ctrl, addr, err)
	}
	resp, ok := raw.(*kmsg.ElectLeadersResponse)
	if !ok {
		return nil, fmt.Errorf("elect leaders: controller %d answered with %T", ctrl, raw)
	}
	var out []metadata.ElectionResult
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, metadata.ElectionResult{TopicPartition: metadata.TopicPartition{Topic: t.Topic, Partition: p.Partition},
				Err: codeErr(p.ErrorCode, p.ErrorMessage)})
		}
	}
	return out, nil
}

// --- the controller's loop -----------------------------------------------------

// serveElections answers the queued ElectLeaders requests (loop only).
func (s *syncer) serveElections() {
	for _, r := range s.elections {
		if !s.ctrl.active {
			r.reply <- electResult{err: fmt.Errorf("elect leaders: broker %d is no longer the controller: %w", s.b.cfg.BrokerID, metadata.ErrNotController)}
			continue
		}
		res, err := s.electLeaders(r.typ, r.parts, nil)
		r.reply <- electResult{res: res, err: err}
	}
	s.elections = nil
}

// failElections answers the queued requests with err (the loop is ending).
func (s *syncer) failElections(err error) {
	for _, r := range s.elections {
		r.reply <- electResult{err: err}
	}
	s.elections = nil
}

// electLeaders is the controller's election: metadata.ElectLeaders on the
// image, the changed states (and extra ops, e.g. deleting the election
// znode) written fenced, then published.
func (s *syncer) electLeaders(typ metadata.ElectionType, parts []metadata.TopicPartition, extra []Op) ([]metadata.ElectionResult, error) {
	img := s.b.Image()
	recs, res := metadata.ElectLeaders(img, typ, parts)
	for _, pc := range metadata.UncleanElections(recs) {
		s.log.Error("unclean leader election requested: acknowledged records may be lost",
			zap.Stringer("topic_id", pc.TopicID), zap.Int32("partition", pc.PartitionID), zap.Int32("leader", pc.Leader))
	}
	ops, err := RecordsToOps(img, recs, s.ctrl.epoch)
	if err != nil {
		return res, fmt.Errorf("elect leaders: %w", err)
	}
	ops = append(ops, extra...)
	if len(ops) == 0 {
		return res, nil
	}
	if _, err := s.writeFenced(ops); errors.Is(err, ErrControllerMoved) {
		return res, fmt.Errorf("elect leaders: %w (%w)", metadata.ErrNotController, err)
	} else if err != nil {
		return res, fmt.Errorf("elect leaders: %w", err)
	}
	s.publish()
	s.log.Info("elected leaders", zap.Stringer("type", typ), zap.Int("changes", len(recs)))
	return res, nil
}

// refreshPreferred re-reads /admin/preferred_replica_election (an exists
// watch while it is absent).
func (s *syncer) refreshPreferred() error {
	ok, _, _, err := s.conn.ExistsW(s.abs(PreferredReplicaElection))
	if err != nil {
		return fmt.Errorf("watch %s: %w", PreferredReplicaElection, err)
	}
	s.preferred = nil
	if !ok {
		return nil
	}
	data, _, _, err := s.conn.GetW(s.abs(PreferredReplicaElection))
	if errors.Is(err, gozk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", PreferredReplicaElection, err)
	}
	list, err := DecodePartitionList(data)
	if err != nil {
		s.log.Warn("ignoring preferred replica election", zap.Error(err))
		list = nil
	}
	s.preferred = []metadata.TopicPartition{}
	for _, p := range list {
		s.preferred = append(s.preferred, metadata.TopicPartition{Topic: p.Topic, Partition: p.Partition})
	}
	return nil
}

// runPreferred is the controller's handling of the election znode
// (Kafka's PreferredReplicaLeaderElection event): elect, then delete it.
func (s *syncer) runPreferred() error {
	if !s.ctrl.active || s.preferred == nil {
		return nil
	}
	del := Op{Kind: OpDelete, Path: PreferredReplicaElection, Version: -1, Tolerant: true}
	if _, err := s.electLeaders(metadata.ElectPreferred, s.preferred, []Op{del}); err != nil {
		return err
	}
	s.preferred = nil
	return nil
}

// rebalance is one automatic rebalance pass (auto.leader.rebalance.enable).
func (s *syncer) rebalance() {
	if !s.ctrl.active {
		return
	}
	parts := metadata.ImbalancedPartitions(s.b.Image(), s.b.cfg.Controller.LeaderImbalancePerBrokerPercentage)
	if len(parts) == 0 {
		return
	}
	if _, err := s.electLeaders(metadata.ElectPreferred, parts, nil); err != nil {
		s.log.Warn("automatic leader rebalance failed", zap.Error(err))
		return
	}
	s.log.Info("automatic leader rebalance", zap.Int("partitions", len(parts)))
}

// rebalanceInterval is leader.imbalance.check.interval.seconds, 0 when
// auto.leader.rebalance.enable is off.
func (b *Backend) rebalanceInterval() time.Duration {
	c := b.cfg.Controller
	if !c.AutoLeaderRebalance || c.LeaderImbalanceCheckInterval <= 0 {
		return 0
	}
	return c.LeaderImbalanceCheckInterval
}

// codeErr is an answer's code as an error carrying its message (nil for 0).
func codeErr(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil || msg == nil || *msg == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, *msg)
}
