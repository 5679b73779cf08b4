package txn

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// State is a transaction's state, numbered as Kafka's TransactionState
// (the byte written in TxnMetadataValue).
type State int8

// Kafka's transaction states. PrepareEpochFence is never written: here
// a fence goes straight from Ongoing to PrepareAbort with a bumped epoch,
// which is what Kafka writes for it.
const (
	Empty             State = 0
	Ongoing           State = 1
	PrepareCommit     State = 2
	PrepareAbort      State = 3
	CompleteCommit    State = 4
	CompleteAbort     State = 5
	Dead              State = 6
	PrepareEpochFence State = 7
)

var stateNames = [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// ParseState is the state named s (Kafka's names, as ListTransactions
// filters carry them); ok false for an unknown name.
func ParseState(s string) (State, bool) {
	for i, n := range stateNames {
		if strings.EqualFold(n, s) {
			return State(i), true
		}
	}
	return 0, false
}

// validPrevious is Kafka's TransactionState.validPreviousStates.
var validPrevious = map[State][]State{
	Empty:          {Empty, CompleteCommit, CompleteAbort},
	Ongoing:        {Ongoing, Empty, CompleteCommit, CompleteAbort},
	PrepareCommit:  {Ongoing},
	PrepareAbort:   {Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort}, // the last two: KIP-890 part 2's empty abort
	CompleteCommit: {PrepareCommit},
	CompleteAbort:  {PrepareAbort},
	Dead:           {Empty, CompleteCommit, CompleteAbort},
}

// canTransit reports whether from -> to is one of Kafka's transitions.
func canTransit(from, to State) bool { return slices.Contains(validPrevious[to], from) }

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// noEpoch and noProducer are Kafka's RecordBatch.NO_PRODUCER_EPOCH/ID.
const (
	noEpoch    int16 = -1
	noProducer int64 = -1
)

// epochExhausted is Kafka's TransactionMetadata.isEpochExhausted: one
// epoch is kept in reserve for a fence.
func epochExhausted(e int16) bool { return e >= math.MaxInt16-1 }

// meta is the metadata of one transactional id: what TxnMetadataValue
// holds, plus the previous epoch that KIP-360 retries are matched against
// (kept in memory, as in Kafka, whose records have no room for it; the
// previous producer id is in the v1 record only). A meta is a value:
// transitions return a new one; the partitions map is never modified in
// place.
type meta struct {
	producerID     int64
	lastProducerID int64
	// nextProducerID is the producer id a KIP-890 part 2 EndTxn at an
	// exhausted epoch allocated: Prepare* carries it, Complete* makes it
	// the producer id at epoch 0 (noProducer otherwise).
	nextProducerID int64
	epoch          int16
	lastEpoch      int16
	timeoutMs      int32
	state          State
	partitions     map[TopicPartition]struct{}
	startMs        int64 // first AddPartitions of the transaction; -1 without one
	updateMs       int64
	// tv2: the transaction runs KIP-890 part 2 (transaction.version 2:
	// implicit adds, EndTxn v5), Kafka's clientTransactionVersion >= 2.
	// Such a meta is written as a v1 record.
	tv2 bool
}

func (m meta) hasPartitions(tps []TopicPartition) bool {
	for _, tp := range tps {
		if _, ok := m.partitions[tp]; !ok {
			return false
		}
	}
	return true
}

// sortedPartitions returns the transaction's partitions in order.
func (m meta) sortedPartitions() []TopicPartition {
	out := make([]TopicPartition, 0, len(m.partitions))
	for tp := range m.partitions {
		out = append(out, tp)
	}
	slices.SortFunc(out, func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
	return out
}

// to returns m in state s at nowMs, checking Kafka's transition table.
func (m meta) to(s State, nowMs int64) (meta, error) {
	if !canTransit(m.state, s) {
		return meta{}, fmt.Errorf("%w: %s -> %s", ErrInvalidTxnState, m.state, s)
	}
	m.state, m.updateMs = s, nowMs
	return m, nil
}

// initTransition is InitProducerId on an Empty or Complete* transaction
// (Kafka's prepareIncrementProducerEpoch / prepareProducerIdRotation).
// expEpoch < 0 means the request carried no producer id/epoch (a new
// producer); newPID is used when the epoch is exhausted.
func (m meta) initTransition(timeoutMs int32, expEpoch int16, newPID func() (int64, error), nowMs int64) (meta, error) {
	next := m
	if epochExhausted(m.epoch) && (expEpoch < 0 || expEpoch == m.epoch) {
		pid, err := newPID()
		if err != nil {
			return meta{}, err
		}
		next.lastProducerID, next.producerID, next.epoch = m.producerID, pid, 0
		next.lastEpoch = noEpoch
		if expEpoch >= 0 {
			next.lastEpoch = m.epoch
		}
	} else {
		switch {
		case expEpoch < 0:
			next.epoch, next.lastEpoch = m.epoch+1, noEpoch
		case m.epoch == noEpoch || expEpoch == m.epoch:
			next.epoch, next.lastEpoch = m.epoch+1, m.epoch
		case expEpoch == m.lastEpoch:
			// A retry of a bump whose answer was lost: the same epoch again.
		default:
			return meta{}, fmt.Errorf("%w: epoch %d is neither the current %d nor the previous %d", ErrProducerFenced, expEpoch, m.epoch, m.lastEpoch)
		}
	}
	next.timeoutMs, next.partitions, next.startMs = timeoutMs, nil, -1
	return next.to(Empty, nowMs)
}

// validExpected is Kafka's isValidProducerId for a KIP-360 InitProducerId
// carrying the producer's id and epoch.
// The next producer id of a KIP-890 part 2 rotation still in Prepare*
// is valid too (the producer already has it; the state answers
// CONCURRENT_TRANSACTIONS).
func (m meta) validExpected(pid int64, epoch int16) bool {
	return m.epoch == noEpoch || pid == m.producerID || (pid == m.lastProducerID && epochExhausted(epoch)) ||
		(m.nextProducerID >= 0 && pid == m.nextProducerID)
}

// fenceTransition bumps the epoch of an Ongoing transaction and prepares
// its abort (Kafka's prepareFenceProducerEpoch followed by the abort it
// triggers): the zombie's next write is refused with the old epoch.
func (m meta) fenceTransition(nowMs int64) (meta, error) {
	if m.state != Ongoing {
		return meta{}, fmt.Errorf("%w: fence in state %s", ErrInvalidTxnState, m.state)
	}
	next := m
	// Under KIP-890 part 2 Kafka bumps twice (PrepareEpochFence, then the
	// abort's own bump), so the fenced producer's EndTxn at epoch-1 of
	// the result is never taken for the retry of a bump it made itself.
	bumps := 1
	if m.tv2 {
		bumps = 2
	}
	for range bumps {
		if next.epoch < math.MaxInt16 {
			next.epoch++
		}
	}
	next.lastEpoch = noEpoch
	return next.to(PrepareAbort, nowMs)
}

// addTransition adds tps to the transaction (Kafka's prepareAddPartitions).
// implicit is KIP-890 part 2's add by a partition leader (Produce v12,
// TxnOffsetCommit v5), which marks the transaction tv2.
func (m meta) addTransition(tps []TopicPartition, implicit bool, nowMs int64) (meta, error) {
	next := m
	switch m.state {
	case Empty, CompleteCommit, CompleteAbort:
		next.startMs = nowMs
		next.partitions = make(map[TopicPartition]struct{}, len(tps))
		next.tv2 = implicit
	default:
		next.tv2 = m.tv2 || implicit
		next.partitions = maps.Clone(m.partitions)
		if next.partitions == nil {
			next.partitions = make(map[TopicPartition]struct{}, len(tps))
		}
	}
	for _, tp := range tps {
		next.partitions[tp] = struct{}{}
	}
	return next.to(Ongoing, nowMs)
}

// prepareTransition is EndTxn on an Ongoing transaction: PrepareCommit or
// PrepareAbort (Kafka's prepareAbortOrCommit). With bump (EndTxn v5,
// KIP-890 part 2) the epoch moves on with it, and from an exhausted epoch
// the next producer id is allocated (newPID) and carried until Complete*;
// an abort may then also start from Empty or Complete* (nothing to mark).
func (m meta) prepareTransition(commit, bump bool, newPID func() (int64, error), nowMs int64) (meta, error) {
	s := PrepareAbort
	if commit {
		s = PrepareCommit
	}
	next := m
	next.tv2 = bump
	next.nextProducerID = noProducer
	if bump {
		if m.epoch == math.MaxInt16 {
			return meta{}, fmt.Errorf("%w: epoch %d of producer %d is exhausted", ErrProducerFenced, m.epoch, m.producerID)
		}
		if epochExhausted(m.epoch) {
			pid, err := newPID()
			if err != nil {
				return meta{}, err
			}
			next.nextProducerID = pid
		}
		next.epoch, next.lastEpoch = m.epoch+1, m.epoch
		if m.state != Ongoing {
			next.startMs, next.partitions = nowMs, nil
		}
	}
	return next.to(s, nowMs)
}

// answer is the producer id and epoch an EndTxn v5 answers once m (a
// Prepare* or Complete*) is written: the next producer id at epoch 0 when
// the epoch was exhausted.
func (m meta) answer() ProducerIDAndEpoch {
	if m.nextProducerID >= 0 {
		return ProducerIDAndEpoch{ProducerID: m.nextProducerID, Epoch: 0}
	}
	return ProducerIDAndEpoch{ProducerID: m.producerID, Epoch: m.epoch}
}

// completeTransition follows a Prepare* whose markers are all written.
func (m meta) completeTransition(nowMs int64) (meta, error) {
	s := CompleteAbort
	if m.state == PrepareCommit {
		s = CompleteCommit
	}
	next, err := m.to(s, nowMs)
	if err != nil {
		return meta{}, err
	}
	next.partitions = nil
	if m.nextProducerID >= 0 {
		// Kafka's prepareComplete after an epoch overflow: the producer
		// goes on as the next id at epoch 0; lastEpoch stays the one the
		// client last saw.
		next.lastProducerID, next.producerID, next.epoch = m.producerID, m.nextProducerID, 0
		next.nextProducerID = noProducer
	}
	return next, nil
}
