package quorum

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// The two broker-side metadata sources of quorum mode. Both implement
// broker/server's Source (Start, Shutdown, Close and the controller calls)
// and Epocher; BrokerSource also its ListenerOpener. This package does not
// import the broker tree, so the assertions live with the wiring
// (cmd/zkraft) and the conformance runs (cmd/zkraft/conformance).

// BrokerSourceConfig configures a BrokerSource.
type BrokerSourceConfig struct {
	// Client is the controller client's; Follow must be on.
	Client ClientConfig
	// Gossip is memberlist's. It runs on the port of the broker listener
	// named GossipListener (inter.broker.listener.name), advertised at
	// GossipAdvertise; with GossipListener "" the broker does not gossip.
	Gossip          GossipConfig
	GossipListener  string
	GossipAdvertise string
}

// BrokerSource is a process.roles=broker node's metadata source: a Client
// that follows the metadata log from the active controller and publishes
// it to the broker, registers and heartbeats (BrokerRegistration,
// BrokerHeartbeat), forwards the broker's writes, runs controlled shutdown
// on heartbeats (KIP-631), and gossips on the inter-broker listener's port.
//
// Goroutines: the Client's (lifecycle, fetch) and memberlist's; Close
// stops and waits for them.
type BrokerSource struct {
	cfg    BrokerSourceConfig
	log    *zap.Logger
	client *Client

	mu     sync.Mutex // guards shared and gossip
	shared *SharedListener
	gossip *Gossip
}

// NewBrokerSource checks cfg and builds the client; it starts nothing.
func NewBrokerSource(cfg BrokerSourceConfig, logger *zap.Logger) (*BrokerSource, error) {
	if !cfg.Client.Follow {
		return nil, fmt.Errorf("quorum: a broker source follows the metadata log (ClientConfig.Follow): %w", ErrInvalidConfig)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	client, err := NewClient(cfg.Client, logger)
	if err != nil {
		return nil, err
	}
	return &BrokerSource{cfg: cfg, log: logger, client: client}, nil
}

// Client is the source's controller client (tests, status).
func (s *BrokerSource) Client() *Client { return s.client }

// Start attaches pub, starts the client (cluster id, registration,
// heartbeats, the metadata fetch) and returns once the broker caught up
// with the log as it stood at start and the controller unfenced it.
func (s *BrokerSource) Start(ctx context.Context, pub metadata.Publisher) error {
	if err := s.client.Subscribe(pub); err != nil {
		return err
	}
	if err := s.client.Start(ctx); err != nil {
		return fmt.Errorf("reach the controller quorum %s: %w", FormatVoters(s.cfg.Client.Voters), err)
	}
	return waitServing(ctx, s.client)
}

// waitServing: the broker's image is caught up and it is unfenced.
func waitServing(ctx context.Context, c *Client) error {
	if err := c.WaitCaughtUp(ctx); err != nil {
		return fmt.Errorf("catch up with the metadata log: %w", err)
	}
	if err := c.WaitUnfenced(ctx); err != nil {
		return fmt.Errorf("wait to be unfenced by the active controller: %w", err)
	}
	return nil
}

// OpenListener shares the gossip listener's port: connections that open
// with memberlist's byte are gossip, the rest Kafka (ListenShared). Other
// listeners are left to the caller.
func (s *BrokerSource) OpenListener(name, addr string) (net.Listener, bool, error) {
	if s.cfg.GossipListener == "" || name != s.cfg.GossipListener {
		return nil, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared != nil {
		return nil, false, fmt.Errorf("quorum: listener %s opened twice", name)
	}
	shared, err := ListenShared(addr, s.log)
	if err != nil {
		return nil, false, err
	}
	gcfg := s.cfg.Gossip
	gcfg.Advertise = s.cfg.GossipAdvertise
	g, err := StartGossip(gcfg, shared, s.log)
	if err != nil {
		_ = shared.Close()
		return nil, false, fmt.Errorf("start gossip on %s: %w", addr, err)
	}
	s.shared, s.gossip = shared, g
	return shared.Kafka(), true, nil
}

// Shutdown runs controlled shutdown on heartbeats: it returns once the
// controller answered ShouldShutDown. stopFetching is not needed: the
// controller does not add a broker in controlled shutdown to an ISR.
func (s *BrokerSource) Shutdown(ctx context.Context, _ func()) (int, error) {
	return controlledShutdown(ctx, s.client)
}

func controlledShutdown(ctx context.Context, c *Client) (int, error) {
	led := len(metadata.LeadsReplicated(c.Image(), c.cfg.NodeID))
	if err := c.Shutdown(ctx); err != nil {
		return 0, err
	}
	return led, nil
}

// Close ends gossip, closes the shared port and stops the client.
func (s *BrokerSource) Close() error {
	s.mu.Lock()
	g, shared := s.gossip, s.shared
	s.gossip, s.shared = nil, nil
	s.mu.Unlock()
	if g != nil {
		if err := g.Close(); err != nil {
			s.log.Warn("stop gossip", zap.Error(err))
		}
	}
	if shared != nil {
		_ = shared.Close()
	}
	return s.client.Close()
}

// BrokerEpoch is the epoch of the broker's registration (-1 before).
func (s *BrokerSource) BrokerEpoch() int64 { return s.client.BrokerEpoch() }

// CreateTopics implements broker.Controller (Client.CreateTopics).
func (s *BrokerSource) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	return s.client.CreateTopics(ctx, specs, validateOnly)
}

// DeleteTopics implements broker.Controller (Client.DeleteTopics).
func (s *BrokerSource) DeleteTopics(ctx context.Context, names []string) []error {
	return s.client.DeleteTopics(ctx, names)
}

// AllocateProducerIDs implements broker.Controller.
func (s *BrokerSource) AllocateProducerIDs(ctx context.Context, brokerID int32) (int64, int64, error) {
	return s.client.AllocateProducerIDs(ctx, brokerID)
}

// AlterPartition implements replica.Controller.
func (s *BrokerSource) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	return s.client.AlterPartition(ctx, req)
}

// CombinedSource is a process.roles=broker,controller node's metadata
// source: this node's quorum voter, whose images go straight to the broker
// (no metadata fetch), and a Client that does not follow, for the broker's
// lifecycle (registration, heartbeats, controlled shutdown) and its
// writes, which it sends to the active controller — possibly this node —
// over the Kafka protocol. Gossip runs on the voter port.
//
// Goroutines: the Node's (raft, the controller listener, gossip) and the
// Client's lifecycle loop; Close stops and waits for them.
type CombinedSource struct {
	node   *Node
	client *Client
	gossip GossipConfig
	log    *zap.Logger
}

// resignTimeout bounds handing raft leadership over in Close.
const resignTimeout = 3 * time.Second

// NewCombinedSource builds the voter (formatting qcfg.Dir when new) and the
// client; it starts nothing. ccfg's Follow, Image and MetadataOffset are
// set here: the client reads the node's image.
func NewCombinedSource(qcfg Config, ccfg ClientConfig, gcfg GossipConfig, logger *zap.Logger) (*CombinedSource, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	node, err := New(qcfg, logger)
	if err != nil {
		return nil, err
	}
	ccfg.Follow = false
	ccfg.Image = node.Image
	ccfg.MetadataOffset = func() int64 { return node.Image().Offset() }
	client, err := NewClient(ccfg, logger)
	if err != nil {
		return nil, errors.Join(err, node.Close())
	}
	return &CombinedSource{node: node, client: client, gossip: gcfg, log: logger}, nil
}

// Node is the source's quorum voter (tests, status).
func (s *CombinedSource) Node() *Node { return s.node }

// Start attaches pub to the node, starts raft and gossip, waits for a
// leader and for the node to replay its log, then starts the client
// (registration, heartbeats) and waits to be unfenced.
func (s *CombinedSource) Start(ctx context.Context, pub metadata.Publisher) error {
	s.node.Subscribe(pub)
	if err := s.node.Start(ctx); err != nil {
		return fmt.Errorf("start metadata quorum: %w", err)
	}
	// One gossip member per process: the voter port's, named by node.id.
	if err := s.node.StartGossip(s.gossip); err != nil {
		return fmt.Errorf("start gossip: %w", err)
	}
	if _, err := s.node.WaitLeader(ctx); err != nil {
		return fmt.Errorf("wait for a metadata quorum leader: %w", err)
	}
	if err := s.node.WaitCaughtUp(ctx); err != nil {
		return fmt.Errorf("replay metadata log: %w", err)
	}
	if err := s.client.Start(ctx); err != nil {
		return fmt.Errorf("reach the controller quorum %s: %w", FormatVoters(s.client.cfg.Voters), err)
	}
	return waitServing(ctx, s.client)
}

// Shutdown runs the broker's controlled shutdown on heartbeats, as
// BrokerSource does; the voter keeps running until Close.
func (s *CombinedSource) Shutdown(ctx context.Context, _ func()) (int, error) {
	return controlledShutdown(ctx, s.client)
}

// Close stops the client, hands raft leadership to another voter when this
// node is active (so writes resume without an election timeout), and
// closes the node: no image is published after it returns.
func (s *CombinedSource) Close() error {
	_ = s.client.Close()
	rctx, cancel := context.WithTimeout(context.Background(), resignTimeout)
	defer cancel()
	if err := s.node.Resign(rctx); err != nil {
		s.log.Warn("leadership not handed over", zap.Error(err))
	}
	return s.node.Close()
}

// BrokerEpoch is the epoch of the broker's registration (-1 before).
func (s *CombinedSource) BrokerEpoch() int64 { return s.client.BrokerEpoch() }

// CreateTopics implements broker.Controller (Client.CreateTopics).
func (s *CombinedSource) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	return s.client.CreateTopics(ctx, specs, validateOnly)
}

// DeleteTopics implements broker.Controller (Client.DeleteTopics).
func (s *CombinedSource) DeleteTopics(ctx context.Context, names []string) []error {
	return s.client.DeleteTopics(ctx, names)
}

// AllocateProducerIDs implements broker.Controller.
func (s *CombinedSource) AllocateProducerIDs(ctx context.Context, brokerID int32) (int64, int64, error) {
	return s.client.AllocateProducerIDs(ctx, brokerID)
}

// AlterPartition implements replica.Controller.
func (s *CombinedSource) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	return s.client.AlterPartition(ctx, req)
}
