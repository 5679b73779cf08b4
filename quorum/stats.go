package quorum

import (
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

// Observer sees what a node does, for metrics (cmd/zkraft passes
// metrics.Registry). Its methods are called concurrently: ObserveRequest
// on the controller listener's network goroutines as the handler returns
// (it must only read req and resp), ObserveCommit by the writer after a
// write's entry was committed and applied.
type Observer interface {
	ObserveRequest(req *network.Request, resp kmsg.Response, err error, d time.Duration)
	ObserveCommit(d time.Duration)
}

// Stats is one voter's view of the metadata log, from hashicorp/raft's
// state (indexes are the log's offsets, as in DescribeQuorum).
type Stats struct {
	State                                string // raft.RaftState: Leader, Follower, Candidate, Shutdown
	Term                                 uint64
	Leader                               int32 // -1 unknown
	CommitIndex, AppliedIndex, LastIndex uint64
	// Replicas is, on the leader only, each voter and observer with its
	// log end offset as last heard (-1 unknown): DescribeQuorum's.
	Replicas []ReplicaStats
}

// ReplicaStats is one node the leader tracks.
type ReplicaStats struct {
	ID     int32
	Voter  bool
	LogEnd int64
}

// Stats reads the node's raft state; before Start and after Close it is
// State "Shutdown" with zero indexes.
func (n *Node) Stats() Stats {
	r := n.raftHandle()
	if r == nil {
		return Stats{State: raft.Shutdown.String(), Leader: -1}
	}
	s := Stats{State: r.State().String(), Term: r.CurrentTerm(), Leader: -1,
		CommitIndex: r.CommitIndex(), AppliedIndex: r.AppliedIndex(), LastIndex: r.LastIndex()}
	if id, ok := n.Leader(); ok {
		s.Leader = id
	}
	if r.State() != raft.Leader {
		return s
	}
	var rp kmsg.DescribeQuorumResponseTopicPartition
	(&controllerHandler{n: n}).describeLeader(r, &rp)
	for _, v := range rp.CurrentVoters {
		s.Replicas = append(s.Replicas, ReplicaStats{ID: v.ReplicaID, Voter: true, LogEnd: v.LogEndOffset})
	}
	for _, o := range rp.Observers {
		s.Replicas = append(s.Replicas, ReplicaStats{ID: o.ReplicaID, LogEnd: o.LogEndOffset})
	}
	return s
}
