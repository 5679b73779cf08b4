package quorum

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// ClientConfig configures a broker's client of the controller quorum.
type ClientConfig struct {
	// NodeID is the broker's id (node.id).
	NodeID int32
	// Voters are the controllers (controller.quorum.voters): the only
	// controller addresses a broker knows.
	Voters map[int32]string
	// Endpoints and Rack are registered for the broker (advertised.listeners, broker.rack).
	Endpoints []metadata.Endpoint
	Rack      string
	// MigratingZkBroker registers a ZooKeeper-mode broker taking part in a
	// migration (zookeeper.metadata.migration.enable; KIP-866
	// IsMigratingZkBroker, BrokerRegistration v1+).
	MigratingZkBroker bool
	// HeartbeatInterval is broker.heartbeat.interval.ms (default 2 s).
	HeartbeatInterval time.Duration
	// RequestTimeout bounds one request to a controller (default 10 s).
	RequestTimeout time.Duration
	// Follow: fetch the metadata log from the active controller and publish
	// it (process.roles=broker). Without it, Image and MetadataOffset must be
	// set (a combined node reads its own quorum node).
	Follow bool
	// FetchMaxWait is the long-poll time of one metadata fetch (default 500 ms).
	FetchMaxWait time.Duration
	// Image and MetadataOffset read the broker's metadata when Follow is off.
	Image          func() *metadata.Image
	MetadataOffset func() int64
	// Security is how the controller listener is dialled (its TLS and
	// SASL; zero: PLAINTEXT).
	Security network.ClientSecurity
}

// DefaultClientConfig: broker 1 of the embedded single voter.
func DefaultClientConfig() ClientConfig {
	return ClientConfig{
		NodeID:            1,
		Voters:            map[int32]string{1: "127.0.0.1:9093"},
		HeartbeatInterval: 2 * time.Second,
		RequestTimeout:    10 * time.Second,
		Follow:            true,
		FetchMaxWait:      500 * time.Millisecond,
	}
}

// Validate names the bad key.
func (c ClientConfig) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %w", key, fmt.Sprintf(format, args...), ErrInvalidConfig)
	}
	if c.NodeID < 0 {
		return bad("node.id", "%d is negative", c.NodeID)
	}
	if len(c.Voters) == 0 {
		return bad("controller.quorum.voters", "empty")
	}
	if len(c.Endpoints) == 0 {
		return bad("advertised.listeners", "no broker endpoint to register")
	}
	if c.HeartbeatInterval <= 0 {
		return bad("broker.heartbeat.interval.ms", "%v must be > 0", c.HeartbeatInterval)
	}
	if c.RequestTimeout <= 0 {
		return bad("request timeout", "%v must be > 0", c.RequestTimeout)
	}
	if c.FetchMaxWait <= 0 {
		return bad("fetch max wait", "%v must be > 0", c.FetchMaxWait)
	}
	if !c.Follow && (c.Image == nil || c.MetadataOffset == nil) {
		return bad("process.roles", "a client that does not follow the metadata log needs Image and MetadataOffset")
	}
	return nil
}

// Client is a broker's link to the controller quorum (Kafka's
// BrokerLifecycleManager, BrokerToControllerChannelManager and, with
// Follow, the metadata fetcher). It finds the active controller among the
// voters (NOT_CONTROLLER and connection errors move on; DescribeCluster
// names the leader), registers the broker with a fresh incarnation id,
// heartbeats, follows the metadata log, forwards admin writes and runs
// controlled shutdown. It implements broker.Controller and
// AlterPartition for broker/replica.
//
// Goroutines: Start runs the lifecycle loop and, with Follow, the fetch
// loop; Close stops and waits for both.
type Client struct {
	cfg         ClientConfig
	log         *zap.Logger
	incarnation metadata.Uuid
	ids         []int32 // voter ids, sorted

	mu      sync.Mutex
	conns   map[string]*ctrlConn // "voter/purpose"
	leader  int32                // voter believed active, -1 unknown
	rr      int                  // round-robin position among ids
	cluster string

	epoch      atomic.Int64 // broker epoch, -1 until registered
	fenced     atomic.Bool
	unfencedCh chan struct{} // closed the first time the broker is unfenced
	unfenceOne sync.Once
	shutdownCh chan struct{} // closed by Shutdown: heartbeats ask WantShutDown
	shutOnce   sync.Once
	doneCh     chan struct{} // closed when the controller says ShouldShutDown
	doneOnce   sync.Once

	follower *follower // nil without Follow

	stopCtx context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// NewClient checks cfg. With Follow, pubs see every metadata image the
// broker applies, in log order.
func NewClient(cfg ClientConfig, logger *zap.Logger, pubs ...Publisher) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	log := logger.Named("controller-client").With(zap.Int32("broker", cfg.NodeID))
	ctx, stop := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, log: log, incarnation: metadata.RandomUuid(), ids: sortedIDs(cfg.Voters),
		conns: map[string]*ctrlConn{}, leader: -1,
		unfencedCh: make(chan struct{}), shutdownCh: make(chan struct{}), doneCh: make(chan struct{}),
		stopCtx: ctx, stop: stop,
	}
	c.epoch.Store(-1)
	c.fenced.Store(true)
	if cfg.Follow {
		c.follower = newFollower(c, log.Named("metadata"), pubs)
	}
	return c, nil
}

// ClusterID asks the quorum for the cluster id (DescribeCluster), retrying
// until a controller answers or ctx ends.
func (c *Client) ClusterID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.cluster
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	for {
		for _, v := range c.ids {
			req := kmsg.NewPtrDescribeClusterRequest()
			resp, err := c.send(ctx, v, "admin", req)
			if err == nil {
				r := resp.(*kmsg.DescribeClusterResponse)
				if r.ErrorCode == 0 && r.ClusterID != "" {
					c.mu.Lock()
					c.cluster = r.ClusterID
					c.mu.Unlock()
					return r.ClusterID, nil
				}
			}
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return "", fmt.Errorf("quorum: no controller of %s answered: %w", FormatVoters(c.cfg.Voters), err)
		}
	}
}

// Start learns the cluster id (if not yet known), then starts the lifecycle
// loop (register, heartbeat) and, with Follow, the metadata fetcher.
func (c *Client) Start(ctx context.Context) error {
	cluster, err := c.ClusterID(ctx)
	if err != nil {
		return err
	}
	if c.follower != nil {
		c.follower.setClusterID(cluster)
	}
	c.started = true
	c.wg.Add(1)
	go c.lifecycle()
	if c.follower != nil {
		c.wg.Add(1)
		go c.follower.run(c.stopCtx)
	}
	return nil
}

// Close stops the loops and closes the connections. It does not shut the
// broker down in the controller's eyes: call Shutdown first for that.
func (c *Client) Close() error {
	c.stop()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range c.conns {
		cc.close()
	}
	return nil
}

// Subscribe adds a publisher of the followed log after NewClient, before or
// after Start, with NewClient's publishers' guarantees (Node.Subscribe). A
// client that does not follow publishes nothing: ErrInvalidConfig.
func (c *Client) Subscribe(pub Publisher) error {
	if c.follower == nil {
		return fmt.Errorf("quorum: subscribe to a client that does not follow the metadata log: %w", ErrInvalidConfig)
	}
	c.follower.fsm.subscribe(pub)
	return nil
}

// BrokerEpoch is the epoch of the current registration (-1 before).
func (c *Client) BrokerEpoch() int64 { return c.epoch.Load() }

// Fenced reports whether the controller last said the broker is fenced.
func (c *Client) Fenced() bool { return c.fenced.Load() }

// WaitUnfenced waits until the controller has unfenced the broker once.
func (c *Client) WaitUnfenced(ctx context.Context) error {
	select {
	case <-c.unfencedCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown runs controlled shutdown (KIP-631): heartbeats carry WantShutDown
// until the controller has moved leadership away and answers
// ShouldShutDown, or ctx ends.
func (c *Client) Shutdown(ctx context.Context) error {
	c.shutOnce.Do(func() { close(c.shutdownCh) })
	if !c.started {
		return nil
	}
	select {
	case <-c.doneCh:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("quorum: controlled shutdown of broker %d: %w", c.cfg.NodeID, ctx.Err())
	}
}

// Image is the broker's latest metadata image.
func (c *Client) Image() *metadata.Image {
	if c.follower != nil {
		return c.follower.fsm.image()
	}
	return c.cfg.Image()
}

// MetadataOffset is the last metadata log offset the broker applied.
func (c *Client) MetadataOffset() int64 {
	if c.follower != nil {
		return c.follower.offset()
	}
	return c.cfg.MetadataOffset()
}

// WaitCaughtUp waits until the follower has applied the log up to the
// controller's high watermark at start and published that image (at once
// without Follow).
func (c *Client) WaitCaughtUp(ctx context.Context) error {
	if c.follower == nil {
		return nil
	}
	select {
	case <-c.follower.fsm.caughtUpCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// conn returns the connection to voter id for one purpose (each purpose
// has its own, so a long-poll fetch never delays a heartbeat).
func (c *Client) conn(id int32, purpose string) *ctrlConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := fmt.Sprintf("%d/%s", id, purpose)
	cc, ok := c.conns[key]
	if !ok {
		cc = &ctrlConn{addr: c.cfg.Voters[id], clientID: fmt.Sprintf("zkraft-broker-%d", c.cfg.NodeID), sec: c.cfg.Security}
		c.conns[key] = cc
	}
	return cc
}

func (c *Client) send(ctx context.Context, voter int32, purpose string, req kmsg.Request) (kmsg.Response, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	return c.conn(voter, purpose).request(rctx, req)
}

// target is the voter to send to next.
func (c *Client) target() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader >= 0 {
		return c.leader
	}
	return c.ids[c.rr%len(c.ids)]
}

// moveOn forgets voter v as leader; hint is the leader v named (-1 none).
func (c *Client) moveOn(v, hint int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cfg.Voters[hint]; ok && hint != v {
		c.leader = hint
		return
	}
	if c.leader == v || c.leader < 0 {
		c.leader = -1
		c.rr++
	}
}

func (c *Client) found(v int32) {
	c.mu.Lock()
	c.leader = v
	c.mu.Unlock()
}

// errRetryController: the answer came from a controller that is not active.
var errRetryController = errors.New("quorum: not the active controller, retrying")

// call sends req to the active controller, moving to another voter on
// connection errors and NOT_CONTROLLER (which check reports by returning
// kerr.NotController), until ctx ends.
func (c *Client) call(ctx context.Context, purpose string, req kmsg.Request, notController func(kmsg.Response) bool) (kmsg.Response, error) {
	tries := 0
	for {
		v := c.target()
		resp, err := c.send(ctx, v, purpose, req)
		if err == nil && !notController(resp) {
			c.found(v)
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		hint := int32(-1)
		if err == nil { // a live non-leader: ask it who leads
			if r, derr := c.send(ctx, v, "admin", kmsg.NewPtrDescribeClusterRequest()); derr == nil {
				hint = r.(*kmsg.DescribeClusterResponse).ControllerID
			}
		} else {
			c.log.Debug("controller unreachable", zap.Int32("voter", v), zap.Error(err))
		}
		c.moveOn(v, hint)
		tries++
		if tries%len(c.ids) == 0 || hint < 0 {
			if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
				return nil, err
			}
		}
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

func isNotController(code int16) bool { return code == kerr.NotController.Code }

// CreateTopics forwards to the active controller and returns once this
// broker's image holds the created topics (broker.Controller).
func (c *Client) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	errs := make([]error, len(specs))
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	req.ValidateOnly = validateOnly
	req.TimeoutMillis = int32(c.cfg.RequestTimeout.Milliseconds())
	for _, s := range specs {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = s.Name, s.NumPartitions, s.ReplicationFactor
		if t.NumPartitions == 0 {
			t.NumPartitions = -1
		}
		if t.ReplicationFactor == 0 {
			t.ReplicationFactor = -1
		}
		for p, rs := range s.Assignments {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = p, rs
			t.ReplicaAssignment = append(t.ReplicaAssignment, a)
		}
		for k, v := range s.Configs {
			v := v
			cfg := kmsg.NewCreateTopicsRequestTopicConfig()
			cfg.Name, cfg.Value = k, &v
			t.Configs = append(t.Configs, cfg)
		}
		req.Topics = append(req.Topics, t)
	}
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		for _, t := range r.(*kmsg.CreateTopicsResponse).Topics {
			if isNotController(t.ErrorCode) {
				return true
			}
		}
		return false
	})
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	byName := map[string]kmsg.CreateTopicsResponseTopic{}
	for _, t := range resp.(*kmsg.CreateTopicsResponse).Topics {
		byName[t.Topic] = t
	}
	for i, s := range specs {
		t, ok := byName[s.Name]
		if !ok {
			errs[i] = fmt.Errorf("create topic %q: no answer from the controller: %w", s.Name, kerr.UnknownServerError)
			continue
		}
		if errs[i] = codeErrorMessage(t.ErrorCode, t.ErrorMessage); errs[i] != nil || validateOnly {
			continue
		}
		id := metadata.Uuid(t.TopicID)
		errs[i] = c.waitImage(ctx, func(img *metadata.Image) bool {
			ti, ok := img.Topic(s.Name)
			return ok && (id == metadata.ZeroUuid || ti.ID == id)
		})
	}
	return errs
}

// DeleteTopics forwards to the active controller and returns once this
// broker's image no longer holds the topics (broker.Controller).
func (c *Client) DeleteTopics(ctx context.Context, names []string) []error {
	errs := make([]error, len(names))
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = 5
	req.TopicNames = names
	req.TimeoutMillis = int32(c.cfg.RequestTimeout.Milliseconds())
	before := c.Image()
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		for _, t := range r.(*kmsg.DeleteTopicsResponse).Topics {
			if isNotController(t.ErrorCode) {
				return true
			}
		}
		return false
	})
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	answers := map[string]kmsg.DeleteTopicsResponseTopic{}
	for _, t := range resp.(*kmsg.DeleteTopicsResponse).Topics {
		if t.Topic != nil {
			answers[*t.Topic] = t
		}
	}
	for i, name := range names {
		t, ok := answers[name]
		if !ok {
			errs[i] = fmt.Errorf("delete topic %q: no answer from the controller: %w", name, kerr.UnknownServerError)
			continue
		}
		if errs[i] = codeErrorMessage(t.ErrorCode, t.ErrorMessage); errs[i] != nil {
			continue
		}
		old, had := before.Topic(name)
		errs[i] = c.waitImage(ctx, func(img *metadata.Image) bool {
			ti, ok := img.Topic(name)
			return !ok || (had && ti.ID != old.ID)
		})
	}
	return errs
}

// waitImage polls the broker's image until cond holds or ctx ends.
func (c *Client) waitImage(ctx context.Context, cond func(*metadata.Image) bool) error {
	for !cond(c.Image()) {
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return fmt.Errorf("quorum: wait for the change to reach broker %d's metadata: %w", c.cfg.NodeID, err)
		}
	}
	return nil
}

// AllocateProducerIDs asks the active controller for a block of producer
// ids (broker.Controller).
func (c *Client) AllocateProducerIDs(ctx context.Context, brokerID int32) (first int64, count int64, err error) {
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID, req.BrokerEpoch = brokerID, c.epoch.Load()
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		return isNotController(r.(*kmsg.AllocateProducerIDsResponse).ErrorCode)
	})
	if err != nil {
		return 0, 0, err
	}
	r := resp.(*kmsg.AllocateProducerIDsResponse)
	if err := codeError(r.ErrorCode); err != nil {
		return 0, 0, fmt.Errorf("allocate producer ids for broker %d: %w", brokerID, err)
	}
	return r.ProducerIDStart, int64(r.ProducerIDLen), nil
}

// AlterPartition sends one ISR change to the active controller (KIP-497)
// and returns the partition state the leader should adopt.
func (c *Client) AlterPartition(ctx context.Context, ar metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 2
	req.BrokerID, req.BrokerEpoch = ar.BrokerID, ar.BrokerEpoch
	t := kmsg.NewAlterPartitionRequestTopic()
	t.TopicID = ar.TopicID
	p := kmsg.NewAlterPartitionRequestTopicPartition()
	p.Partition, p.LeaderEpoch, p.NewISR, p.PartitionEpoch = ar.Partition, ar.LeaderEpoch, ar.NewISR, ar.PartitionEpoch
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	resp, err := c.call(ctx, "alter", req, func(r kmsg.Response) bool {
		ap := r.(*kmsg.AlterPartitionResponse)
		if isNotController(ap.ErrorCode) {
			return true
		}
		for _, t := range ap.Topics {
			for _, p := range t.Partitions {
				if isNotController(p.ErrorCode) {
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	r := resp.(*kmsg.AlterPartitionResponse)
	if err := codeError(r.ErrorCode); err != nil {
		return nil, fmt.Errorf("alter partition %s-%d: %w", ar.TopicID, ar.Partition, err)
	}
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return nil, fmt.Errorf("alter partition %s-%d: %d topics in the answer: %w", ar.TopicID, ar.Partition, len(r.Topics), kerr.UnknownServerError)
	}
	rp := r.Topics[0].Partitions[0]
	if err := codeError(rp.ErrorCode); err != nil {
		return nil, fmt.Errorf("alter partition %s-%d: %w", ar.TopicID, ar.Partition, err)
	}
	reg := &metadata.PartitionRegistration{Leader: rp.LeaderID, LeaderEpoch: rp.LeaderEpoch, ISR: rp.ISR,
		LeaderRecoveryState: rp.LeaderRecoveryState, PartitionEpoch: rp.PartitionEpoch}
	if ti, ok := c.Image().TopicByID(ar.TopicID); ok {
		if cur, ok := ti.Partitions[ar.Partition]; ok {
			reg.Replicas = cur.Replicas
		}
	}
	return reg, nil
}
