package storage

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
)

// Sentinel errors. Callers match them with errors.Is; those a client can be
// answered with carry their Kafka code (network.NewError), which the broker's
// handlers pick at the network edge. The others answer UNKNOWN_SERVER_ERROR.
var (
	// ErrCorruptMessage: a batch failed the length, magic or CRC-32C check
	// (Kafka CORRUPT_MESSAGE).
	ErrCorruptMessage = network.NewError("storage: corrupt message", kerr.CorruptMessage)
	// ErrInvalidRecord: a batch is well formed but breaks a rule (record count,
	// control or transactional batch from a client) (Kafka INVALID_RECORD).
	ErrInvalidRecord = network.NewError("storage: invalid record", kerr.InvalidRecord)
	// ErrRecordTooLarge: a batch can never fit in a segment (Kafka MESSAGE_TOO_LARGE).
	ErrRecordTooLarge = network.NewError("storage: record too large", kerr.MessageTooLarge)
	// ErrOutOfOrderSequence: an idempotent producer skipped or repeated a
	// sequence number (Kafka OUT_OF_ORDER_SEQUENCE_NUMBER).
	ErrOutOfOrderSequence = network.NewError("storage: out of order sequence", kerr.OutOfOrderSequenceNumber)
	// ErrInvalidProducerEpoch: a batch carries an epoch older than the one
	// the partition has seen for its producer id (Kafka INVALID_PRODUCER_EPOCH).
	ErrInvalidProducerEpoch = network.NewError("storage: invalid producer epoch", kerr.InvalidProducerEpoch)
	// ErrInvalidTxnState: a producer with an ongoing transaction wrote a
	// non-transactional batch (Kafka INVALID_TXN_STATE).
	ErrInvalidTxnState = network.NewError("storage: invalid transaction state", kerr.InvalidTxnState)
	// ErrCoordinatorFenced: a transaction marker came from an older
	// coordinator epoch than the last one written for its producer (Kafka
	// TRANSACTION_COORDINATOR_FENCED).
	ErrCoordinatorFenced = network.NewError("storage: transaction coordinator fenced", kerr.TransactionCoordinatorFenced)
	// ErrOffsetOutOfRange: a read below the log start or past the log end
	// (Kafka OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = network.NewError("storage: offset out of range", kerr.OffsetOutOfRange)
	// ErrPolicyViolation: DeleteRecords on a topic whose cleanup.policy
	// lacks delete (Kafka POLICY_VIOLATION).
	ErrPolicyViolation = network.NewError("storage: policy violation", kerr.PolicyViolation)
	// ErrInvalidTopic: a topic name Kafka would not accept, or a negative partition.
	ErrInvalidTopic = errors.New("storage: invalid topic")
	// ErrInconsistentTopicID: partition.metadata holds another topic id than
	// the one asked for (Kafka INCONSISTENT_TOPIC_ID).
	ErrInconsistentTopicID = errors.New("storage: inconsistent topic id")
	// ErrUnknownPartition: the manager holds no log for the partition.
	ErrUnknownPartition = errors.New("storage: unknown partition")
	// ErrClosed: the log or manager was closed or the log was deleted.
	ErrClosed = errors.New("storage: closed")
	// ErrInvalidConfig: a Config or LogConfig value is out of range.
	ErrInvalidConfig = errors.New("storage: invalid config")
	// ErrCorruptFile: an on-disk file (checkpoint, snapshot, partition.metadata)
	// could not be decoded.
	ErrCorruptFile = errors.New("storage: corrupt file")
	// ErrTruncatedRead: a file range handed out by ReadRecords read short,
	// because TruncateTo cut the file after the read located it.
	ErrTruncatedRead = errors.New("storage: truncated read")
)
