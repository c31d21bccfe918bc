package etcd

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZapLogger returns a zap logger that forwards entries at or above min
// to l.
func newZapLogger(l *slog.Logger, min slog.Level) *zap.Logger {
	return zap.New(&slogCore{l: l, min: min})
}

// slogCore is a zapcore.Core writing to a slog.Logger.
type slogCore struct {
	l     *slog.Logger
	min   slog.Level
	attrs []any
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	lvl := slogLevel(l)
	return lvl >= c.min && c.l.Enabled(context.Background(), lvl)
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	n := *c
	n.attrs = append(append([]any(nil), c.attrs...), fieldAttrs(fields)...)
	return &n
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if expectedNoise[e.Message] {
		return nil
	}
	args := append(append([]any(nil), c.attrs...), fieldAttrs(fields)...)
	if e.LoggerName != "" {
		args = append(args, "component", e.LoggerName)
	}
	c.l.Log(context.Background(), slogLevel(e.Level), e.Message, args...)
	return nil
}

func (c *slogCore) Sync() error { return nil }

func fieldAttrs(fields []zapcore.Field) []any {
	if len(fields) == 0 {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	out := make([]any, 0, len(enc.Fields))
	for k, v := range enc.Fields {
		out = append(out, slog.Any(k, v))
	}
	return out
}

// expectedNoise are etcd errors that every clean start or stop of an
// embedded, single-member etcd logs; they say nothing to a user.
var expectedNoise = map[string]bool{
	// Logged for each listener when Stop closes it.
	"setting up serving from embedded etcd failed.": true,
	// Logged once at first start of a fresh member, before its first term.
	"failed to update storage version": true,
}
