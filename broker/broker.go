package broker

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/acl"
	"github.com/zkraft/zkraft/broker/group"
	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/broker/txn"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// Broker answers client requests from the current metadata image and the
// partition logs. It is the network.Handler of a broker node and a metadata
// publisher (Publish). It owns no goroutines: handlers run on the network
// server's goroutines, Publish on the metadata backend's.
type Broker struct {
	cfg    Config
	logs   *storage.Manager
	ctrl   Controller
	repl   Replication
	logger *zap.Logger

	img atomic.Pointer[metadata.Image]

	// dyn is the effective configuration: cfg with the image's dynamic
	// broker configs applied (dynamic_config.go); set by New and Publish.
	dyn atomic.Pointer[dynamicConfig]

	// authz is the authorizer of the latest image's ACLs, nil when
	// Config.Authorize is off (authorize.go); set by Publish.
	authz   atomic.Pointer[acl.Authorizer]
	authLog *zap.Logger

	// topicConfigs is the override set last applied to each topic's logs.
	// Touched only by Publish, which is never called concurrently.
	topicConfigs map[string]map[string]string

	pidSem  chan struct{} // capacity 1: held while using pidNext, pidEnd (and across a Controller call)
	pidNext int64
	pidEnd  int64

	// groups is the group coordinator (groups.go); Close stops it.
	groups *group.Coordinator
	// txns is the transaction coordinator (txns.go); Close stops it.
	txns *txn.Coordinator
	// peers are the inter-broker clients (markers, KIP-890 verification).
	peers peers

	// fetchSessions is the KIP-227 session cache (fetch_session.go).
	fetchSessions *fetchSessions

	observer RequestObserver // nil: none (WithRequestObserver)

	loggers LoggerLevels // nil: BROKER_LOGGER not served (WithLoggerLevels)
}

// Option adjusts a Broker at construction.
type Option func(*Broker)

// WithReplication installs the replication manager's side of the high
// watermark and acks=all seam. Without it the broker behaves as the only
// replica of every partition it leads (see localReplication).
func WithReplication(r Replication) Option {
	return func(b *Broker) { b.repl = r }
}

// RequestObserver sees every request Handle served, as Handle returns
// (before the server encodes the response): request rate, latency and
// bytes for metrics. It is called on the network goroutines, concurrently,
// and must only read req and resp.
type RequestObserver interface {
	ObserveRequest(req *network.Request, resp kmsg.Response, err error, d time.Duration)
}

// WithRequestObserver installs o (metrics.Registry in cmd/zkraft).
func WithRequestObserver(o RequestObserver) Option {
	return func(b *Broker) { b.observer = o }
}

// New returns a Broker serving cfg.NodeID from logs. It answers with an
// empty image until the first Publish.
func New(cfg Config, logs *storage.Manager, ctrl Controller, logger *zap.Logger, opts ...Option) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logs == nil || ctrl == nil || logger == nil {
		return nil, fmt.Errorf("%w: New needs a storage manager, a controller and a logger", ErrInvalidConfig)
	}
	b := &Broker{
		cfg:           cfg,
		fetchSessions: newFetchSessions(cfg.FetchSessionCacheSlots),
		logs:          logs,
		ctrl:          ctrl,
		logger:        logger.Named("broker"),
		authLog:       logger.Named("authorizer"),
		topicConfigs:  make(map[string]map[string]string),
		pidSem:        make(chan struct{}, 1),
	}
	b.repl = localReplication{nodeID: cfg.NodeID}
	b.peers = peers{b: b, listener: "PLAINTEXT"}
	for _, o := range opts {
		o(b)
	}
	b.img.Store(metadata.EmptyImage())
	b.dyn.Store(newDynamicConfig(cfg, map[string]string{}, map[string]string{}, b.logger))
	b.publishAuthorizer(nil, metadata.EmptyImage())
	if err := b.newGroupCoordinator(); err != nil {
		return nil, err
	}
	if err := b.newTxnCoordinator(); err != nil {
		_ = b.groups.Close()
		return nil, err
	}
	return b, nil
}

// Image returns the latest published metadata image.
func (b *Broker) Image() *metadata.Image { return b.img.Load() }

var _ network.Handler = (*Broker)(nil)

// Handle dispatches one decoded request by API key. A nil response means
// "send nothing" (acks=0 produce); an error closes the connection, which is
// what Kafka does for a request it cannot serve at all.
func (b *Broker) Handle(ctx context.Context, req *network.Request) (resp kmsg.Response, err error) {
	if b.observer != nil {
		start := time.Now()
		defer func() { b.observer.ObserveRequest(req, resp, err, time.Since(start)) }()
	}
	if req.APIKey != 18 { // ApiVersions answers any version itself (KIP-511)
		if lo, hi, ok := b.versionRange(req.APIKey); !ok || req.Version < lo || req.Version > hi {
			return nil, fmt.Errorf("%w: key %d version %d", ErrUnsupportedAPI, req.APIKey, req.Version)
		}
	}
	switch body := req.Body.(type) {
	case *kmsg.ProduceRequest:
		return b.handleProduce(ctx, req, body)
	case *kmsg.FetchRequest:
		return b.handleFetch(ctx, req, body)
	case *kmsg.ListOffsetsRequest:
		return b.handleListOffsets(ctx, req, body)
	case *kmsg.WriteTxnMarkersRequest:
		return b.handleWriteTxnMarkers(ctx, req, body)
	case *kmsg.TxnOffsetCommitRequest:
		return b.handleTxnOffsetCommit(ctx, req, body)
	case *kmsg.DescribeProducersRequest:
		return b.handleDescribeProducers(ctx, req, body)
	case *kmsg.MetadataRequest:
		return b.handleMetadata(ctx, req, body)
	case *kmsg.ControlledShutdownRequest:
		return b.handleControlledShutdown(ctx, req, body)
	case *kmsg.ApiVersionsRequest:
		return b.handleApiVersions(ctx, req, body)
	case *kmsg.CreateTopicsRequest:
		return b.handleCreateTopics(ctx, req, body)
	case *kmsg.DeleteTopicsRequest:
		return b.handleDeleteTopics(ctx, req, body)
	case *kmsg.DeleteRecordsRequest:
		return b.handleDeleteRecords(ctx, req, body)
	case *kmsg.CreatePartitionsRequest:
		return b.handleCreatePartitions(ctx, req, body)
	case *kmsg.ElectLeadersRequest:
		return b.handleElectLeaders(ctx, req, body)
	case *kmsg.InitProducerIDRequest:
		return b.handleInitProducerID(ctx, req, body)
	case *kmsg.DescribeConfigsRequest:
		return b.handleDescribeConfigs(ctx, req, body)
	case *kmsg.OffsetForLeaderEpochRequest:
		return b.handleOffsetForLeaderEpoch(ctx, req, body)
	case *kmsg.OffsetCommitRequest:
		return b.handleOffsetCommit(ctx, req, body)
	case *kmsg.OffsetFetchRequest:
		return b.handleOffsetFetch(ctx, req, body)
	case *kmsg.FindCoordinatorRequest:
		return b.handleFindCoordinator(ctx, req, body)
	case *kmsg.JoinGroupRequest:
		return b.handleJoinGroup(ctx, req, body)
	case *kmsg.HeartbeatRequest:
		return b.handleHeartbeat(ctx, req, body)
	case *kmsg.LeaveGroupRequest:
		return b.handleLeaveGroup(ctx, req, body)
	case *kmsg.SyncGroupRequest:
		return b.handleSyncGroup(ctx, req, body)
	case *kmsg.DescribeGroupsRequest:
		return b.handleDescribeGroups(ctx, req, body)
	case *kmsg.ListGroupsRequest:
		return b.handleListGroups(ctx, req, body)
	case *kmsg.DeleteGroupsRequest:
		return b.handleDeleteGroups(ctx, req, body)
	case *kmsg.OffsetDeleteRequest:
		return b.handleOffsetDelete(ctx, req, body)
	case *kmsg.AddPartitionsToTxnRequest:
		return b.handleAddPartitionsToTxn(ctx, req, body)
	case *kmsg.AddOffsetsToTxnRequest:
		return b.handleAddOffsetsToTxn(ctx, req, body)
	case *kmsg.EndTxnRequest:
		return b.handleEndTxn(ctx, req, body)
	case *kmsg.DescribeTransactionsRequest:
		return b.handleDescribeTransactions(ctx, req, body)
	case *kmsg.ListTransactionsRequest:
		return b.handleListTransactions(ctx, req, body)
	case *kmsg.DescribeLogDirsRequest:
		return b.handleDescribeLogDirs(ctx, req, body)
	case *kmsg.DescribeClusterRequest:
		return b.handleDescribeCluster(ctx, req, body)
	case *kmsg.DescribeACLsRequest:
		return b.handleDescribeAcls(ctx, req, body)
	case *kmsg.CreateACLsRequest:
		return b.handleCreateAcls(ctx, req, body)
	case *kmsg.DeleteACLsRequest:
		return b.handleDeleteAcls(ctx, req, body)
	case *kmsg.AlterClientQuotasRequest:
		return b.handleAlterClientQuotas(ctx, req, body)
	case *kmsg.AlterPartitionAssignmentsRequest:
		return b.handleAlterPartitionReassignments(ctx, req, body)
	case *kmsg.ListPartitionReassignmentsRequest:
		return b.handleListPartitionReassignments(ctx, req, body)
	case *kmsg.DescribeClientQuotasRequest:
		return b.handleDescribeClientQuotas(ctx, req, body)
	case *kmsg.DescribeUserSCRAMCredentialsRequest:
		return b.handleDescribeUserScramCredentials(ctx, req, body)
	case *kmsg.AlterUserSCRAMCredentialsRequest:
		return b.handleAlterUserScramCredentials(ctx, req, body)
	case *kmsg.IncrementalAlterConfigsRequest:
		return b.handleIncrementalAlterConfigs(ctx, req, body)
	case *kmsg.AlterConfigsRequest:
		return b.handleAlterConfigs(ctx, req, body)
	default:
		return nil, fmt.Errorf("%w: key %d", ErrUnsupportedAPI, req.APIKey)
	}
}

// partitionFor looks up a partition this broker must lead, returning its
// registration and log. Errors: ErrUnknownTopic, ErrNotLeader.
func (b *Broker) partitionFor(img *metadata.Image, topic string, partition int32) (*metadata.PartitionRegistration, *storage.Log, error) {
	t, ok := img.Topic(topic)
	if !ok {
		return nil, nil, fmt.Errorf("%w: topic %q", ErrUnknownTopic, topic)
	}
	reg, ok := t.Partitions[partition]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s-%d", ErrUnknownTopic, topic, partition)
	}
	if reg.Leader != b.cfg.NodeID {
		return reg, nil, fmt.Errorf("%w: %s-%d is led by %d", ErrNotLeader, topic, partition, reg.Leader)
	}
	l, ok := b.logs.Get(topic, partition)
	if !ok {
		// The image names us leader but Publish has not created the log
		// yet (or failed to): retriable for the client.
		return reg, nil, fmt.Errorf("%w: no local log for %s-%d yet", ErrNotLeader, topic, partition)
	}
	return reg, l, nil
}

// checkLeaderEpoch implements KIP-320's current_leader_epoch check: -1
// skips it, an older epoch is fenced, a newer one is not known here yet.
func checkLeaderEpoch(reg *metadata.PartitionRegistration, current int32) error {
	switch {
	case current < 0 || current == reg.LeaderEpoch:
		return nil
	case current < reg.LeaderEpoch:
		return fmt.Errorf("%w: request has %d, leader has %d", ErrFencedLeaderEpoch, current, reg.LeaderEpoch)
	default:
		return fmt.Errorf("%w: request has %d, leader has %d", ErrUnknownLeaderEpoch, current, reg.LeaderEpoch)
	}
}

// autoCreate asks the controller for topics with the default partition
// count and replication factor. A topic that appeared meanwhile is success.
func (b *Broker) autoCreate(ctx context.Context, names []string) []error {
	specs := make([]metadata.CreateTopicSpec, len(names))
	for i, n := range names {
		specs[i] = metadata.CreateTopicSpec{
			Name:              n,
			NumPartitions:     b.cfg.NumPartitions,
			ReplicationFactor: b.cfg.DefaultReplicationFactor,
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
	defer cancel()
	errs := b.ctrl.CreateTopics(ctx, specs, false)
	out := make([]error, len(names))
	for i := range names {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		if err != nil && errorCode(err) == errorCode(metadata.ErrTopicExists) {
			err = nil
		}
		if err != nil {
			b.logger.Info("auto-create failed", zap.String("topic", names[i]), zap.Error(err))
		} else {
			b.logger.Info("auto-created topic", zap.String("topic", names[i]))
		}
		out[i] = err
	}
	return out
}
