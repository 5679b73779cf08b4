package main_test

// End-to-end tests of the embedded single node (issue 2): the real binary, real clients.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ack is one record the broker acknowledged: where it says the record lives.
type ack struct {
	partition int32
	offset    int64
	value     string
}

func createTopic(t *testing.T, cl *kgo.Client, name string, partitions int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = name
	rt.NumPartitions = partitions
	rt.ReplicationFactor = 1
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
}

// produceN produces n records synchronously-acknowledged (acks=all, idempotent) and returns
// the acknowledgements.
func produceN(t *testing.T, cl *kgo.Client, topic, prefix string, n int) []ack {
	t.Helper()
	var (
		mu   sync.Mutex
		acks []ack
		errs []error
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		wg.Add(1)
		v := fmt.Sprintf("%s-%06d", prefix, i)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(v), Value: []byte(v)}, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			acks = append(acks, ack{r.Partition, r.Offset, string(r.Value)})
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d produces failed, first: %v", len(errs), n, errs[0])
	}
	return acks
}

// consumeAll reads every partition of topic from the start until it has want records or the
// timeout passes, and returns what it read keyed by partition/offset.
func consumeAll(t *testing.T, addr, topic string, want int) map[[2]int64]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[[2]int64]string{}
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(topic string, p int32, err error) {
			if err != context.DeadlineExceeded {
				t.Logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			k := [2]int64{int64(r.Partition), r.Offset}
			if prev, dup := got[k]; dup && prev != string(r.Value) {
				t.Errorf("offset %v read twice with different values %q and %q", k, prev, r.Value)
			}
			got[k] = string(r.Value)
		})
	}
	return got
}

// checkAcked asserts every acknowledged record is readable at its acknowledged offset with
// its value, and that no partition has a gap or a duplicate offset.
func checkAcked(t *testing.T, acks []ack, got map[[2]int64]string) {
	t.Helper()
	missing := 0
	for _, a := range acks {
		v, ok := got[[2]int64{int64(a.partition), a.offset}]
		if !ok || v != a.value {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged record %q at %d/%d: read %q (present=%v)", a.value, a.partition, a.offset, v, ok)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged records lost or changed", missing, len(acks))
	}
	byPart := map[int64][]int64{}
	for k := range got {
		byPart[k[0]] = append(byPart[k[0]], k[1])
	}
	for p, offs := range byPart {
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d: offset %d at position %d (gap or not starting at 0)", p, o, i)
			}
		}
	}
}

func TestE2EKcatListsBroker(t *testing.T) {
	n := startNode(t, t.TempDir())
	out := runKcat(t, nil, "-b", n.addr, "-L", "-m", "10")
	want := fmt.Sprintf("broker 1 at %s", n.addr)
	if !strings.Contains(out, want) {
		t.Fatalf("kcat -L does not list %q:\n%s", want, out)
	}
}

func TestE2EProduceConsumeRestartAndKill9(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir)
	cl := n.client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(5*time.Millisecond))
	createTopic(t, cl, "orders", 4)

	acks := produceN(t, cl, "orders", "first", 4000)
	checkAcked(t, acks, consumeAll(t, n.addr, "orders", len(acks)))
	cl.Close()

	// Graceful restart: SIGTERM must finish quickly and lose nothing.
	start := time.Now()
	if err := n.stop(10 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, n.logTail())
	}
	t.Logf("graceful shutdown took %s", time.Since(start))
	n.start()
	checkAcked(t, acks, consumeAll(t, n.addr, "orders", len(acks)))

	// kill -9 while a producer is running: every record acknowledged before the kill must
	// come back after restart at the same offset with the same value.
	cl2 := n.client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(time.Millisecond),
		kgo.RecordDeliveryTimeout(3*time.Second), kgo.RecordRetries(2))
	var (
		mu        sync.Mutex
		liveAcks  []ack
		wg        sync.WaitGroup
		stopProd  = make(chan struct{})
		ackedSome = make(chan struct{})
		once      sync.Once
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200000; i++ {
			select {
			case <-stopProd:
				return
			default:
			}
			v := fmt.Sprintf("live-%06d", i)
			cl2.Produce(context.Background(), &kgo.Record{Topic: "orders", Value: []byte(v)}, func(r *kgo.Record, err error) {
				if err != nil {
					return
				}
				mu.Lock()
				liveAcks = append(liveAcks, ack{r.Partition, r.Offset, string(r.Value)})
				if len(liveAcks) >= 2000 {
					once.Do(func() { close(ackedSome) })
				}
				mu.Unlock()
			})
			if i%500 == 499 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	select {
	case <-ackedSome:
	case <-time.After(60 * time.Second):
		t.Fatal("producer got no acknowledgements within 60s")
	}
	n.kill()
	close(stopProd)
	wg.Wait()
	cl2.Close()
	mu.Lock()
	all := append(append([]ack{}, acks...), liveAcks...)
	mu.Unlock()
	t.Logf("records acknowledged before kill -9: %d", len(liveAcks))

	n.start()
	got := consumeAll(t, n.addr, "orders", len(all))
	checkAcked(t, all, got)
}

func TestE2EKcatProduceConsume(t *testing.T) {
	n := startNode(t, t.TempDir())
	var in bytes.Buffer
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
	}
	// The topic does not exist: auto.create.topics.enable (default true) creates it.
	runKcat(t, in.Bytes(), "-P", "-b", n.addr, "-t", "kc", "-K:", "-p", "0", "-X", "acks=all")
	out := runKcat(t, nil, "-C", "-b", n.addr, "-t", "kc", "-p", "0", "-o", "beginning", "-e", "-f", "%o %k %s\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 100 {
		t.Fatalf("kcat consumed %d records, want 100:\n%s", len(lines), out)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("%d k%d v%d", i, i, i); l != want {
			t.Fatalf("record %d: got %q want %q", i, l, want)
		}
	}
	// kcat -Q: offset by timestamp answers something sane for a timestamp in the past.
	out = runKcat(t, nil, "-Q", "-b", n.addr, "-t", "kc:0:1")
	if !regexp.MustCompile(`kc \[0\]\s+offset 0`).MatchString(out) {
		t.Fatalf("kcat -Q by timestamp: %s", out)
	}
}

// TestE2EBadFramesCloseOnlyThatConnection sends oversized, garbage and unknown-API frames;
// each closes its own connection while a client on another connection keeps working.
func TestE2EBadFramesCloseOnlyThatConnection(t *testing.T) {
	n := startNode(t, t.TempDir(), "socket.request.max.bytes=1048576")
	cl := n.client(t)
	createTopic(t, cl, "ok", 1)

	header := func(key, version int16) []byte {
		var b []byte
		b = binary.BigEndian.AppendUint16(b, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(version))
		b = binary.BigEndian.AppendUint32(b, 7) // correlation id
		b = binary.BigEndian.AppendUint16(b, 1) // client id length
		return append(b, 'x')
	}
	frame := func(body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	cases := map[string][]byte{
		"oversized":       binary.BigEndian.AppendUint32(nil, 1<<30), // declares 1 GiB, sends nothing more
		"negative size":   binary.BigEndian.AppendUint32(nil, 0xffffffff),
		"garbage":         frame([]byte("this is not a kafka request at all")),
		"unknown api key": frame(header(9999, 0)),
		"truncated body":  frame(header(3, 12)), // Metadata v12 with no body
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", n.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(payload); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 64)
			nread, err := c.Read(buf)
			if err != io.EOF && !isConnReset(err) {
				t.Fatalf("connection not closed: read %d bytes, err %v", nread, err)
			}
			// The server and other connections are unaffected.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "ok", Value: []byte(name)}).FirstErr(); err != nil {
				t.Fatalf("produce on another connection after %s: %v", name, err)
			}
		})
	}
}

func isConnReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func TestE2EConfigErrorsNameTheKey(t *testing.T) {
	bin := zkraftBinary(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--override", "log.retention.hourz=1"}, "log.retention.hourz"},
		{[]string{"serve", "--override", "num.partitions=abc"}, "num.partitions"},
		{[]string{"serve", "/nonexistent/server.properties"}, "/nonexistent/server.properties"},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%v: started, want a config error", c.args)
			continue
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%v: error does not name %q:\n%s", c.args, c.want, out)
		}
	}
}
