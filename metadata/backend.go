package metadata

import "context"

// Backend is what a broker process needs from wherever cluster metadata
// lives: the Raft quorum (quorum.Node) or ZooKeeper (metadata/zk.Backend).
// cmd wires one of them into a broker; metadata/backendtest runs one
// conformance suite against both.
//
// Contract:
//   - Start connects (or starts raft), and returns once the backend can serve
//     writes; it does not wait for the first image (WaitCaughtUp does). Close
//     ends every goroutine the backend started and may be called twice.
//   - ClusterID is valid after Start (the quorum knows it earlier).
//   - Image returns the latest image, never nil; images are immutable.
//   - Publishers given to the backend's constructor see every image in
//     order, never concurrently; the first call holds the whole caught-up
//     image as a delta from the empty image.
//   - RegisterBroker registers this broker and returns its broker epoch
//     (quorum: the log offset of its RegisterBrokerRecord; ZooKeeper: the
//     czxid of /brokers/ids/<id>). It returns once the registration is in
//     this node's image. UnfenceBroker lets the broker lead and join ISRs
//     (a no-op in ZooKeeper mode, where a registered broker is never fenced).
//   - CreateTopics, DeleteTopics and AllocateProducerIDs have the semantics
//     of broker.Controller: one error per input, in input order, returned
//     once the change is in this node's image.
//   - Every method that blocks returns once ctx is done. Safe for concurrent use.
//
// AlterPartition is not part of Backend: the replication work grows it as
// the optional AlterPartitioner, which both backends implement.
type Backend interface {
	Start(ctx context.Context) error
	Close() error
	ClusterID() string
	Image() *Image
	WaitCaughtUp(ctx context.Context) error
	RegisterBroker(ctx context.Context, reg BrokerRegistration) (epoch int64, err error)
	UnfenceBroker(ctx context.Context, id int32, epoch int64) error
	CreateTopics(ctx context.Context, specs []CreateTopicSpec, validateOnly bool) []error
	DeleteTopics(ctx context.Context, names []string) []error
	AllocateProducerIDs(ctx context.Context, brokerID int32) (first int64, count int64, err error)
}

// AlterPartitioner is the optional part of a Backend that the partition
// leader calls to change an ISR (KIP-497). It returns the registration the
// leader must adopt, or ErrInvalidUpdateEpoch, ErrFencedLeaderEpoch,
// ErrNotLeader, ErrIneligibleReplica, ErrUnknownPartition (wrapped).
type AlterPartitioner interface {
	AlterPartition(ctx context.Context, req AlterPartitionRequest) (*PartitionRegistration, error)
}
