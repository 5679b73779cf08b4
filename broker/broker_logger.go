package broker

// BROKER_LOGGER resources (KIP-412): this broker's run-time log levels,
// when cmd installs a LoggerLevels (WithLoggerLevels). DescribeConfigs
// lists every logger with its effective level (source
// DYNAMIC_BROKER_LOGGER_CONFIG); IncrementalAlterConfigs SETs a logger's
// level or DELETEs it (the logger follows its parents again; the root
// logger cannot be deleted). Handled by the broker named, never forwarded
// nor stored, as in Kafka: a restart forgets them. AlterConfigs (33) does
// not take BROKER_LOGGER. Without a LoggerLevels the resource type is
// INVALID_REQUEST.

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// LoggerLevels is the run-time log level table of this node
// (server.LogLevels). Safe for concurrent use.
type LoggerLevels interface {
	// Levels is every known logger's effective level, by name, with
	// "root".
	Levels() map[string]string
	// ValidLevel reports whether level is a level name it accepts.
	ValidLevel(level string) error
	// SetLevel sets a logger's level; UnsetLevel lets it follow its
	// parents (an error for the root logger).
	SetLevel(logger, level string) error
	UnsetLevel(logger string) error
}

// WithLoggerLevels serves BROKER_LOGGER resources from l.
func WithLoggerLevels(l LoggerLevels) Option {
	return func(b *Broker) { b.loggers = l }
}

// checkLoggerResource: the table exists and name is this broker's id.
func (b *Broker) checkLoggerResource(name string) error {
	if b.loggers == nil {
		return fmt.Errorf("%w: BROKER_LOGGER configs (log levels) are not served by this node", ErrInvalidRequest)
	}
	if name != strconv.Itoa(int(b.cfg.NodeID)) {
		return fmt.Errorf("%w: BROKER_LOGGER resource %q, this is broker %d", ErrInvalidRequest, name, b.cfg.NodeID)
	}
	return nil
}

// alterLoggers applies one BROKER_LOGGER alteration, all or nothing.
func (b *Broker) alterLoggers(a metadata.ConfigAlteration, validateOnly bool) error {
	if err := b.checkLoggerResource(a.ResourceName); err != nil {
		return err
	}
	if a.Replace {
		return fmt.Errorf("%w: AlterConfigs does not take BROKER_LOGGER resources (use IncrementalAlterConfigs)", ErrInvalidRequest)
	}
	seen := map[string]bool{}
	for _, op := range a.Ops {
		if seen[op.Name] {
			return fmt.Errorf("%w: logger %q is altered more than once", ErrInvalidRequest, op.Name)
		}
		seen[op.Name] = true
		switch op.Op {
		case metadata.ConfigOpSet:
			if op.Value == nil {
				return fmt.Errorf("%w: null level for logger %s", ErrInvalidRequest, op.Name)
			}
			if err := b.loggers.ValidLevel(*op.Value); err != nil {
				return fmt.Errorf("%w: cannot set the log level of %s: %v", metadata.ErrInvalidConfig, op.Name, err)
			}
		case metadata.ConfigOpDelete:
			if op.Name == "root" {
				return fmt.Errorf("%w: removing the log level of the root logger is not allowed", ErrInvalidRequest)
			}
		default:
			return fmt.Errorf("%w: %s is not supported for broker loggers (logger %s)", ErrInvalidRequest, op.Op, op.Name)
		}
	}
	if validateOnly {
		return nil
	}
	for _, op := range a.Ops {
		var err error
		if op.Op == metadata.ConfigOpSet {
			err = b.loggers.SetLevel(op.Name, *op.Value)
		} else {
			err = b.loggers.UnsetLevel(op.Name)
		}
		if err != nil {
			return fmt.Errorf("%w: logger %s: %v", metadata.ErrInvalidConfig, op.Name, err)
		}
	}
	return nil
}

// loggerConfigEntries describes every logger's level.
func (b *Broker) loggerConfigEntries(name string) ([]configEntry, error) {
	if err := b.checkLoggerResource(name); err != nil {
		return nil, err
	}
	var out []configEntry
	for n, lvl := range b.loggers.Levels() {
		out = append(out, configEntry{name: n, value: lvl, source: kmsg.ConfigSourceDynamicBrokerLoggerConfig, typ: kmsg.ConfigTypeString})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
