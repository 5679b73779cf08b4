package main_test

// Leader changes as a consumer group sees them (issue 16): a franz-go group
// consumer reads the RF 3 topic while its leader is killed and restarted,
// and shut down (SIGTERM, controlled shutdown) and restarted. groupWatch
// counts what it must never see:
//
//   - a truncation report: kgo injects a *kgo.ErrDataLoss into the fetches
//     when OffsetForLeaderEpoch (KIP-320) answers an end offset below the
//     position the consumer reached, and then resets the position to it;
//   - a redelivery: a record at an offset the consumer already received in
//     the same group generation, or at an offset below the one it last
//     committed (it commits synchronously after every poll). A rebalance may
//     legitimately redeliver what was received but not committed; nothing
//     else may.
//
// The restarted brokers' logs are checked for stale leaderships (see
// staleLeaderships).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
)

// groupWatch is a group consumer of one topic that records truncation
// reports and redeliveries, per partition.
type groupWatch struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu          sync.Mutex
	received    map[int32]map[int64]int // partition -> offset -> times received
	n           int                     // records received
	gen         int32                   // generation of the last poll that returned records
	maxSeen     map[int32]int64         // highest offset received in generation gen
	committed   map[int32]int64         // next offset after the last successful commit
	dataLoss    []string                // *kgo.ErrDataLoss reports
	redelivered []string                // offsets received again, with why
}

// startReplicaGroupWatch watches the replica topic on qc's brokers.
func startReplicaGroupWatch(t *testing.T, qc *quorumCluster, group string) *groupWatch {
	t.Helper()
	var seeds []string
	for _, n := range qc.brokers {
		seeds = append(seeds, n.addr)
	}
	return startGroupWatch(t, seeds, replicaTopic, group)
}

func startGroupWatch(t *testing.T, seeds []string, topic, group string) *groupWatch {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.HeartbeatInterval(500*time.Millisecond), kgo.SessionTimeout(10*time.Second),
		kgo.FetchMaxWait(200*time.Millisecond), kgo.MetadataMinAge(10*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &groupWatch{cl: cl, cancel: cancel, done: make(chan struct{}), received: map[int32]map[int64]int{}, gen: -1,
		maxSeen: map[int32]int64{}, committed: map[int32]int64{}}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			for _, fe := range fs.Errors() {
				var dl *kgo.ErrDataLoss
				if errors.As(fe.Err, &dl) {
					w.mu.Lock()
					w.dataLoss = append(w.dataLoss, dl.Error())
					w.mu.Unlock()
				}
			}
			recs := fs.Records()
			if len(recs) == 0 {
				continue
			}
			_, gen := cl.GroupMetadata()
			w.note(gen, recs)
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			err := cl.CommitRecords(cctx, recs...)
			ccancel()
			if err == nil {
				w.mu.Lock()
				for _, r := range recs {
					w.committed[r.Partition] = max(w.committed[r.Partition], r.Offset+1)
				}
				w.mu.Unlock()
			}
		}
	}()
	t.Cleanup(w.stop)
	return w
}

// note records one poll's records (in offset order per partition).
func (w *groupWatch) note(gen int32, recs []*kgo.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen != w.gen {
		w.gen = gen
		clear(w.maxSeen)
	}
	for _, r := range recs {
		p := r.Partition
		seen, ok := w.maxSeen[p]
		switch {
		case r.Offset < w.committed[p]:
			w.redelivered = append(w.redelivered, fmt.Sprintf("%s-%d offset %d below the committed %d (generation %d)", r.Topic, p, r.Offset, w.committed[p], gen))
		case ok && r.Offset <= seen:
			w.redelivered = append(w.redelivered, fmt.Sprintf("%s-%d offset %d after offset %d in generation %d", r.Topic, p, r.Offset, seen, gen))
		}
		w.maxSeen[p] = max(seen, r.Offset) // offsets are >= 0, so also right when !ok
		if w.received[p] == nil {
			w.received[p] = map[int64]int{}
		}
		w.received[p][r.Offset]++
		w.n++
	}
}

// count is how many records were received (redeliveries included).
func (w *groupWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// checkClean fails the test if the consumer was told of a truncation or
// received a record again (see groupWatch).
func (w *groupWatch) checkClean(t *testing.T, what string) {
	t.Helper()
	dataLoss, redelivered := w.report()
	t.Logf("%s: group consumer received %d records, %d truncation reports, %d redeliveries", what, w.count(), len(dataLoss), len(redelivered))
	if len(dataLoss) > 0 || len(redelivered) > 0 {
		t.Errorf("%s: group consumer: %d truncation reports %q, %d redeliveries %q", what,
			len(dataLoss), dataLoss[:min(len(dataLoss), 5)], len(redelivered), redelivered[:min(len(redelivered), 5)])
	}
}

func (w *groupWatch) stop() {
	w.once.Do(func() {
		w.cancel()
		<-w.done
		w.cl.Close()
	})
}

// missing counts the offsets of partition 0 below hw not received yet.
func (w *groupWatch) missing(hw int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	for off := int64(0); off < hw; off++ {
		if w.received[0][off] == 0 {
			n++
		}
	}
	return n
}

// report returns the truncation reports and redeliveries seen.
func (w *groupWatch) report() (dataLoss, redelivered []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.dataLoss...), append([]string(nil), w.redelivered...)
}

// leaderEpochs returns topic -> partition -> leader epoch of every topic
// as broker via sees it.
func leaderEpochs(qc *quorumCluster, via int32) (map[string]map[int32]int32, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(qc.brokers[via].addr))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest() // no topics named: all of them
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int32]int32{}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		out[*t.Topic] = map[int32]int32{}
		for _, p := range t.Partitions {
			out[*t.Topic][p.Partition] = p.LeaderEpoch
		}
	}
	return out, nil
}

// restartChecked restarts the stopped broker id and checks that the new
// process acted on no leadership older than the metadata it started with:
// epochs are the leader epochs of every partition, read from a live broker
// before the restart (so the controller's log already held them when the
// restarted broker learned its high watermark).
func restartChecked(t *testing.T, qc *quorumCluster, id, via int32) {
	t.Helper()
	var epochs map[string]map[int32]int32
	wait.For(t, replicaWait, "leader epochs before the restart", func() (err error) {
		epochs, err = leaderEpochs(qc, via)
		return err
	})
	qc.brokers[id].spawn()
	qc.brokers[id].waitReady()
	if stale := staleLeaderships(t, qc.brokers[id].logPath, epochs); len(stale) > 0 {
		t.Errorf("restarted broker %d acted on leaderships that ended before it started:\n%s", id, strings.Join(stale, "\n"))
	}
}

// staleLeaderships reads a broker's log for "became leader" (replication)
// and "loaded offsets partition" (group coordinator) lines whose leader
// epoch is below the partition's epoch in epochs.
func staleLeaderships(t *testing.T, logPath string, epochs map[string]map[int32]int32) []string {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stale []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		topic := ""
		switch {
		case strings.Contains(line, "\tbecame leader\t"):
		case strings.Contains(line, "\tloaded offsets partition\t"):
			topic = "__consumer_offsets"
		default:
			continue
		}
		var fields struct {
			Topic       string `json:"topic"`
			Partition   int32  `json:"partition"`
			LeaderEpoch int32  `json:"leader_epoch"`
		}
		if err := json.Unmarshal([]byte(line[strings.LastIndex(line, "\t")+1:]), &fields); err != nil {
			t.Fatalf("%s: unreadable fields in %q: %v", logPath, line, err)
		}
		if topic == "" {
			topic = fields.Topic
		}
		if want, ok := epochs[topic][fields.Partition]; ok && fields.LeaderEpoch < want {
			stale = append(stale, fmt.Sprintf("%s (%s-%d was at leader epoch %d)", line, topic, fields.Partition, want))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stale
}

// underReplicatedCmd runs `zkraft topics --describe
// --under-replicated-partitions` against broker via and returns its output.
func underReplicatedCmd(t *testing.T, qc *quorumCluster, via int32) string {
	t.Helper()
	out, errOut, code := runTopicsCmd(t, "--bootstrap-server", qc.brokers[via].addr, "--describe", "--under-replicated-partitions")
	if code != 0 {
		t.Fatalf("zkraft topics --describe --under-replicated-partitions: exit %d: %s", code, errOut)
	}
	return out
}
