package sourcetest

import (
	"context"
	"fmt"
	"sync"

	"github.com/zkraft/zkraft/metadata"
)

// Mem is an in-memory Source: the pure controller logic of package
// metadata on one image, published to the broker as a controller would
// after committing the records. It is the reference the suite checks
// itself against and the Source of broker/server's own tests. The zero
// value is not usable: NewMem.
type Mem struct {
	id        int32
	endpoints []metadata.Endpoint
	cfg       metadata.ControllerConfig

	mu       sync.Mutex // guards the fields below and every Publish
	img      *metadata.Image
	offset   int64
	pub      metadata.Publisher
	epoch    int64
	closed   bool
	stopped  bool // Shutdown called stopFetching
	shutdown bool
}

// NewMem returns an unstarted Mem for broker id advertising endpoints.
func NewMem(id int32, endpoints []metadata.Endpoint) *Mem {
	d := metadata.NewDelta(metadata.EmptyImage())
	d.SetClusterID("sourcetest-mem-cluster")
	return &Mem{id: id, endpoints: endpoints, cfg: metadata.DefaultControllerConfig(), img: d.Apply(), epoch: -1}
}

// applyLocked replays recs onto the image and publishes it.
func (m *Mem) applyLocked(recs []metadata.Record) error {
	if len(recs) == 0 {
		return nil
	}
	d := metadata.NewDelta(m.img)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			return fmt.Errorf("sourcetest: replay %v: %w", r.Type(), err)
		}
	}
	m.offset += int64(len(recs))
	d.SetProvenance(m.offset, 1)
	m.img = d.Apply()
	if m.pub != nil && !m.closed {
		m.pub.Publish(d, m.img)
	}
	return nil
}

// Image is the latest image.
func (m *Mem) Image() *metadata.Image {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.img
}

// Apply writes recs as a controller would (tests add brokers or topics).
func (m *Mem) Apply(recs []metadata.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applyLocked(recs)
}

// StoppedFetching reports whether Shutdown called its stopFetching.
func (m *Mem) StoppedFetching() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopped
}

// Start registers and unfences the broker, then publishes the whole image
// to pub as a delta from the empty image.
func (m *Mem) Start(ctx context.Context, pub metadata.Publisher) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("sourcetest: start after close")
	}
	m.epoch = m.offset + 1
	recs, err := metadata.RegisterBroker(m.img, metadata.BrokerRegistration{ID: m.id, Epoch: m.epoch,
		IncarnationID: metadata.RandomUuid(), Endpoints: m.endpoints}, false)
	if err != nil {
		return err
	}
	if err := m.applyLocked(recs); err != nil {
		return err
	}
	if recs, err = metadata.UnfenceBroker(m.img, m.id, m.epoch); err != nil {
		return err
	}
	if err := m.applyLocked(recs); err != nil {
		return err
	}
	d := metadata.FullDelta(m.img)
	img := d.Apply()
	m.pub, m.img = pub, img
	pub.Publish(d, img)
	return nil
}

// BrokerEpoch implements server.Epocher.
func (m *Mem) BrokerEpoch() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch
}

// Shutdown moves leadership and ISR membership off the broker
// (metadata.ControlledShutdown) and calls stopFetching first.
func (m *Mem) Shutdown(ctx context.Context, stopFetching func()) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	stopFetching()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped, m.shutdown = true, true
	moved := len(metadata.LeadsReplicated(m.img, m.id))
	recs, err := metadata.ControlledShutdown(m.img, m.id, m.epoch)
	if err != nil {
		return 0, err
	}
	return moved, m.applyLocked(recs)
}

// Close stops publishing. Safe to call without Start and more than once.
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// CreateTopics implements broker.Controller.
func (m *Mem) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	errs := make([]error, len(specs))
	seen := make(map[string]int, len(specs))
	for _, s := range specs {
		seen[s.Name]++
	}
	for i, s := range specs {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if seen[s.Name] > 1 {
			errs[i] = fmt.Errorf("create topic %q: named %d times in one request: %w", s.Name, seen[s.Name], metadata.ErrInvalidRequest)
			continue
		}
		recs, err := metadata.CreateTopic(m.img, s, m.cfg)
		if err == nil && !validateOnly {
			err = m.applyLocked(recs)
		}
		errs[i] = err
	}
	return errs
}

// DeleteTopics implements broker.Controller.
func (m *Mem) DeleteTopics(ctx context.Context, names []string) []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	errs := make([]error, len(names))
	for i, n := range names {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		recs, err := metadata.DeleteTopic(m.img, n)
		if err == nil {
			err = m.applyLocked(recs)
		}
		errs[i] = err
	}
	return errs
}

// AllocateProducerIDs implements broker.Controller.
func (m *Mem) AllocateProducerIDs(ctx context.Context, brokerID int32) (int64, int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	first, count, recs := metadata.AllocateProducerIDs(m.img, brokerID, m.epoch)
	return first, count, m.applyLocked(recs)
}

// AlterPartition implements replica.Controller.
func (m *Mem) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	reg, recs, err := metadata.AlterPartition(m.img, req)
	if err != nil {
		return nil, err
	}
	return reg, m.applyLocked(recs)
}
