package framework

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
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
	// index maps node names to their position in NodeInfoList.
	index map[string]int
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
