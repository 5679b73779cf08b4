package migrate

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// Finalizer finalizes a migration on a controller restarted without the
// ZooKeeper keys (step 5 of docs/migration.md): while its node is the active
// controller and the log is still in MIGRATION, it appends POST_MIGRATION
// (Finalize). From then on no driver writes ZooKeeper. It has the Driver's
// lifecycle: Start runs one goroutine, Close ends it and waits.
type Finalizer struct {
	log      *zap.Logger
	interval time.Duration

	mu     sync.Mutex // guards cancel
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewFinalizer returns a finalizer that checks every interval (0 = 500 ms).
func NewFinalizer(interval time.Duration, logger *zap.Logger) *Finalizer {
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Finalizer{log: logger.Named("migration"), interval: interval}
}

// Start runs the check loop on q until Close. ctx is not kept: the loop
// ends with Close only.
func (f *Finalizer) Start(_ context.Context, q Quorum) error {
	lctx, cancel := context.WithCancel(context.Background())
	f.mu.Lock()
	f.cancel = cancel
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.run(lctx, q)
	}()
	return nil
}

func (f *Finalizer) run(ctx context.Context, q Quorum) {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, leader := q.LeaderTerm(); !leader || q.Image().ZkMigrationState() != metadata.ZkMigrationMigration {
			continue
		}
		if err := Finalize(ctx, q); err != nil {
			if ctx.Err() == nil {
				f.log.Warn("finalize the migration", zap.Error(err))
			}
			continue
		}
		f.log.Info("migration finalized: ZkMigrationState POST_MIGRATION, ZooKeeper is no longer written")
	}
}

// Close ends the loop and waits for it. It may be called more than once,
// and without Start.
func (f *Finalizer) Close() error {
	f.mu.Lock()
	cancel := f.cancel
	f.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	f.wg.Wait()
	return nil
}
