package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
)

// Sentinel errors of this package. Each one a client can be answered with
// carries its Kafka code (network.NewError); handlers wrap them with facts
// and the code is chosen once, by errorCode, when the response is built.
var (
	ErrInvalidConfig                = errors.New("broker: invalid config")
	ErrUnknownTopic                 = network.NewError("broker: unknown topic or partition", kerr.UnknownTopicOrPartition)
	ErrUnknownTopicID               = network.NewError("broker: unknown topic id", kerr.UnknownTopicID)
	ErrNotLeader                    = network.NewError("broker: not leader or follower", kerr.NotLeaderForPartition)
	ErrLeaderNotAvailable           = network.NewError("broker: leader not available", kerr.LeaderNotAvailable)
	ErrFencedLeaderEpoch            = network.NewError("broker: fenced leader epoch", kerr.FencedLeaderEpoch)
	ErrUnknownLeaderEpoch           = network.NewError("broker: unknown leader epoch", kerr.UnknownLeaderEpoch)
	ErrNotEnoughReplicas            = network.NewError("broker: not enough in-sync replicas", kerr.NotEnoughReplicas)
	ErrNotEnoughReplicasAfterAppend = network.NewError("broker: not enough in-sync replicas after append", kerr.NotEnoughReplicasAfterAppend)
	ErrMessageTooLarge              = network.NewError("broker: message too large", kerr.MessageTooLarge)
	ErrInvalidRequiredAcks          = network.NewError("broker: invalid required acks", kerr.InvalidRequiredAcks)
	// ErrTransactionalIDAuthorization: the principal may not use (WRITE) or
	// see (DESCRIBE) the transactional id (Kafka
	// TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
	ErrTransactionalIDAuthorization = network.NewError("broker: transactional id authorization failed", kerr.TransactionalIDAuthorizationFailed)
	// The partition leader's KIP-890 verification of a transactional
	// produce (txn_verify.go): not in the transaction, a fenced epoch, or
	// no answer from the coordinator (retriable, as Kafka maps it).
	ErrTxnNotVerified       = network.NewError("broker: partition is not in the producer's transaction", kerr.InvalidTxnState)
	ErrTxnFencedEpoch       = network.NewError("broker: producer epoch fenced by the transaction coordinator", kerr.InvalidProducerEpoch)
	ErrTxnVerifyUnavailable = network.NewError("broker: transaction coordinator unavailable for verification", kerr.NotEnoughReplicas)
	ErrInvalidRequest       = network.NewError("broker: invalid request", kerr.InvalidRequest)
	ErrDuplicateTopic       = network.NewError("broker: topic named twice in one request", kerr.InvalidRequest)
	ErrFetchSession         = network.NewError("broker: fetch session not found", kerr.FetchSessionIDNotFound)
	// ErrFetchSessionEpoch: an incremental fetch carried another epoch than
	// its session's next one (Kafka INVALID_FETCH_SESSION_EPOCH).
	ErrFetchSessionEpoch = network.NewError("broker: invalid fetch session epoch", kerr.InvalidFetchSessionEpoch)
	ErrUnsupportedAPI    = errors.New("broker: unsupported api key")
	// The authorizer's denials (authorize.go), per topic, group or for
	// the cluster as Kafka answers them.
	ErrTopicAuthorization   = network.NewError("broker: topic authorization failed", kerr.TopicAuthorizationFailed)
	ErrGroupAuthorization   = network.NewError("broker: group authorization failed", kerr.GroupAuthorizationFailed)
	ErrClusterAuthorization = network.NewError("broker: cluster authorization failed", kerr.ClusterAuthorizationFailed)
	// ErrProducerIDsUnavailable: Kafka's ProducerIdManager answers this
	// (retriable) code while a block is pending.
	ErrProducerIDsUnavailable = network.NewError("broker: no producer id block available", kerr.CoordinatorLoadInProgress)
)

// errorCode picks the Kafka error code for err (network.ErrorCode): the
// outermost error that carries one (this package's, the LogManager's, the
// group coordinator's, the metadata errors, a controller's *kerr.Error),
// else REQUEST_TIMED_OUT for the request's own deadline, else
// UNKNOWN_SERVER_ERROR.
func errorCode(err error) int16 { return network.ErrorCode(err) }

// errorMessage is the error text for responses that carry one; nil for nil.
func errorMessage(err error) *string { return network.ErrorMessage(err) }
