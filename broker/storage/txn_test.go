package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// txnBatch is a transactional batch of producer pid.
func txnBatch(pid int64, epoch int16, seq int32, records int) []byte {
	s := idem(pid, epoch, seq, records)
	s.attrs = attrTransactional
	return makeBatch(s)
}

func mustMarker(t *testing.T, l *Log, pid int64, epoch int16, commit bool) int64 {
	t.Helper()
	res, err := l.AppendMarker(Marker{ProducerID: pid, ProducerEpoch: epoch, CoordinatorEpoch: 1, Commit: commit}, 0)
	if err != nil {
		t.Fatalf("AppendMarker: %v", err)
	}
	return res.FirstOffset
}

// TestLastStableOffset follows KIP-98: the LSO stays at the first offset of
// the earliest open transaction until its marker is below the high watermark.
func TestLastStableOffset(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	l, _ := m.GetOrCreate("txn", 0, metadata.Uuid{})

	mustAppend(t, l, makeBatch(plain(2)), 0)         // 0-1
	mustAppend(t, l, txnBatch(7, 0, 0, 3), 0)        // 2-4: txn of 7 begins at 2
	mustAppend(t, l, makeBatch(idem(8, 0, 0, 1)), 0) // 5
	mustAppend(t, l, txnBatch(9, 0, 0, 1), 0)        // 6: txn of 9 begins at 6
	if got := l.LastStableOffset(l.LogEndOffset()); got != 2 {
		t.Fatalf("LSO with two open transactions = %d, want 2", got)
	}
	if got := l.LastStableOffset(1); got != 1 {
		t.Fatalf("LSO below the first transaction = %d, want the high watermark 1", got)
	}
	marker := mustMarker(t, l, 7, 0, true) // 7
	if got := l.LastStableOffset(marker); got != 2 {
		t.Fatalf("LSO with the commit marker not replicated = %d, want 2", got)
	}
	if got := l.LastStableOffset(marker + 1); got != 6 {
		t.Fatalf("LSO once the marker is replicated = %d, want 6 (the txn of 9)", got)
	}
	abort := mustMarker(t, l, 9, 0, false) // 8
	if got := l.LastStableOffset(l.LogEndOffset()); got != l.LogEndOffset() {
		t.Fatalf("LSO with no open transaction = %d, want the high watermark %d", got, l.LogEndOffset())
	}
	got := l.AbortedTxns(0, math.MaxInt64)
	if len(got) != 1 || got[0] != (AbortedTxn{ProducerID: 9, FirstOffset: 6}) {
		t.Fatalf("aborted txns = %+v, want producer 9 from 6", got)
	}
	if got := l.AbortedTxns(abort+1, math.MaxInt64); len(got) != 0 {
		t.Fatalf("aborted txns after the marker = %+v, want none", got)
	}
	if got := l.AbortedTxns(0, 6); len(got) != 0 {
		t.Fatalf("aborted txns below its first offset = %+v, want none", got)
	}
	if e, first, ok := l.OpenTxn(9); ok || first != -1 || e != 0 {
		t.Fatalf("OpenTxn(9) after its abort = %d %d %v", e, first, ok)
	}
	ps := l.Producers()
	if len(ps) != 3 || ps[0].ProducerID != 7 || ps[0].CurrentTxnStartOffset != -1 || ps[0].CoordinatorEpoch != 1 || ps[0].LastSequence != 2 {
		t.Fatalf("producers = %+v", ps)
	}
}

func TestTransactionRules(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	l, _ := m.GetOrCreate("txn", 0, metadata.Uuid{})
	mustAppend(t, l, txnBatch(7, 2, 0, 1), 0)
	if _, err := l.Append(makeBatch(idem(7, 2, 1, 1)), 0); !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("non-transactional batch inside a transaction: %v, want ErrInvalidTxnState", err)
	}
	if _, err := l.Append(txnBatch(7, 1, 0, 1), 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("zombie epoch: %v, want ErrInvalidProducerEpoch", err)
	}
	if _, err := l.AppendMarker(Marker{ProducerID: 7, ProducerEpoch: 1, CoordinatorEpoch: 5}, 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("marker with an old epoch: %v", err)
	}
	if _, err := l.AppendMarker(Marker{ProducerID: 7, ProducerEpoch: 2, CoordinatorEpoch: 5}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendMarker(Marker{ProducerID: 7, ProducerEpoch: 2, CoordinatorEpoch: 4}, 0); !errors.Is(err, ErrCoordinatorFenced) {
		t.Fatalf("marker from an old coordinator: %v", err)
	}
	// The coordinator bumped the epoch with its abort (KIP-890): the
	// producer's next transaction starts at sequence 0 of the new epoch.
	if _, err := l.AppendMarker(Marker{ProducerID: 7, ProducerEpoch: 3, CoordinatorEpoch: 5}, 0); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, txnBatch(7, 3, 0, 1), 0)
}

// TestTxnRecoveryAfterCrash: a kill -9 in the middle of a transaction
// (with a snapshot from a roll before it and none after) restores the open
// transaction, so the LSO stays held back, and rebuilds the aborted
// transaction index whose writes were lost.
func TestTxnRecoveryAfterCrash(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 600
	m := openManager(t, cfg)
	l, _ := m.GetOrCreate("txn", 0, metadata.Uuid{})
	for i := 0; i < 7; i++ { // rolls: snapshots at segment bases
		mustAppend(t, l, makeBatch(plain(2)), 0)
	}
	first := mustAppend(t, l, txnBatch(5, 0, 0, 2), 0).FirstOffset
	mustAppend(t, l, txnBatch(6, 0, 0, 1), 0)
	mustAppend(t, l, txnBatch(5, 0, 2, 2), 0)
	mustMarker(t, l, 6, 0, false)
	leo := l.LogEndOffset()
	active := l.segments[len(l.segments)-1]
	if active.base > first {
		t.Fatalf("the transaction starts at %d, before the active segment %d: pick other sizes", first, active.base)
	}
	if n := l.NumSegments(); n < 2 {
		t.Fatalf("want several segments, have %d", n)
	}
	crash(m)
	// The marker is in the active segment, after the newest snapshot:
	// lose its index write (power loss; kill -9 keeps the page cache).
	if err := os.Remove(active.txnIndexPath()); err != nil {
		t.Fatal(err)
	}

	m = openManager(t, cfg)
	defer m.Close()
	l, _ = m.Get("txn", 0)
	if l.LogEndOffset() != leo {
		t.Fatalf("LEO = %d, want %d", l.LogEndOffset(), leo)
	}
	if got := l.LastStableOffset(leo); got != first {
		t.Fatalf("LSO after the crash = %d, want %d (the open transaction of 5)", got, first)
	}
	if got := l.AbortedTxns(0, leo); len(got) != 1 || got[0].ProducerID != 6 {
		t.Fatalf("aborted txns after the crash = %+v, want producer 6's", got)
	}
	mustMarker(t, l, 5, 0, true)
	if got := l.LastStableOffset(l.LogEndOffset()); got != l.LogEndOffset() {
		t.Fatalf("LSO after the commit = %d, want %d", got, l.LogEndOffset())
	}
}

// TestTxnIndexSurvivesRestart: the .txnindex and the v1 snapshot written at
// Close give back the same state; a corrupt .txnindex is rebuilt.
func TestTxnIndexSurvivesRestart(t *testing.T) {
	cfg := testConfig(t)
	m := openManager(t, cfg)
	l, _ := m.GetOrCreate("txn", 0, metadata.Uuid{})
	mustAppend(t, l, txnBatch(1, 0, 0, 2), 0) // 0-1
	mustMarker(t, l, 1, 0, false)             // 2
	mustAppend(t, l, txnBatch(2, 4, 0, 1), 0) // 3, open
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	idx := segmentFiles(t, l.Dir(), txnIndexSuffix)
	if len(idx) != 1 || fileSize(t, idx[0]) != txnIndexEntrySize {
		t.Fatalf("txn index files %v", idx)
	}
	check := func(what string) {
		t.Helper()
		m := openManager(t, cfg)
		defer m.Close()
		l, _ := m.Get("txn", 0)
		if got := l.AbortedTxns(0, 10); len(got) != 1 || got[0] != (AbortedTxn{ProducerID: 1, FirstOffset: 0}) {
			t.Fatalf("%s: aborted txns %+v", what, got)
		}
		if got := l.LastStableOffset(4); got != 3 {
			t.Fatalf("%s: LSO %d, want 3", what, got)
		}
		ps := l.Producers()
		if len(ps) != 2 || ps[1].ProducerEpoch != 4 || ps[1].CurrentTxnStartOffset != 3 || ps[0].CoordinatorEpoch != 1 {
			t.Fatalf("%s: producers %+v", what, ps)
		}
	}
	check("clean restart")
	if err := os.WriteFile(idx[0], []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("corrupt txn index")
}

func TestProducerSnapshotRoundTrip(t *testing.T) {
	ps := newProducerState()
	ps.load(&BatchHeader{ProducerID: 3, ProducerEpoch: 1, BaseSequence: 4, LastOffsetDelta: 2, BaseOffset: 10, MaxTimestamp: 99, Attributes: attrTransactional}, nil)
	ps.load(&BatchHeader{ProducerID: 4, ProducerEpoch: 2, BaseSequence: 0, BaseOffset: 13}, nil)
	got, err := decodeProducerSnapshot(ps.encode())
	if err != nil {
		t.Fatal(err)
	}
	e := got.producers[3]
	if e == nil || e.epoch != 1 || e.txnFirstOffset != 10 || e.lastTimestamp != 99 || e.coordinatorEpoch != -1 || len(e.batches) != 1 || e.batches[0].lastSeq != 6 {
		t.Fatalf("producer 3 = %+v", e)
	}
	if e := got.producers[4]; e == nil || e.txnFirstOffset != -1 {
		t.Fatalf("producer 4 = %+v", e)
	}
	// A version 0 snapshot (before transactions) still loads.
	v0 := []byte{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 3, 0}
	v0 = appendCRC(v0)
	if got, err := decodeProducerSnapshot(v0); err != nil || got.producers[9].epoch != 3 || got.producers[9].txnFirstOffset != -1 {
		t.Fatalf("v0 snapshot: %v %+v", err, got)
	}
}

// TestFollowerRebuildsTxnState: a follower appending the leader's batches
// (markers included) reaches the same LSO and aborted transactions.
func TestFollowerRebuildsTxnState(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	leader, _ := m.GetOrCreate("txn", 0, metadata.Uuid{})
	follower, _ := m.GetOrCreate("txn", 1, metadata.Uuid{})
	mustAppend(t, leader, txnBatch(1, 0, 0, 2), 0)
	mustAppend(t, leader, txnBatch(2, 0, 0, 2), 0)
	mustMarker(t, leader, 1, 0, false)
	data, err := leader.Read(0, math.MaxInt32, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := follower.AppendAsFollower(data); err != nil {
		t.Fatal(err)
	}
	end := follower.LogEndOffset()
	if a, b := leader.LastStableOffset(end), follower.LastStableOffset(end); a != 2 || b != 2 {
		t.Fatalf("LSO leader %d follower %d, want 2", a, b)
	}
	if got := follower.AbortedTxns(0, end); len(got) != 1 || got[0] != (AbortedTxn{ProducerID: 1, FirstOffset: 0}) {
		t.Fatalf("follower aborted txns %+v", got)
	}
}

func appendCRC(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// TestCleanDropsAbortedTransactions: compaction (below the last stable
// offset only) drops the data of aborted transactions, compacts committed
// transactional records by key like any other, keeps every marker (first pass) and the
// open transaction's data, and the aborted index moves with the cleaned
// segment.
func TestCleanDropsAbortedTransactions(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 1<<20, PolicyCompact)
	defer m.Close()
	keyed := func(pid int64, seq int32, k string) []byte {
		b := kvBatch(testTs+l.LogEndOffset(), rec(k, "v"))
		binary.BigEndian.PutUint16(b[offAttributes:], attrTransactional)
		binary.BigEndian.PutUint64(b[offProducerID:], uint64(pid))
		binary.BigEndian.PutUint16(b[offProducerEpoch:], 0)
		binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(seq))
		SealBatch(b)
		return b
	}
	mustAppend(t, l, keyed(1, 0, "a"), 1)      // 0: aborted
	mustAppend(t, l, keyed(2, 0, "b"), 1)      // 1: committed, superseded by 4
	mustAppend(t, l, keyed(2, 1, "k"), 1)      // 2: committed, kept
	mustMarker(t, l, 1, 0, false)              // 3
	mustMarker(t, l, 2, 0, true)               // 4
	appendKVs(t, l, [][]kv{{rec("b", "new")}}) // 5
	roll(t, l)
	mustAppend(t, l, keyed(3, 0, "c"), 1)         // 6: open
	appendKVs(t, l, [][]kv{nil, {rec("z", "1")}}) // 7, in a third segment
	l.SetHighWatermark(l.LogEndOffset())
	if got := l.LastStableOffset(l.LogEndOffset()); got != 6 {
		t.Fatalf("LSO before cleaning = %d, want 6", got)
	}
	if _, err := l.Compact(time.UnixMilli(testTs)); err != nil {
		t.Fatal(err)
	}
	data, err := l.Read(0, math.MaxInt32, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for len(data) > 0 {
		h, err := checkBatch(data)
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, h.BaseOffset)
		data = data[h.Size():]
	}
	if fmt.Sprint(offs) != "[2 3 4 5 6 7]" {
		t.Fatalf("batches after cleaning at %v, want [2 3 4 5 6 7] (aborted 0 and superseded 1 gone)", offs)
	}
	if got := l.AbortedTxns(0, math.MaxInt64); len(got) != 1 || got[0].ProducerID != 1 {
		t.Fatalf("aborted index after cleaning: %+v", got)
	}
	if got := l.LastStableOffset(l.LogEndOffset()); got != 6 {
		t.Fatalf("LSO after cleaning = %d, want 6 (the open transaction)", got)
	}
}

func TestProducerExpiry(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	l, _ := m.GetOrCreate("txn", 0, metadata.Uuid{})
	mustAppend(t, l, makeBatch(idem(1, 0, 0, 1)), 0) // ts 1_700_000_000_000
	mustAppend(t, l, txnBatch(2, 0, 0, 1), 0)        // open: never expires
	now := int64(1_700_000_000_000) + DefaultProducerIDExpiration.Milliseconds() + 1
	if n := l.expireProducers(now, 0); n != 1 {
		t.Fatalf("expired %d producers, want 1", n)
	}
	if ps := l.Producers(); len(ps) != 1 || ps[0].ProducerID != 2 {
		t.Fatalf("producers left: %+v", ps)
	}
	if n := l.expireProducers(now, -1); n != 0 {
		t.Fatalf("expiry off expired %d", n)
	}
}

// txnKV is a transactional batch of producer pid (epoch 0) holding key k,
// timestamped as kvBatch's at the log end.
func txnKV(l *Log, pid int64, seq int32, k string) []byte {
	b := kvBatch(testTs+l.LogEndOffset(), rec(k, "v"))
	binary.BigEndian.PutUint16(b[offAttributes:], attrTransactional)
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(pid))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], 0)
	binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(seq))
	SealBatch(b)
	return b
}

// batchHeaders reads the whole log and returns its batches' headers (CRCs
// checked) and, for control batches, their record's absolute timestamp.
func batchHeaders(t *testing.T, l *Log) (map[int64]BatchHeader, map[int64]int64, string) {
	t.Helper()
	data, err := l.Read(0, math.MaxInt32, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	hs, ts := map[int64]BatchHeader{}, map[int64]int64{}
	var offs []int64
	for len(data) > 0 {
		h, err := checkBatch(data)
		if err != nil {
			t.Fatal(err)
		}
		if h.IsControlBatch() {
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(data[:h.Size()]); err != nil {
				t.Fatal(err)
			}
			var r kmsg.Record
			if _, w := binary.Varint(rb.Records); w <= 0 || r.ReadFrom(rb.Records) != nil {
				t.Fatalf("control batch at %d: unreadable record", h.BaseOffset)
			}
			ts[h.BaseOffset] = h.BaseTimestamp + r.TimestampDelta64
			if _, _, ok := parseMarker(data[:h.Size()]); !ok {
				t.Fatalf("control batch at %d no longer parses as a marker", h.BaseOffset)
			}
		}
		hs[h.BaseOffset] = h
		offs = append(offs, h.BaseOffset)
		data = data[h.Size():]
	}
	return hs, ts, fmt.Sprint(offs)
}

// TestCleanRemovesTxnMarkers follows Kafka's cleaner (KIP-534): a marker
// stays while a cleaning reads data of its transaction; the first cleaning
// that reads none stamps it with a delete horizon (now +
// delete.retention.ms) and drops an abort's index entry; a cleaning after
// the horizon removes it. A marker whose transaction keeps a record stays.
// After a crash (with the snapshots, and without them: a replay of the whole
// log) no transaction is open and the LSO is the high watermark.
func TestCleanRemovesTxnMarkers(t *testing.T) {
	dir := t.TempDir()
	m, l := compactedLog(t, dir, 1<<20, PolicyCompact)
	lc := l.Config()
	lc.DeleteRetentionMs = 1000
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, txnKV(l, 2, 0, "a"), 1)                                                              // 0: committed, superseded by 7
	mustAppend(t, l, txnKV(l, 2, 1, "b"), 1)                                                              // 1: committed, superseded by 8
	mustMarker(t, l, 2, 0, true)                                                                          // 2
	mustAppend(t, l, txnKV(l, 1, 0, "x"), 1)                                                              // 3: aborted
	mustMarker(t, l, 1, 0, false)                                                                         // 4
	mustAppend(t, l, txnKV(l, 3, 0, "live"), 1)                                                           // 5: committed, stays
	mustMarker(t, l, 3, 0, true)                                                                          // 6
	appendKVs(t, l, [][]kv{{rec("a", "2")}, {rec("b", "2")}, nil, {rec("z", "1")}, nil, {rec("y", "1")}}) // 7, 8 | 9 | 10
	l.SetHighWatermark(l.LogEndOffset())
	hw := l.LogEndOffset()
	_, ts0, _ := batchHeaders(t, l)

	const now = testTs + 100_000
	clean := func(nowMs int64) {
		t.Helper()
		if _, err := l.Compact(time.UnixMilli(nowMs)); err != nil {
			t.Fatal(err)
		}
	}
	// Pass 1: the transactions' data batches are read (and dropped), so
	// their markers stay, and so does the abort's index entry.
	clean(now)
	hs, _, offs := batchHeaders(t, l)
	if offs != "[2 4 5 6 7 8 9 10]" {
		t.Fatalf("batches after pass 1 at %s, want [2 4 5 6 7 8 9 10]", offs)
	}
	for _, o := range []int64{2, 4, 6} {
		if hs[o].Attributes&attrDeleteHorizon != 0 {
			t.Fatalf("marker %d got a delete horizon in the pass that read its transaction's data", o)
		}
	}
	if got := l.AbortedTxns(0, hw); len(got) != 1 || got[0].ProducerID != 1 || got[0].FirstOffset != 3 {
		t.Fatalf("aborted index after pass 1 = %+v, want producer 1 from 3", got)
	}
	if _, ok := l.cleanable(now, 1<<30); !ok {
		t.Fatal("after pass 1 the log is not cleanable again, though its markers wait for a second pass")
	}
	// Pass 2: no data left for 2 and 1: their markers get the horizon.
	clean(now)
	hs, ts, offs := batchHeaders(t, l)
	if offs != "[2 4 5 6 7 8 9 10]" {
		t.Fatalf("batches after pass 2 at %s, want [2 4 5 6 7 8 9 10]", offs)
	}
	for _, o := range []int64{2, 4} {
		if h := hs[o]; h.Attributes&attrDeleteHorizon == 0 || h.BaseTimestamp != now+1000 {
			t.Fatalf("marker %d after pass 2: attributes %#x base timestamp %d, want bit 6 and %d", o, h.Attributes, h.BaseTimestamp, now+1000)
		}
	}
	if h := hs[6]; h.Attributes&attrDeleteHorizon != 0 {
		t.Fatal("marker 6 (its transaction keeps record 5) got a delete horizon")
	}
	for o, want := range ts0 {
		if got, ok := ts[o]; ok && got != want {
			t.Fatalf("marker %d's timestamp %d after stamping, want %d", o, got, want)
		}
	}
	if got := l.AbortedTxns(0, hw); len(got) != 0 {
		t.Fatalf("aborted index after pass 2 = %+v, want empty (no data left)", got)
	}
	if l.cleaner.nextHorizon != now+1000 {
		t.Fatalf("next horizon %d, want %d", l.cleaner.nextHorizon, now+1000)
	}
	clean(now + 999)
	if _, _, offs := batchHeaders(t, l); offs != "[2 4 5 6 7 8 9 10]" {
		t.Fatalf("batches before the horizon at %s, want [2 4 5 6 7 8 9 10]", offs)
	}
	if _, ok := l.cleanable(now+1000, 1<<30); !ok {
		t.Fatal("the log is not cleanable once the markers' horizon passed")
	}
	clean(now + 1000)
	if _, _, offs := batchHeaders(t, l); offs != "[5 6 7 8 9 10]" {
		t.Fatalf("batches after the horizon at %s, want [5 6 7 8 9 10]", offs)
	}
	if got := l.LastStableOffset(hw); got != hw {
		t.Fatalf("LSO after cleaning = %d, want %d", got, hw)
	}

	for _, withSnapshots := range []bool{true, false} {
		crash(m)
		if !withSnapshots {
			for _, p := range segmentFiles(t, l.dir, snapshotSuffix) {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		m = openManager(t, testConfig(t, dir))
		var ok bool
		if l, ok = m.Get("c", 0); !ok {
			t.Fatal("log c-0 missing after restart")
		}
		if got := l.LastStableOffset(hw); got != hw {
			t.Fatalf("LSO after restart (snapshots %v) = %d, want %d", withSnapshots, got, hw)
		}
		for _, pid := range []int64{1, 2, 3} {
			if _, first, ok := l.OpenTxn(pid); ok {
				t.Fatalf("after restart (snapshots %v) producer %d has a transaction open from %d", withSnapshots, pid, first)
			}
		}
		if got := l.AbortedTxns(0, hw); len(got) != 0 {
			t.Fatalf("aborted index after restart (snapshots %v) = %+v", withSnapshots, got)
		}
	}
	m.Close()
}

// TestCleanKeepsMarkersAboveSnapshots: a marker at or above the oldest
// producer snapshot stays whatever its horizon (a recovery from that
// snapshot must still see its transaction end), and goes once the
// snapshots moved past it.
func TestCleanKeepsMarkersAboveSnapshots(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 1<<20, PolicyCompact)
	defer m.Close()
	lc := l.Config()
	lc.DeleteRetentionMs = 0
	if err := l.SetConfig(lc); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, txnKV(l, 1, 0, "x"), 1)                       // 0: aborted
	mustMarker(t, l, 1, 0, false)                                  // 1
	appendKVs(t, l, [][]kv{{rec("z", "1")}, nil, {rec("y", "1")}}) // 2 | 3
	l.SetHighWatermark(l.LogEndOffset())
	l.appendMu.Lock()
	l.snapshots = append([]int64{1}, l.snapshots...) // as if a roll had snapshotted at 1
	l.appendMu.Unlock()
	for i := 0; i < 3; i++ {
		if _, err := l.Compact(time.UnixMilli(testTs + int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, offs := batchHeaders(t, l); offs != "[1 2 3]" {
		t.Fatalf("batches at %s, want [1 2 3]: marker 1 is not below the snapshot at 1", offs)
	}
	l.appendMu.Lock()
	l.snapshots = l.snapshots[1:]
	l.appendMu.Unlock()
	if _, err := l.Compact(time.UnixMilli(testTs + 10)); err != nil {
		t.Fatal(err)
	}
	if _, _, offs := batchHeaders(t, l); offs != "[2 3]" {
		t.Fatalf("batches at %s, want [2 3]", offs)
	}
}

// TestCleanAbortedKeyKeepsCommittedValue: an aborted transaction's record
// for a key does not count as the key's latest (Kafka's
// buildOffsetMapForSegment skips aborted batches): the committed value
// before it stays.
func TestCleanAbortedKeyKeepsCommittedValue(t *testing.T) {
	m, l := compactedLog(t, t.TempDir(), 1<<20, PolicyCompact)
	defer m.Close()
	appendKVs(t, l, [][]kv{{rec("a", "1")}})      // 0: committed value
	mustAppend(t, l, txnKV(l, 1, 0, "a"), 1)      // 1: aborted
	mustMarker(t, l, 1, 0, false)                 // 2
	appendKVs(t, l, [][]kv{nil, {rec("z", "1")}}) // 3
	l.SetHighWatermark(l.LogEndOffset())
	st, err := l.Compact(time.UnixMilli(testTs))
	if err != nil {
		t.Fatal(err)
	}
	if st.Kept != 1 {
		t.Fatalf("cleaning %+v, want a=1 kept", st)
	}
	if _, _, offs := batchHeaders(t, l); offs != "[0 2 3]" {
		t.Fatalf("batches at %s, want [0 2 3] (a=1, the abort marker, z)", offs)
	}
}
