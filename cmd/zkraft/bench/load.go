package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// loadSpec is one run of the load generator.
type loadSpec struct {
	brokers    []string
	topic      string
	recordSize int
	records    int64         // stop after this many records...
	duration   time.Duration // ...or after this long, whichever first
	acks       int16         // -1 (all), 1, 0
	linger     time.Duration
	rate       float64 // records/s; 0 = as fast as the client can buffer
	// stop, when closed, ends the run like its duration does (nil: never).
	stop <-chan struct{}
	// onAck, if set, is called with the time of every acknowledged record, from the
	// client's promise goroutines (concurrently across partitions).
	onAck func(time.Time)
	// opts are added to the producer's (TLS, SASL: security.go).
	opts []kgo.Opt
}

// loadResult is what one run observed. sent = acked + failed once the run returns.
type loadResult struct {
	warmup              int64 // untimed records produced before the clock starts
	sent, acked, failed int64
	firstErr            error
	elapsed             time.Duration // from the first Produce call to the last promise
	latency             *Histogram    // per acknowledged record: Produce call -> promise
}

// flushGrace bounds how long a run waits for outstanding records after it stops producing;
// records still unacknowledged then are failed by closing the client.
const flushGrace = 30 * time.Second

// runLoad produces spec.records records of spec.recordSize random bytes (no key, no
// compression) to spec.topic with one kgo client, then waits for every promise. It is bounded
// by records, duration and ctx. One untimed warm-up record goes first. It returns an error if
// the client cannot be created or the warm-up record fails; later record failures are
// counted in the result.
func runLoad(ctx context.Context, spec loadSpec, logger *zap.Logger) (loadResult, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(spec.brokers...),
		kgo.DefaultProduceTopic(spec.topic),
		kgo.ProducerLinger(spec.linger),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordDeliveryTimeout(flushGrace),
	}
	opts = append(opts, spec.opts...)
	switch spec.acks {
	case -1:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case 1:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case 0:
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return loadResult{}, fmt.Errorf("%w: --acks: unsupported value %d", ErrUsage, spec.acks)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return loadResult{}, fmt.Errorf("%w: client for %v: %w", ErrProduce, spec.brokers, err)
	}
	closeOnce := sync.OnceFunc(cl.Close)
	defer closeOnce()

	// One shared value: with compression off its content does not matter to the broker, and
	// sharing it keeps the generator's own CPU and memory out of the measurement.
	value := make([]byte, spec.recordSize)
	_, _ = rand.Read(value)

	// Warm up untimed: the first record makes the client fetch metadata, connect to every
	// partition leader it needs and (idempotent) get a producer id.
	wctx, wcancel := context.WithTimeout(ctx, flushGrace)
	werr := cl.ProduceSync(wctx, &kgo.Record{Value: value}).FirstErr()
	wcancel()
	if werr != nil {
		return loadResult{warmup: 1}, fmt.Errorf("%w: warm-up record to %s: %w", ErrProduce, spec.topic, werr)
	}

	var (
		acked, failed atomic.Int64
		lastAck       atomic.Int64 // unix nanos of the latest promise
		errOnce       sync.Once
		firstErr      error
		hist          = new(Histogram)
	)
	start := time.Now()
	deadline := start.Add(spec.duration)
	var sent int64
	for sent < spec.records && ctx.Err() == nil {
		now := time.Now()
		if !now.Before(deadline) || closed(spec.stop) {
			break
		}
		if spec.rate > 0 {
			// pace: record i is due at start + i/rate; sleep only when >= 1ms ahead, so the
			// schedule is kept within a millisecond without a timer per record.
			due := start.Add(time.Duration(float64(sent) / spec.rate * float64(time.Second)))
			if ahead := due.Sub(now); ahead >= time.Millisecond {
				t := time.NewTimer(min(ahead, deadline.Sub(now)))
				select {
				case <-ctx.Done():
				case <-t.C:
				case <-spec.stop:
				}
				t.Stop()
				continue // re-check ctx, deadline and schedule
			}
		}
		t0 := time.Now()
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			done := time.Now()
			lastAck.Store(done.UnixNano())
			if err != nil {
				failed.Add(1)
				errOnce.Do(func() { firstErr = err })
				return
			}
			acked.Add(1)
			hist.Record(done.Sub(t0))
			if spec.onAck != nil {
				spec.onAck(done)
			}
		})
		sent++
	}

	fctx, cancel := context.WithTimeout(ctx, flushGrace)
	defer cancel()
	if err := cl.Flush(fctx); err != nil {
		logger.Warn("flush did not finish; failing outstanding records", zap.Error(err),
			zap.Int64("sent", sent), zap.Int64("acked", acked.Load()))
	}
	closeOnce() // fails anything still buffered, after which every promise has run

	res := loadResult{warmup: 1, sent: sent, acked: acked.Load(), failed: failed.Load(), latency: hist}
	errOnce.Do(func() {}) // publishes firstErr
	res.firstErr = firstErr
	if last := lastAck.Load(); last != 0 {
		res.elapsed = time.Unix(0, last).Sub(start)
	}
	if res.acked+res.failed != sent {
		// kgo guarantees a promise per Produce; a mismatch is a bug worth reporting loudly.
		return res, fmt.Errorf("%w: %d records sent but %d acked + %d failed", ErrProduce, sent, res.acked, res.failed)
	}
	return res, nil
}

// closed reports whether ch is closed (false for nil).
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
