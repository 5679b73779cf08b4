package storage

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/zkraft/zkraft/metadata"
)

// TestAppendAsFollower copies a leader's log into a follower batch by batch
// and checks that the follower holds identical bytes, offsets and leader
// epochs (Kafka's appendAsFollower; KIP-101 needs the epochs).
func TestAppendAsFollower(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 1024
	m := openManager(t, cfg)
	defer m.Close()
	leader, _ := m.GetOrCreate("lead", 0, metadata.Uuid{})
	follower, _ := m.GetOrCreate("follow", 0, metadata.Uuid{})
	for i := 0; i < 20; i++ {
		mustAppend(t, leader, makeBatch(idem(7, 0, int32(i*3), 3)), int32(i/5)) // epochs 0..3
	}
	all, err := leader.Read(0, math.MaxInt32, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < leader.LogEndOffset(); {
		data, err := leader.Read(off, 200, math.MaxInt64) // one segment's worth at most
		if err != nil {
			t.Fatal(err)
		}
		// A fetch response may end mid-batch: append a torn tail too.
		res, err := follower.AppendAsFollower(append(data, data[:30]...))
		if err != nil {
			t.Fatalf("AppendAsFollower at %d: %v", off, err)
		}
		if res.FirstOffset != off {
			t.Fatalf("first offset %d, want %d", res.FirstOffset, off)
		}
		off = res.LastOffset + 1
	}
	if follower.LogEndOffset() != leader.LogEndOffset() {
		t.Fatalf("follower LEO %d, leader %d", follower.LogEndOffset(), leader.LogEndOffset())
	}
	got, _ := follower.Read(0, math.MaxInt32, math.MaxInt64)
	if n := len(all); !bytes.Equal(got[:min(n, len(got))], all) {
		t.Fatal("follower bytes differ from the leader's first segment")
	}
	le, fe := leader.LeaderEpochs(), follower.LeaderEpochs()
	if len(fe) != 4 || len(le) != len(fe) {
		t.Fatalf("epochs: leader %v follower %v", le, fe)
	}
	for i := range le {
		if le[i] != fe[i] {
			t.Fatalf("epochs: leader %v follower %v", le, fe)
		}
	}
	// Producer state followed: the follower, now leading, sees a retry of
	// the last batch as a duplicate.
	res, err := follower.Append(makeBatch(idem(7, 0, 57, 3)), 4)
	if err != nil || !res.Duplicate || res.FirstOffset != 57 {
		t.Fatalf("retry on new leader: %+v %v", res, err)
	}
}

func TestAppendAsFollowerRejects(t *testing.T) {
	cfg := testConfig(t)
	m := openManager(t, cfg)
	defer m.Close()
	src, _ := m.GetOrCreate("src", 0, metadata.Uuid{})
	for i := 0; i < 3; i++ {
		mustAppend(t, src, makeBatch(plain(2)), 1)
	}
	batchAt := func(off int64) []byte {
		b, err := src.Read(off, 1, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	corrupt := bytes.Clone(batchAt(0))
	corrupt[len(corrupt)-1] ^= 0xff
	tests := []struct {
		name    string
		prepare []byte // appended first
		data    []byte
		want    error
		leo     int64
	}{
		{"gap", nil, batchAt(2), ErrOffsetOutOfRange, 0},
		{"overlap", batchAt(0), append(bytes.Clone(batchAt(0)[:0]), mutateBase(batchAt(2), 1)...), ErrOffsetOutOfRange, 2},
		{"crc", nil, corrupt, ErrCorruptMessage, 0},
		{"already held is skipped", batchAt(0), batchAt(0), nil, 2},
		{"empty", nil, nil, nil, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := m.GetOrCreate("dst", int32(i), metadata.Uuid{})
			if tc.prepare != nil {
				if _, err := l.AppendAsFollower(tc.prepare); err != nil {
					t.Fatal(err)
				}
			}
			_, err := l.AppendAsFollower(tc.data)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if l.LogEndOffset() != tc.leo {
				t.Fatalf("LEO = %d, want %d", l.LogEndOffset(), tc.leo)
			}
		})
	}
}

// mutateBase returns a copy of batch with its base offset set (the CRC does
// not cover it).
func mutateBase(batch []byte, base int64) []byte {
	b := bytes.Clone(batch)
	for i := 0; i < 8; i++ {
		b[i] = byte(base >> (56 - 8*i))
	}
	return b
}

// FuzzAppendAsFollower feeds arbitrary fetch-response bytes to a follower
// log: it must never panic, and whatever it accepts must read back whole.
func FuzzAppendAsFollower(f *testing.F) {
	f.Add(makeBatch(plain(3)))
	f.Add(append(makeBatch(plain(1)), makeBatch(plain(2))[:20]...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testConfig(t)
		m := openManager(t, cfg)
		defer m.Close()
		l, _ := m.GetOrCreate("fz", 0, metadata.Uuid{})
		res, err := l.AppendAsFollower(data)
		if err != nil {
			if l.LogEndOffset() != 0 {
				t.Fatalf("failed append moved the log end to %d", l.LogEndOffset())
			}
			return
		}
		if l.LogEndOffset() != res.LastOffset+1 {
			t.Fatalf("LEO %d, result %+v", l.LogEndOffset(), res)
		}
		if l.LogEndOffset() > 0 {
			if _, err := l.Read(0, math.MaxInt32, math.MaxInt64); err != nil {
				t.Fatalf("read back: %v", err)
			}
		}
	})
}
