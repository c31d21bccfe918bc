package framework

import (
	v1 "k8s.io/api/core/v1"
)

// Defaults the scoring plugins assume for containers that request no cpu
// or memory, so that best-effort pods are not all piled on one node
// (upstream's DefaultMilliCPURequest and DefaultMemoryRequest).
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// Resource is an amount of each schedulable resource: cpu in millicores,
// memory and ephemeral storage in bytes, a pod count, and extended (or
// hugepages) resources in their integer units.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	ScalarResources  map[v1.ResourceName]int64
}

// NewResource returns the Resource of a ResourceList.
func NewResource(rl v1.ResourceList) *Resource {
	r := &Resource{}
	r.Add(rl)
	return r
}

// Add adds every quantity of rl to r.
func (r *Resource) Add(rl v1.ResourceList) {
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case v1.ResourceMemory:
			r.Memory += q.Value()
		case v1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case v1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if IsScalarResourceName(name) {
				r.SetScalar(name, r.ScalarResources[name]+q.Value())
			}
		}
	}
}

// SetScalar sets an extended resource.
func (r *Resource) SetScalar(name v1.ResourceName, v int64) {
	if r.ScalarResources == nil {
		r.ScalarResources = map[v1.ResourceName]int64{}
	}
	r.ScalarResources[name] = v
}

// AddResource adds o to r.
func (r *Resource) AddResource(o *Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	r.AllowedPodNumber += sign * o.AllowedPodNumber
	for k, v := range o.ScalarResources {
		r.SetScalar(k, r.ScalarResources[k]+sign*v)
	}
}

// setMax raises each amount of r to at least o's.
func (r *Resource) setMax(o *Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for k, v := range o.ScalarResources {
		if v > r.ScalarResources[k] {
			r.SetScalar(k, v)
		}
	}
}

// Clone returns a deep copy.
func (r *Resource) Clone() *Resource {
	c := *r
	if r.ScalarResources != nil {
		c.ScalarResources = make(map[v1.ResourceName]int64, len(r.ScalarResources))
		for k, v := range r.ScalarResources {
			c.ScalarResources[k] = v
		}
	}
	return &c
}

// Get returns the amount of one resource.
func (r *Resource) Get(name v1.ResourceName) int64 {
	switch name {
	case v1.ResourceCPU:
		return r.MilliCPU
	case v1.ResourceMemory:
		return r.Memory
	case v1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	case v1.ResourcePods:
		return r.AllowedPodNumber
	}
	return r.ScalarResources[name]
}

// IsScalarResourceName reports whether name is an extended resource,
// a hugepages size or an attachable-volumes count.
func IsScalarResourceName(name v1.ResourceName) bool {
	s := string(name)
	if len(s) > len("hugepages-") && s[:len("hugepages-")] == "hugepages-" {
		return true
	}
	if len(s) > len("attachable-volumes-") && s[:len("attachable-volumes-")] == "attachable-volumes-" {
		return true
	}
	// Extended resources are fully qualified outside kubernetes.io
	// (or in requests.*).
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			domain := s[:i]
			return domain != "kubernetes.io" && !hasSuffix(domain, ".kubernetes.io")
		}
	}
	return false
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// PodRequests returns what pod asks of a node, as upstream computes it:
// the larger of the sum of its app containers (plus restartable
// "sidecar" init containers, which keep running) and the largest
// one-shot init container (plus the sidecars started before it), then
// the pod overhead. With nonZero, a container that requests no cpu or no
// memory counts DefaultMilliCPURequest or DefaultMemoryRequest, which is
// what scoring uses. A pod-level resources.requests replaces the
// container sum for the resources it names.
func PodRequests(pod *v1.Pod, nonZero bool) *Resource {
	req := &Resource{}
	for i := range pod.Spec.Containers {
		req.AddResource(containerRequests(&pod.Spec.Containers[i], nonZero), 1)
	}
	sidecars := &Resource{}
	initMax := &Resource{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cr := containerRequests(c, nonZero)
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			req.AddResource(cr, 1)
			sidecars.AddResource(cr, 1)
			initMax.setMax(sidecars)
			continue
		}
		t := sidecars.Clone()
		t.AddResource(cr, 1)
		initMax.setMax(t)
	}
	req.setMax(initMax)
	if pod.Spec.Resources != nil {
		for name, q := range pod.Spec.Resources.Requests {
			switch name {
			case v1.ResourceCPU:
				req.MilliCPU = q.MilliValue()
			case v1.ResourceMemory:
				req.Memory = q.Value()
			}
		}
	}
	if pod.Spec.Overhead != nil {
		req.AddResource(NewResource(pod.Spec.Overhead), 1)
	}
	req.AllowedPodNumber = 0
	return req
}

func containerRequests(c *v1.Container, nonZero bool) *Resource {
	r := NewResource(c.Resources.Requests)
	if nonZero {
		if _, ok := c.Resources.Requests[v1.ResourceCPU]; !ok {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.Resources.Requests[v1.ResourceMemory]; !ok {
			r.Memory = DefaultMemoryRequest
		}
	}
	return r
}
