package framework

import (
	"fmt"
	"maps"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Snapshot is an immutable view of the cluster for one or more
// scheduling cycles. It implements NodeInfoLister.
type Snapshot struct {
	NodeInfoMap                      map[string]*NodeInfo
	NodeInfoList                     []*NodeInfo
	HaveAffinityList                 []*NodeInfo
	HaveRequiredAntiAffinityNodeList []*NodeInfo
	// Generation is the cache generation the snapshot reflects.
	Generation int64
	// Slots bounds the NodeInfos' Slot numbers: each is below it.
	Slots int32
	// index maps node names to their position in NodeInfoList.
	index map[string]int
	// pods indexes the pods of NodeInfoMap by label and their affinity
	// terms by what they select; nil until first needed.
	pods *podIndex
	// nodeVersion changes whenever a node comes, goes or changes its
	// labels (not for its status or pods); domains caches TopologyValues
	// for it.
	nodeVersion uint64
	domains     topologyCache
}

type topologyCache struct {
	mu      sync.Mutex
	version uint64
	byKeys  map[string][]map[string]struct{}
}

// ReplaceNode tells the snapshot's pod index that node name's NodeInfo
// changed from old to nw (nil for a node that was not, or is no longer,
// in the snapshot). Whoever updates NodeInfoMap between cycles calls it
// for each node it replaces, before or after setting the map entry.
func (s *Snapshot) ReplaceNode(name string, old, nw *NodeInfo) {
	if s.pods == nil {
		s.buildIndex(name)
	}
	s.pods.replaceNode(name, old, nw)
	if o, n := old.Node(), nw.Node(); o != n && (o == nil || n == nil || !maps.Equal(o.Labels, n.Labels)) {
		s.nodeVersion++
	}
}

// buildIndex indexes every node of NodeInfoMap but skip.
func (s *Snapshot) buildIndex(skip string) {
	s.pods = newPodIndex()
	for name, ni := range s.NodeInfoMap {
		if name != skip {
			s.pods.replaceNode(name, nil, ni)
		}
	}
}

// SetList replaces NodeInfoList (and the index ReplaceInList uses).
func (s *Snapshot) SetList(list []*NodeInfo) {
	s.NodeInfoList = list
	s.index = make(map[string]int, len(list))
	for i, ni := range list {
		s.index[ni.Node().Name] = i
	}
}

// ReplaceInList puts ni in NodeInfoList in place of the entry of the
// same node; it reports false when the node is not in the list.
func (s *Snapshot) ReplaceInList(ni *NodeInfo) bool {
	i, ok := s.index[ni.Node().Name]
	if !ok || i >= len(s.NodeInfoList) || s.NodeInfoList[i].Node().Name != ni.Node().Name {
		return false
	}
	s.NodeInfoList[i] = ni
	return true
}

// NewEmptySnapshot returns a snapshot of no nodes.
func NewEmptySnapshot() *Snapshot {
	return &Snapshot{NodeInfoMap: map[string]*NodeInfo{}}
}

// NewSnapshot builds a snapshot from pods and nodes, for tests and
// simulations; pods on unknown nodes are ignored.
func NewSnapshot(pods []*v1.Pod, nodes []*v1.Node) *Snapshot {
	s := NewEmptySnapshot()
	for _, n := range nodes {
		ni := NewNodeInfo()
		ni.SetNode(n)
		s.NodeInfoMap[n.Name] = ni
		s.NodeInfoList = append(s.NodeInfoList, ni)
	}
	for _, p := range pods {
		if ni, ok := s.NodeInfoMap[p.Spec.NodeName]; ok {
			ni.AddPod(p)
		}
	}
	SetImageStates(s.NodeInfoList)
	s.RebuildLists()
	s.buildIndex("")
	return s
}

// RebuildLists recomputes the affinity lists from NodeInfoList.
func (s *Snapshot) RebuildLists() {
	s.HaveAffinityList = s.HaveAffinityList[:0]
	s.HaveRequiredAntiAffinityNodeList = s.HaveRequiredAntiAffinityNodeList[:0]
	for _, ni := range s.NodeInfoList {
		if len(ni.PodsWithAffinity) > 0 {
			s.HaveAffinityList = append(s.HaveAffinityList, ni)
		}
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			s.HaveRequiredAntiAffinityNodeList = append(s.HaveRequiredAntiAffinityNodeList, ni)
		}
	}
}

// SetImageStates fills each node's ImageStates from node.status.images,
// counting on how many of nodes each image is.
func SetImageStates(nodes []*NodeInfo) {
	count := map[string]int{}
	for _, ni := range nodes {
		if ni.Node() == nil {
			continue
		}
		for _, img := range ni.Node().Status.Images {
			for _, name := range img.Names {
				count[NormalizedImageName(name)]++
			}
		}
	}
	for _, ni := range nodes {
		if ni.Node() == nil {
			continue
		}
		st := map[string]*ImageStateSummary{}
		for _, img := range ni.Node().Status.Images {
			for _, name := range img.Names {
				n := NormalizedImageName(name)
				st[n] = &ImageStateSummary{Size: img.SizeBytes, NumNodes: count[n]}
			}
		}
		ni.ImageStates = st
	}
}

// List implements NodeInfoLister.
func (s *Snapshot) List() []*NodeInfo { return s.NodeInfoList }

// HavePodsWithAffinityList implements NodeInfoLister.
func (s *Snapshot) HavePodsWithAffinityList() []*NodeInfo { return s.HaveAffinityList }

// HavePodsWithRequiredAntiAffinityList implements NodeInfoLister.
func (s *Snapshot) HavePodsWithRequiredAntiAffinityList() []*NodeInfo {
	return s.HaveRequiredAntiAffinityNodeList
}

// Get implements NodeInfoLister.
func (s *Snapshot) Get(name string) (*NodeInfo, error) {
	if ni, ok := s.NodeInfoMap[name]; ok && ni.Node() != nil {
		return ni, nil
	}
	return nil, fmt.Errorf("nodeinfo not found for node name %q", name)
}

// EachPodCandidate implements NodeInfoLister.
func (s *Snapshot) EachPodCandidate(sel labels.Selector, fn func(pi *PodInfo, ni *NodeInfo)) {
	if s.pods != nil && s.pods.eachPodCandidate(sel, fn) {
		return
	}
	EachPod(s.NodeInfoList, fn)
}

// EachTermCandidate implements NodeInfoLister.
func (s *Snapshot) EachTermCandidate(kind TermKind, podLabels map[string]string, fn func(ex *PodInfo, ni *NodeInfo, t *AffinityTerm, weight int32)) {
	if s.pods != nil {
		s.pods.eachTermCandidate(kind, podLabels, fn)
		return
	}
	EachTerm(s.HaveAffinityList, kind, fn)
}

// EachTerm calls fn with every term of kind of the pods on nodes: the
// walk EachTermCandidate narrows.
func EachTerm(nodes []*NodeInfo, kind TermKind, fn func(ex *PodInfo, ni *NodeInfo, t *AffinityTerm, weight int32)) {
	for _, ni := range nodes {
		for _, ex := range ni.PodsWithAffinity {
			switch kind {
			case RequiredAffinityTerm:
				for i := range ex.RequiredAffinityTerms {
					fn(ex, ni, &ex.RequiredAffinityTerms[i], 0)
				}
			case RequiredAntiAffinityTerm:
				for i := range ex.RequiredAntiAffinityTerms {
					fn(ex, ni, &ex.RequiredAntiAffinityTerms[i], 0)
				}
			case PreferredAffinityTerm:
				for i := range ex.PreferredAffinityTerms {
					fn(ex, ni, &ex.PreferredAffinityTerms[i].AffinityTerm, ex.PreferredAffinityTerms[i].Weight)
				}
			case PreferredAntiAffinityTerm:
				for i := range ex.PreferredAntiAffinityTerms {
					fn(ex, ni, &ex.PreferredAntiAffinityTerms[i].AffinityTerm, ex.PreferredAntiAffinityTerms[i].Weight)
				}
			}
		}
	}
}

// EachPod calls fn with every pod on nodes: the walk EachPodCandidate
// narrows.
func EachPod(nodes []*NodeInfo, fn func(pi *PodInfo, ni *NodeInfo)) {
	for _, ni := range nodes {
		for _, pi := range ni.Pods {
			fn(pi, ni)
		}
	}
}

// TopologyValues implements NodeInfoLister. The sets are computed once
// per state of the snapshot's nodes and shared.
func (s *Snapshot) TopologyValues(keys []string) []map[string]struct{} {
	c := &s.domains
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKeys == nil || c.version != s.nodeVersion {
		c.byKeys, c.version = map[string][]map[string]struct{}{}, s.nodeVersion
	}
	id := strings.Join(keys, "\x00")
	if v, ok := c.byKeys[id]; ok {
		return v
	}
	v := TopologyValuesOf(s.NodeInfoList, keys)
	c.byKeys[id] = v
	return v
}

// TopologyValuesOf returns, for each of keys, the values it has among
// the nodes that have all of keys: the walk TopologyValues caches.
func TopologyValuesOf(nodes []*NodeInfo, keys []string) []map[string]struct{} {
	out := make([]map[string]struct{}, len(keys))
	for i := range out {
		out[i] = map[string]struct{}{}
	}
next:
	for _, ni := range nodes {
		l := ni.Node().Labels
		for _, k := range keys {
			if _, ok := l[k]; !ok {
				continue next
			}
		}
		for i, k := range keys {
			out[i][l[k]] = struct{}{}
		}
	}
	return out
}
