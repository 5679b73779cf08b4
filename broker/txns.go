package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// This file wires the transaction coordinator (broker/txn) into the
// broker, as groups.go wires the group coordinator: it gives the
// coordinator the __transaction_state partitions' logs, producer ids from
// the broker's blocks, and a Cluster that reaches partition leaders
// (WriteTxnMarkers) through inter-broker clients (peers); it tells it which
// state partitions this broker leads and creates the topic on first use.

// newTxnCoordinator builds the coordinator from the broker's config. It
// starts no goroutine until a state partition is led here.
func (b *Broker) newTxnCoordinator() error {
	tcfg := txn.DefaultConfig()
	tcfg.NumPartitions = b.cfg.TransactionStateNumPartitions
	tcfg.MaxTimeout = b.cfg.TransactionMaxTimeout
	tcfg.AbortInterval = b.cfg.TransactionAbortInterval
	tcfg.IDExpiration = b.cfg.TransactionalIDExpiration
	tcfg.ExpireInterval = b.cfg.TransactionExpireInterval
	c, err := txn.New(tcfg, coordinatorLog{b, txn.StateTopic, txn.ErrNotCoordinator}, txnPIDs{b}, txnCluster{b}, b.logger)
	if err != nil {
		return fmt.Errorf("transaction coordinator: %w", err)
	}
	b.txns = c
	return nil
}

// publishTxns tells the coordinator which state partitions this broker now
// leads or no longer leads. Called by Publish after the logs exist.
func (b *Broker) publishTxns(changes metadata.LocalChanges) {
	for _, lp := range changes.Leaders {
		if lp.Topic == txn.StateTopic {
			b.txns.BecomeLeader(lp.Partition, lp.Reg.LeaderEpoch)
		}
	}
	for _, set := range [][]metadata.LocalPartition{changes.Followers, changes.Deletes} {
		for _, lp := range set {
			if lp.Topic == txn.StateTopic {
				b.txns.Resign(lp.Partition)
			}
		}
	}
}

// txnPIDs hands the coordinator ids from the broker's producer id blocks.
type txnPIDs struct{ b *Broker }

func (p txnPIDs) NextProducerID(ctx context.Context) (int64, error) { return p.b.nextProducerID(ctx) }

// txnCluster is txn.Cluster over the latest image and the peers.
type txnCluster struct{ b *Broker }

func (c txnCluster) Leader(tp txn.TopicPartition) (int32, bool) {
	t, ok := c.b.img.Load().Topic(tp.Topic)
	if !ok {
		return -1, false
	}
	reg, ok := t.Partition(tp.Partition)
	if !ok {
		return -1, false
	}
	return reg.Leader, true
}

func (c txnCluster) WriteTxnMarkers(ctx context.Context, node int32, req *kmsg.WriteTxnMarkersRequest) (*kmsg.WriteTxnMarkersResponse, error) {
	resp, err := c.b.peers.request(ctx, node, req)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*kmsg.WriteTxnMarkersResponse)
	if !ok {
		return nil, fmt.Errorf("broker %d answered WriteTxnMarkers with %T", node, resp)
	}
	return r, nil
}

// WithInterBroker sets how this broker dials the others for the
// transaction coordinator's markers and KIP-890 verification: the
// inter-broker listener's name (inter.broker.listener.name) and its TLS
// and SASL. Without it: PLAINTEXT on the listener named PLAINTEXT.
func WithInterBroker(listener string, sec network.ClientSecurity) Option {
	return func(b *Broker) { b.peers.listener, b.peers.sec = listener, sec }
}

// peers holds one franz-go client per other broker, dialled on the
// inter-broker listener on first use and replaced when the broker's
// endpoint changes. Close closes them all.
type peers struct {
	b        *Broker
	listener string
	sec      network.ClientSecurity

	mu      sync.Mutex
	closed  bool
	clients map[int32]peerClient
}

type peerClient struct {
	addr string
	cl   *kgo.Client
}

// request sends req to broker node and returns its answer.
func (p *peers) request(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error) {
	br, ok := p.b.img.Load().Broker(node)
	if !ok || br.Fenced {
		return nil, fmt.Errorf("%w: broker %d is not live", ErrLeaderNotAvailable, node)
	}
	ep, ok := br.Endpoint(p.listener)
	if !ok {
		return nil, fmt.Errorf("%w: broker %d has no %q listener", ErrLeaderNotAvailable, node, p.listener)
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: broker closing", txn.ErrClosed)
	}
	pc, ok := p.clients[node]
	if !ok || pc.addr != addr {
		if ok {
			pc.cl.Close()
		}
		cl, err := kgo.NewClient(append([]kgo.Opt{
			kgo.SeedBrokers(addr),
			kgo.ClientID(fmt.Sprintf("zkraft-broker-%d", p.b.cfg.NodeID)),
			kgo.DialTimeout(10 * time.Second),
		}, p.sec.KgoOpts()...)...)
		if err != nil {
			p.mu.Unlock()
			return nil, fmt.Errorf("client for broker %d at %s: %w", node, addr, err)
		}
		if p.clients == nil {
			p.clients = make(map[int32]peerClient)
		}
		pc = peerClient{addr: addr, cl: cl}
		p.clients[node] = pc
	}
	p.mu.Unlock()
	seeds := pc.cl.SeedBrokers()
	if len(seeds) == 0 {
		return nil, fmt.Errorf("client for broker %d has no seed", node)
	}
	return seeds[0].Request(ctx, req)
}

func (p *peers) close() {
	p.mu.Lock()
	p.closed = true
	clients := p.clients
	p.clients = nil
	p.mu.Unlock()
	for _, pc := range clients {
		pc.cl.Close()
	}
}

// txnCoordinatorFor finds the broker coordinating a transactional id and
// its endpoint on listener, creating __transaction_state if needed.
func (b *Broker) txnCoordinatorFor(ctx context.Context, listener, id string) (metadata.BrokerRegistration, metadata.Endpoint, error) {
	img := b.img.Load()
	if _, ok := img.Topic(txn.StateTopic); !ok {
		if err := b.createTxnStateTopic(ctx, img); err != nil {
			return metadata.BrokerRegistration{}, metadata.Endpoint{}, err
		}
	}
	return b.leaderEndpoint(txn.StateTopic, b.txns.PartitionFor(id), listener, txn.ErrCoordinatorUnavailable)
}

// createTxnStateTopic asks the controller for __transaction_state with
// transaction.state.log.num.partitions partitions,
// transaction.state.log.replication.factor replicas capped to the live
// brokers, min.insync.replicas = transaction.state.log.min.isr (capped to
// the replication factor), compaction and
// transaction.state.log.segment.bytes, as Kafka creates it.
func (b *Broker) createTxnStateTopic(ctx context.Context, img *metadata.Image) error {
	live := 0
	for _, br := range img.Brokers() {
		if !br.Fenced {
			live++
		}
	}
	if live == 0 {
		return fmt.Errorf("%w: no live broker to host %s", txn.ErrCoordinatorUnavailable, txn.StateTopic)
	}
	rf := b.cfg.TransactionStateReplicationFactor
	if int(rf) > live {
		b.logger.Warn("transaction.state.log.replication.factor exceeds live brokers, capping",
			zap.Int16("transaction.state.log.replication.factor", rf), zap.Int("live_brokers", live))
		rf = int16(live)
	}
	minISR := min(b.cfg.TransactionStateMinISR, int32(rf))
	spec := metadata.CreateTopicSpec{
		Name:              txn.StateTopic,
		NumPartitions:     b.cfg.TransactionStateNumPartitions,
		ReplicationFactor: rf,
		Configs: map[string]string{
			"cleanup.policy":                 "compact",
			"compression.type":               "uncompressed",
			"min.insync.replicas":            strconv.Itoa(int(minISR)),
			"segment.bytes":                  strconv.FormatInt(b.cfg.TransactionStateSegmentBytes, 10),
			"unclean.leader.election.enable": "false",
		},
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
	defer cancel()
	errs := b.ctrl.CreateTopics(ctx, []metadata.CreateTopicSpec{spec}, false)
	if len(errs) > 0 && errs[0] != nil && !errors.Is(errs[0], metadata.ErrTopicExists) && errorCode(errs[0]) != errorCode(metadata.ErrTopicExists) {
		b.logger.Warn("create transaction state topic failed", zap.Error(errs[0]))
		return fmt.Errorf("%w: create %s: %w", txn.ErrCoordinatorUnavailable, txn.StateTopic, errs[0])
	}
	b.logger.Info("created transaction state topic", zap.Int32("partitions", spec.NumPartitions), zap.Int16("replication_factor", rf))
	return nil
}

// txnCode is the Kafka code of a coordinator error: an error nothing
// names is one the client can only retry after finding the coordinator
// again.
func txnCode(err error) int16 {
	if err == nil {
		return 0
	}
	if c, ok := network.Lookup(err); ok {
		return c
	}
	return errorCode(txn.ErrCoordinatorUnavailable)
}
