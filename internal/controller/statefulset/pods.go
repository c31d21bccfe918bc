package statefulset

import (
	"regexp"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod labels the controller sets, as upstream.
const (
	labelPodName  = "statefulset.kubernetes.io/pod-name"
	labelPodIndex = "apps.kubernetes.io/pod-index"
)

var podNameRE = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parentAndOrdinal splits a pod name <set>-<ordinal>; ordinal is -1 when
// the name has no ordinal.
func parentAndOrdinal(name string) (string, int) {
	m := podNameRE.FindStringSubmatch(name)
	if m == nil {
		return "", -1
	}
	ord, err := strconv.Atoi(m[2])
	if err != nil {
		return "", -1
	}
	return m[1], ord
}

// isMemberOf reports whether pod's name makes it one of set's ordinals.
func isMemberOf(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, _ := parentAndOrdinal(pod.Name)
	return parent == set.Name
}

func ordinalOf(pod *corev1.Pod) int {
	_, ord := parentAndOrdinal(pod.Name)
	return ord
}

func podName(set *appsv1.StatefulSet, ordinal int) string {
	return set.Name + "-" + strconv.Itoa(ordinal)
}

func claimName(set *appsv1.StatefulSet, template *corev1.PersistentVolumeClaim, ordinal int) string {
	return template.Name + "-" + podName(set, ordinal)
}

// startOrdinal is spec.ordinals.start, or 0.
func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func replicasOf(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange reports whether ordinal belongs to the set's current replicas.
func inRange(set *appsv1.StatefulSet, ordinal int) bool {
	start := startOrdinal(set)
	return ordinal >= start && ordinal < start+replicasOf(set)
}

// identityMatches reports whether pod carries set's identity for its
// ordinal: name, hostname, subdomain and the identity labels.
func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ord := parentAndOrdinal(pod.Name)
	return parent == set.Name && ord >= 0 &&
		pod.Spec.Hostname == pod.Name && pod.Spec.Subdomain == set.Spec.ServiceName &&
		pod.Labels[labelPodName] == pod.Name && pod.Labels[labelPodIndex] == strconv.Itoa(ord)
}

// setIdentity gives pod its stable network identity and labels.
func setIdentity(set *appsv1.StatefulSet, pod *corev1.Pod, ordinal int) {
	pod.Name = podName(set, ordinal)
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[labelPodName] = pod.Name
	pod.Labels[labelPodIndex] = strconv.Itoa(ordinal)
}

// setStorage points the pod's volumes named after the claim templates at
// the ordinal's claims, adding them when the template lacks them.
func setStorage(set *appsv1.StatefulSet, pod *corev1.Pod, ordinal int) {
	var vols []corev1.Volume
	claims := map[string]bool{}
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		claims[t.Name] = true
		vols = append(vols, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(set, t, ordinal)},
		}})
	}
	for _, v := range pod.Spec.Volumes {
		if !claims[v.Name] {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

// newPod builds the pod of ordinal from template, controlled by set and
// labelled with revision.
func newPod(set *appsv1.StatefulSet, template *corev1.PodTemplateSpec, ordinal int, revision string) *corev1.Pod {
	t := template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       set.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, controllerKind)},
		},
		Spec: t.Spec,
	}
	setIdentity(set, pod, ordinal)
	setStorage(set, pod, ordinal)
	pod.Labels[appsv1.ControllerRevisionHashLabelKey] = revision
	return pod
}

// newClaim builds the claim of template for ordinal.
func newClaim(set *appsv1.StatefulSet, template *corev1.PersistentVolumeClaim, ordinal int) *corev1.PersistentVolumeClaim {
	pvc := template.DeepCopy()
	pvc.ObjectMeta = metav1.ObjectMeta{
		Name:        claimName(set, template, ordinal),
		Namespace:   set.Namespace,
		Labels:      map[string]string{},
		Annotations: template.Annotations,
	}
	for k, v := range template.Labels {
		pvc.Labels[k] = v
	}
	if set.Spec.Selector != nil {
		for k, v := range set.Spec.Selector.MatchLabels {
			pvc.Labels[k] = v
		}
	}
	pvc.Status = corev1.PersistentVolumeClaimStatus{}
	return pvc
}

func revisionOf(pod *corev1.Pod) string {
	return pod.Labels[appsv1.ControllerRevisionHashLabelKey]
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func isTerminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }

func isFailed(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
}

// isHealthy reports whether pod is Running and Ready and not terminating:
// what OrderedReady waits for.
func isHealthy(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && podReady(pod) && !isTerminating(pod)
}

// isAvailable reports whether pod has been ready for minReadySeconds at
// now.
func isAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	if !isHealthy(pod) {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return !c.LastTransitionTime.IsZero() &&
				c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
		}
	}
	return false
}
