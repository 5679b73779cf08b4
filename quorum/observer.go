package quorum

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// A read-only observer of a live quorum, for tools (`zkraft meta
// --bootstrap-controller`): it reads the committed metadata log once over
// the same Kafka-protocol wire the brokers' followers use (fetch.go), and
// never registers, heartbeats or writes. Only DescribeCluster, Fetch (v12)
// and FetchSnapshot (v0) are sent, with replica id -1 (an observer, as
// Kafka's consumers and tools send).
//
// Reading, as a broker's follower does (follower.go), but to the end once:
//
//	Fetch(1) ok              -> fetch on until an answer covers nothing new
//	Fetch(1) OFFSET_OUT_OF_RANGE (the log start passed 1, compacted):
//	    probe Fetch(huge)    -> the high watermark (answered without data)
//	    binary search        -> the log start L (first offset not out of range)
//	    FetchSnapshot        -> the controller's current image, ending at E
//	    fetch from L on      -> the retained log, before and after the image
//
// Raft control entries (configuration, no-op, barrier) are not served by
// Fetch: their offsets are covered (the high watermark moves past them) but
// no batch carries them. Record batches carry no append time.

// ErrNoActiveController: none of the bootstrap controllers could serve the
// metadata log (unreachable, or not the active controller until the
// observer's timeout). The message names every address and what it said.
var ErrNoActiveController = errors.New("quorum: no active controller among the bootstrap controllers")

// ObserverConfig configures ReadMetadataLog.
type ObserverConfig struct {
	// Bootstrap are controller addresses (host:port, the voters' ports);
	// the active controller must be among them.
	Bootstrap []string
	// RequestTimeout bounds one request (default 10 s).
	RequestTimeout time.Duration
	// Timeout bounds the search for the active controller while voters
	// answer NOT_CONTROLLER (an election); default 10 s. When every
	// address refuses the connection the read fails at once.
	Timeout time.Duration
	// Security is how the controller listener is dialled (its TLS and
	// SASL; zero: PLAINTEXT).
	Security network.ClientSecurity
}

// DefaultObserverConfig: the embedded single voter.
func DefaultObserverConfig() ObserverConfig {
	return ObserverConfig{Bootstrap: []string{"127.0.0.1:9093"}, RequestTimeout: 10 * time.Second, Timeout: 10 * time.Second}
}

// ParseBootstrap parses "host:port[,host:port]".
func ParseBootstrap(s string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("bootstrap controller %q: %w: %w", a, err, ErrInvalidConfig)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bootstrap controllers: empty: %w", ErrInvalidConfig)
	}
	return out, nil
}

// Validate names the bad key.
func (c ObserverConfig) Validate() error {
	if len(c.Bootstrap) == 0 {
		return fmt.Errorf("bootstrap controllers: empty: %w", ErrInvalidConfig)
	}
	for _, a := range c.Bootstrap {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("bootstrap controller %q: %w: %w", a, err, ErrInvalidConfig)
		}
	}
	if c.RequestTimeout <= 0 {
		return fmt.Errorf("request timeout: %v must be > 0: %w", c.RequestTimeout, ErrInvalidConfig)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("timeout: %v must be > 0: %w", c.Timeout, ErrInvalidConfig)
	}
	return nil
}

// ObservedEntry is one raft command entry as served by Fetch.
type ObservedEntry struct {
	Index, Term uint64
	Data        []byte // metadata.AppendBatch
}

// ObservedSnapshot is the controller's current image as served by
// FetchSnapshot (only read when the log no longer starts at offset 1).
type ObservedSnapshot struct {
	// EndOffset is one past the last raft index the image covers
	// (Kafka's SnapshotId.EndOffset); Epoch the term of its last change.
	EndOffset int64
	Epoch     int32
	Size      int
	Header    SnapshotHeader
	Records   []metadata.Record
}

// ObservedLog is the committed metadata log of a live quorum as read once.
type ObservedLog struct {
	// Controller is the address that served the log; ControllerID the
	// active controller's node id (DescribeCluster; -1 if unknown).
	Controller   string
	ControllerID int32
	ClusterID    string
	// LogStart is the first offset Fetch serves (1 unless compacted).
	LogStart int64
	// HighWatermark is one past the last offset read (control entries
	// at the end included).
	HighWatermark int64
	// Snapshot is set when LogStart > 1.
	Snapshot *ObservedSnapshot
	// Entries are the command entries from LogStart on, in index order.
	Entries []ObservedEntry
}

// ReadMetadataLog reads the committed metadata log of a live quorum once,
// read-only. On a damaged answer it returns what it read before it
// together with an error wrapping ErrCorruptEntry or ErrCorruptSnapshot;
// when no controller serves the log, a nil log and an error wrapping
// ErrNoActiveController that names every address. It starts no goroutine
// that outlives it and closes its connections before returning.
func ReadMetadataLog(ctx context.Context, cfg ObserverConfig, logger *zap.Logger) (*ObservedLog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	o := &logObserver{cfg: cfg, log: logger.Named("observer")}
	for _, a := range cfg.Bootstrap {
		o.conns = append(o.conns, &ctrlConn{addr: a, clientID: "zkraft-meta", sec: cfg.Security})
	}
	defer func() {
		for _, c := range o.conns {
			c.close()
		}
	}()
	return o.read(ctx)
}

type logObserver struct {
	cfg   ObserverConfig
	log   *zap.Logger
	conns []*ctrlConn
	cur   int // index of the connection believed active
}

// maxSnapshotLoads bounds the restarts when the log is compacted again
// while it is being read.
const maxSnapshotLoads = 3

func (o *logObserver) read(ctx context.Context) (*ObservedLog, error) {
	out := &ObservedLog{ControllerID: -1, LogStart: 1}
	for attempt := 0; ; attempt++ {
		p, err := o.fetch(ctx, 1, fetchMaxBytes)
		if err != nil {
			return nil, err
		}
		o.describe(ctx, out)
		if p.ErrorCode == kerr.OffsetOutOfRange.Code {
			if attempt == maxSnapshotLoads {
				return nil, fmt.Errorf("quorum: the log start of %s moved %d times while it was read: %w", o.conns[o.cur].addr, attempt, ErrBadResponse)
			}
			if err := o.compacted(ctx, out); err != nil {
				return nil, err
			}
		} else if p.ErrorCode != 0 {
			return nil, fmt.Errorf("quorum: fetch %s-0 at 1 from %s: %w", MetadataTopic, o.conns[o.cur].addr, codeError(p.ErrorCode))
		}
		again, err := o.tail(ctx, out, p)
		if again {
			out.Snapshot, out.Entries, out.LogStart = nil, nil, 1
			continue
		}
		out.Controller = o.conns[o.cur].addr
		return out, err
	}
}

// tail fetches entries from out.LogStart until an answer covers nothing
// new. first is the answer to Fetch(1) (used when LogStart is 1). again:
// the log was compacted under the reader, start over.
func (o *logObserver) tail(ctx context.Context, out *ObservedLog, first kmsg.FetchResponseTopicPartition) (again bool, err error) {
	next := out.LogStart
	p := first
	havePart := out.LogStart == 1 && first.ErrorCode == 0
	for {
		if !havePart {
			if p, err = o.fetch(ctx, next, fetchMaxBytes); err != nil {
				return false, err
			}
		}
		havePart = false
		switch {
		case p.ErrorCode == kerr.OffsetOutOfRange.Code:
			return true, nil
		case p.ErrorCode != 0:
			return false, fmt.Errorf("quorum: fetch %s-0 at %d from %s: %w", MetadataTopic, next, o.conns[o.cur].addr, codeError(p.ErrorCode))
		}
		entries, derr := decodeEntryBatches(p.RecordBatches)
		progressed := false
		for _, e := range entries {
			if int64(e.Index) < next {
				continue
			}
			out.Entries = append(out.Entries, ObservedEntry{Index: e.Index, Term: e.Term, Data: e.Data})
			next = int64(e.Index) + 1
			progressed = true
		}
		out.HighWatermark = next
		if derr != nil {
			return false, fmt.Errorf("quorum: metadata log from %s at offset %d: %w", o.conns[o.cur].addr, next, derr)
		}
		if len(p.RecordBatches) > 0 && !progressed {
			return false, fmt.Errorf("quorum: fetch at %d from %s: %d bytes of batches, no entry at or after it: %w",
				next, o.conns[o.cur].addr, len(p.RecordBatches), ErrBadResponse)
		}
		if p.HighWatermark > next {
			next = p.HighWatermark // control entries covered
			out.HighWatermark = next
			continue
		}
		if !progressed {
			return false, nil
		}
	}
}

// compacted finds the log start by binary search and loads the
// controller's current image.
func (o *logObserver) compacted(ctx context.Context, out *ObservedLog) error {
	p, err := o.fetch(ctx, math.MaxInt64/2, 1)
	if err != nil {
		return err
	}
	if p.ErrorCode != 0 {
		return fmt.Errorf("quorum: probe the high watermark of %s: %w", o.conns[o.cur].addr, codeError(p.ErrorCode))
	}
	lo, hi := int64(1), p.HighWatermark // lo out of range, hi served (possibly empty)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		q, err := o.fetch(ctx, mid, 1)
		if err != nil {
			return err
		}
		switch {
		case q.ErrorCode == kerr.OffsetOutOfRange.Code:
			lo = mid
		case q.ErrorCode == 0:
			hi = mid
		default:
			return fmt.Errorf("quorum: fetch at %d from %s: %w", mid, o.conns[o.cur].addr, codeError(q.ErrorCode))
		}
	}
	out.LogStart = hi
	s, err := o.snapshot(ctx)
	if err != nil {
		return err
	}
	out.Snapshot = s
	return nil
}

// snapshot loads the controller's current image (downloadSnapshot: its
// restart policy) and decodes it.
func (o *logObserver) snapshot(ctx context.Context) (*ObservedSnapshot, error) {
	s, err := downloadSnapshot(ctx, o.call, -1)
	if err != nil {
		return nil, fmt.Errorf("quorum: snapshot from %s: %w", o.conns[o.cur].addr, err)
	}
	h, recs, err := decodeSnapshot(s.data)
	if err != nil {
		return nil, fmt.Errorf("quorum: snapshot ending at %d from %s: %w", s.end, o.conns[o.cur].addr, err)
	}
	return &ObservedSnapshot{EndOffset: s.end, Epoch: s.epoch, Size: len(s.data), Header: SnapshotHeader(h), Records: recs}, nil
}

// describe asks the serving controller for the cluster id and the active
// controller's id (best effort: the fields stay unset on failure).
func (o *logObserver) describe(ctx context.Context, out *ObservedLog) {
	if out.ClusterID != "" {
		return
	}
	if r, err := o.send(ctx, o.cur, kmsg.NewPtrDescribeClusterRequest()); err == nil {
		d := r.(*kmsg.DescribeClusterResponse)
		out.ClusterID, out.ControllerID = d.ClusterID, d.ControllerID
	}
}

// fetch sends one Fetch of the metadata partition at offset (no long
// poll) to the active controller (fetchMetadata).
func (o *logObserver) fetch(ctx context.Context, offset int64, maxBytes int32) (kmsg.FetchResponseTopicPartition, error) {
	p, err := fetchMetadata(ctx, o.call, -1, offset, 0, maxBytes)
	if err != nil && errors.Is(err, ErrBadResponse) {
		return p, fmt.Errorf("quorum: from %s: %w", o.conns[o.cur].addr, err)
	}
	return p, err
}

func (o *logObserver) send(ctx context.Context, i int, req kmsg.Request) (kmsg.Response, error) {
	rctx, cancel := context.WithTimeout(ctx, o.cfg.RequestTimeout)
	defer cancel()
	return o.conns[i].request(rctx, req)
}

// call sends req to the active controller: a connection error or
// NOT_CONTROLLER moves on to the next address (as Client.call does). A
// round in which every address failed to connect ends the search at once;
// otherwise it goes on until cfg.Timeout (an election in progress).
func (o *logObserver) call(ctx context.Context, req kmsg.Request, notController func(kmsg.Response) bool) (kmsg.Response, error) {
	deadline := time.Now().Add(o.cfg.Timeout)
	said := make([]string, len(o.conns))
	refused := 0
	for tries := 1; ; tries++ {
		i := o.cur
		addr := o.conns[i].addr
		resp, err := o.send(ctx, i, req)
		if err == nil && !notController(resp) {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			said[i] = err.Error()
			refused++
			o.log.Debug("controller unreachable", zap.String("addr", addr), zap.Error(err))
		} else {
			said[i] = "not the active controller"
			if r, derr := o.send(ctx, i, kmsg.NewPtrDescribeClusterRequest()); derr == nil {
				if id := r.(*kmsg.DescribeClusterResponse).ControllerID; id >= 0 {
					said[i] = fmt.Sprintf("not the active controller (controller %d is)", id)
				} else {
					said[i] = "not the active controller (no leader elected)"
				}
			}
		}
		o.cur = (i + 1) % len(o.conns)
		if tries%len(o.conns) != 0 {
			continue
		}
		if refused == len(o.conns) || !time.Now().Before(deadline) {
			parts := make([]string, len(o.conns))
			for j, c := range o.conns {
				parts[j] = c.addr + ": " + said[j]
			}
			return nil, fmt.Errorf("%w: %s", ErrNoActiveController, strings.Join(parts, "; "))
		}
		refused = 0
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}
