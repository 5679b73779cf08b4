package txn

import (
	"errors"
	"math"
	"testing"
)

// TestTransitions checks Kafka's TransactionMetadata transitions
// (KIP-98, KIP-360 epoch rules) on the pure meta value.
func TestTransitions(t *testing.T) {
	pid := func() (int64, error) { return 99, nil }
	tp := TopicPartition{"t", 0}
	base := meta{producerID: 7, lastProducerID: noProducer, epoch: 3, lastEpoch: noEpoch, timeoutMs: 1000, state: Empty, startMs: -1}
	ongoing, err := base.addTransition([]TopicPartition{tp}, false, 10)
	if err != nil || ongoing.state != Ongoing || ongoing.startMs != 10 || !ongoing.hasPartitions([]TopicPartition{tp}) {
		t.Fatalf("add: %+v %v", ongoing, err)
	}
	if base.partitions != nil {
		t.Fatal("addTransition modified the original")
	}
	for _, tc := range []struct {
		name      string
		got       func() (meta, error)
		wantErr   error
		wantState State
		wantPID   int64
		wantEpoch int16
	}{
		{"init new producer bumps", func() (meta, error) { return base.initTransition(500, noEpoch, pid, 1) }, nil, Empty, 7, 4},
		{"init first epoch is 0", func() (meta, error) {
			m := base
			m.epoch = noEpoch
			return m.initTransition(500, noEpoch, pid, 1)
		}, nil, Empty, 7, 0},
		{"KIP-360 expected current epoch bumps", func() (meta, error) { return base.initTransition(500, 3, pid, 1) }, nil, Empty, 7, 4},
		{"KIP-360 retry of last epoch keeps", func() (meta, error) {
			m := base
			m.epoch, m.lastEpoch = 4, 3
			return m.initTransition(500, 3, pid, 1)
		}, nil, Empty, 7, 4},
		{"KIP-360 stale epoch is fenced", func() (meta, error) { return base.initTransition(500, 1, pid, 1) }, ErrProducerFenced, 0, 0, 0},
		{"exhausted epoch rotates producer id", func() (meta, error) {
			m := base
			m.epoch = math.MaxInt16 - 1
			return m.initTransition(500, noEpoch, pid, 1)
		}, nil, Empty, 99, 0},
		{"complete commit to init", func() (meta, error) {
			m := ongoing
			m.state = CompleteCommit
			return m.initTransition(500, noEpoch, pid, 1)
		}, nil, Empty, 7, 4},
		{"fence bumps and prepares abort", func() (meta, error) { return ongoing.fenceTransition(2) }, nil, PrepareAbort, 7, 4},
		{"fence needs ongoing", func() (meta, error) { return base.fenceTransition(2) }, ErrInvalidTxnState, 0, 0, 0},
		{"commit", func() (meta, error) { return ongoing.prepareTransition(true, false, nil, 2) }, nil, PrepareCommit, 7, 3},
		{"abort v5 bumps", func() (meta, error) { return ongoing.prepareTransition(false, true, nil, 2) }, nil, PrepareAbort, 7, 4},
		{"commit from empty is invalid", func() (meta, error) { return base.prepareTransition(true, false, nil, 2) }, ErrInvalidTxnState, 0, 0, 0},
		{"complete after prepare commit", func() (meta, error) {
			m, _ := ongoing.prepareTransition(true, false, nil, 2)
			return m.completeTransition(3)
		}, nil, CompleteCommit, 7, 3},
		{"complete needs prepare", func() (meta, error) { return ongoing.completeTransition(3) }, ErrInvalidTxnState, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.got()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.state != tc.wantState || m.producerID != tc.wantPID || m.epoch != tc.wantEpoch {
				t.Fatalf("got %s pid %d epoch %d, want %s %d %d", m.state, m.producerID, m.epoch, tc.wantState, tc.wantPID, tc.wantEpoch)
			}
			if (m.state == CompleteCommit || m.state == Empty) && len(m.partitions) != 0 {
				t.Fatalf("%s keeps partitions %v", m.state, m.partitions)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	m := meta{producerID: 5, lastProducerID: noProducer, epoch: 2, lastEpoch: noEpoch, timeoutMs: 60000, state: Ongoing,
		partitions: map[TopicPartition]struct{}{{"a", 1}: {}, {"a", 0}: {}, {"b", 3}: {}}, startMs: 100, updateMs: 200}
	id, got, err := decodeRecord(encodeKey("tx"), encodeValue(m))
	if err != nil || id != "tx" || got == nil {
		t.Fatalf("%q %v %v", id, got, err)
	}
	if got.producerID != 5 || got.epoch != 2 || got.state != Ongoing || got.timeoutMs != 60000 || got.startMs != 100 ||
		got.updateMs != 200 || len(got.partitions) != 3 {
		t.Fatalf("%+v", got)
	}
	if _, tomb, err := decodeRecord(encodeKey("tx"), nil); err != nil || tomb != nil {
		t.Fatalf("tombstone %v %v", tomb, err)
	}
	for _, bad := range [][]byte{nil, {0}, {0, 9, 0, 1, 'x'}} {
		if _, _, err := decodeRecord(bad, nil); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("key %x: %v", bad, err)
		}
	}
	if _, _, err := decodeRecord(encodeKey("tx"), []byte{0, 0, 1}); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("short value: %v", err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeKey("tx"), encodeValue(meta{producerID: 1, state: Ongoing, partitions: map[TopicPartition]struct{}{{"t", 0}: {}}}))
	f.Fuzz(func(t *testing.T, k, v []byte) {
		_, _, _ = decodeRecord(k, v)
		_, _ = readBatches(v, func(_, _ []byte) {})
	})
}
