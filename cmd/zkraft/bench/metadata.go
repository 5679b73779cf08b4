package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/quorum"
)

// MetadataConfig configures `zkraft bench metadata`.
type MetadataConfig struct {
	Scales             []int  // partition counts at which failover is measured (cumulative)
	TopicPartitions    int32  // partitions per created topic
	ReplicationFactor  int16  // of created topics
	ZkraftBinary       string // spawned as the 3 controllers
	Dir                string // parent of the run's temp dir
	JSON               bool
	InProcessOnly      bool // skip the process cluster: image memory and snapshot only
	StartTimeout       time.Duration
	FailoverSampleSize int // failovers measured per scale
}

// DefaultMetadataConfig: 1k, 10k, 100k partitions in topics of 1000, RF 3.
func DefaultMetadataConfig() MetadataConfig {
	return MetadataConfig{Scales: []int{1000, 10000, 100000}, TopicPartitions: 1000, ReplicationFactor: 3,
		StartTimeout: 60 * time.Second, FailoverSampleSize: 3}
}

// MetadataScale is the result at one partition count.
type MetadataScale struct {
	Partitions          int       `json:"partitions"`
	CreateSeconds       float64   `json:"create_seconds"` // creating the partitions added at this scale
	FailoverMillis      []float64 `json:"failover_ms"`    // kill -9 of the active controller -> CreateTopics ok
	ElectionMillis      []float64 `json:"election_ms"`    // kill -9 -> a survivor names a new leader
	ControllerRSSMiB    float64   `json:"controller_rss_mib"`
	ImageBytesPerPart   float64   `json:"image_bytes_per_partition"`
	SnapshotBytes       int       `json:"snapshot_bytes"`
	SnapshotLoadMillis  float64   `json:"snapshot_load_ms"`
	SnapshotWriteMillis float64   `json:"snapshot_write_ms"`
}

// MetadataReport is the whole run.
type MetadataReport struct {
	Scales []MetadataScale `json:"scales"`
}

func mainMetadata(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultMetadataConfig()
	fs := flag.NewFlagSet("zkraft bench metadata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scales := fs.String("scales", "1000,10000,100000", "partition counts (cumulative) at which to measure")
	fs.Func("topic-partitions", "partitions per created topic (default 1000)", func(s string) error {
		v, err := strconv.ParseInt(s, 10, 32)
		cfg.TopicPartitions = int32(v)
		return err
	})
	fs.StringVar(&cfg.ZkraftBinary, "zkraft-binary", "", "zkraft binary for the controllers (default: this executable)")
	fs.StringVar(&cfg.Dir, "dir", os.TempDir(), "parent directory for the controllers' data")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON document")
	fs.BoolVar(&cfg.InProcessOnly, "in-process-only", false, "only measure image memory and snapshots (no processes)")
	fs.IntVar(&cfg.FailoverSampleSize, "failovers", cfg.FailoverSampleSize, "failovers measured per scale")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.Scales = nil
	for _, s := range strings.Split(*scales, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v <= 0 {
			return fmt.Errorf("%w: --scales: bad count %q", ErrUsage, s)
		}
		cfg.Scales = append(cfg.Scales, v)
	}
	if cfg.TopicPartitions <= 0 || cfg.FailoverSampleSize < 1 {
		return fmt.Errorf("%w: --topic-partitions and --failovers must be positive", ErrUsage)
	}
	if cfg.ZkraftBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("%w: --zkraft-binary: %w", ErrUsage, err)
		}
		cfg.ZkraftBinary = exe
	}
	rep, err := Metadata(ctx, cfg, newLogger(stderr))
	if rep != nil {
		writeReport(stdout, cfg.JSON, rep, rep.WriteText)
	}
	return err
}

// writeReport prints rep as one indented JSON document, or as text.
func writeReport(stdout io.Writer, asJSON bool, rep any, text func(io.Writer)) {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	text(stdout)
}

// WriteText prints one line per scale.
func (r *MetadataReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%-10s %-9s %-22s %-22s %-9s %-10s %-12s %-10s %-10s\n", "partitions", "create_s",
		"failover_ms", "election_ms", "ctrl_rss", "img_B/part", "snapshot_B", "snap_load", "snap_write")
	for _, s := range r.Scales {
		fmt.Fprintf(w, "%-10d %-9.2f %-22s %-22s %-9s %-10.0f %-12d %-10s %-10s\n", s.Partitions, s.CreateSeconds,
			msList(s.FailoverMillis), msList(s.ElectionMillis), fmt.Sprintf("%.0fMiB", s.ControllerRSSMiB),
			s.ImageBytesPerPart, s.SnapshotBytes, fmt.Sprintf("%.0fms", s.SnapshotLoadMillis), fmt.Sprintf("%.0fms", s.SnapshotWriteMillis))
	}
}

func msList(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, ",")
}

// Metadata runs the metadata benchmark: in-process image memory and
// snapshot size/load at each scale, and, unless InProcessOnly, a cluster of
// 3 controller processes in which the partitions are created through a
// broker client and the active controller is killed (-9) and restarted
// FailoverSampleSize times per scale.
func Metadata(ctx context.Context, cfg MetadataConfig, logger *zap.Logger) (*MetadataReport, error) {
	rep := &MetadataReport{}
	for _, n := range cfg.Scales {
		s := MetadataScale{Partitions: n}
		measureImage(&s, n, cfg)
		rep.Scales = append(rep.Scales, s)
	}
	if cfg.InProcessOnly {
		return rep, nil
	}
	dir, err := os.MkdirTemp(cfg.Dir, "zkraft-bench-metadata")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	qc, err := startControllers(ctx, cfg, dir, logger)
	if err != nil {
		return rep, err
	}
	defer qc.close()

	clients := make([]*quorum.Client, 0, 3)
	for id := int32(101); id <= 103; id++ {
		ccfg := quorum.DefaultClientConfig()
		ccfg.NodeID, ccfg.Voters = id, qc.voters
		ccfg.Endpoints = []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(id)}}
		c, err := quorum.NewClient(ccfg, logger.Named(fmt.Sprintf("broker-%d", id)).WithOptions(zap.IncreaseLevel(zap.WarnLevel)))
		if err != nil {
			return rep, err
		}
		sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
		err = c.Start(sctx)
		if err == nil {
			err = c.WaitUnfenced(sctx)
		}
		cancel()
		if err != nil {
			return rep, fmt.Errorf("%w: broker client %d: %w", ErrBrokerStart, id, err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	cl := clients[0]
	created, topic := 0, 0
	for i := range rep.Scales {
		s := &rep.Scales[i]
		start := time.Now()
		for created < s.Partitions {
			n := int(cfg.TopicPartitions)
			if rest := s.Partitions - created; rest < n {
				n = rest
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			errs := cl.CreateTopics(cctx, []metadata.CreateTopicSpec{{Name: fmt.Sprintf("bench-%05d", topic),
				NumPartitions: int32(n), ReplicationFactor: cfg.ReplicationFactor}}, false)
			cancel()
			// A retry after a leader change may find its first try applied.
			if errs[0] != nil && !errors.Is(errs[0], kerr.TopicAlreadyExists) {
				return rep, fmt.Errorf("%w: create topic bench-%05d: %w", ErrTopic, topic, errs[0])
			}
			created += n
			topic++
		}
		s.CreateSeconds = time.Since(start).Seconds()
		logger.Info("partitions created", zap.Int("partitions", created), zap.Duration("took", time.Since(start)))
		for k := 0; k < cfg.FailoverSampleSize; k++ {
			fo, el, rss, err := qc.failover(ctx, cl, fmt.Sprintf("probe-%d-%d", s.Partitions, k))
			if err != nil {
				return rep, err
			}
			s.FailoverMillis = append(s.FailoverMillis, fo)
			s.ElectionMillis = append(s.ElectionMillis, el)
			s.ControllerRSSMiB = rss
			logger.Info("failover measured", zap.Int("partitions", created), zap.Float64("failover_ms", fo), zap.Float64("election_ms", el))
		}
	}
	return rep, nil
}

// measureImage builds an image of n partitions in-process (3 brokers,
// topics of cfg.TopicPartitions, RF 3) and measures its heap, snapshot size
// and the time to decode and replay the snapshot.
func measureImage(s *MetadataScale, n int, cfg MetadataConfig) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d := metadata.NewDelta(metadata.EmptyImage())
	for id := int32(1); id <= 3; id++ {
		_ = d.Replay(&metadata.RegisterBrokerRecord{BrokerID: id, BrokerEpoch: int64(id), IncarnationID: metadata.RandomUuid(),
			EndPoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: uint16(9000 + id)}}})
		_ = d.Replay(&metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: int64(id), Fenced: metadata.FenceUnfence})
	}
	img := d.Apply()
	ccfg := metadata.DefaultControllerConfig()
	for created, topic := 0, 0; created < n; topic++ {
		k := int(cfg.TopicPartitions)
		if n-created < k {
			k = n - created
		}
		recs, err := metadata.CreateTopic(img, metadata.CreateTopicSpec{Name: fmt.Sprintf("t%05d", topic), NumPartitions: int32(k), ReplicationFactor: 3}, ccfg)
		if err != nil {
			break
		}
		d := metadata.NewDelta(img)
		for _, r := range recs {
			_ = d.Replay(r)
		}
		img = d.Apply()
		created += k
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	s.ImageBytesPerPart = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)

	t0 := time.Now()
	snap := metadata.AppendBatch(nil, metadata.WriteImage(img))
	s.SnapshotWriteMillis = float64(time.Since(t0).Microseconds()) / 1000
	s.SnapshotBytes = len(snap)
	t0 = time.Now()
	recs, err := metadata.DecodeBatch(snap)
	if err == nil {
		ld := metadata.NewDelta(metadata.EmptyImage())
		for _, r := range recs {
			if ld.Replay(r) != nil {
				break
			}
		}
		_ = ld.Apply()
	}
	s.SnapshotLoadMillis = float64(time.Since(t0).Microseconds()) / 1000
	runtime.KeepAlive(img)
}

// benchControllers is 3 controller processes.
type benchControllers struct {
	cfg    MetadataConfig
	dir    string
	log    *zap.Logger
	voters map[int32]string
	procs  map[int32]*exec.Cmd
	done   map[int32]chan struct{}
	logs   map[int32]*os.File
}

func startControllers(ctx context.Context, cfg MetadataConfig, dir string, logger *zap.Logger) (*benchControllers, error) {
	qc := &benchControllers{cfg: cfg, dir: dir, log: logger, voters: map[int32]string{},
		procs: map[int32]*exec.Cmd{}, done: map[int32]chan struct{}{}, logs: map[int32]*os.File{}}
	ports, err := freePortList(3)
	if err != nil {
		return nil, err
	}
	for id := int32(1); id <= 3; id++ {
		qc.voters[id] = fmt.Sprintf("127.0.0.1:%d", ports[id-1])
	}
	for id := int32(1); id <= 3; id++ {
		if err := qc.spawn(id); err != nil {
			qc.close()
			return nil, err
		}
	}
	return qc, nil
}

func (qc *benchControllers) spawn(id int32) error {
	d := filepath.Join(qc.dir, fmt.Sprintf("controller-%d", id))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	kv := []string{
		"process.roles=controller", fmt.Sprintf("node.id=%d", id),
		"listeners=CONTROLLER://" + qc.voters[id], "controller.listener.names=CONTROLLER",
		"controller.quorum.voters=" + quorum.FormatVoters(qc.voters),
		"log.dirs=" + filepath.Join(d, "logs"), "metadata.log.dir=" + filepath.Join(d, "metadata"),
		"broker.session.timeout.ms=60000",
	}
	args := []string{"serve"}
	for _, s := range kv {
		args = append(args, "--override", s)
	}
	logf, err := os.OpenFile(filepath.Join(d, "controller.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(qc.cfg.ZkraftBinary, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = d, logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%w: controller %d: %w", ErrBrokerStart, id, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	qc.procs[id], qc.done[id], qc.logs[id] = cmd, done, logf
	return nil
}

func (qc *benchControllers) kill(id int32) {
	if cmd := qc.procs[id]; cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-qc.done[id]
	}
}

func (qc *benchControllers) close() {
	for id, cmd := range qc.procs {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-qc.done[id]:
			case <-time.After(10 * time.Second):
				qc.kill(id)
			}
		}
	}
}

// leader asks the live controllers who leads (DescribeCluster).
func (qc *benchControllers) leader(skip int32) int32 {
	for id, addr := range qc.voters {
		if id == skip {
			continue
		}
		resp, err := rawRequest(addr, kmsg.NewPtrDescribeClusterRequest())
		if err != nil {
			continue
		}
		if c := resp.(*kmsg.DescribeClusterResponse).ControllerID; c > 0 && c != skip {
			return c
		}
	}
	return -1
}

// failover kills the active controller, times until a survivor names a new
// leader and until a CreateTopics through cl succeeds, then restarts the
// killed controller and waits until it is back in the quorum.
func (qc *benchControllers) failover(ctx context.Context, cl *quorum.Client, probe string) (failoverMs, electionMs, rssMiB float64, err error) {
	var active int32 = -1
	deadline := time.Now().Add(qc.cfg.StartTimeout)
	for active < 0 {
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("%w: no active controller", ErrBrokerStart)
		}
		active = qc.leader(-1)
		time.Sleep(20 * time.Millisecond)
	}
	rssMiB = rss(qc.procs[active].Process.Pid)
	qc.kill(active)
	t0 := time.Now()
	elected := make(chan float64, 1)
	go func() {
		for time.Since(t0) < qc.cfg.StartTimeout {
			if qc.leader(active) > 0 {
				elected <- float64(time.Since(t0).Microseconds()) / 1000
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		elected <- -1
	}()
	cctx, cancel := context.WithTimeout(ctx, qc.cfg.StartTimeout)
	errs := cl.CreateTopics(cctx, []metadata.CreateTopicSpec{{Name: probe, NumPartitions: 1, ReplicationFactor: 3}}, false)
	cancel()
	failoverMs = float64(time.Since(t0).Microseconds()) / 1000
	electionMs = <-elected
	if errs[0] != nil {
		return 0, 0, 0, fmt.Errorf("%w: create %s after killing controller %d: %w", ErrTopic, probe, active, errs[0])
	}
	if err := qc.spawn(active); err != nil {
		return 0, 0, 0, err
	}
	// Back in the quorum once it answers DescribeCluster with a leader.
	for time.Since(t0) < 3*qc.cfg.StartTimeout {
		if resp, err := rawRequest(qc.voters[active], kmsg.NewPtrDescribeClusterRequest()); err == nil &&
			resp.(*kmsg.DescribeClusterResponse).ControllerID > 0 {
			return failoverMs, electionMs, rssMiB, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, 0, 0, fmt.Errorf("%w: restarted controller %d did not rejoin", ErrBrokerStart, active)
}

// rss is a process's resident set in MiB (Linux; 0 elsewhere).
func rss(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// rawRequest sends one request to a controller listener (which serves no
// Metadata, so a kgo client cannot bootstrap against it).
func rawRequest(addr string, req kmsg.Request) (kmsg.Response, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("bench")).AppendRequest(nil, req, 1)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 5 || n > 1<<20 {
		return nil, errors.New("bad response size")
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	body := buf[4:]
	if resp.IsFlexible() {
		body = body[1:]
	}
	return resp, resp.ReadFrom(body)
}
