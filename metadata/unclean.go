package metadata

import "strings"

// Unclean leader election (unclean.leader.election.enable, Kafka's
// PartitionChangeBuilder with election type UNCLEAN, KIP-704).
//
// A clean election takes the leader from the ISR only: every record
// acknowledged with acks=all is on every ISR member, so none is lost. When
// no ISR member can lead (all fenced), the partition stays offline until
// one returns, unless unclean election is enabled for its topic: then the
// first usable replica in replica order leads with ISR = {itself} and
// LeaderRecoveryState RECOVERING. Records the old ISR acknowledged beyond
// that replica's log end are lost; the other replicas truncate to the new
// leader's log when they return. The controller logs every such election
// at error level (UncleanElections finds them among the records).
//
// It happens at two events: a fence that leaves a partition with no usable
// ISR member while another replica is usable, and the unfence of a replica
// of a partition that is still leaderless. Controlled shutdown stays clean.

// UncleanLeaderElectionKey is the topic (and broker default) config key.
const UncleanLeaderElectionKey = "unclean.leader.election.enable"

// UncleanEnabled reports whether topic may elect an out-of-sync leader: its
// own unclean.leader.election.enable when set to true or false, else the
// cluster's dynamic default (/config/brokers/<default>, an empty-name
// BrokerResource: Kafka's controller reads that one too), else
// clusterDefault (the controller's static config).
func UncleanEnabled(img *Image, topic string, clusterDefault bool) bool {
	for _, v := range []string{img.Configs(TopicResource, topic)[UncleanLeaderElectionKey],
		img.Configs(BrokerResource, "")[UncleanLeaderElectionKey]} {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	return clusterDefault
}

// electUnclean returns the PartitionChangeRecord electing the first usable
// replica of leaderless-to-be partition p with ISR = {it}, or nil when
// unclean election is disabled for the topic or no replica is usable.
func electUnclean(img *Image, t *TopicImage, pid int32, p *PartitionRegistration, usable map[int32]bool, cfg ControllerConfig) *PartitionChangeRecord {
	if !UncleanEnabled(img, t.Name, cfg.UncleanLeaderElection) {
		return nil
	}
	for _, r := range p.Replicas {
		if usable[r] {
			rec := NewPartitionChangeRecord(t.ID, pid)
			rec.Leader = r
			rec.ISR = []int32{r}
			rec.LeaderRecoveryState = LeaderRecovering
			return rec
		}
	}
	return nil
}

// UncleanElections returns the records among recs that elect a leader
// uncleanly (a new leader in state RECOVERING), for the controller to log.
func UncleanElections(recs []Record) []*PartitionChangeRecord {
	var out []*PartitionChangeRecord
	for _, r := range recs {
		if pc, ok := r.(*PartitionChangeRecord); ok && pc.LeaderRecoveryState == LeaderRecovering && pc.Leader >= 0 {
			out = append(out, pc)
		}
	}
	return out
}
