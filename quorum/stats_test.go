package quorum

import (
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

// countingObserver records what a node reports to its Observer.
type countingObserver struct {
	mu       sync.Mutex
	commits  int
	requests map[int16]int
}

func (o *countingObserver) ObserveRequest(req *network.Request, _ kmsg.Response, _ error, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests[req.APIKey]++
}

func (o *countingObserver) ObserveCommit(time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits++
}

// TestStatsAndObserver: a single voter's Stats before Start (Shutdown,
// no leader), as leader (its own term, indexes, itself as a voter with
// the log end), and each write committed reaches the Observer.
func TestStatsAndObserver(t *testing.T) {
	obs := &countingObserver{requests: map[int16]int{}}
	cfg := fastConfig(t.TempDir())
	cfg.Observer = obs
	unstarted, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := unstarted.Stats(); s.State != raft.Shutdown.String() || s.Leader != -1 {
		t.Fatalf("before Start: %+v", s)
	}
	if err := unstarted.Close(); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, cfg)
	waitController(t, n)
	registerBrokers(t, n, 1)
	createTopic(t, n, "t", 1)
	s := n.Stats()
	if s.State != raft.Leader.String() || s.Leader != 1 || s.Term < 1 || s.CommitIndex < 3 || s.AppliedIndex < s.CommitIndex-1 || s.LastIndex < s.CommitIndex {
		t.Fatalf("leader stats %+v", s)
	}
	if len(s.Replicas) != 1 || !s.Replicas[0].Voter || s.Replicas[0].ID != 1 || s.Replicas[0].LogEnd != int64(s.LastIndex)+1 {
		t.Fatalf("replicas %+v, want voter 1 at log end %d", s.Replicas, s.LastIndex+1)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.commits < 3 { // register, unfence, create topic
		t.Fatalf("%d commits observed, want >= 3", obs.commits)
	}
}
