package scheduler

import (
	"sort"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Cache is the scheduler's model of the cluster: nodes and the pods on
// them, including pods assumed on a node while their binding is in
// flight. UpdateSnapshot copies into a Snapshot only the nodes that
// changed since the last call. It is safe for concurrent use.
type Cache struct {
	mu         sync.Mutex
	nodes      map[string]*framework.NodeInfo
	pods       map[types.UID]*podState
	generation int64
	// nodeGen records the cache generation of each node's last change;
	// dirty names the nodes changed since the last UpdateSnapshot (the
	// cache feeds one snapshot, the scheduling goroutine's).
	nodeGen map[string]int64
	dirty   map[string]struct{}
	// listChanged is set when nodes come or go, or change zones.
	listChanged bool
	images      bool
	// slots hands out NodeInfo.Slot: freed slots first, then the next
	// past the highest used.
	freeSlots []int32
	slotBound int32
}

type podState struct {
	pod     *v1.Pod
	assumed bool
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{nodes: map[string]*framework.NodeInfo{}, pods: map[types.UID]*podState{}, nodeGen: map[string]int64{},
		dirty: map[string]struct{}{}, slotBound: 1}
}

func (c *Cache) nodeInfo(name string) *framework.NodeInfo {
	ni, ok := c.nodes[name]
	if !ok {
		ni = framework.NewNodeInfo()
		if k := len(c.freeSlots); k > 0 {
			ni.Slot, c.freeSlots = c.freeSlots[k-1], c.freeSlots[:k-1]
		} else {
			ni.Slot = c.slotBound
			c.slotBound++
		}
		c.nodes[name] = ni
	}
	return ni
}

// deleteNodeInfo forgets a node's NodeInfo and frees its slot. A later
// node may get the slot while the snapshot still holds the old
// NodeInfo: caches by slot also compare generations, which are unique
// across nodes, so that they never mistake one node for the other.
func (c *Cache) deleteNodeInfo(name string) {
	if ni, ok := c.nodes[name]; ok {
		c.freeSlots = append(c.freeSlots, ni.Slot)
		delete(c.nodes, name)
	}
}

func (c *Cache) touch(name string) {
	c.generation++
	c.nodeGen[name] = c.generation
	c.dirty[name] = struct{}{}
}

func (c *Cache) addPodLocked(pod *v1.Pod, assumed bool) {
	c.nodeInfo(pod.Spec.NodeName).AddPod(pod)
	c.pods[pod.UID] = &podState{pod: pod, assumed: assumed}
	c.touch(pod.Spec.NodeName)
}

func (c *Cache) removePodLocked(pod *v1.Pod) {
	if ni, ok := c.nodes[pod.Spec.NodeName]; ok {
		ni.RemovePod(pod)
		if ni.Node() == nil && len(ni.Pods) == 0 {
			c.deleteNodeInfo(pod.Spec.NodeName)
			c.listChanged = true
		}
	}
	delete(c.pods, pod.UID)
	c.touch(pod.Spec.NodeName)
}

// AssumePod records pod (with spec.nodeName set) on its node before the
// binding is confirmed, so that later cycles see its resources.
func (c *Cache) AssumePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		return
	}
	c.addPodLocked(pod, true)
}

// ForgetPod undoes AssumePod after a failed binding.
func (c *Cache) ForgetPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.removePodLocked(ps.pod)
	}
}

// AddPod records a bound pod seen by the informer, confirming an assumed
// one (moving it if it landed on another node).
func (c *Cache) AddPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePodLocked(ps.pod)
	}
	c.addPodLocked(pod, false)
}

// UpdatePod replaces a bound pod.
func (c *Cache) UpdatePod(pod *v1.Pod) { c.AddPod(pod) }

// RemovePod forgets a pod.
func (c *Cache) RemovePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePodLocked(ps.pod)
	}
}

// IsAssumed reports whether the pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

// AddNode adds or updates a node.
func (c *Cache) AddNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni := c.nodeInfo(node.Name)
	old := ni.Node()
	if old == nil || old.Labels[v1.LabelTopologyZone] != node.Labels[v1.LabelTopologyZone] {
		c.listChanged = true
	}
	if old == nil || !imagesEqual(old.Status.Images, node.Status.Images) {
		c.images = true
	}
	ni.SetNode(node)
	c.touch(node.Name)
}

func imagesEqual(a, b []v1.ContainerImage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].SizeBytes != b[i].SizeBytes || len(a[i].Names) != len(b[i].Names) {
			return false
		}
		for j := range a[i].Names {
			if a[i].Names[j] != b[i].Names[j] {
				return false
			}
		}
	}
	return true
}

// RemoveNode removes a node; its pods stay until they are deleted.
func (c *Cache) RemoveNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ni, ok := c.nodes[node.Name]; ok {
		ni.RemoveNode()
		if len(ni.Pods) == 0 {
			c.deleteNodeInfo(node.Name)
		}
	}
	c.listChanged, c.images = true, true
	c.touch(node.Name)
}

// NodeCount returns the number of nodes.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ni := range c.nodes {
		if ni.Node() != nil {
			n++
		}
	}
	return n
}

// UpdateSnapshot brings s up to date, cloning only the nodes changed
// since the last call. Each cloned NodeInfo's Generation is the cache
// generation of its last change, unique across nodes and increasing, so
// that a node's generation names its state (equivalence and score caches
// key on it). The node list interleaves zones (one node per zone in
// turn) so that cycles that stop early still spread across zones.
func (c *Cache) UpdateSnapshot(s *framework.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.Generation == c.generation && !c.listChanged {
		return
	}
	affinityChanged := false
	for name := range c.dirty {
		delete(c.dirty, name)
		old := s.NodeInfoMap[name]
		if old != nil && (len(old.PodsWithAffinity) > 0 || len(old.PodsWithRequiredAntiAffinity) > 0) {
			affinityChanged = true
		}
		ni, ok := c.nodes[name]
		if !ok || ni.Node() == nil {
			if old != nil {
				delete(s.NodeInfoMap, name)
				s.ReplaceNode(name, old, nil)
				c.listChanged = true
			}
			continue
		}
		clone := ni.Clone()
		clone.Generation = c.nodeGen[name]
		if old == nil {
			c.listChanged = true
		}
		if old != nil && !c.images {
			clone.ImageStates = old.ImageStates
		}
		if len(clone.PodsWithAffinity) > 0 || len(clone.PodsWithRequiredAntiAffinity) > 0 {
			affinityChanged = true
		}
		s.NodeInfoMap[name] = clone
		s.ReplaceNode(name, old, clone)
		if !c.listChanged && !s.ReplaceInList(clone) {
			c.listChanged = true
		}
	}
	if c.listChanged {
		s.SetList(interleaveZones(s.NodeInfoMap))
	}
	if c.images {
		framework.SetImageStates(s.NodeInfoList)
	}
	if c.listChanged || affinityChanged {
		s.RebuildLists()
	}
	c.listChanged, c.images = false, false
	s.Generation = c.generation
	s.Slots = c.slotBound
}

func interleaveZones(m map[string]*framework.NodeInfo) []*framework.NodeInfo {
	zones := map[string][]*framework.NodeInfo{}
	var keys []string
	for _, ni := range m {
		z := ni.Node().Labels[v1.LabelTopologyRegion] + ":" + ni.Node().Labels[v1.LabelTopologyZone]
		if _, ok := zones[z]; !ok {
			keys = append(keys, z)
		}
		zones[z] = append(zones[z], ni)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l := zones[k]
		sort.Slice(l, func(i, j int) bool { return l[i].Node().Name < l[j].Node().Name })
	}
	out := make([]*framework.NodeInfo, 0, len(m))
	for i := 0; len(out) < len(m); i++ {
		for _, k := range keys {
			if i < len(zones[k]) {
				out = append(out, zones[k][i])
			}
		}
	}
	return out
}
