package zk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// Partition reassignment in ZooKeeper mode (KIP-455 as Kafka's
// KafkaController does it). The state of a reassignment lives in the topic
// znode (/brokers/topics/<t>: "partitions" = target ++ removing,
// "adding_replicas", "removing_replicas", Kafka 2.4+), so a new controller
// picks it up from the tree. Only the controller writes it, fenced:
//
//   - AlterPartitionReassignments reaches the controller broker (forwarded
//     over the Kafka protocol by the others, as Kafka's admin clients send
//     it to the controller); its loop writes the topic znode and the state
//     (metadata.AlterPartitionReassignment through RecordsToOps).
//   - /admin/reassign_partitions (Kafka's JSON, written by old tools) starts
//     the reassignments it lists; the controller removes each entry once it
//     completed and deletes the znode when none is left.
//   - after every step the controller completes the reassignments whose
//     ISR holds every target replica (metadata.CompleteReassignment): the
//     topic znode drops the old replicas, the state a new leader if the
//     leader left; the old replicas' brokers delete the log as the
//     partition leaves their image.

// reassignReq is one AlterPartitionReassignments call waiting for the loop.
type reassignReq struct {
	rs    []metadata.Reassignment
	reply chan []error // capacity 1: the loop never blocks on it
}

// ReassignPartitionsZNode is /admin/reassign_partitions
// ({"version":1,"partitions":[{"topic","partition","replicas"}]}).
type ReassignPartitionsZNode struct {
	Version    int                  `json:"version"`
	Partitions []ReassignPartitionZ `json:"partitions"`
}

// ReassignPartitionZ is one entry of /admin/reassign_partitions.
type ReassignPartitionZ struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Replicas  []int32  `json:"replicas"`
	LogDirs   []string `json:"log_dirs,omitempty"`
}

// EncodeReassignPartitions encodes /admin/reassign_partitions.
func EncodeReassignPartitions(z ReassignPartitionsZNode) []byte {
	z.Version = 1
	data, _ := json.Marshal(z) // plain structs: cannot fail
	return data
}

// DecodeReassignPartitions decodes /admin/reassign_partitions.
func DecodeReassignPartitions(data []byte) (ReassignPartitionsZNode, error) {
	var z ReassignPartitionsZNode
	if err := json.Unmarshal(data, &z); err != nil {
		return z, fmt.Errorf("decode %s: %w: %w", ReassignPartitionsPath, ErrCorruptZNode, err)
	}
	if z.Version != 1 {
		return z, fmt.Errorf("decode %s: version %d: %w", ReassignPartitionsPath, z.Version, ErrCorruptZNode)
	}
	return z, nil
}

// AlterPartitionReassignments starts or cancels reassignments: on the
// controller through its loop, elsewhere by forwarding the request to the
// /controller broker on listener (dialled with sec). It returns one error
// per entry once this broker's image shows the accepted changes.
func (b *Backend) AlterPartitionReassignments(ctx context.Context, rs []metadata.Reassignment, listener string, sec network.ClientSecurity) []error {
	var errs []error
	if b.isController.Load() {
		errs = b.reassignLocal(ctx, rs)
	} else {
		errs = b.forwardReassign(ctx, rs, listener, sec)
	}
	if werr := b.waitImage(ctx, "partition reassignment", func(img *metadata.Image) bool {
		return metadata.ReassignmentsShown(img, rs, errs)
	}); werr != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = werr
			}
		}
	}
	return errs
}

func allErr(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// reassignLocal hands rs to the loop (this broker is the controller).
func (b *Backend) reassignLocal(ctx context.Context, rs []metadata.Reassignment) []error {
	r := reassignReq{rs: rs, reply: make(chan []error, 1)}
	select {
	case b.reassignCh <- r:
	case <-ctx.Done():
		return allErr(len(rs), fmt.Errorf("partition reassignment: %w", ctx.Err()))
	}
	select {
	case errs := <-r.reply:
		return errs
	case <-ctx.Done():
		return allErr(len(rs), fmt.Errorf("partition reassignment: %w", ctx.Err()))
	}
}

// forwardReassign sends AlterPartitionReassignments to the controller.
func (b *Backend) forwardReassign(ctx context.Context, rs []metadata.Reassignment, listener string, sec network.ClientSecurity) []error {
	ctrl, _ := b.Controller()
	if ctrl < 0 {
		return allErr(len(rs), fmt.Errorf("partition reassignment: no controller in /controller: %w", metadata.ErrNotController))
	}
	reg, ok := b.Image().Broker(ctrl)
	if !ok {
		return allErr(len(rs), fmt.Errorf("partition reassignment: controller %d is not in /brokers/ids: %w", ctrl, metadata.ErrNotController))
	}
	ep, ok := reg.Endpoint(listener)
	if !ok {
		return allErr(len(rs), fmt.Errorf("partition reassignment: controller %d has no %s endpoint: %w", ctrl, listener, metadata.ErrNotController))
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID(fmt.Sprintf("broker-%d-reassign", b.cfg.BrokerID))},
		sec.KgoOpts()...)...)
	if err != nil {
		return allErr(len(rs), fmt.Errorf("client for controller %d at %s: %w", ctrl, addr, err))
	}
	defer cl.Close()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = 30000
	for _, r := range rs {
		t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		t.Topic = r.Topic
		p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		p.Partition, p.Replicas = r.Partition, r.Replicas
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
	}
	raw, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return allErr(len(rs), fmt.Errorf("AlterPartitionReassignments to controller %d at %s: %w", ctrl, addr, err))
	}
	resp, ok := raw.(*kmsg.AlterPartitionAssignmentsResponse)
	if !ok || len(resp.Topics) != len(rs) {
		return allErr(len(rs), fmt.Errorf("AlterPartitionReassignments to controller %d at %s: unexpected answer %T: %w", ctrl, addr, raw, ErrCorruptZNode))
	}
	if resp.ErrorCode != 0 {
		return allErr(len(rs), codeError(resp.ErrorCode, resp.ErrorMessage))
	}
	errs := make([]error, len(rs))
	for i, t := range resp.Topics {
		if len(t.Partitions) == 1 {
			errs[i] = codeError(t.Partitions[0].ErrorCode, t.Partitions[0].ErrorMessage)
		}
	}
	return errs
}

// serveReassigns answers the queued requests (loop only).
func (s *syncer) serveReassigns() {
	for _, r := range s.reassigns {
		r.reply <- s.reassign(r.rs)
	}
	s.reassigns = nil
}

// failReassigns answers the queued requests with err (the loop is ending).
func (s *syncer) failReassigns(err error) {
	for _, r := range s.reassigns {
		r.reply <- allErr(len(r.rs), err)
	}
	s.reassigns = nil
}

// reassign validates each reassignment against the image and writes each
// accepted one on its own, atomically (writeAtomic). A write that loses a
// race with the partition's leader (its ISR change moved the state's
// zkVersion) re-reads the state and is computed again, at most 3 times.
func (s *syncer) reassign(rs []metadata.Reassignment) []error {
	if !s.ctrl.active {
		return allErr(len(rs), fmt.Errorf("partition reassignment: broker %d is no longer the controller: %w",
			s.b.cfg.BrokerID, metadata.ErrNotController))
	}
	errs := make([]error, len(rs))
	seen := map[metadata.TopicPartition]int{}
	for _, r := range rs {
		seen[metadata.TopicPartition{Topic: r.Topic, Partition: r.Partition}]++
	}
	for i, r := range rs {
		if seen[metadata.TopicPartition{Topic: r.Topic, Partition: r.Partition}] > 1 {
			errs[i] = fmt.Errorf("reassign %s-%d: named twice in one request: %w", r.Topic, r.Partition, metadata.ErrInvalidRequest)
			continue
		}
		for try := 0; try < 3; try++ {
			img := s.b.Image()
			recs, err := metadata.AlterPartitionReassignment(img, r)
			if err == nil {
				err = s.writeAtomic(img, recs)
			}
			errs[i] = err
			if !errors.Is(err, errStaleState) {
				break
			}
			if rerr := s.refreshState(r.Topic, r.Partition); rerr != nil {
				break
			}
			s.publish()
		}
		if errs[i] == nil {
			s.log.Info("partition reassignment", zap.String("topic", r.Topic), zap.Int32("partition", r.Partition),
				zap.Int32s("target", r.Replicas), zap.Bool("cancel", r.Replicas == nil))
		}
	}
	return errs
}

// errStaleState: a reassignment write found the partition state at
// another zkVersion than its image's (the leader changed the ISR).
var errStaleState = fmt.Errorf("zk: partition state changed meanwhile: %w", metadata.ErrInvalidUpdateEpoch)

// writeAtomic writes the ZooKeeper form of recs (computed against img) in
// one multi behind Check(/controller_epoch), all or nothing: a
// reassignment's topic znode and state must never land apart (execFenced
// replays a failed multi op by op). The tree takes the writes at once and
// the result is published.
func (s *syncer) writeAtomic(img *metadata.Image, recs []metadata.Record) error {
	if len(recs) == 0 {
		return nil
	}
	ops, err := RecordsToOps(img, recs, s.ctrl.epoch)
	if err != nil {
		return err
	}
	if len(ops)+1 > s.b.cfg.MaxMultiOps {
		return fmt.Errorf("reassignment write of %d ops exceeds the multi size %d: %w", len(ops), s.b.cfg.MaxMultiOps, metadata.ErrInvalidRequest)
	}
	reqs := []any{&gozk.CheckVersionRequest{Path: s.abs(ControllerEpochPath), Version: s.ctrl.zkVersion}}
	for _, op := range ops {
		reqs = append(reqs, s.b.request(op))
	}
	res, err := s.conn.Multi(reqs...)
	switch {
	case err == nil:
	case len(res) > 0 && res[0].Error != nil:
		err = fmt.Errorf("/controller_epoch is no longer at zkVersion %d (%v): %w", s.ctrl.zkVersion, res[0].Error, ErrControllerMoved)
		s.resign(err.Error())
		s.elect = true
		return err
	case errors.Is(err, gozk.ErrBadVersion):
		s.ctrl.retry = true
		return errStaleState
	default:
		s.ctrl.retry = true
		return fmt.Errorf("reassignment write: %w", err)
	}
	for i, op := range ops {
		s.written(opResult{op: op, stat: res[i+1].Stat, ok: true})
	}
	s.publish()
	return nil
}

// completeReassignments finishes every reassignment whose ISR holds its
// target, one partition per atomic write, then brings
// /admin/reassign_partitions up to date (controller only, after
// reconcile). A write that lost a race is retried at the next step.
func (s *syncer) completeReassignments() error {
	done := 0
	for _, t := range s.b.Image().Topics() {
		for _, pid := range t.PartitionIDs() {
			img := s.b.Image()
			cur, ok := img.TopicByID(t.ID)
			if !ok {
				continue
			}
			rec := metadata.CompleteReassignment(img, t.ID, pid, cur.Partitions[pid])
			if rec == nil {
				continue
			}
			if err := s.writeAtomic(img, []metadata.Record{rec}); err != nil {
				if errors.Is(err, errStaleState) {
					continue
				}
				return err
			}
			done++
			s.log.Info("partition reassignment completed", zap.String("topic", t.Name), zap.Int32("partition", pid),
				zap.Int32s("replicas", rec.Replicas), zap.Int32("leader", rec.Leader))
		}
	}
	if done > 0 {
		s.ctrl.reassignZNode = true
	}
	if !s.ctrl.reassignZNode {
		return nil
	}
	if err := s.syncReassignZNode(); err != nil {
		return err
	}
	s.ctrl.reassignZNode = false
	return nil
}

// syncReassignZNode reads /admin/reassign_partitions (watching it), starts
// the reassignments it lists that are neither done nor in progress with
// the same target, and rewrites it without the completed (or invalid)
// entries, deleting it when none is left.
func (s *syncer) syncReassignZNode() error {
	data, stat, _, err := s.conn.GetW(s.abs(ReassignPartitionsPath))
	if errors.Is(err, gozk.ErrNoNode) {
		_, _, _, err = s.conn.ExistsW(s.abs(ReassignPartitionsPath))
		return err
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", ReassignPartitionsPath, err)
	}
	z, err := DecodeReassignPartitions(data)
	if err != nil {
		s.log.Warn("ignoring unreadable reassignment znode; deleting it", zap.Error(err))
		_, err = s.writeFenced([]Op{{Kind: OpDelete, Path: ReassignPartitionsPath, Version: stat.Version, Tolerant: true}})
		return err
	}
	img := s.b.Image()
	var start []metadata.Reassignment
	var keep []ReassignPartitionZ
	for _, e := range z.Partitions {
		p, ok := partitionOf(img, e.Topic, e.Partition)
		if !ok {
			s.log.Warn("reassignment of unknown partition dropped", zap.String("topic", e.Topic), zap.Int32("partition", e.Partition))
			continue
		}
		target := p.TargetReplicas()
		switch {
		case !p.Reassigning() && slices.Equal(p.Replicas, e.Replicas):
			continue // done
		case p.Reassigning() && slices.Equal(target, e.Replicas):
		default:
			start = append(start, metadata.Reassignment{Topic: e.Topic, Partition: e.Partition, Replicas: e.Replicas})
		}
		keep = append(keep, e)
	}
	if len(start) > 0 {
		errs := s.reassign(start)
		for i, err := range errs {
			if err != nil && !errors.Is(err, metadata.ErrInvalidUpdateEpoch) {
				s.log.Warn("reassignment from the znode refused", zap.String("topic", start[i].Topic),
					zap.Int32("partition", start[i].Partition), zap.Error(err))
				keep = slices.DeleteFunc(keep, func(e ReassignPartitionZ) bool {
					return e.Topic == start[i].Topic && e.Partition == start[i].Partition
				})
			}
		}
	}
	if len(keep) == len(z.Partitions) {
		return nil
	}
	op := Op{Kind: OpDelete, Path: ReassignPartitionsPath, Version: stat.Version, Tolerant: true}
	if len(keep) > 0 {
		op = Op{Kind: OpSet, Path: ReassignPartitionsPath, Data: EncodeReassignPartitions(ReassignPartitionsZNode{Partitions: keep}), Version: stat.Version}
	}
	if _, err := s.writeFenced([]Op{op}); err != nil {
		return err
	}
	s.log.Info("updated the reassignment znode", zap.Int("left", len(keep)),
		zap.Strings("topics", slices.Sorted(maps.Keys(topicsOf(keep)))))
	return nil
}

func partitionOf(img *metadata.Image, topic string, p int32) (*metadata.PartitionRegistration, bool) {
	t, ok := img.Topic(topic)
	if !ok {
		return nil, false
	}
	reg, ok := t.Partitions[p]
	return reg, ok
}

func topicsOf(es []ReassignPartitionZ) map[string]bool {
	m := map[string]bool{}
	for _, e := range es {
		m[e.Topic] = true
	}
	return m
}

// AlterPartitionReassignments implements broker.ReassignController
// (Backend.AlterPartitionReassignments on the controlled-shutdown
// listener).
func (s *Source) AlterPartitionReassignments(ctx context.Context, rs []metadata.Reassignment) []error {
	return s.backend.AlterPartitionReassignments(ctx, rs, s.cfg.Shutdown.ListenerName, s.cfg.Shutdown.Security)
}

// codeError is a controller's answer as an error: nil for 0, else the
// *kerr.Error carrying the controller's message.
func codeError(code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	err := kerr.ErrorForCode(code)
	if msg == nil || *msg == "" {
		return err
	}
	return fmt.Errorf("%w (controller: %s)", err, *msg)
}
