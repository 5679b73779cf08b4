package migrate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

// leaderQuorum is a Quorum whose leadership the test switches; its
// AppendRecords runs the check and replays the records onto its image, as
// the quorum does.
type leaderQuorum struct {
	mu      sync.Mutex
	img     *metadata.Image
	leader  bool
	appends int
	checks  int // LeaderTerm calls
}

func (q *leaderQuorum) Image() *metadata.Image {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.img
}

func (q *leaderQuorum) LeaderTerm() (int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.checks++
	return 3, q.leader
}

func (q *leaderQuorum) setLeader(ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.leader = ok
}

func (q *leaderQuorum) LeaderImage(context.Context) (*metadata.Image, int64, error) {
	return q.Image(), 3, nil
}

func (q *leaderQuorum) AppendRecords(_ context.Context, _ string, check func(*metadata.Image) error, recs []metadata.Record) (*metadata.Image, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.appends++
	if !q.leader {
		return nil, errors.New("not leader")
	}
	if err := check(q.img); err != nil {
		return nil, err
	}
	d := metadata.NewDelta(q.img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			return nil, err
		}
	}
	q.img = d.Apply()
	return q.img, nil
}

func (q *leaderQuorum) AppendTransaction(context.Context, string, func(*metadata.Image) error, [][]metadata.Record, func(int, int)) (*metadata.Image, error) {
	return nil, errors.New("unexpected AppendTransaction")
}

// TestFinalizerWritesPostMigrationOnLeader: a controller restarted without
// the ZooKeeper keys (runbook step 5) appends POST_MIGRATION only while it
// is the active controller and the log is in MIGRATION, once; Close waits
// for its goroutine (TestMain checks for leaks).
func TestFinalizerWritesPostMigrationOnLeader(t *testing.T) {
	q := &leaderQuorum{img: image(t, metadata.EmptyImage(), &metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationMigration})}
	f := NewFinalizer(10*time.Millisecond, zaptest.NewLogger(t))
	if err := f.Start(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })

	// Not the leader: nothing is appended, whatever the state.
	wait.For(t, 5*time.Second, "the finalizer checked a few times", func() error {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.appends != 0 {
			t.Fatal("a follower appended")
		}
		if q.checks < 3 {
			return errors.New("fewer than 3 checks")
		}
		return nil
	})
	q.setLeader(true)
	wait.For(t, 5*time.Second, "POST_MIGRATION appended by the leader", func() error {
		if s := q.Image().ZkMigrationState(); s != metadata.ZkMigrationPostMigration {
			return errors.New(StateName(s))
		}
		return nil
	})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.appends != 1 {
		t.Fatalf("%d appends, want 1 (none once POST_MIGRATION)", q.appends)
	}
}
