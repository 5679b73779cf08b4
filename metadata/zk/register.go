package zk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// RegisterWait is how long RegisterBrokerWait waits for another session's
// /brokers/ids/<id> to go by default: twice the session timeout plus a
// margin for ZooKeeper's tick granularity.
func RegisterWait(session time.Duration) time.Duration { return 2*session + 5*time.Second }

// registerRetry is how often RegisterBrokerWait tries again.
const registerRetry = 250 * time.Millisecond

// RegisterBrokerWait is RegisterBroker that waits, up to wait (RegisterWait
// of the session timeout when 0), while /brokers/ids/<id> is held by
// another session (ErrBrokerIDInUse) — typically this broker's previous
// process, killed with kill -9 before ZooKeeper expired its session — then
// fails naming a likely duplicate broker.id. Kafka fails at once in this
// case (KafkaZkClient's checked ephemeral: "node already exists and owner
// does not match current session"), so a Kafka broker restarted quickly
// after kill -9 exits and must be restarted again later; waiting gives the
// same end state without the extra restart. The controller sees the old
// registration's deletion and the new one (a new czxid, so a new broker
// epoch) and treats the broker as failed, then started: it moves leadership
// and ISR membership off the old incarnation before the new one serves.
// Other errors are returned at once; ctx bounds the whole.
func (b *Backend) RegisterBrokerWait(ctx context.Context, reg metadata.BrokerRegistration, wait time.Duration) (int64, error) {
	if wait <= 0 {
		wait = RegisterWait(b.cfg.SessionTimeout)
	}
	start := time.Now()
	warned := false
	for {
		epoch, err := b.RegisterBroker(ctx, reg)
		if err == nil {
			return epoch, nil
		}
		if !errors.Is(err, ErrBrokerIDInUse) {
			return -1, fmt.Errorf("register broker %d: %w", reg.ID, err)
		}
		if time.Since(start) > wait {
			return -1, fmt.Errorf("broker.id=%d is still registered by another live ZooKeeper session after %s (a duplicate broker.id?): %w",
				reg.ID, time.Since(start).Round(time.Second), err)
		}
		if !warned {
			b.log.Warn("broker.id still registered by another session (a previous process not yet expired?); waiting for it to go",
				zap.Duration("zookeeper.session.timeout", b.cfg.SessionTimeout), zap.Duration("wait", wait), zap.Error(err))
			warned = true
		}
		t := time.NewTimer(registerRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return -1, fmt.Errorf("register broker %d: %w (%w)", reg.ID, err, ctx.Err())
		case <-t.C:
		}
	}
}
