package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// Event reasons of upstream's kubelet.
const (
	eventPulling             = "Pulling"
	eventPulled              = "Pulled"
	eventFailed              = "Failed"
	eventCreated             = "Created"
	eventStarted             = "Started"
	eventKilling             = "Killing"
	eventBackOff             = "BackOff"
	eventErrImageNeverPull   = "ErrImageNeverPull"
	eventFailedPostStartHook = "FailedPostStartHook"
	eventFailedPreStopHook   = "FailedPreStopHook"
	eventDeadlineExceeded    = "DeadlineExceeded"
)

// newEventRecorder returns a recorder of events from component "kubelet"
// on host node (what `kubectl describe` shows as "kubelet" in the From
// column), written through client, and the func that stops it.
func newEventRecorder(client kubernetes.Interface, node string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: node}), b.Shutdown
}

// containerRef returns the object reference events about container name
// of pod point at (the field path upstream uses).
func containerRef(pod *corev1.Pod, name string) *corev1.ObjectReference {
	ref := podRef(pod)
	field := "spec.containers{%s}"
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			field = "spec.initContainers{%s}"
		}
	}
	ref.FieldPath = fmt.Sprintf(field, name)
	return ref
}

func podRef(pod *corev1.Pod) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion}
}

// containerEvent records an event about container name of pod.
func (k *Kubelet) containerEvent(pod *corev1.Pod, name, eventType, reason, format string, args ...any) {
	k.recorder.Eventf(containerRef(pod, name), eventType, reason, format, args...)
}

// formatPod is upstream's way of naming a pod in messages:
// name_namespace(uid).
func formatPod(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
