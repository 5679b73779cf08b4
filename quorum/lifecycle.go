package quorum

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// The broker lifecycle on the active controller (Kafka's
// BrokerHeartbeatManager with the ClusterControlManager's records):
//
//	register -> fenced -- heartbeat with offset >= epoch --> unfenced
//	unfenced -- session expired, or gossip says dead ----> fenced (+ leaders from ISR)
//	any ------- heartbeat WantShutDown -------------------> controlled shutdown,
//	            then ShouldShutDown (+ fenced) once it leads nothing
//
// Sessions are soft state: not in the log. A controller that becomes active
// starts every registered broker's session afresh (a full timeout to
// heartbeat to it); one that loses leadership forgets them.

// Heartbeat is one BrokerHeartbeat request.
type Heartbeat struct {
	BrokerID       int32
	BrokerEpoch    int64
	MetadataOffset int64 // highest metadata log offset the broker has applied
	WantFence      bool
	WantShutDown   bool
}

// HeartbeatResult is the controller's answer.
type HeartbeatResult struct {
	IsCaughtUp     bool // MetadataOffset reached the broker's registration offset
	IsFenced       bool
	ShouldShutDown bool // controlled shutdown done: the broker may exit
}

// sessionLive reports whether broker id was heard from within the session timeout.
func (n *Node) sessionLive(id int32) bool {
	n.sessMu.Lock()
	defer n.sessMu.Unlock()
	last, ok := n.sessions[id]
	return ok && time.Since(last) < n.cfg.BrokerSessionTimeout
}

// touchSession records that broker id was heard from now.
func (n *Node) touchSession(id int32) {
	n.sessMu.Lock()
	defer n.sessMu.Unlock()
	if n.sessions == nil {
		n.sessions = make(map[int32]time.Time)
	}
	n.sessions[id] = time.Now()
	delete(n.gossipDead, id)
}

func (n *Node) dropSession(id int32) {
	n.sessMu.Lock()
	defer n.sessMu.Unlock()
	delete(n.sessions, id)
}

// resetSessions forgets every session (leadership gained or lost).
func (n *Node) resetSessions() {
	n.sessMu.Lock()
	defer n.sessMu.Unlock()
	n.sessions = make(map[int32]time.Time)
	n.gossipDead = make(map[int32]bool)
}

// shouldFence reports whether an unfenced broker's session has expired or
// gossip declared it dead. A broker without a session gets one now.
// Gossip does not count for a migrating ZooKeeper-mode broker (migrating):
// it runs no gossip, so a member gossip holds dead under its id is an
// earlier incarnation of it in quorum mode (a rollback's first roll brings
// brokers back to ZooKeeper mode), which a controller becoming active
// re-marks dead (reseedGossipDead); its heartbeats are its session.
func (n *Node) shouldFence(id int32, migrating bool, now time.Time) (bool, string) {
	n.sessMu.Lock()
	defer n.sessMu.Unlock()
	if n.gossipDead[id] && !migrating {
		return true, "gossip declared it dead"
	}
	last, ok := n.sessions[id]
	if !ok {
		if n.sessions == nil {
			n.sessions = make(map[int32]time.Time)
		}
		n.sessions[id] = now
		return false, ""
	}
	if now.Sub(last) >= n.cfg.BrokerSessionTimeout {
		return true, "session expired"
	}
	return false, ""
}

// BrokerDead tells the active controller that failure detection (memberlist
// gossip) declared broker id dead: it is fenced at the next session check
// without waiting for the session timeout. Heartbeats alone unfence it again.
func (n *Node) BrokerDead(id int32) {
	n.sessMu.Lock()
	defer n.sessMu.Unlock()
	if n.gossipDead == nil {
		n.gossipDead = make(map[int32]bool)
	}
	n.gossipDead[id] = true
}

// BrokerHeartbeat handles one heartbeat on the active controller: it renews
// the session, unfences a caught-up broker, and runs controlled shutdown.
// Errors: ErrNotController, metadata.ErrUnknownBroker, metadata.ErrStaleBrokerEpoch.
func (n *Node) BrokerHeartbeat(ctx context.Context, hb Heartbeat) (HeartbeatResult, error) {
	var out HeartbeatResult
	var shutdown bool
	res, err := n.write(ctx, fmt.Sprintf("heartbeat of broker %d", hb.BrokerID), func(img *metadata.Image) ([]metadata.Record, error) {
		out, shutdown = HeartbeatResult{}, false
		if err := metadata.CheckBrokerEpoch(img, hb.BrokerID, hb.BrokerEpoch); err != nil {
			return nil, err
		}
		b, _ := img.Broker(hb.BrokerID)
		out.IsCaughtUp = hb.MetadataOffset >= b.Epoch
		switch {
		case hb.WantShutDown:
			recs, err := metadata.ControlledShutdown(img, hb.BrokerID, hb.BrokerEpoch)
			if err != nil || len(recs) > 0 {
				return recs, err
			}
			// Nothing left to move: the broker may go, fenced at once so
			// that its next incarnation can register without waiting.
			shutdown = true
			return n.fenceBroker(img, hb.BrokerID), nil
		case hb.WantFence:
			return n.fenceBroker(img, hb.BrokerID), nil
		case b.Fenced && out.IsCaughtUp:
			return n.unfenceBroker(img, hb.BrokerID, hb.BrokerEpoch)
		}
		return nil, nil
	})
	if err != nil {
		return HeartbeatResult{}, err
	}
	if shutdown {
		n.dropSession(hb.BrokerID)
		out.ShouldShutDown = true
		n.log.Info("broker finished controlled shutdown", zap.Int32("broker", hb.BrokerID))
	} else {
		n.touchSession(hb.BrokerID)
	}
	if b, ok := res.Image.Broker(hb.BrokerID); ok {
		out.IsFenced = b.Fenced
	}
	return out, nil
}

// checkSessions fences every unfenced broker whose session expired or that
// gossip declared dead. Only the active controller calls it.
func (n *Node) checkSessions(ctx context.Context) {
	now := time.Now()
	for _, b := range n.Image().Brokers() {
		if b.Fenced {
			continue
		}
		fence, why := n.shouldFence(b.ID, b.IsMigratingZkBroker, now)
		if !fence {
			continue
		}
		id, epoch := b.ID, b.Epoch
		_, err := n.write(ctx, fmt.Sprintf("fence broker %d", id), func(img *metadata.Image) ([]metadata.Record, error) {
			cur, ok := img.Broker(id)
			if !ok || cur.Fenced || cur.Epoch != epoch {
				return nil, nil
			}
			return n.fenceBroker(img, id), nil
		})
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("broker not fenced", zap.Int32("broker", id), zap.Error(err))
			}
			return
		}
		n.log.Info("fenced broker", zap.Int32("broker", id), zap.Int64("epoch", epoch), zap.String("reason", why))
	}
}

// sessionCheckInterval is how often the active controller looks for
// expired sessions.
func (n *Node) sessionCheckInterval() time.Duration {
	d := n.cfg.BrokerSessionTimeout / 8
	if d > 500*time.Millisecond {
		d = 500 * time.Millisecond
	}
	if d < 10*time.Millisecond {
		d = 10 * time.Millisecond
	}
	return d
}
