package quorum

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Replica progress for DescribeQuorum (KIP-595, KIP-836): what the active
// controller last heard from each voter and each observer (a broker
// following the log by Fetch). hashicorp/raft keeps its followers' match
// indexes private, so the leader's transport records every AppendEntries
// answer: heartbeats included (several per heartbeat timeout), whose
// LastLog is the follower's last log index.

// observerSessionTimeout drops an observer that stopped fetching (Kafka's
// OBSERVER_SESSION_TIMEOUT_MS).
const observerSessionTimeout = 5 * time.Minute

// replicaProgress is one replica as the leader of one term saw it.
type replicaProgress struct {
	term         uint64    // leader term of the observation (older terms are ignored)
	logEnd       int64     // log end offset: one past its last entry (an observer: its fetch offset)
	lastFetch    time.Time // its last answer (voter) or fetch (observer)
	lastCaughtUp time.Time // the last time its log end reached the leader's
}

type progressTracker struct {
	mu        sync.Mutex
	voters    map[int32]replicaProgress
	observers map[int32]replicaProgress
}

func (p *progressTracker) record(m *map[int32]replicaProgress, id int32, term uint64, logEnd, leaderEnd int64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *m == nil {
		*m = make(map[int32]replicaProgress)
	}
	prev := (*m)[id]
	if prev.term != term {
		prev = replicaProgress{term: term}
	}
	prev.logEnd, prev.lastFetch = logEnd, now
	if logEnd >= leaderEnd {
		prev.lastCaughtUp = now
	}
	(*m)[id] = prev
}

// voter returns what the leader of term heard from voter id.
func (p *progressTracker) voter(id int32, term uint64) (replicaProgress, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.voters[id]
	return v, ok && v.term == term
}

// observersOf returns the observers that fetched from the leader of term
// within the observer session timeout, dropping the others.
func (p *progressTracker) observersOf(term uint64, now time.Time) map[int32]replicaProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[int32]replicaProgress)
	for id, o := range p.observers {
		if o.term != term || now.Sub(o.lastFetch) > observerSessionTimeout {
			delete(p.observers, id)
			continue
		}
		out[id] = o
	}
	return out
}

// observerFetched records a broker's metadata fetch at fetchOffset (its log
// end: the next offset it wants) answered up to hw.
func (n *Node) observerFetched(id int32, fetchOffset, hw int64) {
	r := n.raftHandle()
	if r == nil {
		return
	}
	n.progress.record(&n.progress.observers, id, r.CurrentTerm(), fetchOffset, hw, time.Now())
}

// progressTransport is raft's transport with every AppendEntries answer
// recorded in the tracker. It passes the optional interfaces raft looks for
// (pre-vote, close) through to the transport it wraps.
type progressTransport struct {
	raft.Transport
	p    *progressTracker
	raft *atomic.Pointer[raft.Raft] // for the leader's last index when it sends
}

var (
	_ raft.WithPreVote = (*progressTransport)(nil)
	_ raft.WithClose   = (*progressTransport)(nil)
)

func (t *progressTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	var leaderEnd int64 = -1
	if r := t.raft.Load(); r != nil {
		leaderEnd = int64(r.LastIndex()) + 1
	}
	err := t.Transport.AppendEntries(id, target, args, resp)
	if nid, ok := parseServerID(id); err == nil && ok && leaderEnd >= 0 {
		t.p.record(&t.p.voters, nid, args.Term, int64(resp.LastLog)+1, leaderEnd, time.Now())
	}
	return err
}

func (t *progressTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	if pv, ok := t.Transport.(raft.WithPreVote); ok {
		return pv.RequestPreVote(id, target, args, resp)
	}
	return raft.ErrUnsupportedProtocol
}

func (t *progressTransport) Close() error {
	if c, ok := t.Transport.(raft.WithClose); ok {
		return c.Close()
	}
	return nil
}
