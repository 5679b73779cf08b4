package broker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata"
)

// This file wires the group coordinator (broker/group) into the broker: it
// gives the coordinator the offsets partitions' logs, tells it which of
// them this broker leads, and creates __consumer_offsets on first use.

// newGroupCoordinator builds the coordinator from the broker's config. It
// starts no goroutine until an offsets partition is led here.
func (b *Broker) newGroupCoordinator() error {
	gcfg := group.DefaultConfig()
	gcfg.NumPartitions = b.cfg.OffsetsTopicNumPartitions
	gcfg.InitialRebalanceDelay = b.cfg.GroupInitialRebalanceDelay
	c, err := group.New(gcfg, groupLog{coordinatorLog{b, group.OffsetsTopic, group.ErrNotCoordinator}}, b.logger)
	if err != nil {
		return fmt.Errorf("group coordinator: %w", err)
	}
	b.groups = c
	return nil
}

// Close stops the group and transaction coordinators: pending JoinGroup
// and SyncGroup calls answer NOT_COORDINATOR, marker senders stop (the
// next coordinator resumes them) and their goroutines exit; the
// inter-broker clients close. Close the network server first, the storage
// manager after.
func (b *Broker) Close() error {
	err := errors.Join(b.groups.Close(), b.txns.Close())
	b.peers.close()
	return err
}

// publishGroups tells the coordinator which offsets partitions this broker
// now leads or no longer leads. Called by Publish after the logs exist.
func (b *Broker) publishGroups(changes metadata.LocalChanges) {
	for _, lp := range changes.Leaders {
		if lp.Topic == group.OffsetsTopic {
			b.groups.BecomeLeader(lp.Partition, lp.Reg.LeaderEpoch)
		}
	}
	for _, set := range [][]metadata.LocalPartition{changes.Followers, changes.Deletes} {
		for _, lp := range set {
			if lp.Topic == group.OffsetsTopic {
				b.groups.Resign(lp.Partition)
			}
		}
	}
}

// coordinatorLog is a coordinator's Log (group.Log, txn.Log) over this
// broker's partitions of its internal topic: appends go through the leader
// check as coordinator batches (Kafka's AppendOrigin.COORDINATOR) and wait
// for acks=all like a produce; a partition not led or not held here is
// notCoord (the coordinator's ErrNotCoordinator).
type coordinatorLog struct {
	b        *Broker
	topic    string
	notCoord error
}

// groupLog is the group coordinator's Log: coordinatorLog whose Append
// also answers the batch's first offset (the group coordinator orders
// transactional and plain offset commits by it).
type groupLog struct{ coordinatorLog }

var (
	_ group.Log = groupLog{}
	_ txn.Log   = coordinatorLog{}
)

func (o coordinatorLog) Append(ctx context.Context, partition int32, batch []byte) error {
	_, err := o.append(ctx, partition, batch)
	return err
}

func (o groupLog) Append(ctx context.Context, partition int32, batch []byte) (int64, error) {
	return o.append(ctx, partition, batch)
}

// append appends batch as the partition's leader, waits for acks=all and
// returns the batch's first offset.
func (o coordinatorLog) append(ctx context.Context, partition int32, batch []byte) (int64, error) {
	reg, l, err := o.b.partitionFor(o.b.img.Load(), o.topic, partition)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", o.notCoord, err)
	}
	res, err := l.AppendFromCoordinator(batch, reg.LeaderEpoch)
	if err != nil {
		return 0, err
	}
	return res.FirstOffset, o.b.repl.WaitCommitted(ctx, o.topic, partition, reg, res.LastOffset+1)
}

func (o coordinatorLog) Read(partition int32, offset int64, maxBytes int32) ([]byte, error) {
	l, ok := o.b.logs.Get(o.topic, partition)
	if !ok {
		return nil, fmt.Errorf("%w: no local log for %s-%d", o.notCoord, o.topic, partition)
	}
	return l.Read(offset, maxBytes, math.MaxInt64)
}

func (o coordinatorLog) Bounds(partition int32) (int64, int64, error) {
	l, ok := o.b.logs.Get(o.topic, partition)
	if !ok {
		return 0, 0, fmt.Errorf("%w: no local log for %s-%d", o.notCoord, o.topic, partition)
	}
	return l.LogStartOffset(), l.LogEndOffset(), nil
}

// coordinatorFor finds the broker coordinating key (a group id) and its
// endpoint on listener, creating __consumer_offsets if it does not exist.
// Errors wrap group.ErrCoordinatorUnavailable while there is no answer yet.
func (b *Broker) coordinatorFor(ctx context.Context, listener, key string) (metadata.BrokerRegistration, metadata.Endpoint, error) {
	img := b.img.Load()
	if _, ok := img.Topic(group.OffsetsTopic); !ok {
		if err := b.createOffsetsTopic(ctx, img); err != nil {
			return metadata.BrokerRegistration{}, metadata.Endpoint{}, err
		}
	}
	return b.leaderEndpoint(group.OffsetsTopic, b.groups.PartitionFor(key), listener, group.ErrCoordinatorUnavailable)
}

// leaderEndpoint is the live leader of topic-p and its endpoint on
// listener: the coordinator of a key placed on that partition. Errors wrap
// unavailable (the coordinator's COORDINATOR_NOT_AVAILABLE).
func (b *Broker) leaderEndpoint(topic string, p int32, listener string, unavailable error) (metadata.BrokerRegistration, metadata.Endpoint, error) {
	img := b.img.Load()
	t, ok := img.Topic(topic)
	if !ok {
		return metadata.BrokerRegistration{}, metadata.Endpoint{}, fmt.Errorf("%w: %s not in the image yet", unavailable, topic)
	}
	reg, ok := t.Partition(p)
	if !ok || reg.Leader < 0 {
		return metadata.BrokerRegistration{}, metadata.Endpoint{}, fmt.Errorf("%w: %s-%d has no leader", unavailable, topic, p)
	}
	br, ok := img.Broker(reg.Leader)
	if !ok || br.Fenced {
		return metadata.BrokerRegistration{}, metadata.Endpoint{}, fmt.Errorf("%w: leader %d of %s-%d is not live", unavailable, reg.Leader, topic, p)
	}
	ep, ok := br.Endpoint(listener)
	if !ok {
		return metadata.BrokerRegistration{}, metadata.Endpoint{}, fmt.Errorf("%w: broker %d has no %q listener", unavailable, br.ID, listener)
	}
	return *br, ep, nil
}

// createOffsetsTopic asks the controller for __consumer_offsets with
// offsets.topic.num.partitions partitions, offsets.topic.replication.factor
// replicas capped to the live brokers, and cleanup.policy=compact.
func (b *Broker) createOffsetsTopic(ctx context.Context, img *metadata.Image) error {
	live := 0
	for _, br := range img.Brokers() {
		if !br.Fenced {
			live++
		}
	}
	if live == 0 {
		return fmt.Errorf("%w: no live broker to host %s", group.ErrCoordinatorUnavailable, group.OffsetsTopic)
	}
	rf := b.cfg.OffsetsTopicReplicationFactor
	if int(rf) > live {
		b.logger.Warn("offsets.topic.replication.factor exceeds live brokers, capping",
			zap.Int16("offsets.topic.replication.factor", rf), zap.Int("live_brokers", live))
		rf = int16(live)
	}
	spec := metadata.CreateTopicSpec{
		Name:              group.OffsetsTopic,
		NumPartitions:     b.cfg.OffsetsTopicNumPartitions,
		ReplicationFactor: rf,
		Configs: map[string]string{
			"cleanup.policy":   "compact",
			"compression.type": "producer",
			"segment.bytes":    strconv.Itoa(100 << 20), // offsets.topic.segment.bytes
			// As Kafka: compact only, so time and size retention never
			// delete live offsets; the log cleaner drops superseded ones.
		},
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
	defer cancel()
	errs := b.ctrl.CreateTopics(ctx, []metadata.CreateTopicSpec{spec}, false)
	if len(errs) > 0 && errs[0] != nil && !errors.Is(errs[0], metadata.ErrTopicExists) && errorCode(errs[0]) != errorCode(metadata.ErrTopicExists) {
		b.logger.Warn("create offsets topic failed", zap.Error(errs[0]))
		return fmt.Errorf("%w: create %s: %w", group.ErrCoordinatorUnavailable, group.OffsetsTopic, errs[0])
	}
	b.logger.Info("created offsets topic", zap.Int32("partitions", spec.NumPartitions), zap.Int16("replication_factor", rf))
	return nil
}

// groupClient is the coordinator's view of who sent a request.
func groupClient(clientID *string, remote fmt.Stringer) group.Client {
	var c group.Client
	if clientID != nil {
		c.ID = *clientID
	}
	if remote != nil {
		c.Host = "/" + hostOnly(remote.String())
	}
	return c
}

func hostOnly(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i]
		}
	}
	return addr
}

// GroupStats is the group coordinator's snapshot of its groups (metrics).
func (b *Broker) GroupStats() group.Stats { return b.groups.Stats() }

// completeGroupTxn tells the group coordinator that a transaction marker
// for producer pid was written to __consumer_offsets partition p, so its
// pending transactional offset commits are materialized (commit) or
// dropped (Kafka's GroupMetadataManager.handleTxnCompletion).
func (b *Broker) completeGroupTxn(p int32, pid int64, commit bool) {
	b.groups.CompleteTxn(p, pid, commit)
}
