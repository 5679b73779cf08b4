package metadata

import (
	"fmt"
	"slices"
)

// This file is the pure controller logic for the broker lifecycle (Kafka's
// ClusterControlManager and the fencing half of ReplicationControlManager)
// and for AlterPartition.

// CheckBrokerEpoch returns ErrUnknownBroker or ErrStaleBrokerEpoch unless
// broker id is registered with exactly this epoch.
func CheckBrokerEpoch(img *Image, id int32, epoch int64) error {
	b, ok := img.Broker(id)
	if !ok {
		return fmt.Errorf("broker %d: %w", id, ErrUnknownBroker)
	}
	if b.Epoch != epoch {
		return fmt.Errorf("broker %d: epoch %d, registered epoch %d: %w", id, epoch, b.Epoch, ErrStaleBrokerEpoch)
	}
	return nil
}

// RegisterBroker returns the RegisterBrokerRecord (Fenced=true) for reg. The
// record's BrokerEpoch is reg.Epoch, or the registered epoch when the same
// incarnation registers again (Kafka keeps the epoch then); a log-backed
// controller stamps the real epoch (the record's log offset) when it appends.
// If the id is held by another incarnation whose session is still live
// (oldSessionLive: soft state only the active controller holds, as Kafka's
// BrokerHeartbeatManager.hasValidSession), it returns
// ErrDuplicateBrokerRegistration and the broker retries once that session has
// expired. A new active controller knows no sessions, so a restarted broker
// can always register with it.
func RegisterBroker(img *Image, reg BrokerRegistration, oldSessionLive bool) ([]Record, error) {
	if reg.ID < 0 {
		return nil, fmt.Errorf("register broker %d: negative id: %w", reg.ID, ErrInvalidRequest)
	}
	epoch := reg.Epoch
	if old, ok := img.Broker(reg.ID); ok {
		if old.IncarnationID == reg.IncarnationID {
			epoch = old.Epoch
		} else if oldSessionLive {
			return nil, fmt.Errorf("register broker %d: incarnation %s still active, new incarnation %s: %w",
				reg.ID, old.IncarnationID, reg.IncarnationID, ErrDuplicateBrokerRegistration)
		}
	}
	for i, e := range reg.Endpoints {
		if e.Name == "" {
			return nil, fmt.Errorf("register broker %d: endpoint %d has no listener name: %w", reg.ID, i, ErrInvalidRequest)
		}
	}
	reg.Epoch = epoch
	reg.Fenced = true
	reg.InControlledShutdown = false
	return []Record{BrokerRecord(&reg)}, nil
}

// UnfenceBroker returns BrokerRegistrationChangeRecord(Fenced=-1) and, like
// Kafka's handleBrokerUnfenced, a PartitionChangeRecord electing the broker
// leader of every leaderless partition whose ISR holds it. An already
// unfenced broker yields no records.
func UnfenceBroker(img *Image, id int32, epoch int64) ([]Record, error) {
	return UnfenceBrokerWith(img, id, epoch, ControllerConfig{})
}

// UnfenceBrokerWith is UnfenceBroker under cfg's election rules: with
// unclean leader election enabled (unclean.go), a leaderless partition
// whose ISR has no usable member elects the first usable replica.
func UnfenceBrokerWith(img *Image, id int32, epoch int64, cfg ControllerConfig) ([]Record, error) {
	if err := CheckBrokerEpoch(img, id, epoch); err != nil {
		return nil, fmt.Errorf("unfence: %w", err)
	}
	b, _ := img.Broker(id)
	if !b.Fenced {
		return nil, nil
	}
	recs := []Record{&BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: epoch, Fenced: FenceUnfence}}
	usable := usableSet(img)
	usable[id] = !b.InControlledShutdown
	forEachPartition(img, func(t *TopicImage, pid int32, p *PartitionRegistration) {
		if p.Leader != NoLeader || !p.HasReplica(id) {
			return
		}
		if p.InISR(id) {
			if leader := electLeader(p.Replicas, p.ISR, usable); leader != NoLeader {
				rec := NewPartitionChangeRecord(t.ID, pid)
				rec.Leader = leader
				recs = append(recs, rec)
			}
			return
		}
		if rec := electUnclean(img, t, pid, p, usable, cfg); rec != nil {
			recs = append(recs, rec)
		}
	})
	return recs, nil
}

// FenceBroker returns BrokerRegistrationChangeRecord(Fenced=1) (unless the
// broker is already fenced) and one PartitionChangeRecord per partition whose
// ISR or leadership holds the broker: the broker leaves the ISR and a new
// leader is elected from the remaining ISR among usable brokers, in replica
// order (-1 if none). Every change names the leader explicitly, so leader
// epoch and partition epoch both advance by one. Like Kafka, the ISR is never
// emptied: a sole ISR member stays in it with leader -1, so the partition
// can recover when that broker returns. Unknown broker: no records.
func FenceBroker(img *Image, id int32) []Record {
	return FenceBrokerWith(img, id, ControllerConfig{})
}

// FenceBrokerWith is FenceBroker under cfg's election rules: with unclean
// leader election enabled (unclean.go), a partition left without a usable
// ISR member elects its first usable replica as leader with ISR = {it}.
func FenceBrokerWith(img *Image, id int32, cfg ControllerConfig) []Record {
	b, ok := img.Broker(id)
	if !ok {
		return nil
	}
	var recs []Record
	if !b.Fenced {
		recs = append(recs, &BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: b.Epoch, Fenced: FenceFence})
	}
	usable := usableSet(img)
	usable[id] = false
	recs = append(recs, moveAway(img, id, usable, &cfg)...)
	return recs
}

// moveAway builds the PartitionChangeRecords taking broker id out of ISRs
// and leadership, given which brokers may lead. With cfg (nil: clean
// elections only) a partition left leaderless may elect uncleanly.
func moveAway(img *Image, id int32, usable map[int32]bool, cfg *ControllerConfig) []Record {
	var recs []Record
	forEachPartition(img, func(t *TopicImage, pid int32, p *PartitionRegistration) {
		inISR := p.InISR(id)
		if !inISR && p.Leader != id {
			return
		}
		isr := p.ISR
		if inISR && len(p.ISR) > 1 {
			isr = slices.DeleteFunc(slices.Clone(p.ISR), func(r int32) bool { return r == id })
		}
		leader := p.Leader
		if leader == id || leader == NoLeader {
			leader = electLeader(p.Replicas, isr, usable)
		}
		if leader == NoLeader && cfg != nil {
			if rec := electUnclean(img, t, pid, p, usable, *cfg); rec != nil {
				recs = append(recs, rec)
				return
			}
		}
		if leader == p.Leader && len(isr) == len(p.ISR) {
			return // sole ISR member already leaderless: nothing changes
		}
		rec := NewPartitionChangeRecord(t.ID, pid)
		if len(isr) != len(p.ISR) {
			rec.ISR = isr
		}
		rec.Leader = leader
		recs = append(recs, rec)
	})
	return recs
}

// ControlledShutdown returns BrokerRegistrationChangeRecord(InControlledShutdown=1)
// and moves leadership and ISR membership away from the broker (KIP-841).
// Where the broker only follows, the change shrinks the ISR and keeps the
// leader and its leader epoch (as Kafka does since KAFKA-15021): a leader
// epoch bump there would fence every client of an unchanged leader for
// nothing. A partition it leads gets the next usable ISR member (a new
// leader epoch), or leader -1 when there is none.
func ControlledShutdown(img *Image, id int32, epoch int64) ([]Record, error) {
	if err := CheckBrokerEpoch(img, id, epoch); err != nil {
		return nil, fmt.Errorf("controlled shutdown: %w", err)
	}
	b, _ := img.Broker(id)
	var recs []Record
	if !b.InControlledShutdown && !b.Fenced {
		recs = append(recs, &BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: epoch, InControlledShutdown: 1})
	}
	usable := usableSet(img)
	usable[id] = false
	for _, r := range moveAway(img, id, usable, nil) {
		if pc, ok := r.(*PartitionChangeRecord); ok {
			if t, ok := img.TopicByID(pc.TopicID); ok {
				if p, ok := t.Partitions[pc.PartitionID]; ok && p.Leader == pc.Leader {
					pc.Leader = NoLeaderChange
				}
			}
		}
		recs = append(recs, r)
	}
	return recs, nil
}

func usableSet(img *Image) map[int32]bool {
	m := map[int32]bool{}
	for _, b := range img.Brokers() {
		m[b.ID] = usableBroker(b)
	}
	return m
}

// electLeader returns the first replica (preferred order) that is in isr and
// usable, or NoLeader.
func electLeader(replicas, isr []int32, usable map[int32]bool) int32 {
	for _, r := range replicas {
		if usable[r] && slices.Contains(isr, r) {
			return r
		}
	}
	return NoLeader
}

// forEachPartition visits every partition in topic-name then partition order.
func forEachPartition(img *Image, fn func(t *TopicImage, pid int32, p *PartitionRegistration)) {
	for _, t := range img.Topics() {
		for _, pid := range t.PartitionIDs() {
			fn(t, pid, t.Partitions[pid])
		}
	}
}

// AlterPartitionRequest is one partition of a KIP-497 AlterPartition request.
type AlterPartitionRequest struct {
	BrokerID       int32 // the leader asking
	BrokerEpoch    int64
	TopicID        Uuid
	Partition      int32
	LeaderEpoch    int32
	NewISR         []int32
	PartitionEpoch int32
}

// AlterPartition validates an ISR change from the partition leader and
// returns the registration the leader should adopt plus the records. Checks,
// in Kafka's order: broker epoch, partition exists, requester is leader,
// leader epoch (ErrFencedLeaderEpoch), partition epoch (ErrInvalidUpdateEpoch),
// new ISR within replicas, holds the leader, only usable brokers
// (ErrIneligibleReplica). A request whose ISR equals the current one is
// answered with the current state and no records.
func AlterPartition(img *Image, req AlterPartitionRequest) (*PartitionRegistration, []Record, error) {
	if err := CheckBrokerEpoch(img, req.BrokerID, req.BrokerEpoch); err != nil {
		return nil, nil, fmt.Errorf("alter partition: %w", err)
	}
	t, ok := img.TopicByID(req.TopicID)
	if !ok {
		return nil, nil, fmt.Errorf("alter partition %s-%d: %w", req.TopicID, req.Partition, ErrUnknownPartition)
	}
	p, ok := t.Partitions[req.Partition]
	if !ok {
		return nil, nil, fmt.Errorf("alter partition %s-%d: %w", t.Name, req.Partition, ErrUnknownPartition)
	}
	if p.Leader != req.BrokerID {
		return nil, nil, fmt.Errorf("alter partition %s-%d: broker %d is not the leader (%d): %w",
			t.Name, req.Partition, req.BrokerID, p.Leader, ErrNotLeader)
	}
	if req.LeaderEpoch != p.LeaderEpoch {
		return nil, nil, fmt.Errorf("alter partition %s-%d: leader epoch %d, current %d: %w",
			t.Name, req.Partition, req.LeaderEpoch, p.LeaderEpoch, ErrFencedLeaderEpoch)
	}
	if req.PartitionEpoch != p.PartitionEpoch {
		if slices.Equal(req.NewISR, p.ISR) {
			return p, nil, nil
		}
		return nil, nil, fmt.Errorf("alter partition %s-%d: partition epoch %d, current %d: %w",
			t.Name, req.Partition, req.PartitionEpoch, p.PartitionEpoch, ErrInvalidUpdateEpoch)
	}
	if slices.Equal(req.NewISR, p.ISR) {
		return p, nil, nil
	}
	if !slices.Contains(req.NewISR, p.Leader) {
		return nil, nil, fmt.Errorf("alter partition %s-%d: new ISR %v lacks leader %d: %w",
			t.Name, req.Partition, req.NewISR, p.Leader, ErrInvalidRequest)
	}
	usable := usableSet(img)
	for i, r := range req.NewISR {
		if !p.HasReplica(r) || slices.Contains(req.NewISR[:i], r) {
			return nil, nil, fmt.Errorf("alter partition %s-%d: ISR member %d is not a replica (or listed twice): %w",
				t.Name, req.Partition, r, ErrIneligibleReplica)
		}
		if !usable[r] {
			return nil, nil, fmt.Errorf("alter partition %s-%d: ISR member %d is fenced or shutting down: %w",
				t.Name, req.Partition, r, ErrIneligibleReplica)
		}
	}
	rec := NewPartitionChangeRecord(req.TopicID, req.Partition)
	rec.ISR = slices.Clone(req.NewISR)
	next := *p
	next.ISR = slices.Clone(req.NewISR)
	next.PartitionEpoch++
	if p.LeaderRecoveryState == LeaderRecovering {
		// An unclean leader (unclean.go) that changes its ISR has been
		// serving since its election: it has nothing else to recover.
		rec.LeaderRecoveryState = LeaderRecovered
		next.LeaderRecoveryState = LeaderRecovered
	}
	return &next, []Record{rec}, nil
}
