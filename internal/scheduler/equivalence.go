package scheduler

import (
	"encoding/json"
	"hash/fnv"
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// maxEquivalenceClasses bounds the classes kept; past it the cache
// starts over (a workload rarely has that many distinct pod shapes).
const maxEquivalenceClasses = 1024

// classFields are the parts of a pod that decide its filter results and
// its node-local scores; pods with equal classFields are equivalent
// (Borg's equivalence classes). Pods whose filtering depends on other
// nodes or on objects outside the node (pod affinity, hard topology
// spread, volumes) are never put in a class.
type classFields struct {
	SchedulerName string
	Priority      *int32
	NodeName      string
	NodeSelector  map[string]string
	NodeAffinity  *v1.NodeAffinity
	Tolerations   []v1.Toleration
	Containers    []classContainer
	Init          []classContainer
	Overhead      v1.ResourceList
	Resources     *v1.ResourceRequirements
}

type classContainer struct {
	Requests      v1.ResourceList
	Limits        v1.ResourceList
	Ports         []v1.ContainerPort
	RestartPolicy *v1.ContainerRestartPolicy
}

// equivalenceClass returns the pod's class key, or false when the pod
// cannot share filter results with others.
func equivalenceClass(pod *v1.Pod) (uint64, bool) {
	spec := &pod.Spec
	if a := spec.Affinity; a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil) {
		return 0, false
	}
	for _, c := range spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable == v1.DoNotSchedule {
			return 0, false
		}
	}
	for _, vol := range spec.Volumes {
		if vol.PersistentVolumeClaim != nil || vol.Ephemeral != nil {
			return 0, false
		}
	}
	f := classFields{SchedulerName: orDefault(spec.SchedulerName), Priority: spec.Priority, NodeName: spec.NodeName,
		NodeSelector: spec.NodeSelector, Tolerations: spec.Tolerations, Overhead: spec.Overhead, Resources: spec.Resources}
	if spec.Affinity != nil {
		f.NodeAffinity = spec.Affinity.NodeAffinity
	}
	for _, c := range spec.Containers {
		f.Containers = append(f.Containers, classContainer{Requests: c.Resources.Requests, Limits: c.Resources.Limits, Ports: c.Ports})
	}
	for _, c := range spec.InitContainers {
		f.Init = append(f.Init, classContainer{Requests: c.Resources.Requests, Limits: c.Resources.Limits, Ports: c.Ports, RestartPolicy: c.RestartPolicy})
	}
	data, err := json.Marshal(&f)
	if err != nil {
		return 0, false
	}
	h := fnv.New64a()
	_, _ = h.Write(data) // a hash.Hash never fails to write
	return h.Sum64(), true
}

// equivalenceCache holds, per class, each node's last filter status and
// node-local raw scores together with the node's generation; an entry is
// valid only while the node's generation (which changes with its
// labels, taints, allocatable and every pod added, assumed or removed)
// is the same. It is safe for concurrent use.
type equivalenceCache struct {
	mu      sync.Mutex
	classes map[uint64]*classCache
}

func newEquivalenceCache() *equivalenceCache {
	return &equivalenceCache{classes: map[uint64]*classCache{}}
}

// class returns the cache of one class.
func (e *equivalenceCache) class(key uint64) *classCache {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.classes[key]
	if c == nil {
		if len(e.classes) >= maxEquivalenceClasses {
			e.classes = map[uint64]*classCache{}
		}
		c = &classCache{filter: map[string]filterEntry{}, scores: map[string]scoreEntry{}}
		e.classes[key] = c
	}
	return c
}

type filterEntry struct {
	generation int64
	status     *framework.Status
}

type scoreEntry struct {
	generation int64
	set        uint64
	scores     []int64
}

// classCache is one class's filter results and scores by node.
type classCache struct {
	mu     sync.RWMutex
	filter map[string]filterEntry
	scores map[string]scoreEntry
}

// filterStatus returns the cached filter status of the node, if valid.
func (c *classCache) filterStatus(ni *framework.NodeInfo) (*framework.Status, bool) {
	c.mu.RLock()
	e, ok := c.filter[ni.Node().Name]
	c.mu.RUnlock()
	if !ok || e.generation != ni.Generation {
		return nil, false
	}
	return e.status, true
}

func (c *classCache) putFilter(ni *framework.NodeInfo, st *framework.Status) {
	c.mu.Lock()
	c.filter[ni.Node().Name] = filterEntry{generation: ni.Generation, status: st}
	c.mu.Unlock()
}

// classScores adapts a classCache to framework.ScoreCache.
type classScores struct{ c *classCache }

// Get implements framework.ScoreCache.
func (s classScores) Get(ni *framework.NodeInfo, set uint64) ([]int64, bool) {
	s.c.mu.RLock()
	e, ok := s.c.scores[ni.Node().Name]
	s.c.mu.RUnlock()
	if !ok || e.generation != ni.Generation || e.set != set {
		return nil, false
	}
	return e.scores, true
}

// Put implements framework.ScoreCache.
func (s classScores) Put(ni *framework.NodeInfo, set uint64, scores []int64) {
	s.c.mu.Lock()
	s.c.scores[ni.Node().Name] = scoreEntry{generation: ni.Generation, set: set, scores: scores}
	s.c.mu.Unlock()
}
