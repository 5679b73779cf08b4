package wait

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeT records Fatalf instead of stopping the test.
type fakeT struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = fmt.Sprintf(format, args...)
}

func TestForHolds(t *testing.T) {
	calls := 0
	ft := &fakeT{}
	For(ft, time.Minute, "third call", func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if ft.failed != "" || calls != 3 {
		t.Fatalf("calls %d, failed %q", calls, ft.failed)
	}
}

func TestForTimesOutWithLastError(t *testing.T) {
	ft := &fakeT{}
	n := 0
	For(ft, 0, "never", func() error { n++; return fmt.Errorf("attempt %d", n) })
	if n != 1 {
		t.Fatalf("cond called %d times with a zero timeout, want 1", n)
	}
	if !strings.Contains(ft.failed, "never: not true after 0s: attempt 1") {
		t.Fatalf("failure %q", ft.failed)
	}
}

func TestUntil(t *testing.T) {
	ft := &fakeT{}
	calls := 0
	Until(ft, time.Minute, "second call", func() bool { calls++; return calls == 2 })
	if ft.failed != "" || calls != 2 {
		t.Fatalf("calls %d, failed %q", calls, ft.failed)
	}
	Until(ft, time.Millisecond, "false", func() bool { return false })
	if !strings.Contains(ft.failed, "waiting for false") {
		t.Fatalf("failure %q", ft.failed)
	}
}
