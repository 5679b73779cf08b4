package quorum

import (
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapHclog adapts a *zap.Logger to hclog.Logger so that hashicorp/raft (and
// later memberlist) log through the node's zap logger. hclog's key/value
// argument lists become zap fields; an odd trailing argument is kept under
// the key "extra" rather than dropped.
type zapHclog struct {
	z       *zap.Logger
	name    string
	implied []interface{}
}

var _ hclog.Logger = (*zapHclog)(nil)

func newHclog(z *zap.Logger, name string) hclog.Logger {
	return &zapHclog{z: z.Named(name), name: name}
}

func fieldsOf(args []interface{}) []zap.Field {
	fields := make([]zap.Field, 0, (len(args)+1)/2)
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			fields = append(fields, zap.Any("extra", args[i]))
			break
		}
		key, ok := args[i].(string)
		if !ok {
			key = fmt.Sprint(args[i])
		}
		v := args[i+1]
		if f, ok := v.(hclog.Format); ok && len(f) > 0 { // hclog.Fmt("%+v", x): render it
			if format, ok := f[0].(string); ok {
				v = fmt.Sprintf(format, f[1:]...)
			}
		}
		fields = append(fields, zap.Any(key, v))
	}
	return fields
}

func (l *zapHclog) Log(level hclog.Level, msg string, args ...interface{}) {
	switch level {
	case hclog.Trace, hclog.Debug:
		l.Debug(msg, args...)
	case hclog.Warn:
		l.Warn(msg, args...)
	case hclog.Error:
		l.Error(msg, args...)
	default:
		l.Info(msg, args...)
	}
}

func (l *zapHclog) Trace(msg string, args ...interface{}) { l.Debug(msg, args...) }
func (l *zapHclog) Debug(msg string, args ...interface{}) {
	l.z.Debug(msg, fieldsOf(args)...)
}
func (l *zapHclog) Info(msg string, args ...interface{}) { l.z.Info(msg, fieldsOf(args)...) }
func (l *zapHclog) Warn(msg string, args ...interface{}) { l.z.Warn(msg, fieldsOf(args)...) }
func (l *zapHclog) Error(msg string, args ...interface{}) {
	l.z.Error(msg, fieldsOf(args)...)
}

func (l *zapHclog) IsTrace() bool { return false }
func (l *zapHclog) IsDebug() bool { return l.z.Core().Enabled(zapcore.DebugLevel) }
func (l *zapHclog) IsInfo() bool  { return l.z.Core().Enabled(zapcore.InfoLevel) }
func (l *zapHclog) IsWarn() bool  { return l.z.Core().Enabled(zapcore.WarnLevel) }
func (l *zapHclog) IsError() bool { return l.z.Core().Enabled(zapcore.ErrorLevel) }

func (l *zapHclog) ImpliedArgs() []interface{} { return l.implied }

func (l *zapHclog) With(args ...interface{}) hclog.Logger {
	implied := append(append([]interface{}{}, l.implied...), args...)
	return &zapHclog{z: l.z.With(fieldsOf(args)...), name: l.name, implied: implied}
}

func (l *zapHclog) Name() string { return l.name }

func (l *zapHclog) Named(name string) hclog.Logger {
	full := name
	if l.name != "" {
		full = l.name + "." + name
	}
	return &zapHclog{z: l.z.Named(name), name: full, implied: l.implied}
}

func (l *zapHclog) ResetNamed(name string) hclog.Logger {
	// zap cannot drop a name once given; keep the logger and record the name.
	return &zapHclog{z: l.z, name: name, implied: l.implied}
}

// SetLevel is a no-op: the level is the zap logger's.
func (l *zapHclog) SetLevel(hclog.Level) {}

func (l *zapHclog) GetLevel() hclog.Level {
	switch {
	case l.IsDebug():
		return hclog.Debug
	case l.IsInfo():
		return hclog.Info
	case l.IsWarn():
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (l *zapHclog) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

func (l *zapHclog) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return stdWriter{l}
}

// stdWriter turns standard-library log lines ("[WARN] raft: ...") into zap
// entries at the level their prefix names.
type stdWriter struct{ l *zapHclog }

func (w stdWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	switch {
	case strings.HasPrefix(msg, "[ERR"):
		w.l.z.Error(msg)
	case strings.HasPrefix(msg, "[WARN"):
		w.l.z.Warn(msg)
	case strings.HasPrefix(msg, "[DEBUG"), strings.HasPrefix(msg, "[TRACE"):
		w.l.z.Debug(msg)
	default:
		w.l.z.Info(msg)
	}
	return len(p), nil
}
