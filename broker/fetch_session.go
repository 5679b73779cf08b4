package broker

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch sessions (KIP-227), Kafka's FetchSessionCache and FetchContext.
//
// A full fetch with epoch 0 creates a session holding the request's
// partitions (their fetch offsets, max bytes, leader epochs) and answers
// with its id. Later fetches name the id and the next epoch and carry only
// the partitions that changed (added or with a new fetch offset) plus the
// ones to forget; the answer holds only the partitions with records, an
// error, or a high watermark, last stable or log start offset that moved
// since the session last answered for them. So a fetch costs what changed,
// not the number of partitions.
//
//	id 0,  epoch -1   sessionless full fetch (answer's session id 0)
//	id N,  epoch -1   close session N, sessionless full fetch
//	id *,  epoch 0    close session N if named; full fetch creating a new
//	                  session (id 0 in the answer when no slot is free)
//	id N,  epoch E>0  incremental: FETCH_SESSION_ID_NOT_FOUND if N is
//	                  unknown, INVALID_FETCH_SESSION_EPOCH unless E is the
//	                  session's next epoch; the epoch moves on at once, so a
//	                  duplicate of the same request is refused.
//
// Partitions that answered with records move to the end of the session's
// order, so a partition early in it cannot starve later ones under
// max_bytes (Kafka does the same). A partition that moves away from this
// broker stays in the session and answers NOT_LEADER_OR_FOLLOWER until the
// client forgets it.
//
// The cache holds at most Config.FetchSessionCacheSlots sessions
// (max.incremental.fetch.session.cache.slots). When full, a new session
// evicts the least recently used one if it has been idle longer than
// fetchSessionEvictionAge (min.incremental.fetch.session.eviction.ms);
// else the first eviction candidate (consumers' sessions before
// followers', then the smallest, then the least recently used): a
// follower's (privileged) session evicts a consumer's always and a
// follower's if it is not smaller; a consumer's evicts only a consumer's,
// and only if it is not smaller (a tie goes to the newer).
// Otherwise no session is created and the client keeps sending full
// fetches.

// fetchSessionEvictionAge is min.incremental.fetch.session.eviction.ms.
const fetchSessionEvictionAge = 120 * time.Second

type sessionKey struct {
	topic     string
	topicID   [16]byte
	partition int32
}

// sessionPartition is one partition of a session: what the client last
// asked for and what the session last answered for it.
type sessionPartition struct {
	key sessionKey
	req kmsg.FetchRequestTopicPartition
	// last answered values; -2 before the first answer
	hw, lso, logStart int64
}

type fetchSession struct {
	id         int32
	epoch      int32 // the epoch the next incremental fetch must carry
	privileged bool  // a follower's
	lastUsed   time.Time
	parts      []*sessionPartition
	index      map[sessionKey]*sessionPartition
	// topics is parts laid out as request topics (topicsOf), rebuilt into
	// a new slice when parts or a partition's request change, never
	// modified in place: a fetch reads it without the lock.
	topics []kmsg.FetchRequestTopic
}

// fetchSessions is the cache; mu guards it and every session in it.
type fetchSessions struct {
	slots int
	now   func() time.Time

	mu       sync.Mutex
	sessions map[int32]*fetchSession
}

func newFetchSessions(slots int) *fetchSessions {
	return &fetchSessions{slots: slots, now: time.Now, sessions: make(map[int32]*fetchSession)}
}

// fetchContext is one fetch's view of its session.
type fetchContext struct {
	s           *fetchSessions
	session     *fetchSession // nil: sessionless
	incremental bool
	version     int16
	topics      []kmsg.FetchRequestTopic // what to read, in order
}

func keyOf(version int16, topic string, id [16]byte, partition int32) sessionKey {
	if version >= 13 {
		return sessionKey{topicID: id, partition: partition}
	}
	return sessionKey{topic: topic, partition: partition}
}

// open resolves the request's session. A non-zero error code is the whole
// answer's (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH).
func (s *fetchSessions) open(req *kmsg.FetchRequest, follower bool) (*fetchContext, int16) {
	fc := &fetchContext{s: s, version: req.Version, topics: req.Topics}
	if req.Version < 7 {
		return fc, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch {
	case req.SessionEpoch == -1 || req.SessionEpoch == 0:
		if req.SessionID != 0 {
			delete(s.sessions, req.SessionID)
		}
		if req.SessionEpoch == 0 {
			fc.session = s.createLocked(req, follower, now)
		}
		return fc, 0
	case req.SessionID == 0:
		return nil, errorCode(ErrFetchSession)
	}
	sess, ok := s.sessions[req.SessionID]
	if !ok {
		return nil, errorCode(ErrFetchSession)
	}
	if req.SessionEpoch != sess.epoch {
		return nil, errorCode(ErrFetchSessionEpoch)
	}
	sess.epoch = nextEpoch(sess.epoch)
	sess.lastUsed = now
	for _, ft := range req.ForgottenTopics {
		for _, p := range ft.Partitions {
			k := keyOf(req.Version, ft.Topic, ft.TopicID, p)
			if _, ok := sess.index[k]; ok {
				delete(sess.index, k)
				sess.parts = removePart(sess.parts, k)
			}
		}
	}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			k := keyOf(req.Version, rt.Topic, rt.TopicID, rp.Partition)
			if sp, ok := sess.index[k]; ok {
				sp.req = rp
				continue
			}
			sp := &sessionPartition{key: k, req: rp, hw: -2, lso: -2, logStart: -2}
			sess.index[k] = sp
			sess.parts = append(sess.parts, sp)
		}
	}
	if len(req.Topics) > 0 || len(req.ForgottenTopics) > 0 {
		sess.topics = nil
	}
	if sess.topics == nil {
		sess.topics = topicsOf(sess.parts)
	}
	fc.session, fc.incremental = sess, true
	fc.topics = sess.topics
	return fc, 0
}

func nextEpoch(e int32) int32 {
	if e == math.MaxInt32 {
		return 1
	}
	return e + 1
}

func removePart(parts []*sessionPartition, k sessionKey) []*sessionPartition {
	for i, sp := range parts {
		if sp.key == k {
			return append(parts[:i:i], parts[i+1:]...)
		}
	}
	return parts
}

// topicsOf lays the session's partitions out as request topics, each
// topic once, in order of first appearance (a v13 session knows topic ids
// only, older ones names only).
func topicsOf(parts []*sessionPartition) []kmsg.FetchRequestTopic {
	var out []kmsg.FetchRequestTopic
	at := map[sessionKey]int{} // topic key (partition 0) -> index in out
	for _, sp := range parts {
		tk := sp.key
		tk.partition = 0
		i, ok := at[tk]
		if !ok {
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = sp.key.topic, sp.key.topicID
			out = append(out, t)
			i = len(out) - 1
			at[tk] = i
		}
		out[i].Partitions = append(out[i].Partitions, sp.req)
	}
	return out
}

// createLocked makes a session of the request's partitions, evicting one
// if the cache is full and the rules allow; nil when there is no room.
func (s *fetchSessions) createLocked(req *kmsg.FetchRequest, privileged bool, now time.Time) *fetchSession {
	size := 0
	for _, rt := range req.Topics {
		size += len(rt.Partitions)
	}
	if s.slots <= 0 {
		return nil
	}
	if len(s.sessions) >= s.slots && !s.evictLocked(size, privileged, now) {
		return nil
	}
	sess := &fetchSession{epoch: 1, privileged: privileged, lastUsed: now, index: make(map[sessionKey]*sessionPartition, size)}
	for {
		sess.id = rand.Int32N(math.MaxInt32) + 1
		if _, taken := s.sessions[sess.id]; !taken {
			break
		}
	}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			k := keyOf(req.Version, rt.Topic, rt.TopicID, rp.Partition)
			if sp, ok := sess.index[k]; ok {
				sp.req = rp
				continue
			}
			sp := &sessionPartition{key: k, req: rp, hw: -2, lso: -2, logStart: -2}
			sess.index[k] = sp
			sess.parts = append(sess.parts, sp)
		}
	}
	s.sessions[sess.id] = sess
	return sess
}

// evictLocked frees one slot for a new session of size partitions, as
// described at the top of this file; false when nothing may go.
func (s *fetchSessions) evictLocked(size int, privileged bool, now time.Time) bool {
	var lru, smallest *fetchSession
	for _, sess := range s.sessions {
		if lru == nil || sess.lastUsed.Before(lru.lastUsed) {
			lru = sess
		}
		if sess.privileged && !privileged {
			continue // a consumer never evicts a follower
		}
		if smallest == nil || evictsBefore(sess, smallest) {
			smallest = sess
		}
	}
	switch {
	case lru != nil && now.Sub(lru.lastUsed) > fetchSessionEvictionAge:
		delete(s.sessions, lru.id)
	case smallest == nil:
		return false
	case privileged && !smallest.privileged, size >= len(smallest.parts):
		delete(s.sessions, smallest.id)
	default:
		return false
	}
	return true
}

// evictsBefore orders eviction candidates as Kafka's EvictableKey does:
// consumers before followers, then fewer partitions, then least recently
// used.
func evictsBefore(a, b *fetchSession) bool {
	if a.privileged != b.privileged {
		return !a.privileged
	}
	if len(a.parts) != len(b.parts) {
		return len(a.parts) < len(b.parts)
	}
	return a.lastUsed.Before(b.lastUsed)
}

// finish stamps the session id on resp and, for an incremental fetch,
// drops the partitions with nothing new; it records what was answered and
// moves partitions that returned records to the end of the session.
func (fc *fetchContext) finish(resp *kmsg.FetchResponse) {
	if fc.session == nil {
		return
	}
	s := fc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := fc.session
	if _, live := s.sessions[sess.id]; !live {
		// Closed or evicted while this fetch ran: answer it in full, and
		// without an id, so the client starts over.
		resp.SessionID = 0
		return
	}
	resp.SessionID = sess.id
	sess.lastUsed = s.now()
	var moved []*sessionPartition
	kept := resp.Topics[:0]
	for _, t := range resp.Topics {
		parts := t.Partitions[:0]
		for _, p := range t.Partitions {
			sp := sess.index[keyOf(fc.version, t.Topic, t.TopicID, p.Partition)]
			changed := sp == nil || len(p.RecordBatches) > 0 || p.ErrorCode != 0 ||
				p.HighWatermark != sp.hw || p.LastStableOffset != sp.lso || p.LogStartOffset != sp.logStart
			if sp != nil {
				sp.hw, sp.lso, sp.logStart = p.HighWatermark, p.LastStableOffset, p.LogStartOffset
				if len(p.RecordBatches) > 0 && fc.incremental {
					moved = append(moved, sp)
				}
			}
			if changed || !fc.incremental {
				parts = append(parts, p)
			}
		}
		if len(parts) > 0 {
			t.Partitions = parts
			kept = append(kept, t)
		}
	}
	resp.Topics = kept
	if len(moved) > 0 {
		out := sess.parts[:0:0]
		isMoved := make(map[*sessionPartition]bool, len(moved))
		for _, sp := range moved {
			isMoved[sp] = true
		}
		for _, sp := range sess.parts {
			if !isMoved[sp] {
				out = append(out, sp)
			}
		}
		sess.parts = append(out, moved...)
		sess.topics = nil
	}
}

// keep reports whether an incremental fetch answers partition p of topic
// t: it has records or an error, or an offset moved since the session
// last answered it (finish applies the same rule and records the values).
// nil for a full fetch, which answers everything.
func (fc *fetchContext) keep() func(t *kmsg.FetchResponseTopic, p *kmsg.FetchResponseTopicPartition) bool {
	if fc.session == nil || !fc.incremental {
		return nil
	}
	return func(t *kmsg.FetchResponseTopic, p *kmsg.FetchResponseTopicPartition) bool {
		if len(p.RecordBatches) > 0 || p.ErrorCode != 0 {
			return true
		}
		fc.s.mu.Lock()
		defer fc.s.mu.Unlock()
		sp := fc.session.index[keyOf(fc.version, t.Topic, t.TopicID, p.Partition)]
		return sp == nil || p.HighWatermark != sp.hw || p.LastStableOffset != sp.lso || p.LogStartOffset != sp.logStart
	}
}

// len reports the number of cached sessions.
func (s *fetchSessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
