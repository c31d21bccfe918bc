package resourcequota

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Resource names of the object-count and compute quotas.
const (
	countPrefix        = "count/"
	storageClassSuffix = ".storageclass.storage.k8s.io/"
)

// list is a ResourceList builder.
type list corev1.ResourceList

func (l list) add(name corev1.ResourceName, q resource.Quantity) {
	cur, ok := l[name]
	if !ok {
		l[name] = q.DeepCopy()
		return
	}
	cur.Add(q)
	l[name] = cur
}

func (l list) addInt(name corev1.ResourceName, n int64) {
	l.add(name, *resource.NewQuantity(n, resource.DecimalSI))
}

// podCounts reports whether pod uses quota at now: not terminal and not
// past its deletion grace period.
func podCounts(pod *corev1.Pod, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		grace := time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		if now.After(pod.DeletionTimestamp.Add(grace)) {
			return false
		}
	}
	return true
}

// podResources returns the effective requests or limits of pod: the sum
// over app containers, at least each init container's (sidecars, which
// keep running, add to what follows them), plus the pod overhead.
func podResources(pod *corev1.Pod, of func(corev1.ResourceRequirements) corev1.ResourceList) corev1.ResourceList {
	sum := list{}
	for _, c := range pod.Spec.Containers {
		for n, q := range of(c.Resources) {
			sum.add(n, q)
		}
	}
	sidecars := list{}
	peak := list{}
	for _, c := range pod.Spec.InitContainers {
		own := of(c.Resources)
		for n, q := range own {
			v := q.DeepCopy()
			if s, ok := sidecars[n]; ok {
				v.Add(s)
			}
			if p, ok := peak[n]; !ok || v.Cmp(p) > 0 {
				peak[n] = v
			}
		}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			for n, q := range own {
				sidecars.add(n, q)
				sum.add(n, q)
			}
		}
	}
	for n, p := range peak {
		if s, ok := sum[n]; !ok || p.Cmp(s) > 0 {
			sum[n] = p
		}
	}
	for n, q := range pod.Spec.Overhead {
		sum.add(n, q)
	}
	return corev1.ResourceList(sum)
}

func requestsOf(r corev1.ResourceRequirements) corev1.ResourceList { return r.Requests }
func limitsOf(r corev1.ResourceRequirements) corev1.ResourceList   { return r.Limits }

// podUsage is what one pod counts against a quota.
func podUsage(pod *corev1.Pod, now time.Time) corev1.ResourceList {
	out := list{}
	if !podCounts(pod, now) {
		return corev1.ResourceList(out)
	}
	out.addInt(corev1.ResourcePods, 1)
	out.addInt(countPrefix+"pods", 1)
	for n, q := range podResources(pod, requestsOf) {
		switch {
		case n == corev1.ResourceCPU || n == corev1.ResourceMemory || n == corev1.ResourceEphemeralStorage:
			out.add(n, q)
			out.add("requests."+n, q)
		default:
			out.add("requests."+n, q)
		}
	}
	for n, q := range podResources(pod, limitsOf) {
		if n == corev1.ResourceCPU || n == corev1.ResourceMemory || n == corev1.ResourceEphemeralStorage {
			out.add("limits."+n, q)
		}
	}
	return corev1.ResourceList(out)
}

// bestEffort reports whether no container of pod requests or limits cpu
// or memory.
func bestEffort(pod *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, rl := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
				for n := range rl {
					if n == corev1.ResourceCPU || n == corev1.ResourceMemory {
						return false
					}
				}
			}
		}
	}
	return true
}

// crossNamespaceAffinity reports whether a pod (anti-)affinity term of
// pod names other namespaces.
func crossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
			return true
		}
	}
	return false
}

// scopeMatches reports whether pod falls in the scope requirement.
func scopeMatches(req corev1.ScopedResourceSelectorRequirement, pod *corev1.Pod) bool {
	var in bool
	switch req.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		in = pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
	case corev1.ResourceQuotaScopeNotTerminating:
		in = pod.Spec.ActiveDeadlineSeconds == nil || *pod.Spec.ActiveDeadlineSeconds < 0
	case corev1.ResourceQuotaScopeBestEffort:
		in = bestEffort(pod)
	case corev1.ResourceQuotaScopeNotBestEffort:
		in = !bestEffort(pod)
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		in = crossNamespaceAffinity(pod)
	case corev1.ResourceQuotaScopePriorityClass:
		pc := pod.Spec.PriorityClassName
		switch req.Operator {
		case corev1.ScopeSelectorOpIn:
			return slices.Contains(req.Values, pc)
		case corev1.ScopeSelectorOpNotIn:
			return !slices.Contains(req.Values, pc)
		case corev1.ScopeSelectorOpExists:
			return pc != ""
		case corev1.ScopeSelectorOpDoesNotExist:
			return pc == ""
		}
		return false
	default:
		return false
	}
	return in
}

// scopeRequirements merges spec.scopes (as Exists) with the scope
// selector.
func scopeRequirements(rq *corev1.ResourceQuota) []corev1.ScopedResourceSelectorRequirement {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, s := range rq.Spec.Scopes {
		out = append(out, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if rq.Spec.ScopeSelector != nil {
		out = append(out, rq.Spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

// podInScope reports whether pod meets every scope requirement.
func podInScope(reqs []corev1.ScopedResourceSelectorRequirement, pod *corev1.Pod) bool {
	for _, r := range reqs {
		if !scopeMatches(r, pod) {
			return false
		}
	}
	return true
}

// podsUsage sums the usage of pods in scope.
func podsUsage(pods []*corev1.Pod, reqs []corev1.ScopedResourceSelectorRequirement, now time.Time) corev1.ResourceList {
	out := list{}
	out.addInt(corev1.ResourcePods, 0)
	out.addInt(countPrefix+"pods", 0)
	for _, p := range pods {
		if !podInScope(reqs, p) {
			continue
		}
		for n, q := range podUsage(p, now) {
			out.add(n, q)
		}
	}
	return corev1.ResourceList(out)
}

// servicesUsage counts services, load balancers and node ports.
func servicesUsage(svcs []*corev1.Service) corev1.ResourceList {
	out := list{}
	out.addInt(corev1.ResourceServices, int64(len(svcs)))
	out.addInt(countPrefix+"services", int64(len(svcs)))
	var lbs, nodePorts int64
	for _, s := range svcs {
		switch s.Spec.Type {
		case corev1.ServiceTypeNodePort:
			nodePorts += int64(len(s.Spec.Ports))
		case corev1.ServiceTypeLoadBalancer:
			lbs++
			if s.Spec.AllocateLoadBalancerNodePorts != nil && !*s.Spec.AllocateLoadBalancerNodePorts {
				for _, p := range s.Spec.Ports {
					if p.NodePort != 0 {
						nodePorts++
					}
				}
			} else {
				nodePorts += int64(len(s.Spec.Ports))
			}
		}
	}
	out.addInt(corev1.ResourceServicesLoadBalancers, lbs)
	out.addInt(corev1.ResourceServicesNodePorts, nodePorts)
	return corev1.ResourceList(out)
}

// pvcsUsage counts claims and their requested storage, in total and per
// storage class.
func pvcsUsage(pvcs []*corev1.PersistentVolumeClaim) corev1.ResourceList {
	out := list{}
	out.addInt(corev1.ResourcePersistentVolumeClaims, int64(len(pvcs)))
	out.addInt(countPrefix+"persistentvolumeclaims", int64(len(pvcs)))
	out.add(corev1.ResourceRequestsStorage, resource.MustParse("0"))
	for _, p := range pvcs {
		q := p.Spec.Resources.Requests[corev1.ResourceStorage]
		out.add(corev1.ResourceRequestsStorage, q)
		sc := ""
		if p.Spec.StorageClassName != nil {
			sc = *p.Spec.StorageClassName
		} else if a, ok := p.Annotations[corev1.BetaStorageClassAnnotation]; ok {
			sc = a
		}
		if sc != "" {
			out.add(corev1.ResourceName(sc+storageClassSuffix+string(corev1.ResourceRequestsStorage)), q)
			out.addInt(corev1.ResourceName(sc+storageClassSuffix+string(corev1.ResourcePersistentVolumeClaims)), 1)
		}
	}
	return corev1.ResourceList(out)
}

// podResource reports whether name is tracked by the pod evaluator.
func podResource(name corev1.ResourceName) bool {
	s := string(name)
	switch name {
	case corev1.ResourcePods, countPrefix + "pods", corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return true
	}
	return strings.HasPrefix(s, "requests.") && s != string(corev1.ResourceRequestsStorage) || strings.HasPrefix(s, "limits.")
}

// mask keeps the entries of used named in hard, filling absent ones with
// zero only when known is true for them.
func mask(used corev1.ResourceList, hard corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for n := range hard {
		if q, ok := used[n]; ok {
			out[n] = q
		}
	}
	return out
}

// equal reports whether a and b hold the same names and quantities.
func equal(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for n, q := range a {
		o, ok := b[n]
		if !ok || q.Cmp(o) != 0 {
			return false
		}
	}
	return true
}
