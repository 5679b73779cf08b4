package meta

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/quorum"
)

// LiveOptions tune OpenLive.
type LiveOptions struct {
	// Timeout bounds the search for the active controller while the
	// voters answer NOT_CONTROLLER (an election); unreachable addresses
	// fail at once.
	Timeout time.Duration
	// RequestTimeout bounds one request.
	RequestTimeout time.Duration
	// Logger receives the observer's debug output (nil: none).
	Logger *zap.Logger
	// Security dials the controllers (--command-config; zero: PLAINTEXT).
	Security network.ClientSecurity
}

// DefaultLiveOptions waits up to 10 s for an active controller.
func DefaultLiveOptions() LiveOptions {
	return LiveOptions{Timeout: 10 * time.Second, RequestTimeout: 10 * time.Second}
}

// OpenLive reads the committed metadata log of a live quorum over the
// Kafka protocol (quorum.ReadMetadataLog: Fetch of __cluster_metadata and,
// when the log was compacted, FetchSnapshot) from the active controller
// among bootstrap ("host:port[,host:port]"). It is read-only: it never
// registers as a broker or writes. The Log it returns behaves as a
// directory's, except that it holds no raft control entries and no append
// times (Fetch does not carry them), and a compacted log's snapshot is the
// controller's current image (Snapshot.Path is ""). A damaged answer ends
// the read with Log.Err set, as a damaged raft.db does.
func OpenLive(ctx context.Context, bootstrap string, opts LiveOptions) (*Log, error) {
	addrs, err := quorum.ParseBootstrap(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("meta: --bootstrap-controller: %w: %w", err, ErrUsage)
	}
	cfg := quorum.DefaultObserverConfig()
	cfg.Bootstrap = addrs
	if opts.Timeout > 0 {
		cfg.Timeout = opts.Timeout
	}
	if opts.RequestTimeout > 0 {
		cfg.RequestTimeout = opts.RequestTimeout
	}
	cfg.Security = opts.Security
	obs, err := quorum.ReadMetadataLog(ctx, cfg, opts.Logger)
	if err != nil && !errors.Is(err, quorum.ErrCorruptEntry) {
		obs = nil // only damage keeps what was read before it
	}
	if obs == nil {
		if errors.Is(err, quorum.ErrNoActiveController) {
			return nil, fmt.Errorf("meta: --bootstrap-controller %s: %w: %w", bootstrap, err, ErrLive)
		}
		return nil, fmt.Errorf("meta: --bootstrap-controller %s: %w", bootstrap, err)
	}
	l := &Log{Controller: obs.Controller, Bootstrap: bootstrap, ClusterID: obs.ClusterID,
		First: uint64(max(obs.LogStart, 1)), Last: uint64(max(obs.HighWatermark-1, 0))}
	if obs.ControllerID >= 0 {
		l.NodeID = strconv.Itoa(int(obs.ControllerID))
	}
	if s := obs.Snapshot; s != nil {
		index := uint64(max(s.EndOffset-1, 0))
		l.Snapshots = append(l.Snapshots, Snapshot{ID: fmt.Sprintf("%d-%d-live", s.Epoch, index),
			Index: index, Term: uint64(max(s.Epoch, 0)), Size: int64(s.Size), Header: s.Header, Records: s.Records})
	}
	for _, oe := range obs.Entries {
		e, derr := decodeEntry(&raft.Log{Index: oe.Index, Term: oe.Term, Type: raft.LogCommand, Data: oe.Data})
		if derr != nil {
			l.Err = fmt.Errorf("meta: controller %s: offset %d (epoch %d, %d bytes): %w: %w", l.Controller, oe.Index, oe.Term, len(oe.Data), derr, ErrCorrupt)
			return l, nil
		}
		l.Entries = append(l.Entries, e)
	}
	if err != nil {
		l.Err = fmt.Errorf("meta: controller %s: %w: %w", l.Controller, err, ErrCorrupt)
	}
	return l, nil
}

// Source names what the log was read from: the directory, or "controller
// <addr>" for a live quorum.
func (l *Log) Source() string {
	if l.Controller != "" {
		return "controller " + l.Controller
	}
	return l.Dir
}

// live reports whether the log was read from a live quorum.
func (l *Log) live() bool { return l.Controller != "" }
