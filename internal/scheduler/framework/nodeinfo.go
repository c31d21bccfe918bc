package framework

import (
	"strings"

	v1 "k8s.io/api/core/v1"
)

// DefaultBindAllHostIP is the host IP a hostPort binds when none is given.
const DefaultBindAllHostIP = "0.0.0.0"

// ProtocolPort is a protocol and a port number.
type ProtocolPort struct {
	Protocol string
	Port     int32
}

// HostPortInfo records used host ports by host IP.
type HostPortInfo map[string]map[ProtocolPort]struct{}

// Add records a used port; empty ip and protocol mean 0.0.0.0 and TCP.
func (h HostPortInfo) Add(ip, protocol string, port int32) {
	if port <= 0 {
		return
	}
	ip, protocol = sanitizePort(ip, protocol)
	m := h[ip]
	if m == nil {
		m = map[ProtocolPort]struct{}{}
		h[ip] = m
	}
	m[ProtocolPort{Protocol: protocol, Port: port}] = struct{}{}
}

// Remove forgets a used port.
func (h HostPortInfo) Remove(ip, protocol string, port int32) {
	if port <= 0 {
		return
	}
	ip, protocol = sanitizePort(ip, protocol)
	if m := h[ip]; m != nil {
		delete(m, ProtocolPort{Protocol: protocol, Port: port})
		if len(m) == 0 {
			delete(h, ip)
		}
	}
}

// CheckConflict reports whether the port is already used: 0.0.0.0 on
// either side conflicts with every IP.
func (h HostPortInfo) CheckConflict(ip, protocol string, port int32) bool {
	if port <= 0 {
		return false
	}
	ip, protocol = sanitizePort(ip, protocol)
	pp := ProtocolPort{Protocol: protocol, Port: port}
	if ip == DefaultBindAllHostIP {
		for _, m := range h {
			if _, ok := m[pp]; ok {
				return true
			}
		}
		return false
	}
	for _, key := range []string{ip, DefaultBindAllHostIP} {
		if _, ok := h[key][pp]; ok {
			return true
		}
	}
	return false
}

func sanitizePort(ip, protocol string) (string, string) {
	if ip == "" {
		ip = DefaultBindAllHostIP
	}
	if protocol == "" {
		protocol = string(v1.ProtocolTCP)
	}
	return ip, protocol
}

// ImageStateSummary is what the snapshot knows about one image on a node:
// its size and on how many nodes it is present.
type ImageStateSummary struct {
	Size     int64
	NumNodes int
}

// NodeInfo is the scheduler's view of a node: the Node, the pods on it
// (bound or assumed) and what they add up to. Generation grows with every
// change, which lets a snapshot copy only changed nodes.
type NodeInfo struct {
	node                         *v1.Node
	Pods                         []*PodInfo
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	UsedPorts                    HostPortInfo
	// Requested sums the pods' requests; NonZeroRequested the same with
	// the scoring defaults for unset cpu and memory.
	Requested        *Resource
	NonZeroRequested *Resource
	Allocatable      *Resource
	// ImageStates maps normalized image names present on the node.
	ImageStates map[string]*ImageStateSummary
	Generation  int64
	// Slot is a small number naming the node while it is in the
	// scheduler's cache (from 1, reused once the node has left it), so
	// that per-node caches can be slices; 0 for NodeInfos made elsewhere,
	// which such caches skip. Clones keep it.
	Slot int32
}

// NewNodeInfo returns a NodeInfo holding pods (without a node yet).
func NewNodeInfo(pods ...*v1.Pod) *NodeInfo {
	n := &NodeInfo{
		UsedPorts: HostPortInfo{}, Requested: &Resource{}, NonZeroRequested: &Resource{},
		Allocatable: &Resource{}, ImageStates: map[string]*ImageStateSummary{},
	}
	for _, p := range pods {
		n.AddPod(p)
	}
	return n
}

// Node returns the Node (nil until SetNode).
func (n *NodeInfo) Node() *v1.Node {
	if n == nil {
		return nil
	}
	return n.node
}

// SetNode sets the node and its allocatable resources.
func (n *NodeInfo) SetNode(node *v1.Node) {
	n.node = node
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.Generation++
}

// RemoveNode clears the node, keeping the pods (which may still be
// deleted later).
func (n *NodeInfo) RemoveNode() {
	n.node = nil
	n.Generation++
}

// AddPod adds a pod.
func (n *NodeInfo) AddPod(pod *v1.Pod) { n.AddPodInfo(NewPodInfo(pod)) }

// AddPodInfo adds a parsed pod.
func (n *NodeInfo) AddPodInfo(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if pi.HasAffinity() {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinityTerms) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.update(pi, 1)
}

// RemovePod removes the pod with pod's UID; it reports whether it was
// there.
func (n *NodeInfo) RemovePod(pod *v1.Pod) bool {
	n.PodsWithAffinity = removeByUID(n.PodsWithAffinity, pod)
	n.PodsWithRequiredAntiAffinity = removeByUID(n.PodsWithRequiredAntiAffinity, pod)
	for i, pi := range n.Pods {
		if pi.Pod.UID == pod.UID {
			n.Pods = append(n.Pods[:i:i], n.Pods[i+1:]...)
			n.update(pi, -1)
			return true
		}
	}
	return false
}

func removeByUID(list []*PodInfo, pod *v1.Pod) []*PodInfo {
	for i, pi := range list {
		if pi.Pod.UID == pod.UID {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

func (n *NodeInfo) update(pi *PodInfo, sign int64) {
	n.Requested.AddResource(pi.Requests, sign)
	n.NonZeroRequested.MilliCPU += sign * pi.NonZeroRequests.MilliCPU
	n.NonZeroRequested.Memory += sign * pi.NonZeroRequests.Memory
	for _, c := range pi.Pod.Spec.Containers {
		for _, p := range c.Ports {
			if sign > 0 {
				n.UsedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
			} else {
				n.UsedPorts.Remove(p.HostIP, string(p.Protocol), p.HostPort)
			}
		}
	}
	for _, c := range pi.Pod.Spec.InitContainers {
		if c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
			continue
		}
		for _, p := range c.Ports {
			if sign > 0 {
				n.UsedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
			} else {
				n.UsedPorts.Remove(p.HostIP, string(p.Protocol), p.HostPort)
			}
		}
	}
	n.Generation++
}

// Clone returns a copy that shares the immutable Node and PodInfos but
// not the slices, maps or sums.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		node:                         n.node,
		Pods:                         append([]*PodInfo(nil), n.Pods...),
		PodsWithAffinity:             append([]*PodInfo(nil), n.PodsWithAffinity...),
		PodsWithRequiredAntiAffinity: append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...),
		UsedPorts:                    make(HostPortInfo, len(n.UsedPorts)),
		Requested:                    n.Requested.Clone(),
		NonZeroRequested:             n.NonZeroRequested.Clone(),
		Allocatable:                  n.Allocatable.Clone(),
		ImageStates:                  n.ImageStates,
		Generation:                   n.Generation,
		Slot:                         n.Slot,
	}
	for ip, m := range n.UsedPorts {
		cm := make(map[ProtocolPort]struct{}, len(m))
		for k := range m {
			cm[k] = struct{}{}
		}
		c.UsedPorts[ip] = cm
	}
	return c
}

// PodPorts returns the host ports a pod asks for (app containers and
// sidecars).
func PodPorts(pod *v1.Pod) []v1.ContainerPort {
	var out []v1.ContainerPort
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				out = append(out, p)
			}
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
			continue
		}
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				out = append(out, p)
			}
		}
	}
	return out
}

// NormalizedImageName adds ":latest" to an image name without a tag or
// digest, as the image-locality scoring compares names.
func NormalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		name += ":latest"
	}
	return name
}
