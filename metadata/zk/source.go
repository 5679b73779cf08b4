package zk

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// SourceConfig configures a Source.
type SourceConfig struct {
	// Backend is the ZooKeeper backend's configuration (zookeeper.*,
	// broker.id, topic defaults).
	Backend Config
	// Endpoints are this broker's advertised listeners, registered in
	// /brokers/ids/<id>.
	Endpoints []metadata.Endpoint
	// RegisterWait bounds the wait for another session's registration of
	// this broker.id to go (Backend.RegisterBrokerWait); 0 =
	// RegisterWait(Backend.SessionTimeout).
	RegisterWait time.Duration
	// Shutdown is the controlled shutdown (controlled.shutdown.*).
	Shutdown ShutdownConfig
}

// Source is a ZooKeeper-mode broker's metadata source (zookeeper.connect
// and broker.id, no process.roles): the Backend, with what a broker process
// needs around it — starting and catching up with the tree, registering in
// /brokers/ids (waiting out a predecessor's session), handing the images to
// the broker only once registered, and the broker's controlled shutdown.
// Every ZooKeeper-mode broker is a controller candidate, as in Kafka; its
// controller calls are the Backend's.
//
// It implements broker/server's Source (structurally: this package does not
// import the broker tree), Epocher and broker.ControlledShutdowner:
//   - Start once, then Shutdown at most once, then Close. Close may be
//     called at any point (also unstarted), more than once, and waits for
//     every goroutine of the source; no Publish runs once it returned.
//   - The publisher given to Start sees, from registration on, every image
//     in order and never concurrently; its first call is the whole image as
//     a delta from the empty image. Images of the tree before registration
//     are not handed on: the tree may still name this broker.id as a leader
//     on behalf of a killed predecessor, whose role the new process must
//     not take. A ZooKeeper-mode broker is never fenced.
//   - The controller calls (CreateTopics, DeleteTopics,
//     AllocateProducerIDs, AlterPartition, ControlledShutdown) are safe for
//     concurrent use after Start and return once ctx is done.
//
// Lock: mu guards pub and is held across every Publish to it (called from
// the Backend's loop) and across Start's first publish; nothing else is
// taken under it but the publisher's own locks (docs/lock-ordering.md).
type Source struct {
	cfg     SourceConfig
	log     *zap.Logger
	backend *Backend
	epoch   atomic.Int64

	mu     sync.Mutex
	pub    metadata.Publisher // nil until registered, and after Close
	closed bool
}

var _ Publisher = (*sourcePublisher)(nil)

// sourcePublisher is what the Backend publishes to: the Source, under mu.
type sourcePublisher struct{ s *Source }

func (p sourcePublisher) Publish(d *metadata.Delta, img *metadata.Image) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.s.pub != nil {
		p.s.pub.Publish(d, img)
	}
}

// NewSource checks cfg and builds the Backend. It connects to nothing:
// Start does.
func NewSource(cfg SourceConfig, logger *zap.Logger) (*Source, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("listeners: no endpoint to register for broker %d: %w", cfg.Backend.BrokerID, ErrInvalidConfig)
	}
	s := &Source{cfg: cfg, log: logger}
	s.epoch.Store(-1)
	b, err := New(cfg.Backend, logger, sourcePublisher{s})
	if err != nil {
		return nil, err
	}
	s.backend = b
	return s, nil
}

// Backend is the source's ZooKeeper backend.
func (s *Source) Backend() *Backend { return s.backend }

// Start starts the backend (session, persistent paths, /cluster/id, the
// loop), waits for the first image (the whole tree), registers this broker
// in /brokers/ids (RegisterBrokerWait), then hands pub the current image
// as one delta from the empty image, and every image after it.
func (s *Source) Start(ctx context.Context, pub metadata.Publisher) error {
	if err := s.backend.Start(ctx); err != nil {
		return fmt.Errorf("start zookeeper backend (zookeeper.connect=%s): %w", s.cfg.Backend.ConnectString(), err)
	}
	if err := s.backend.WaitCaughtUp(ctx); err != nil {
		return fmt.Errorf("load the zookeeper tree: %w", err)
	}
	epoch, err := s.backend.RegisterBrokerWait(ctx, metadata.BrokerRegistration{
		ID: s.cfg.Backend.BrokerID, IncarnationID: metadata.RandomUuid(), Endpoints: s.cfg.Endpoints}, s.cfg.RegisterWait)
	if err != nil {
		return err
	}
	s.epoch.Store(epoch)
	s.attach(pub)
	return nil
}

// ClusterID is /cluster/id (valid after Start).
func (s *Source) ClusterID() string { return s.backend.ClusterID() }

// Image is the latest image of the tree.
func (s *Source) Image() *metadata.Image { return s.backend.Image() }

// BrokerEpoch is the epoch of the registration (the czxid of
// /brokers/ids/<id>), -1 before.
func (s *Source) BrokerEpoch() int64 { return s.epoch.Load() }

// attach reads the backend's image under the lock: the backend stores an
// image only after its publishers returned, so a publish waiting on the lock
// has a delta based on exactly that image.
func (s *Source) attach(pub metadata.Publisher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	img := s.backend.Image()
	pub.Publish(metadata.FullDelta(img), img)
	s.pub = pub
}

// Shutdown is this broker's controlled shutdown (Backend.ShutdownBroker,
// with stopFetching called first), run while it still serves. moved is how
// many replicated partitions it led when it began (0 with
// controlled.shutdown.enable=false, which moves nothing).
func (s *Source) Shutdown(ctx context.Context, stopFetching func()) (moved int, err error) {
	if s.cfg.Shutdown.Enable {
		moved = len(s.backend.LeadsReplicated())
	}
	if err := s.backend.ShutdownBroker(ctx, s.cfg.Shutdown, s.epoch.Load(), stopFetching); err != nil {
		return moved, err
	}
	return moved, nil
}

// Close stops publishing and closes the backend: its session ends, so
// /brokers/ids/<id> and, if held, /controller go at once.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed, s.pub = true, nil
	s.mu.Unlock()
	return s.backend.Close()
}

// CreateTopics implements broker.Controller (Backend.CreateTopics).
func (s *Source) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	return s.backend.CreateTopics(ctx, specs, validateOnly)
}

// DeleteTopics implements broker.Controller (Backend.DeleteTopics).
func (s *Source) DeleteTopics(ctx context.Context, names []string) []error {
	return s.backend.DeleteTopics(ctx, names)
}

// AllocateProducerIDs implements broker.Controller
// (Backend.AllocateProducerIDs).
func (s *Source) AllocateProducerIDs(ctx context.Context, brokerID int32) (int64, int64, error) {
	return s.backend.AllocateProducerIDs(ctx, brokerID)
}

// AlterPartition implements replica.Controller (Backend.AlterPartition: a
// setData of the partition state at its zkVersion = partition epoch).
func (s *Source) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	return s.backend.AlterPartition(ctx, req)
}

// CreatePartitions implements broker.PartitionController
// (Backend.CreatePartitions).
func (s *Source) CreatePartitions(ctx context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error {
	return s.backend.CreatePartitions(ctx, specs, validateOnly)
}

// ElectLeaders implements broker.PartitionController (Backend.ElectLeaders,
// reaching the controller broker as controlled shutdown does).
func (s *Source) ElectLeaders(ctx context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult {
	return s.backend.ElectLeaders(ctx, s.cfg.Shutdown, typ, parts)
}

// ControlledShutdown implements broker.ControlledShutdowner: while this
// broker is the controller, other brokers' ControlledShutdown requests are
// its to serve (Backend.ControlledShutdown).
func (s *Source) ControlledShutdown(ctx context.Context, brokerID int32, brokerEpoch int64) ([]metadata.TopicPartition, error) {
	return s.backend.ControlledShutdown(ctx, brokerID, brokerEpoch)
}

// CreateAcls implements broker.SecurityController (Backend.CreateAcls).
func (s *Source) CreateAcls(ctx context.Context, bindings []metadata.AclBinding) []error {
	return s.backend.CreateAcls(ctx, bindings)
}

// DeleteAcls implements broker.SecurityController (Backend.DeleteAcls).
func (s *Source) DeleteAcls(ctx context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult {
	return s.backend.DeleteAcls(ctx, filters)
}

// AlterScramCredentials implements broker.SecurityController
// (Backend.AlterScramCredentials).
func (s *Source) AlterScramCredentials(ctx context.Context, dels []metadata.ScramDeletion, ups []metadata.ScramUpsertion) []metadata.ScramAlterResult {
	return s.backend.AlterScramCredentials(ctx, dels, ups)
}

// AlterClientQuotas implements broker.QuotaController
// (Backend.AlterClientQuotas).
func (s *Source) AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error {
	return s.backend.AlterClientQuotas(ctx, alts, validateOnly)
}
