package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogLevels are a node's run-time log levels per logger name: Kafka's
// BROKER_LOGGER configs (KIP-412), set with IncrementalAlterConfigs and
// shown by DescribeConfigs. A logger uses the level of its most specific
// configured name, by dot-separated prefix ("b1.zk.client", then
// "b1.zk", then "b1"), else the root level. Levels are not persisted: a
// restart starts from the root level again, as in Kafka.
//
// NewLogLevels wraps the node's zap core; every logger built on Core()
// (and its Named / With children) is filtered by the table. Safe for
// concurrent use; the table is guarded by mu, the lowest configured level
// is kept in an atomic so a disabled entry costs one load.
type LogLevels struct {
	base zapcore.Core

	mu     sync.RWMutex
	root   zapcore.Level
	levels map[string]zapcore.Level // explicitly set, by logger name
	seen   map[string]bool          // logger names that wrote an entry (at most maxSeenLoggers)

	min atomic.Int32 // lowest of root and levels
}

// RootLogger is the name of the root logger (Kafka's log4j root).
const RootLogger = "root"

const maxSeenLoggers = 1000

// NewLogLevels wraps base (which should enable every level; the table
// filters) with the root level root.
func NewLogLevels(base zapcore.Core, root zapcore.Level) *LogLevels {
	l := &LogLevels{base: base, root: root, levels: map[string]zapcore.Level{}, seen: map[string]bool{}}
	l.min.Store(int32(root))
	return l
}

// Core is the filtering core to build loggers on.
func (l *LogLevels) Core() zapcore.Core { return &levelCore{l: l, base: l.base} }

// LogLevelsOf returns the LogLevels a logger was built on, if any.
func LogLevelsOf(logger *zap.Logger) (*LogLevels, bool) {
	if logger == nil {
		return nil, false
	}
	c, ok := logger.Core().(*levelCore)
	if !ok {
		return nil, false
	}
	return c.l, true
}

// levelNames are Kafka's log4j level names and the zap level each maps to
// (TRACE and ALL are DEBUG; OFF is above FATAL).
var levelNames = map[string]zapcore.Level{
	"ALL": zapcore.DebugLevel, "TRACE": zapcore.DebugLevel, "DEBUG": zapcore.DebugLevel,
	"INFO": zapcore.InfoLevel, "WARN": zapcore.WarnLevel, "ERROR": zapcore.ErrorLevel,
	"FATAL": zapcore.FatalLevel, "OFF": zapcore.FatalLevel + 1,
}

func levelName(lvl zapcore.Level) string {
	if lvl > zapcore.FatalLevel {
		return "OFF"
	}
	if lvl == zapcore.DPanicLevel || lvl == zapcore.PanicLevel {
		return "FATAL"
	}
	return strings.ToUpper(lvl.String())
}

// ValidLevel reports whether level is one of Kafka's level names.
func (l *LogLevels) ValidLevel(level string) error {
	if _, ok := levelNames[strings.ToUpper(level)]; !ok {
		names := slices.Sorted(maps.Keys(levelNames))
		return fmt.Errorf("%q is not a supported log level (valid: %s)", level, strings.Join(names, ", "))
	}
	return nil
}

// SetLevel sets logger's level (RootLogger: the root level).
func (l *LogLevels) SetLevel(logger, level string) error {
	if err := l.ValidLevel(level); err != nil {
		return err
	}
	lvl := levelNames[strings.ToUpper(level)]
	l.mu.Lock()
	defer l.mu.Unlock()
	if logger == RootLogger {
		l.root = lvl
	} else {
		l.levels[logger] = lvl
	}
	l.recomputeLocked()
	return nil
}

// UnsetLevel makes logger follow its parents again. The root level
// cannot be unset.
func (l *LogLevels) UnsetLevel(logger string) error {
	if logger == RootLogger {
		return fmt.Errorf("removing the log level of the root logger is not allowed")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.levels, logger)
	l.recomputeLocked()
	return nil
}

func (l *LogLevels) recomputeLocked() {
	low := l.root
	for _, lvl := range l.levels {
		low = min(low, lvl)
	}
	l.min.Store(int32(low))
}

// Levels returns the effective level of the root logger, every logger
// that wrote an entry and every configured one, by name.
func (l *LogLevels) Levels() map[string]string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := map[string]string{RootLogger: levelName(l.root)}
	for n := range l.seen {
		out[n] = levelName(l.levelForLocked(n))
	}
	for n := range l.levels {
		out[n] = levelName(l.levelForLocked(n))
	}
	return out
}

func (l *LogLevels) levelForLocked(name string) zapcore.Level {
	for n := name; n != ""; {
		if lvl, ok := l.levels[n]; ok {
			return lvl
		}
		i := strings.LastIndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[:i]
	}
	return l.root
}

// enabled decides one entry of logger name at lvl, remembering the name.
func (l *LogLevels) enabled(name string, lvl zapcore.Level) bool {
	l.mu.RLock()
	known := l.seen[name]
	ok := lvl >= l.levelForLocked(name)
	l.mu.RUnlock()
	if !known && name != "" {
		l.mu.Lock()
		if len(l.seen) < maxSeenLoggers {
			l.seen[name] = true
		}
		l.mu.Unlock()
	}
	return ok
}

// levelCore is the filtering zapcore.Core of a LogLevels.
type levelCore struct {
	l    *LogLevels
	base zapcore.Core
}

var _ zapcore.Core = (*levelCore)(nil)

func (c *levelCore) Enabled(lvl zapcore.Level) bool { return lvl >= zapcore.Level(c.l.min.Load()) }

func (c *levelCore) With(fields []zapcore.Field) zapcore.Core {
	return &levelCore{l: c.l, base: c.base.With(fields)}
}

func (c *levelCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !c.l.enabled(ent.LoggerName, ent.Level) {
		return ce
	}
	return c.base.Check(ent, ce)
}

func (c *levelCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	return c.base.Write(ent, fields)
}

func (c *levelCore) Sync() error { return c.base.Sync() }
