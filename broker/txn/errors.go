package txn

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
)

// Sentinel errors of the transaction coordinator. Each one a client can be
// answered with carries its Kafka code (network.NewError); handlers wrap
// them with facts and the code is chosen once, when the response is built.
// Where an older request version does not know a code (PRODUCER_FENCED
// before KIP-588), the handler maps it (FencedCode).
var (
	ErrInvalidConfig          = errors.New("txn: invalid config")
	ErrNotCoordinator         = network.NewError("txn: not the coordinator for this transactional id", kerr.NotCoordinator)
	ErrLoadInProgress         = network.NewError("txn: transaction state partition is still loading", kerr.CoordinatorLoadInProgress)
	ErrCoordinatorUnavailable = network.NewError("txn: coordinator not available", kerr.CoordinatorNotAvailable)
	ErrInvalidRequest         = network.NewError("txn: invalid request", kerr.InvalidRequest)
	ErrInvalidTimeout         = network.NewError("txn: invalid transaction timeout", kerr.InvalidTransactionTimeout)
	ErrConcurrent             = network.NewError("txn: concurrent transactions", kerr.ConcurrentTransactions)
	ErrProducerFenced         = network.NewError("txn: producer fenced", kerr.ProducerFenced)
	ErrInvalidProducerEpoch   = network.NewError("txn: invalid producer epoch", kerr.InvalidProducerEpoch)
	ErrInvalidMapping         = network.NewError("txn: invalid producer id mapping", kerr.InvalidProducerIDMapping)
	ErrInvalidTxnState        = network.NewError("txn: invalid transaction state", kerr.InvalidTxnState)
	ErrNotFound               = network.NewError("txn: transactional id not found", kerr.TransactionalIDNotFound)
	ErrClosed                 = network.NewError("txn: coordinator closed", kerr.CoordinatorNotAvailable)
	// ErrCorruptRecord: a __transaction_state record did not decode (while
	// loading; no request is answered with it).
	ErrCorruptRecord = errors.New("txn: corrupt __transaction_state record")
	// ErrMarkersFenced: a partition leader refused our markers because a
	// newer coordinator (or producer epoch) exists; this coordinator stops
	// completing the transaction.
	ErrMarkersFenced = errors.New("txn: markers fenced by a newer coordinator")
)

// FencedCode is the code a request of the given version answers for
// ErrProducerFenced: versions before firstFenced predate KIP-588 and get
// INVALID_PRODUCER_EPOCH, as Kafka's KafkaApis maps it.
func FencedCode(code int16, version, firstFenced int16) int16 {
	if code == kerr.ProducerFenced.Code && version < firstFenced {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
