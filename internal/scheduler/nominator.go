package scheduler

import (
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// nominator remembers the pending pods nominated to a node by a
// preemption (or carrying status.nominatedNodeName), so that filtering
// pods of lower priority counts them on that node. It is safe for
// concurrent use; an empty nominator costs one atomic load per lookup.
type nominator struct {
	mu     sync.RWMutex
	byNode map[string][]*framework.PodInfo
	byUID  map[types.UID]string
	count  atomic.Int64
}

func newNominator() *nominator {
	return &nominator{byNode: map[string][]*framework.PodInfo{}, byUID: map[types.UID]string{}}
}

// set nominates pod to node, replacing an earlier nomination; an empty
// node removes it.
func (n *nominator) set(pod *v1.Pod, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(pod.UID)
	if node == "" {
		return
	}
	n.byUID[pod.UID] = node
	n.byNode[node] = append(n.byNode[node], framework.NewPodInfo(pod))
	n.count.Add(1)
}

// update follows a changed pending pod: its status nomination wins,
// otherwise an in-memory nomination not yet written to the API stays.
func (n *nominator) update(pod *v1.Pod) {
	node := pod.Status.NominatedNodeName
	if node == "" {
		node = n.nodeOf(pod.UID)
	}
	if node == "" {
		return
	}
	n.set(pod, node)
}

func (n *nominator) delete(uid types.UID) {
	if n.count.Load() == 0 {
		return
	}
	n.mu.Lock()
	n.deleteLocked(uid)
	n.mu.Unlock()
}

func (n *nominator) deleteLocked(uid types.UID) {
	node, ok := n.byUID[uid]
	if !ok {
		return
	}
	delete(n.byUID, uid)
	list := n.byNode[node]
	for i, pi := range list {
		if pi.Pod.UID == uid {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = list
	}
	n.count.Add(-1)
}

func (n *nominator) nodeOf(uid types.UID) string {
	if n.count.Load() == 0 {
		return ""
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.byUID[uid]
}

// podsForNode returns the pods nominated to node (a copy of the list).
func (n *nominator) podsForNode(node string) []*framework.PodInfo {
	if n.count.Load() == 0 {
		return nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if l := n.byNode[node]; len(l) > 0 {
		return append([]*framework.PodInfo(nil), l...)
	}
	return nil
}
