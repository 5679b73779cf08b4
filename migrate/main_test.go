package migrate

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (drivers, quorum
// nodes and ZooKeeper sessions are all closed by then).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
