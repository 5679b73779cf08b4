package broker

import (
	"context"
	"fmt"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// Replication is the seam between the request handlers and the
// ReplicationManager (broker/replica), which will implement it. It owns the
// two replication facts handlers need: the high watermark (what consumers
// may read) and when an acks=all produce is committed.
//
// Contract: safe for concurrent use; never blocks except in the Wait*
// methods, which return once ctx is done.
type Replication interface {
	// HighWatermark is the first offset not yet committed on every ISR
	// member of the partition whose log is l: consumers read below it.
	HighWatermark(topic string, partition int32, l *storage.Log) int64
	// WaitHighWatermark returns a channel closed once HighWatermark >
	// past, or once ctx is done.
	WaitHighWatermark(ctx context.Context, topic string, partition int32, l *storage.Log, past int64) <-chan struct{}
	// WaitCommitted blocks until every ISR member holds the partition up
	// to end (exclusive), returning nil, or fails (ctx done, ISR below
	// min.insync.replicas). reg is the registration the append was made under.
	WaitCommitted(ctx context.Context, topic string, partition int32, reg *metadata.PartitionRegistration, end int64) error
}

// HighWatermarkNotifier is the optional, cheaper form of
// WaitHighWatermark a long poll over many partitions uses: a non-blocking
// send on ch (shared by every partition of the fetch, capacity >= 1) once
// HighWatermark > past; cancel removes the registration. No context
// callback or goroutine per partition.
type HighWatermarkNotifier interface {
	NotifyHighWatermark(topic string, partition int32, l *storage.Log, past int64, ch chan<- struct{}) (cancel func())
}

func (localReplication) NotifyHighWatermark(_ string, _ int32, l *storage.Log, past int64, ch chan<- struct{}) func() {
	return l.Notify(past, ch)
}

// localReplication is used when no replication manager is given
// (broker.WithReplication; cmd always gives one): this broker is the only
// replica that counts, so the high watermark is the
// log end offset and an append is committed when it returns — provided the
// ISR is exactly this broker. With other ISR members and nobody to track
// them, acks=all answers NOT_ENOUGH_REPLICAS_AFTER_APPEND rather than
// pretending the records are replicated.
type localReplication struct{ nodeID int32 }

func (localReplication) HighWatermark(_ string, _ int32, l *storage.Log) int64 {
	return l.LogEndOffset()
}

func (localReplication) WaitHighWatermark(ctx context.Context, _ string, _ int32, l *storage.Log, past int64) <-chan struct{} {
	return l.Wait(ctx, past)
}

func (r localReplication) WaitCommitted(_ context.Context, topic string, partition int32, reg *metadata.PartitionRegistration, _ int64) error {
	if len(reg.ISR) == 1 && reg.ISR[0] == r.nodeID {
		return nil
	}
	return fmt.Errorf("%w: %s-%d has ISR %v and no replication manager runs", ErrNotEnoughReplicasAfterAppend,
		topic, partition, reg.ISR)
}

// ReplicaPublisher is the optional part of a Replication that reacts to
// metadata: Publish calls Apply with each image and its local changes
// after creating the logs of changes.Leaders and changes.Followers and
// before deleting those of changes.Deletes. Called in log order, never
// concurrently; it must not block on the metadata backend.
type ReplicaPublisher interface {
	Apply(img *metadata.Image, changes metadata.LocalChanges)
}

// FollowerTracker is the optional part of a Replication that learns
// followers' progress: the Fetch handler reports, once per follower fetch
// request and before reading, each partition's fetch offset (the
// follower's log end offset) and current leader epoch (-1 = unchecked).
// It must not block.
type FollowerTracker interface {
	FollowerFetched(topic string, partition int32, replica int32, currentLeaderEpoch int32, fetchOffset int64)
}

// LeaderThrottler is the optional leader side of the replication throttle
// (KIP-73; replica.Manager implements it): a follower's fetch of a
// throttled replica gets no records while leader.replication.throttled.rate
// is used up, and the record bytes served to followers are charged.
// Consumers are never throttled. Safe for concurrent use.
type LeaderThrottler interface {
	LeaderThrottled(topic string, partition int32) bool
	RecordLeaderThrottled(topic string, partition int32, n int)
}
