package controller

import (
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// NewEventRecorder returns a recorder whose Events are written through
// client with source component (what `kubectl describe` shows in the From
// column), and a stop func that ends the broadcaster's goroutines; events
// recorded afterwards are dropped. Events are also logged at debug level
// when log is non-nil. Upstream's correlator aggregates and rate-limits
// repeated events.
func NewEventRecorder(client kubernetes.Interface, component string, log *slog.Logger) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	if log != nil {
		log = log.With("component", component)
		b.StartEventWatcher(func(e *corev1.Event) {
			log.Debug("Event", "object", e.InvolvedObject.Kind+" "+e.InvolvedObject.Namespace+"/"+e.InvolvedObject.Name,
				"type", e.Type, "reason", e.Reason, "message", e.Message)
		})
	}
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component}), b.Shutdown
}
