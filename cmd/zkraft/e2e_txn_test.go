package main_test

// End-to-end test of transactions (issue 15) with real processes: 3
// controllers and 3 brokers (startReplicaCluster), input and output
// topics with replication factor 3, and franz-go's GroupTransactSession
// running a consume-transform-produce loop (KIP-98, KIP-447) while a
// broker and then the transaction coordinator's leader are killed with
// kill -9 in the middle of a transaction. Some transactions are aborted on
// purpose, so the output log holds aborted records a read_committed reader
// must skip. The output read with read_committed (franz-go and kcat) holds
// every input record exactly once and nothing else; a zombie producer with
// an old epoch is fenced.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/wait"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/metadata/zk/zktest"
)

const (
	txnIn, txnOut = "txn-in", "txn-out"
	txnInputs     = 2000
	txnID         = "etl"
	txnGroup      = "etl-group"
)

// etl is the consume-transform-produce loop under test. hook, when set,
// is called in the middle of a transaction (records produced, End not yet
// called) of iteration n; the loop waits for it.
type etl struct {
	t     *testing.T
	seeds []string

	mu      sync.Mutex
	hooks   map[int]func()
	iter    int
	commits int
	aborts  int
	renews  int
}

func (e *etl) session() *kgo.GroupTransactSession {
	s, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(e.seeds...),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(60*time.Second),
		kgo.ConsumerGroup(txnGroup),
		kgo.ConsumeTopics(txnIn),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.SessionTimeout(10*time.Second),
		kgo.RetryTimeout(40*time.Second),
		kgo.RecordRetries(1000),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// run loops until ctx ends: poll at most 50 records, produce them
// transformed, and commit (every seventh transaction aborts instead).
func (e *etl) run(ctx context.Context) {
	s := e.session()
	defer func() { s.Close() }()
	for ctx.Err() == nil {
		fs := s.PollRecords(ctx, 50)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(topic string, p int32, err error) { e.t.Logf("etl fetch %s-%d: %v", topic, p, err) })
		if fs.NumRecords() == 0 {
			continue
		}
		if err := s.Begin(); err != nil {
			e.t.Errorf("etl begin: %v", err)
			return
		}
		fs.EachRecord(func(r *kgo.Record) {
			s.Produce(ctx, &kgo.Record{Topic: txnOut, Key: r.Key, Value: append([]byte("out-"), r.Value...)}, nil)
		})
		e.mu.Lock()
		e.iter++
		hook := e.hooks[e.iter]
		abort := e.iter%7 == 0
		e.mu.Unlock()
		var err error
		if hook != nil || abort {
			// The records reach the partitions first: an abort then
			// leaves aborted records in the log, and a kill hits a
			// transaction with data on the brokers.
			err = s.Client().Flush(ctx)
		}
		if hook != nil && err == nil {
			hook() // a kill -9 while the transaction is open
		}
		committed := false
		if err == nil {
			committed, err = s.End(ctx, kgo.TransactionEndTry(!abort))
		}
		e.mu.Lock()
		switch {
		case err != nil:
			// "No returned error is retryable": a new session (a new
			// InitProducerId) fences the old one and aborts its
			// transaction; its input is consumed again.
			e.renews++
			e.mu.Unlock()
			e.t.Logf("etl end (commit %v): %v; starting a new session", !abort, err)
			s.Close()
			if ctx.Err() != nil {
				return
			}
			s = e.session()
			continue
		case committed:
			e.commits++
		default:
			e.aborts++
		}
		e.mu.Unlock()
	}
}

// readOutput reads txnOut (3 partitions) as readTopic does.
func readOutput(t *testing.T, seeds []string, level kgo.IsolationLevel) []string {
	t.Helper()
	return readTopic(t, seeds, txnOut, 3, level)
}

// readTopic reads topic from the start with the isolation level until the
// high watermark (read_uncommitted) or LSO (read_committed) it had when
// called, and returns the values.
func readTopic(t *testing.T, seeds []string, topic string, partitions int32, level kgo.IsolationLevel) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), replicaWait)
	defer cancel()
	ends := map[int32]int64{}
	wait.For(t, replicaWait, "end offsets of "+topic, func() error {
		req := kmsg.NewPtrListOffsetsRequest()
		req.IsolationLevel = 0
		if level == kgo.ReadCommitted() {
			req.IsolationLevel = 1
		}
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := int32(0); p < partitions; p++ {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp = p, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		shards := cl.RequestSharded(ctx, req)
		for _, sh := range shards {
			if sh.Err != nil {
				return sh.Err
			}
			for _, t := range sh.Resp.(*kmsg.ListOffsetsResponse).Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						return err
					}
					ends[p.Partition] = p.Offset
				}
			}
		}
		if len(ends) != int(partitions) {
			return fmt.Errorf("%d partitions answered", len(ends))
		}
		return nil
	})
	var out []string
	pos := map[int32]int64{}
	done := func() bool {
		for p, end := range ends {
			if pos[p] < end {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: reached %v of %v", topic, pos, ends)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < ends[r.Partition] {
				out = append(out, string(r.Value))
			}
		})
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if p.HighWatermark > pos[p.Partition] {
				// read_committed: the answer's LSO is where the
				// reader stops; read_uncommitted: the HW.
				pos[p.Partition] = min(p.HighWatermark, p.LastStableOffset)
				if level != kgo.ReadCommitted() {
					pos[p.Partition] = p.HighWatermark
				}
			}
		})
	}
	return out
}

// exactlyOnce reports what is wrong with out against the inputs.
func exactlyOnce(out []string) []string {
	var problems []string
	seen := map[string]int{}
	for _, v := range out {
		seen[v]++
	}
	for i := range txnInputs {
		v := fmt.Sprintf("out-in-%d", i)
		if n := seen[v]; n != 1 {
			problems = append(problems, fmt.Sprintf("%s seen %d times", v, n))
		}
		delete(seen, v)
	}
	for v, n := range seen {
		problems = append(problems, fmt.Sprintf("unexpected %q seen %d times", v, n))
	}
	slices.Sort(problems)
	return problems
}

// txnCoordinator is the broker FindCoordinator (key type 1) names for id.
func txnCoordinator(t *testing.T, qc *quorumCluster, via int32, id string) int32 {
	t.Helper()
	cl := qc.brokerClient(via)
	var node int32
	wait.For(t, replicaWait, "transaction coordinator of "+id, func() error {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKey = 1, id
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return err
		}
		node = resp.NodeID
		return nil
	})
	return node
}

// TestE2ETransactions: exactly once through kill -9 of a broker and of the
// transaction coordinator mid-transaction (KIP-98, KIP-447), read back
// with read_committed by franz-go and kcat; a zombie producer is fenced.
func TestE2ETransactions(t *testing.T) {
	qc := startReplicaCluster(t,
		"offsets.topic.replication.factor=3", "offsets.topic.num.partitions=3",
		"transaction.state.log.replication.factor=3", "transaction.state.log.min.isr=2",
		"transaction.state.log.num.partitions=3", "group.initial.rebalance.delay.ms=0",
		"min.insync.replicas=2")
	var seeds []string
	for _, id := range []int32{4, 5, 6} {
		seeds = append(seeds, qc.brokers[id].addr)
	}
	admin := qc.brokerClient(4)
	for _, topic := range []string{txnIn, txnOut} {
		wait.For(t, replicaWait, "create "+topic, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := createTopicRF(ctx, admin, topic, 3, 3)
			if errors.Is(err, kerr.TopicAlreadyExists) {
				return nil
			}
			return err
		})
	}
	p, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(txnIn))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*replicaWait)
	for i := range txnInputs {
		p.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("in-%d", i))}, nil)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	p.Close()

	// The loop; iterations 3 and 9 pause mid-transaction for a kill -9.
	e := &etl{t: t, seeds: seeds, hooks: map[int]func(){}}
	coordinator := txnCoordinator(t, qc, 4, txnID)
	victim := int32(4)
	if victim == coordinator {
		victim = 5
	}
	var killedCoordinator int32
	e.hooks[3] = func() {
		t.Logf("kill -9 of broker %d (not the coordinator %d) mid-transaction", victim, coordinator)
		qc.brokers[victim].kill()
	}
	e.hooks[9] = func() {
		qc.brokers[victim].spawn()
		qc.brokers[victim].waitReady()
		via := int32(4)
		if via == victim {
			via = 5
		}
		killedCoordinator = txnCoordinator(t, qc, via, txnID)
		t.Logf("broker %d restarted; kill -9 of the transaction coordinator %d mid-transaction", victim, killedCoordinator)
		qc.brokers[killedCoordinator].kill()
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.run(runCtx)
	}()
	defer func() {
		stop()
		wg.Wait()
	}()
	wait.For(t, 3*replicaWait, "every input transformed exactly once (read_committed)", func() error {
		e.mu.Lock()
		iter := e.iter
		e.mu.Unlock()
		if iter < 10 {
			return fmt.Errorf("%d iterations", iter)
		}
		if killedCoordinator != 0 {
			select {
			case <-qc.brokers[killedCoordinator].done:
				qc.brokers[killedCoordinator].spawn()
				qc.brokers[killedCoordinator].waitReady()
			default:
			}
		}
		if problems := exactlyOnce(readOutput(t, seeds, kgo.ReadCommitted())); len(problems) > 0 {
			return fmt.Errorf("%d problems, first %s", len(problems), problems[0])
		}
		return nil
	})
	stop()
	wg.Wait()
	e.mu.Lock()
	t.Logf("%d transactions: %d committed, %d aborted, %d sessions renewed after an error", e.iter, e.commits, e.aborts, e.renews)
	commits := e.commits
	e.mu.Unlock()

	// transaction.version 2 (the default) made franz-go run KIP-890 part
	// 2: every EndTxn (v5) bumped the epoch, so it is at least the number
	// of commits (each one carried records); the classic protocol bumps
	// only on InitProducerId and fences.
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), replicaWait)
	described, err := kadm.NewClient(adm).DescribeTransactions(dctx, txnID)
	dcancel()
	adm.Close()
	d := described[txnID]
	if err != nil || d.Err != nil || int(d.ProducerEpoch) < commits {
		t.Fatalf("describe %s: epoch %d after %d commits (want at least that many: EndTxn v5), %v %v", txnID, d.ProducerEpoch, commits, err, d.Err)
	}
	t.Logf("transaction %s: producer %d at epoch %d (KIP-890 part 2 bumps)", txnID, d.ProducerID, d.ProducerEpoch)

	committed := readOutput(t, seeds, kgo.ReadCommitted())
	if problems := exactlyOnce(committed); len(problems) > 0 {
		t.Fatalf("read_committed output is not exactly once:\n%s", strings.Join(problems[:min(20, len(problems))], "\n"))
	}
	all := readOutput(t, seeds, kgo.ReadUncommitted())
	if len(all) <= len(committed) {
		t.Errorf("read_uncommitted sees %d records, read_committed %d: no aborted record reached the log", len(all), len(committed))
	}
	t.Logf("output: %d records read_committed, %d read_uncommitted (aborted ones included)", len(committed), len(all))

	// kcat (librdkafka) with isolation.level=read_committed sees the same.
	out := runKcat(t, nil, "-b", strings.Join(seeds, ","), "-C", "-t", txnOut, "-o", "beginning", "-e", "-q",
		"-X", "isolation.level=read_committed", "-f", "%s\n")
	kc := strings.Fields(out)
	if problems := exactlyOnce(kc); len(problems) > 0 {
		t.Fatalf("kcat read_committed: %d records, not exactly once:\n%s", len(kc), strings.Join(problems[:min(20, len(problems))], "\n"))
	}

	// A zombie: an instance whose transactional id a newer instance
	// initialized is fenced, and its open transaction is aborted.
	zombie, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID("zombie"), kgo.DefaultProduceTopic(txnOut))
	if err != nil {
		t.Fatal(err)
	}
	defer zombie.Close()
	zctx, zcancel := context.WithTimeout(context.Background(), replicaWait)
	defer zcancel()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(zctx, &kgo.Record{Value: []byte("zombie-1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fresh, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID("zombie"), kgo.DefaultProduceTopic(txnOut))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := fresh.ProduceSync(zctx, &kgo.Record{Value: []byte("fresh-1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := fresh.EndTransaction(zctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	err = zombie.ProduceSync(zctx, &kgo.Record{Value: []byte("zombie-2")}).FirstErr()
	if err == nil {
		err = zombie.EndTransaction(zctx, kgo.TryCommit)
	}
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("zombie producer: %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", err)
	}
	// EndTxn answers once PrepareCommit is written; the markers (and so
	// the read_committed view) follow.
	var final []string
	wait.Until(t, replicaWait, "fresh-1 committed", func() bool {
		final = readOutput(t, seeds, kgo.ReadCommitted())
		return slices.Contains(final, "fresh-1")
	})
	if !slices.Contains(final, "fresh-1") || slices.Contains(final, "zombie-1") || slices.Contains(final, "zombie-2") {
		t.Fatalf("after the zombie: fresh-1 %v, zombie-1 %v, zombie-2 %v", slices.Contains(final, "fresh-1"),
			slices.Contains(final, "zombie-1"), slices.Contains(final, "zombie-2"))
	}
	t.Logf("zombie fenced: %v", err)
}

// TestE2ETransactionsZkMode: the coordinator in ZooKeeper mode (it needs
// only partitions and leaders): __transaction_state is created like any
// topic (its znode, as Kafka writes it), a committed and an aborted
// transaction of franz-go, read back with read_committed by kcat.
func TestE2ETransactionsZkMode(t *testing.T) {
	s := zktest.Start(t)
	n := startZkNode(t, s.Addr, 1, "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
		"transaction.state.log.num.partitions=3", "group.initial.rebalance.delay.ms=0")
	ctx, cancel := context.WithTimeout(context.Background(), replicaWait)
	defer cancel()
	zkCreateTopic(ctx, t, n.client(t), "zk-txn", 2, 1, nil)
	p := n.client(t, kgo.TransactionalID("zk-tx"), kgo.DefaultProduceTopic("zk-txn"))
	for i, commit := range []bool{true, false, true} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("t%d-%v-%d", i, commit, j))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatalf("end transaction %d (commit %v): %v", i, commit, err)
		}
	}
	want := []string{"t0-true-0", "t0-true-1", "t0-true-2", "t2-true-0", "t2-true-1", "t2-true-2"}
	var got []string
	wait.For(t, replicaWait, "kcat read_committed", func() error {
		got = strings.Fields(runKcat(t, nil, "-b", n.addr, "-C", "-t", "zk-txn", "-o", "beginning", "-e", "-q",
			"-X", "isolation.level=read_committed", "-f", "%s\n"))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
	raw, _, err := gozk.Connect([]string{s.Addr}, 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if ok, _, err := raw.Exists(zk.TopicPath("__transaction_state")); err != nil || !ok {
		t.Fatalf("__transaction_state znode: exists %v, %v", ok, err)
	}
}

// transactionsWork: on the migration cluster (e2e_migrate_test.go), a
// franz-go transactional producer commits one transaction and aborts
// another on topic mig-txn; a read_committed reader sees the committed
// record and not the aborted one. The coordinator needs only partitions
// and leaders, so it works on migrating brokers as in either mode.
func (mc *migCluster) transactionsWork(what string) {
	t := mc.t
	t.Helper()
	const topic = "mig-txn"
	admin := mc.brokers[1].client(t, kgo.SeedBrokers(mc.seeds()...))
	wait.For(t, migWait, "create "+topic, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := createTopicRF(ctx, admin, topic, 2, 3); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return err
		}
		return nil
	})
	p := mc.brokers[1].client(t, kgo.SeedBrokers(mc.seeds()...), kgo.TransactionalID("mig-tx"), kgo.DefaultProduceTopic(topic))
	ctx, cancel := context.WithTimeout(context.Background(), migWait)
	defer cancel()
	committed, aborted := what+": committed", what+": aborted"
	for _, v := range []string{committed, aborted} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("%s: transactional produce: %v", what, err)
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(v == committed)); err != nil {
			t.Fatalf("%s: end transaction: %v", what, err)
		}
	}
	wait.For(t, migWait, what+": read_committed sees the committed transaction only", func() error {
		got := readTopic(t, mc.seeds(), topic, 2, kgo.ReadCommitted())
		if !slices.Contains(got, committed) || slices.Contains(got, aborted) {
			return fmt.Errorf("read %q", got)
		}
		return nil
	})
}
