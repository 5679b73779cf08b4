package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

func TestAppendReadRoundTrip(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	l, err := m.GetOrCreate("orders", 0, metadata.RandomUuid())
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for i := 0; i < 10; i++ {
		b := makeBatch(plain(3))
		res := mustAppend(t, l, b, 5)
		if res.FirstOffset != int64(i*3) || res.LastOffset != int64(i*3+2) || res.Duplicate || res.LogAppendTime != -1 {
			t.Fatalf("batch %d: got %+v", i, res)
		}
		all = append(all, b...)
	}
	if got := l.LogEndOffset(); got != 30 {
		t.Fatalf("LogEndOffset = %d, want 30", got)
	}
	got, err := l.Read(0, math.MaxInt32, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, all) {
		t.Fatalf("read back %d bytes, differ from the %d appended", len(got), len(all))
	}
	for i, rb := range decodeAll(t, got) {
		if rb.FirstOffset != int64(i*3) || rb.PartitionLeaderEpoch != 5 || rb.NumRecords != 3 {
			t.Fatalf("batch %d: offset %d epoch %d records %d", i, rb.FirstOffset, rb.PartitionLeaderEpoch, rb.NumRecords)
		}
	}
	batchLen := int32(len(all) / 10)
	tests := []struct {
		name           string
		offset         int64
		maxBytes       int32
		maxOffset      int64
		wantFirst      int64 // -1 = empty
		wantBatches    int
		wantOutOfRange bool
	}{
		{"mid batch starts at its base", 4, math.MaxInt32, math.MaxInt64, 3, 9, false},
		{"max bytes bounds whole batches", 0, 2*batchLen + 5, math.MaxInt64, 0, 2, false},
		{"at least one batch (KIP-74)", 6, 1, math.MaxInt64, 6, 1, false},
		{"high watermark stops", 0, math.MaxInt32, 9, 0, 3, false},
		{"offset at high watermark is empty", 9, math.MaxInt32, 9, -1, 0, false},
		{"log end is empty", 30, math.MaxInt32, math.MaxInt64, -1, 0, false},
		{"past log end", 31, math.MaxInt32, math.MaxInt64, -1, 0, true},
		{"negative", -1, math.MaxInt32, math.MaxInt64, -1, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Read(tc.offset, tc.maxBytes, tc.maxOffset)
			if tc.wantOutOfRange {
				if !errors.Is(err, ErrOffsetOutOfRange) {
					t.Fatalf("err = %v, want ErrOffsetOutOfRange", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			bs := decodeAll(t, got)
			if len(bs) != tc.wantBatches {
				t.Fatalf("got %d batches, want %d", len(bs), tc.wantBatches)
			}
			if len(bs) > 0 && bs[0].FirstOffset != tc.wantFirst {
				t.Fatalf("first batch at %d, want %d", bs[0].FirstOffset, tc.wantFirst)
			}
		})
	}
}

func TestAppendValidation(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	l, err := m.GetOrCreate("v", 0, metadata.Uuid{})
	if err != nil {
		t.Fatal(err)
	}
	good := func() []byte { return makeBatch(plain(2)) }
	tests := []struct {
		name   string
		mutate func() []byte
		want   error
	}{
		{"crc mismatch", func() []byte { b := good(); b[len(b)-1] ^= 0xff; return b }, ErrCorruptMessage},
		{"magic 1", func() []byte { b := good(); b[offMagic] = 1; return b }, ErrCorruptMessage},
		{"short header", func() []byte { return good()[:40] }, ErrCorruptMessage},
		{"length past end", func() []byte { return good()[:len(good())-3] }, ErrCorruptMessage},
		{"length too small", func() []byte { b := good(); binary.BigEndian.PutUint32(b[offBatchLength:], 10); return b }, ErrCorruptMessage},
		{"trailing garbage", func() []byte { return append(good(), 1, 2, 3) }, ErrCorruptMessage},
		{"empty", func() []byte { return nil }, ErrCorruptMessage},
		{"count mismatch", func() []byte {
			s := plain(3)
			b := makeBatch(s)
			return recrc(b, func(b []byte) { binary.BigEndian.PutUint32(b[offRecordCount:], 2) })
		}, ErrInvalidRecord},
		{"control batch", func() []byte { s := plain(1); s.attrs = attrControl; return makeBatch(s) }, ErrInvalidRecord},
		{"transactional batch without producer id", func() []byte { s := plain(1); s.attrs = attrTransactional; return makeBatch(s) }, ErrInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Append(tc.mutate(), 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if l.LogEndOffset() != 0 {
				t.Fatalf("rejected batch moved the log end to %d", l.LogEndOffset())
			}
		})
	}
	cfg := l.Config()
	cfg.SegmentBytes = 200
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	big := makeBatch(batchSpec{records: 1, valueSize: 300, pid: -1})
	if _, err := l.Append(big, 0); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("err = %v, want ErrRecordTooLarge", err)
	}
}

// recrc applies f to a batch and fixes its CRC.
func recrc(b []byte, f func([]byte)) []byte {
	f(b)
	binary.BigEndian.PutUint32(b[offCRC:], crc32c(b[offAttributes:]))
	return b
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

func TestSegmentRollAndIndexLookup(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 4096
	cfg.IndexIntervalBytes = 300
	m := openManager(t, cfg)
	defer m.Close()
	l, err := m.GetOrCreate("roll", 2, metadata.Uuid{})
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int64 // base offset of every batch
	for i := 0; i < 200; i++ {
		res := mustAppend(t, l, makeBatch(plain(1+i%4)), 0)
		offsets = append(offsets, res.FirstOffset)
	}
	if n := l.NumSegments(); n < 5 {
		t.Fatalf("NumSegments = %d, want several after 200 batches of ~100 bytes with segment.bytes=4096", n)
	}
	logs := segmentFiles(t, l.Dir(), logSuffix)
	if len(logs) != l.NumSegments() {
		t.Fatalf("%d .log files, %d segments", len(logs), l.NumSegments())
	}
	for _, p := range logs {
		if sz := fileSize(t, p); sz > cfg.SegmentBytes {
			t.Fatalf("%s is %d bytes, over segment.bytes", p, sz)
		}
		if fileSize(t, strings.TrimSuffix(p, logSuffix)+indexSuffix) == 0 {
			t.Fatalf("%s has an empty index", p)
		}
	}
	leo := l.LogEndOffset()
	for off := int64(0); off < leo; off++ {
		got, err := l.Read(off, 1, math.MaxInt64)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		bs := decodeAll(t, got)
		if len(bs) != 1 || bs[0].FirstOffset > off || bs[0].FirstOffset+int64(bs[0].LastOffsetDelta) < off {
			t.Fatalf("Read(%d) returned %d batches, first at %d", off, len(bs), bs[0].FirstOffset)
		}
	}
	// The in-memory index agrees with the file, entry by entry.
	l.mu.RLock()
	s := l.segments[1]
	l.mu.RUnlock()
	raw, err := os.ReadFile(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := decodeIndex(raw, s.size)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromFile) != len(s.index) || len(fromFile) == 0 {
		t.Fatalf("index file has %d entries, memory %d", len(fromFile), len(s.index))
	}
	for i := range fromFile {
		if fromFile[i] != s.index[i] {
			t.Fatalf("entry %d: file %+v memory %+v", i, fromFile[i], s.index[i])
		}
	}
}

func TestReopenAfterCleanShutdown(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 2048
	m := openManager(t, cfg)
	id := metadata.RandomUuid()
	l, _ := m.GetOrCreate("t", 0, id)
	for i := 0; i < 40; i++ {
		mustAppend(t, l, makeBatch(idem(7, 0, int32(i*2), 2)), 1)
	}
	before, _ := l.Read(0, math.MaxInt32, math.MaxInt64)
	segs := l.NumSegments()
	l.SetHighWatermark(50)
	l.SetHighWatermark(500) // clamped to the log end
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dirs[0], cleanShutdownFile)); err != nil {
		t.Fatalf("no clean shutdown marker: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.Dirs[0], hwCheckpointFile)); string(b) != "0\n1\nt 0 80\n" {
		t.Fatalf("replication-offset-checkpoint = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(l.Dir(), epochCheckpointFile)); string(b) != "0\n1\n1 0\n" {
		t.Fatalf("leader-epoch-checkpoint = %q", b)
	}
	meta, _ := os.ReadFile(filepath.Join(l.Dir(), partitionMetadataFile))
	if want := "version: 0\ntopic_id: " + id.String() + "\n"; string(meta) != want {
		t.Fatalf("partition.metadata = %q, want %q", meta, want)
	}

	m = openManager(t, cfg)
	defer m.Close()
	if _, err := os.Stat(filepath.Join(cfg.Dirs[0], cleanShutdownFile)); !os.IsNotExist(err) {
		t.Fatalf("clean shutdown marker still there after Open: %v", err)
	}
	l, ok := m.Get("t", 0)
	if !ok {
		t.Fatal("partition not found after reopen")
	}
	if l.LogEndOffset() != 80 || l.NumSegments() != segs || l.TopicID() != id || l.HighWatermark() != 80 {
		t.Fatalf("after reopen: LEO %d segments %d id %v hw %d", l.LogEndOffset(), l.NumSegments(), l.TopicID(), l.HighWatermark())
	}
	if got := l.LeaderEpochs(); len(got) != 1 || got[0] != (EpochEntry{1, 0}) {
		t.Fatalf("epochs after reopen = %+v", got)
	}
	after, _ := l.Read(0, math.MaxInt32, math.MaxInt64)
	if !bytes.Equal(before[:len(after)], after) {
		t.Fatal("first segment differs after reopen")
	}
	// Producer state came back from the snapshot: the last batch is a duplicate.
	res, err := l.Append(makeBatch(idem(7, 0, 78, 2)), 1)
	if err != nil || !res.Duplicate || res.FirstOffset != 78 {
		t.Fatalf("retry after reopen: %+v, %v", res, err)
	}
	if _, err := l.Append(makeBatch(idem(7, 0, 81, 1)), 1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap after reopen: %v", err)
	}
}

func TestIdempotentProducer(t *testing.T) {
	type step struct {
		spec      batchSpec
		wantFirst int64
		wantDup   bool
		wantErr   error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order then duplicate of last", []step{
			{spec: idem(1, 0, 0, 2), wantFirst: 0},
			{spec: idem(1, 0, 2, 3), wantFirst: 2},
			{spec: idem(1, 0, 2, 3), wantFirst: 2, wantDup: true},
		}},
		{"duplicate of one of the last five", []step{
			{spec: idem(1, 0, 0, 1), wantFirst: 0},
			{spec: idem(1, 0, 1, 1), wantFirst: 1},
			{spec: idem(1, 0, 2, 1), wantFirst: 2},
			{spec: idem(1, 0, 1, 1), wantFirst: 1, wantDup: true},
		}},
		{"sixth oldest is forgotten", []step{
			{spec: idem(1, 0, 0, 1), wantFirst: 0},
			{spec: idem(1, 0, 1, 1), wantFirst: 1},
			{spec: idem(1, 0, 2, 1), wantFirst: 2},
			{spec: idem(1, 0, 3, 1), wantFirst: 3},
			{spec: idem(1, 0, 4, 1), wantFirst: 4},
			{spec: idem(1, 0, 5, 1), wantFirst: 5},
			{spec: idem(1, 0, 0, 1), wantErr: ErrOutOfOrderSequence},
		}},
		{"gap", []step{
			{spec: idem(1, 0, 0, 2), wantFirst: 0},
			{spec: idem(1, 0, 3, 1), wantErr: ErrOutOfOrderSequence},
		}},
		{"unknown producer accepts any sequence", []step{
			{spec: idem(9, 3, 42, 1), wantFirst: 0},
			{spec: idem(9, 3, 43, 1), wantFirst: 1},
		}},
		{"new epoch starts at zero", []step{
			{spec: idem(1, 0, 0, 5), wantFirst: 0},
			{spec: idem(1, 1, 0, 1), wantFirst: 5},
		}},
		{"new epoch not at zero", []step{
			{spec: idem(1, 0, 0, 5), wantFirst: 0},
			{spec: idem(1, 1, 5, 1), wantErr: ErrOutOfOrderSequence},
		}},
		{"older epoch fenced", []step{
			{spec: idem(1, 2, 0, 1), wantFirst: 0},
			{spec: idem(1, 1, 1, 1), wantErr: ErrInvalidProducerEpoch},
		}},
		{"sequence wraps at MaxInt32", []step{
			{spec: idem(1, 0, math.MaxInt32-1, 2), wantFirst: 0},
			{spec: idem(1, 0, 0, 1), wantFirst: 2},
		}},
		{"batch crossing MaxInt32 then next", []step{
			{spec: idem(1, 0, math.MaxInt32, 3), wantFirst: 0},
			{spec: idem(1, 0, 2, 1), wantFirst: 3},
		}},
		{"producers are independent", []step{
			{spec: idem(1, 0, 0, 1), wantFirst: 0},
			{spec: idem(2, 0, 0, 1), wantFirst: 1},
			{spec: idem(1, 0, 1, 1), wantFirst: 2},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := openManager(t, testConfig(t))
			defer m.Close()
			l, _ := m.GetOrCreate("idem", 0, metadata.Uuid{})
			for i, st := range tc.steps {
				leo := l.LogEndOffset()
				res, err := l.Append(makeBatch(st.spec), 0)
				if st.wantErr != nil {
					if !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d: err = %v, want %v", i, err, st.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if res.FirstOffset != st.wantFirst || res.Duplicate != st.wantDup {
					t.Fatalf("step %d: got %+v, want first %d dup %v", i, res, st.wantFirst, st.wantDup)
				}
				if st.wantDup && l.LogEndOffset() != leo {
					t.Fatalf("step %d: duplicate appended (LEO %d -> %d)", i, leo, l.LogEndOffset())
				}
			}
		})
	}
}

func TestTruncateTo(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 1024
	m := openManager(t, cfg)
	defer m.Close()
	l, _ := m.GetOrCreate("tr", 0, metadata.Uuid{})
	for i := 0; i < 30; i++ {
		mustAppend(t, l, makeBatch(idem(4, 0, int32(i*2), 2)), int32(i/10)) // epochs 0,1,2 start at 0,20,40
	}
	if got := l.LeaderEpochs(); len(got) != 3 || got[1] != (EpochEntry{1, 20}) || got[2] != (EpochEntry{2, 40}) {
		t.Fatalf("epochs = %+v", got)
	}
	if e, end := l.EndOffsetForEpoch(1); e != 1 || end != 40 {
		t.Fatalf("EndOffsetForEpoch(1) = %d, %d", e, end)
	}
	segsBefore := l.NumSegments()
	if err := l.TruncateTo(24); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 24 {
		t.Fatalf("LEO = %d, want 24", l.LogEndOffset())
	}
	if l.NumSegments() >= segsBefore {
		t.Fatalf("segments %d -> %d: later ones not deleted", segsBefore, l.NumSegments())
	}
	if got := l.LeaderEpochs(); len(got) != 2 {
		t.Fatalf("epochs after truncate = %+v", got)
	}
	data, _ := os.ReadFile(filepath.Join(l.Dir(), epochCheckpointFile))
	if string(data) != "0\n2\n0 0\n1 20\n" {
		t.Fatalf("leader-epoch-checkpoint = %q", data)
	}
	if got, _ := l.Read(22, math.MaxInt32, math.MaxInt64); len(decodeAll(t, got)) != 1 {
		t.Fatal("batch before the truncation point missing")
	}
	// Producer state was truncated too: sequence 24 follows 22-23 again.
	res, err := l.Append(makeBatch(idem(4, 0, 24, 2)), 3)
	if err != nil || res.FirstOffset != 24 || res.Duplicate {
		t.Fatalf("append after truncate: %+v %v", res, err)
	}
	// Mid-batch truncation removes the whole batch.
	if err := l.TruncateTo(25); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 24 {
		t.Fatalf("LEO after mid-batch truncate = %d, want 24", l.LogEndOffset())
	}
	// Below the log start: empty log restarting at the offset.
	if err := l.TruncateTo(0); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 0 || l.NumSegments() != 1 || len(l.LeaderEpochs()) != 0 {
		t.Fatalf("after full truncate: LEO %d segments %d epochs %v", l.LogEndOffset(), l.NumSegments(), l.LeaderEpochs())
	}
	mustAppend(t, l, makeBatch(plain(1)), 0)
}

func TestOffsetForTimestamp(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 1024
	cfg.IndexIntervalBytes = 100
	m := openManager(t, cfg)
	defer m.Close()
	l, _ := m.GetOrCreate("ts", 0, metadata.Uuid{})
	// Batch i holds 4 records at timestamps 1000+100*i + {0,10,20,30}.
	for i := 0; i < 30; i++ {
		s := plain(4)
		s.ts, s.tsStep = 1000+100*int64(i), 10
		mustAppend(t, l, makeBatch(s), 0)
	}
	tests := []struct {
		ts, wantOff, wantTs int64
		ok                  bool
	}{
		{0, 0, 1000, true},
		{1000, 0, 1000, true},
		{1001, 1, 1010, true},
		{1030, 3, 1030, true},
		{1031, 4, 1100, true},
		{2215, 50, 2220, true},
		{3930, 119, 3930, true},
		{3931, -1, -1, false},
		{-2, 0, -1, true},
		{-1, 120, -1, true},
	}
	for _, tc := range tests {
		off, ts, ok := l.OffsetForTimestamp(tc.ts)
		if off != tc.wantOff || ts != tc.wantTs || ok != tc.ok {
			t.Errorf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d, %v", tc.ts, off, ts, ok, tc.wantOff, tc.wantTs, tc.ok)
		}
	}
}

func TestWait(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := openManager(t, testConfig(t))
	defer m.Close()
	l, _ := m.GetOrCreate("w", 0, metadata.Uuid{})
	mustAppend(t, l, makeBatch(plain(1)), 0)

	select {
	case <-l.Wait(context.Background(), 0):
	default:
		t.Fatal("Wait(0) with LEO 1 not ready")
	}
	ch := l.Wait(context.Background(), 1)
	select {
	case <-ch:
		t.Fatal("Wait(1) ready before an append")
	default:
	}
	mustAppend(t, l, makeBatch(plain(1)), 0)
	select {
	case <-ch:
	default:
		t.Fatal("Wait(1) not released by the append")
	}

	ctx, cancel := context.WithCancel(context.Background())
	ch = l.Wait(ctx, 10)
	cancel()
	wait.Until(t, 10*time.Second, "cancelled wait to be released", func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	})
	l.mu.RLock()
	n := len(l.waiters)
	l.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d waiters left registered", n)
	}
}

func TestConcurrentAppendAndRead(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 8192
	m := openManager(t, cfg)
	defer m.Close()
	l, _ := m.GetOrCreate("c", 0, metadata.Uuid{})
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+4)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				if _, err := l.Append(makeBatch(plain(2)), 0); err != nil {
					errs <- err
				}
			}
		}()
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				leo := l.LogEndOffset()
				for off := int64(0); off < leo; off += 7 {
					b, err := l.Read(off, 512, math.MaxInt64)
					if err != nil {
						errs <- err
						return
					}
					if h, err := checkBatch(b); err != nil || h.LastOffset() < off {
						errs <- errors.New("read returned a bad batch")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if l.LogEndOffset() != writers*perWriter*2 {
		t.Fatalf("LEO = %d", l.LogEndOffset())
	}
	next := int64(0)
	for off := int64(0); off < l.LogEndOffset(); {
		b, err := l.Read(off, math.MaxInt32, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		for _, rb := range decodeAll(t, b) {
			if rb.FirstOffset != next {
				t.Fatalf("batch at %d, want %d", rb.FirstOffset, next)
			}
			next += int64(rb.NumRecords)
		}
		off = next
	}
}

// TestLogAppendTime: with message.timestamp.type=LogAppendTime every batch
// is stamped with the broker's clock (attribute bit 3, max timestamp, a
// valid CRC), the result reports the stamp, and the time index follows the
// stamped time, not the producer's (Kafka's LogValidator, KIP-32).
func TestLogAppendTime(t *testing.T) {
	m := openManager(t, testConfig(t))
	defer m.Close()
	l, _ := m.GetOrCreate("lat", 0, metadata.Uuid{})
	c := l.Config()
	c.LogAppendTime = true
	if err := l.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixMilli()
	s := plain(3)
	s.ts = 1000 // the producer's clock, far in the past
	res := mustAppend(t, l, makeBatch(s), 0)
	after := time.Now().UnixMilli()
	if res.LogAppendTime < before || res.LogAppendTime > after {
		t.Fatalf("LogAppendTime = %d, want within [%d, %d]", res.LogAppendTime, before, after)
	}
	data, err := l.Read(0, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkBatch(data); err != nil {
		t.Fatalf("stamped batch fails its CRC: %v", err)
	}
	bs := decodeAll(t, data)
	if len(bs) != 1 || bs[0].Attributes&attrTimestampType == 0 || bs[0].MaxTimestamp != res.LogAppendTime || bs[0].FirstTimestamp != 1000 {
		t.Fatalf("batch = %+v, want LogAppendTime attribute and max timestamp %d", bs[0], res.LogAppendTime)
	}
	if off, ts, ok := l.OffsetForTimestamp(1001); !ok || off != 0 || ts != res.LogAppendTime {
		t.Fatalf("OffsetForTimestamp(1001) = %d, %d, %v; want 0, %d, true", off, ts, ok, res.LogAppendTime)
	}

	c.LogAppendTime = false
	if err := l.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	if res := mustAppend(t, l, makeBatch(s), 0); res.LogAppendTime != -1 {
		t.Fatalf("CreateTime append reports LogAppendTime %d, want -1", res.LogAppendTime)
	}
}
