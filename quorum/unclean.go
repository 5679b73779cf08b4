package quorum

import (
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// fenceBroker and unfenceBroker run the pure fencing logic under this
// controller's election rules (Config.Controller.UncleanLeaderElection,
// unclean.leader.election.enable, overridden per topic) and log every
// unclean election they compute at error level: it may lose acknowledged
// records. They run inside a write's compute function (writeSem held).
func (n *Node) fenceBroker(img *metadata.Image, id int32) []metadata.Record {
	recs := metadata.FenceBrokerWith(img, id, n.cfg.Controller)
	n.logUnclean(img, recs)
	return recs
}

func (n *Node) unfenceBroker(img *metadata.Image, id int32, epoch int64) ([]metadata.Record, error) {
	recs, err := metadata.UnfenceBrokerWith(img, id, epoch, n.cfg.Controller)
	n.logUnclean(img, recs)
	return recs, err
}

func (n *Node) logUnclean(img *metadata.Image, recs []metadata.Record) {
	for _, pc := range metadata.UncleanElections(recs) {
		topic := pc.TopicID.String()
		var isr []int32
		if t, ok := img.TopicByID(pc.TopicID); ok {
			topic = t.Name
			if p, ok := t.Partitions[pc.PartitionID]; ok {
				isr = p.ISR
			}
		}
		n.log.Error("UNCLEAN LEADER ELECTION: no in-sync replica can lead; electing an out-of-sync replica, acknowledged records may be lost",
			zap.String("topic", topic), zap.Int32("partition", pc.PartitionID),
			zap.Int32("new_leader", pc.Leader), zap.Int32s("last_isr", isr),
			zap.String("config", metadata.UncleanLeaderElectionKey+"=true"))
	}
}
