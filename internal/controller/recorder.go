package controller

import (
	"hash/fnv"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// eventShards is how many broadcasters, each writing its events one at a
// time, share a component's events. One was not enough: a broadcaster
// drops events once 1,000 wait, and the scheduler records one per pod
// bound — at hundreds of pods a second most Scheduled events were lost.
const eventShards = 8

// NewEventRecorder returns a recorder whose Events are written through
// client with source component (what `kubectl describe` shows in the From
// column), and a stop func that ends the broadcasters' goroutines; events
// recorded afterwards are dropped. Events are also logged at debug level
// when log is non-nil. Upstream's correlator aggregates and rate-limits
// repeated events; the events of one object always go through the same
// broadcaster, so its correlator sees all of them and writes them in order.
func NewEventRecorder(client kubernetes.Interface, component string, log *slog.Logger) (record.EventRecorder, func()) {
	if log != nil {
		log = log.With("component", component)
	}
	var s shardedRecorder
	var stops []func()
	for range eventShards {
		b := record.NewBroadcaster()
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
		if log != nil {
			b.StartEventWatcher(func(e *corev1.Event) {
				log.Debug("Event", "object", e.InvolvedObject.Kind+" "+e.InvolvedObject.Namespace+"/"+e.InvolvedObject.Name,
					"type", e.Type, "reason", e.Reason, "message", e.Message)
			})
		}
		s = append(s, b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component}))
		stops = append(stops, b.Shutdown)
	}
	return s, func() {
		for _, stop := range stops {
			stop()
		}
	}
}

// shardedRecorder sends each object's events to one of its recorders.
type shardedRecorder []record.EventRecorder

func (s shardedRecorder) of(obj runtime.Object) record.EventRecorder {
	m, err := meta.Accessor(obj)
	if err != nil {
		return s[0]
	}
	h := fnv.New32a()
	h.Write([]byte(m.GetNamespace()))
	h.Write([]byte{'/'})
	h.Write([]byte(m.GetName()))
	return s[h.Sum32()%uint32(len(s))]
}

func (s shardedRecorder) Event(obj runtime.Object, eventtype, reason, message string) {
	s.of(obj).Event(obj, eventtype, reason, message)
}

func (s shardedRecorder) Eventf(obj runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	s.of(obj).Eventf(obj, eventtype, reason, messageFmt, args...)
}

func (s shardedRecorder) AnnotatedEventf(obj runtime.Object, annotations map[string]string, eventtype, reason, messageFmt string, args ...any) {
	s.of(obj).AnnotatedEventf(obj, annotations, eventtype, reason, messageFmt, args...)
}
