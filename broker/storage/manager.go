package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/zkraft/zkraft/metadata"
)

const (
	cleanShutdownFile = ".kafka_cleanshutdown"
	lockFile          = ".lock"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Manager is the Go counterpart of Kafka's LogManager: it owns the log
// directories, the partition logs in them, the shared file handle cache,
// and the retention goroutine.
type Manager struct {
	cfg    Config
	logger *zap.Logger
	cache  *fileCache
	locks  []*os.File // flock'ed .lock per dir

	mu      sync.Mutex
	logs    map[TopicPartition]*Log
	perDir  map[string]int
	started bool
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// Open locks every log directory, removes its clean-shutdown marker, and
// loads every partition in it. Partitions of a directory without the marker
// are recovered: their active segment is scanned and CRC-checked and a torn
// tail is truncated.
func Open(cfg Config, logger *zap.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:    cfg,
		logger: logger.Named("storage"),
		cache:  newFileCache(cfg.MaxOpenFiles),
		logs:   make(map[TopicPartition]*Log),
		perDir: make(map[string]int),
		stop:   make(chan struct{}),
	}
	for _, dir := range cfg.Dirs {
		if err := m.openDir(dir); err != nil {
			m.cache.closeAll()
			m.unlock()
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) openDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("open log dir %s: %w", dir, err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open log dir %s: %w", dir, err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = lf.Close()
		return fmt.Errorf("lock log dir %s (in use by another process?): %w", dir, err)
	}
	m.locks = append(m.locks, lf)

	marker := filepath.Join(dir, cleanShutdownFile)
	_, err = os.Stat(marker)
	clean := err == nil
	if clean {
		if err := os.Remove(marker); err != nil {
			return fmt.Errorf("open log dir %s: %w", dir, err)
		}
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("open log dir %s: %w", dir, err)
	}
	log := m.logger.With(zap.String("dir", dir), zap.Bool("clean_shutdown", clean))
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, _, ok := parsePartitionDir(e.Name()); !ok {
			log.Warn("ignoring directory", zap.String("name", e.Name()))
			continue
		}
		l, err := m.openLog(dir, e.Name(), clean)
		if err != nil {
			return err
		}
		tp := TopicPartition{l.topic, l.partition}
		if other, dup := m.logs[tp]; dup {
			return fmt.Errorf("open log dir %s: partition %s-%d is also in %s", dir, tp.Topic, tp.Partition, other.logDir)
		}
		m.logs[tp] = l
		n++
	}
	m.perDir[dir] = n
	m.loadHighWatermarks(dir)
	log.Info("loaded log dir", zap.Int("partitions", n))
	return nil
}

func (m *Manager) newLog(logDir, topic string, partition int32) *Log {
	name := fmt.Sprintf("%s-%d", topic, partition)
	return &Log{
		topic:     topic,
		partition: partition,
		dir:       filepath.Join(logDir, name),
		logDir:    logDir,
		logger:    m.logger.With(zap.String("topic", topic), zap.Int32("partition", partition)),
		cache:     m.cache,
		interval:  m.cfg.IndexIntervalBytes,
		producers: newProducerState(),
		cfg:       m.cfg.logConfig(),
		waiters:   make(map[*waiter]struct{}),
	}
}

// Start runs the retention goroutine, every RetentionCheckInterval, and
// the log cleaner's, every CleanerBackoff (cleaner.go).
func (m *Manager) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.closed {
		return
	}
	m.started = true
	m.wg.Add(2)
	go m.retentionLoop()
	go m.cleanerLoop()
}

func (m *Manager) retentionLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.RetentionCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.applyRetention(now)
		}
	}
}

// applyRetention runs one retention pass over every log.
func (m *Manager) applyRetention(now time.Time) int {
	m.mu.Lock()
	logs := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		logs = append(logs, l)
	}
	m.mu.Unlock()
	n := 0
	for _, l := range logs {
		select {
		case <-m.stop:
			return n
		default:
		}
		l.expireProducers(now.UnixMilli(), m.cfg.ProducerIDExpiration)
		n += l.applyRetention(now.UnixMilli())
	}
	return n
}

// Close stops retention, flushes and closes every log, and writes the
// clean-shutdown marker in each directory. The Manager cannot be reused.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	logs := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		logs = append(logs, l)
	}
	m.mu.Unlock()
	m.wg.Wait()

	var errs []error
	if err := m.CheckpointHighWatermarks(); err != nil {
		errs = append(errs, err)
	}
	failed := make(map[string]bool)
	for _, l := range logs {
		if err := l.close(); err != nil {
			errs = append(errs, err)
			failed[l.logDir] = true
		}
	}
	m.cache.closeAll()
	for i, dir := range m.cfg.Dirs {
		if failed[dir] {
			continue // no marker: the next open recovers this dir
		}
		// One syncfs makes every segment, index and snapshot of the file
		// system durable before the marker says so.
		if err := unix.Syncfs(int(m.locks[i].Fd())); err != nil {
			errs = append(errs, fmt.Errorf("syncfs %s: %w", dir, err))
			continue
		}
		if err := writeFileAtomic(dir, cleanShutdownFile, nil); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := syncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	m.unlock()
	return errors.Join(errs...)
}

func (m *Manager) unlock() {
	for _, lf := range m.locks {
		_ = lf.Close() // releases the flock
	}
	m.locks = nil
}

// GetOrCreate returns the partition's log, creating it in the log directory
// holding the fewest partitions. A non-zero topicID is written to
// partition.metadata; an existing log with another id is ErrInconsistentTopicID.
func (m *Manager) GetOrCreate(topic string, partition int32, topicID metadata.Uuid) (*Log, error) {
	if err := validateTopic(topic); err != nil {
		return nil, err
	}
	if partition < 0 {
		return nil, fmt.Errorf("%w: partition %d of %q", ErrInvalidTopic, partition, topic)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("get or create %s-%d: %w", topic, partition, ErrClosed)
	}
	tp := TopicPartition{topic, partition}
	if l, ok := m.logs[tp]; ok {
		return l, l.setTopicID(topicID)
	}
	dir := m.cfg.Dirs[0]
	for _, d := range m.cfg.Dirs[1:] {
		if m.perDir[d] < m.perDir[dir] {
			dir = d
		}
	}
	l := m.newLog(dir, topic, partition)
	if err := l.create(topicID); err != nil {
		_ = os.RemoveAll(l.dir)
		return nil, err
	}
	m.logs[tp] = l
	m.perDir[dir]++
	l.logger.Info("created log", zap.String("dir", dir))
	return l, nil
}

// create makes the partition directory and its first segment.
func (l *Log) create(topicID metadata.Uuid) error {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", l.name(), err)
	}
	if topicID != (metadata.Uuid{}) {
		if err := writeFileAtomic(l.dir, partitionMetadataFile, encodePartitionMetadata(topicID)); err != nil {
			return fmt.Errorf("create %s: %w", l.name(), err)
		}
		l.topicID = topicID
	}
	s := newSegment(l.dir, 0)
	for _, p := range s.paths() {
		if err := l.cache.withFile(p, true, func(*os.File) error { return nil }); err != nil {
			return fmt.Errorf("create %s: %w", l.name(), err)
		}
	}
	l.segments = []*segment{s}
	return nil
}

// setTopicID checks (or, when unknown so far, records) the topic id.
func (l *Log) setTopicID(id metadata.Uuid) error {
	if id == (metadata.Uuid{}) {
		return nil
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.RLock()
	cur := l.topicID
	l.mu.RUnlock()
	if cur == id {
		return nil
	}
	if cur != (metadata.Uuid{}) {
		return fmt.Errorf("%w: %s holds topic id %s, asked for %s", ErrInconsistentTopicID, l.name(), cur, id)
	}
	if err := writeFileAtomic(l.dir, partitionMetadataFile, encodePartitionMetadata(id)); err != nil {
		return err
	}
	l.mu.Lock()
	l.topicID = id
	l.mu.Unlock()
	return nil
}

// Get returns the partition's log if the manager holds it.
func (m *Manager) Get(topic string, partition int32) (*Log, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logs[TopicPartition{topic, partition}]
	return l, ok
}

// Delete closes the partition's log and removes its directory.
func (m *Manager) Delete(topic string, partition int32) error {
	tp := TopicPartition{topic, partition}
	m.mu.Lock()
	l, ok := m.logs[tp]
	if ok {
		delete(m.logs, tp)
		m.perDir[l.logDir]--
	}
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("delete %s-%d: %w", topic, partition, ErrUnknownPartition)
	}
	if err := l.remove(); err != nil {
		return err
	}
	l.logger.Info("deleted log")
	return nil
}

// Partitions lists the partitions held, sorted by topic then partition.
func (m *Manager) Partitions() []TopicPartition {
	m.mu.Lock()
	out := make([]TopicPartition, 0, len(m.logs))
	for tp := range m.logs {
		out = append(out, tp)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// OpenFiles reports the file handles held by the cache (for tests and metrics).
func (m *Manager) OpenFiles() int { return m.cache.open() }

// Dirs returns the log directories (log.dirs), in configuration order.
func (m *Manager) Dirs() []string { return append([]string(nil), m.cfg.Dirs...) }
