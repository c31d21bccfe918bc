package controller

import (
	"log/slog"

	"k8s.io/client-go/tools/record"
)

// LoggerOrDiscard returns l, or a logger that discards when l is nil: the
// default of every controller's Config.Logger.
func LoggerOrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// RecorderOrDrop returns r, or a recorder that drops events when r is
// nil: the default of every controller's Config.Recorder.
func RecorderOrDrop(r record.EventRecorder) record.EventRecorder {
	if r == nil {
		return &record.FakeRecorder{}
	}
	return r
}
