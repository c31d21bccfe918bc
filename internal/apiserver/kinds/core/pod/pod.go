// Package pod is the strategy of core/v1 Pods: defaults, create and update
// preparation (status, QoS class, priority, default tolerations), the
// narrow set of spec changes an update may make, the kubectl table and the
// field selectors.
package pod

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the Pod kind. The API server serves the pods/status,
// binding, eviction, log, exec, attach, portforward, proxy,
// ephemeralcontainers and resize subresources itself.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:                 corev1.SchemeGroupVersion.WithKind("Pod"),
		Resource:            "pods",
		Singular:            "pod",
		Namespaced:          true,
		ShortNames:          []string{"po"},
		Categories:          []string{"all"},
		New:                 func() runtime.Object { return &corev1.Pod{} },
		NewList:             func() runtime.Object { return &corev1.PodList{} },
		HasStatus:           true,
		TracksGeneration:    true,
		ReturnDeletedObject: true,
		Strategy: kinds.Strategy{
			Default:          func(obj runtime.Object) { Default(obj.(*corev1.Pod)) },
			GracePeriod:      GracePeriod,
			PrepareForCreate: func(obj runtime.Object) { PrepareForCreate(obj.(*corev1.Pod)) },
			Validate:         func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.Pod)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
				kinds.Column("Status", "string", 0, "The aggregate status of the containers in this pod."),
				kinds.Column("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
				kinds.AgeColumn,
				kinds.Column("IP", "string", 1, corev1.PodStatus{}.SwaggerDoc()["podIP"]),
				kinds.Column("Node", "string", 1, corev1.PodSpec{}.SwaggerDoc()["nodeName"]),
				kinds.Column("Nominated Node", "string", 1, corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]),
				kinds.Column("Readiness Gates", "string", 1, corev1.PodSpec{}.SwaggerDoc()["readinessGates"]),
			},
			Row:    row,
			Fields: func(obj runtime.Object) fields.Set { return Fields(obj.(*corev1.Pod)) },
		},
	}
}

// Default applies the PodSpec defaults plus those upstream gives Pods
// only: enableServiceLinks true, and requests copied from limits for every
// resource that has a limit but no request.
func Default(pod *corev1.Pod) {
	podspec.Default(&pod.Spec)
	if pod.Spec.EnableServiceLinks == nil {
		t := corev1.DefaultEnableServiceLinks
		pod.Spec.EnableServiceLinks = &t
	}
	for i := range pod.Spec.Containers {
		requestsFromLimits(&pod.Spec.Containers[i].Resources)
	}
	for i := range pod.Spec.InitContainers {
		requestsFromLimits(&pod.Spec.InitContainers[i].Resources)
	}
	if pod.Spec.Resources != nil {
		requestsFromLimits(pod.Spec.Resources)
	}
}

func requestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

// Built-in priority classes, which exist in every cluster.
const (
	systemClusterCritical = "system-cluster-critical"
	systemNodeCritical    = "system-node-critical"
)

// PrepareForCreate resets the status to Pending with the computed QoS
// class, marks scheduling-gated pods, and applies what upstream's default
// admission plugins do without looking anything up: serviceAccountName
// "default", the priority of pods without a priority class (0) or with a
// built-in one, and the 300s not-ready/unreachable tolerations. Pods with
// another priorityClassName keep a nil priority for the API server's
// priority admission to resolve.
func PrepareForCreate(pod *corev1.Pod) {
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: QOSClass(pod)}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
		pod.Spec.DeprecatedServiceAccount = "default"
	}
	if pod.Spec.Priority == nil {
		var p *int32
		switch pod.Spec.PriorityClassName {
		case "":
			p = ptr(int32(0))
		case systemClusterCritical:
			p = ptr(int32(2000000000))
		case systemNodeCritical:
			p = ptr(int32(2000001000))
		}
		if p != nil {
			pod.Spec.Priority = p
			if pod.Spec.PreemptionPolicy == nil {
				pod.Spec.PreemptionPolicy = ptr(corev1.PreemptLowerPriority)
			}
		}
	}
	addDefaultTolerations(pod)
}

// addDefaultTolerations adds NoExecute tolerations of 300 seconds for the
// not-ready and unreachable taints unless the pod tolerates them already.
func addDefaultTolerations(pod *corev1.Pod) {
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		found := false
		for _, t := range pod.Spec.Tolerations {
			if (t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)) &&
				(t.Effect == "" || t.Effect == corev1.TaintEffectNoExecute) {
				found = true
				break
			}
		}
		if !found {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
				Key:               key,
				Operator:          corev1.TolerationOpExists,
				Effect:            corev1.TaintEffectNoExecute,
				TolerationSeconds: ptr(int64(300)),
			})
		}
	}
}

// Fields returns the pod's selectable fields.
func Fields(pod *corev1.Pod) fields.Set {
	ip := ""
	if len(pod.Status.PodIPs) > 0 {
		ip = pod.Status.PodIPs[0].IP
	} else {
		ip = pod.Status.PodIP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             ip,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

func ptr[T any](v T) *T { return &v }
