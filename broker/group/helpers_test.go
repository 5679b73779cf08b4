package group

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock fires timers only when a test advances it, on the test's
// goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves time on by d, running due timers in time order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.at.After(target) {
				next = t
				break
			}
		}
		if next == nil {
			c.now = target
			c.mu.Unlock()
			return
		}
		next.stopped = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}

// memLog is an in-memory Log: per partition a list of batches with
// assigned offsets. failNext makes the next Append fail.
type memLog struct {
	mu       sync.Mutex
	parts    map[int32][][]byte
	next     map[int32]int64
	failNext error
	appends  int
}

func newMemLog() *memLog { return &memLog{parts: map[int32][][]byte{}, next: map[int32]int64{}} }

func (l *memLog) Append(_ context.Context, p int32, batch []byte) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.failNext; err != nil {
		l.failNext = nil
		return 0, err
	}
	l.appends++
	b := append([]byte(nil), batch...)
	first := l.next[p]
	binary.BigEndian.PutUint64(b, uint64(first))
	count := int64(binary.BigEndian.Uint32(b[23:])) + 1
	l.next[p] += count
	l.parts[p] = append(l.parts[p], b)
	return first, nil
}

func (l *memLog) Read(p int32, offset int64, _ int32) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []byte
	for _, b := range l.parts[p] {
		base := int64(binary.BigEndian.Uint64(b))
		last := base + int64(binary.BigEndian.Uint32(b[23:]))
		if last >= offset {
			out = append(out, b...)
		}
	}
	return out, nil
}

func (l *memLog) Bounds(p int32) (int64, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return 0, l.next[p], nil
}

// records returns every decoded record of partition p in log order.
func (l *memLog) records(t *testing.T, p int32) []entry {
	t.Helper()
	b, _ := l.Read(p, 0, 0)
	var out []entry
	if _, _, err := readBatches(b, func(_ int64, k, v []byte) error {
		e, err := decodeRecord(k, v)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// newTestCoordinator returns a coordinator with one partition, led and
// loaded, over log, on a fake clock.
func newTestCoordinator(t *testing.T, log *memLog, mut func(*Config)) (*Coordinator, *fakeClock) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NumPartitions = 1
	cfg.InitialRebalanceDelay = 0
	if mut != nil {
		mut(&cfg)
	}
	clk := newFakeClock()
	c, err := New(cfg, log, zaptest.NewLogger(t), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	c.BecomeLeader(0, 1)
	wait.For(t, 10*time.Second, "partition loaded", func() error {
		if _, loaded := c.Leads(0); !loaded {
			return fmt.Errorf("not loaded")
		}
		return nil
	})
	return c, clk
}
