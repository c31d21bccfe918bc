package scheduler

import (
	"encoding/binary"
	"slices"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// maxEquivalenceClasses bounds the classes kept; past it the cache
// starts over (a workload rarely has that many distinct pod shapes).
const maxEquivalenceClasses = 1024

// equivalenceClass returns the pod's class key, or false when the pod
// cannot share filter results with others. The key is an exact encoding
// (not a hash) of the parts of the pod that decide its filter results
// and its node-local scores, so that pods with different scheduling
// constraints never share a class (Borg's equivalence classes): the
// schedulerName, priority, nodeName, node selector and affinity,
// tolerations, overhead, pod-level resources, and each container's
// requests, limits and ports (and init containers' restart policy).
// Pods whose filtering depends on other nodes or on objects outside the
// node (pod affinity, hard topology spread, volumes) have no class.
func equivalenceClass(pod *v1.Pod) (string, bool) {
	spec := &pod.Spec
	if a := spec.Affinity; a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil) {
		return "", false
	}
	for _, c := range spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable == v1.DoNotSchedule {
			return "", false
		}
	}
	for _, vol := range spec.Volumes {
		if vol.PersistentVolumeClaim != nil || vol.Ephemeral != nil {
			return "", false
		}
	}
	var k classKey
	k.b = make([]byte, 0, 128)
	k.str(orDefault(spec.SchedulerName))
	k.int32p(spec.Priority)
	k.str(spec.NodeName)
	k.strMap(spec.NodeSelector)
	var na *v1.NodeAffinity
	if spec.Affinity != nil {
		na = spec.Affinity.NodeAffinity
	}
	k.nodeAffinity(na)
	k.n(len(spec.Tolerations))
	for i := range spec.Tolerations {
		t := &spec.Tolerations[i]
		k.str(t.Key)
		k.str(string(t.Operator))
		k.str(t.Value)
		k.str(string(t.Effect))
		if k.present(t.TolerationSeconds != nil) {
			k.n(int(*t.TolerationSeconds))
		}
	}
	k.containers(spec.Containers, false)
	k.containers(spec.InitContainers, true)
	k.resources(spec.Overhead)
	if k.present(spec.Resources != nil) {
		k.resources(spec.Resources.Requests)
		k.resources(spec.Resources.Limits)
	}
	return string(k.b), true
}

// classKey builds a class key. Every variable-length part is preceded
// by its length and every optional part by a presence flag, so that the
// encoding is prefix-free: two different pods cannot encode alike.
type classKey struct{ b []byte }

func (k *classKey) n(x int) { k.b = binary.AppendVarint(k.b, int64(x)) }

func (k *classKey) str(s string) {
	k.n(len(s))
	k.b = append(k.b, s...)
}

func (k *classKey) present(ok bool) bool {
	if ok {
		k.b = append(k.b, 1)
	} else {
		k.b = append(k.b, 0)
	}
	return ok
}

func (k *classKey) int32p(p *int32) {
	if k.present(p != nil) {
		k.n(int(*p))
	}
}

func (k *classKey) strs(l []string) {
	k.n(len(l))
	for _, s := range l {
		k.str(s)
	}
}

// strMap encodes m in key order.
func (k *classKey) strMap(m map[string]string) {
	k.n(len(m))
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		k.str(key)
		k.str(m[key])
	}
}

// resources encodes l in name order, each quantity by its canonical
// value (mantissa and exponent), so that equal amounts written
// differently ("1" and "1000m") share a class.
func (k *classKey) resources(l v1.ResourceList) {
	k.n(len(l))
	if len(l) == 0 {
		return
	}
	var buf [4]v1.ResourceName
	names := buf[:0]
	for name := range l {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		k.str(string(name))
		k.quantity(l[name])
	}
}

func (k *classKey) quantity(q resource.Quantity) {
	var buf [32]byte
	m, exp := q.AsCanonicalBytes(buf[:0])
	k.n(len(m))
	k.b = append(k.b, m...)
	k.n(int(exp))
}

func (k *classKey) nodeAffinity(a *v1.NodeAffinity) {
	if !k.present(a != nil) {
		return
	}
	if k.present(a.RequiredDuringSchedulingIgnoredDuringExecution != nil) {
		terms := a.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		k.n(len(terms))
		for i := range terms {
			k.term(&terms[i])
		}
	}
	pref := a.PreferredDuringSchedulingIgnoredDuringExecution
	k.n(len(pref))
	for i := range pref {
		k.n(int(pref[i].Weight))
		k.term(&pref[i].Preference)
	}
}

func (k *classKey) term(t *v1.NodeSelectorTerm) {
	for _, reqs := range [][]v1.NodeSelectorRequirement{t.MatchExpressions, t.MatchFields} {
		k.n(len(reqs))
		for i := range reqs {
			k.str(reqs[i].Key)
			k.str(string(reqs[i].Operator))
			k.strs(reqs[i].Values)
		}
	}
}

func (k *classKey) containers(cs []v1.Container, init bool) {
	k.n(len(cs))
	for i := range cs {
		c := &cs[i]
		k.resources(c.Resources.Requests)
		k.resources(c.Resources.Limits)
		k.n(len(c.Ports))
		for j := range c.Ports {
			p := &c.Ports[j]
			k.str(p.Name)
			k.n(int(p.HostPort))
			k.n(int(p.ContainerPort))
			k.str(string(p.Protocol))
			k.str(p.HostIP)
		}
		if init && k.present(c.RestartPolicy != nil) {
			k.str(string(*c.RestartPolicy))
		}
	}
}

// equivalenceCache holds, per class, each node's last filter status and
// node-local raw scores together with the node's generation; an entry is
// valid only while the node's generation (which changes with its
// labels, taints, allocatable and every pod added, assumed or removed)
// is the same. Entries are kept in slices indexed by the nodes'
// NodeInfo.Slot.
type equivalenceCache struct {
	mu      sync.Mutex
	classes map[string]*classCache
}

func newEquivalenceCache() *equivalenceCache {
	return &equivalenceCache{classes: map[string]*classCache{}}
}

// class returns the cache of one class, with room for slots below
// slots. It is called by the scheduling goroutine between parallel
// sections (see classCache).
func (e *equivalenceCache) class(key string, slots int32) *classCache {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.classes[key]
	if c == nil {
		if len(e.classes) >= maxEquivalenceClasses {
			e.classes = map[string]*classCache{}
		}
		c = &classCache{}
		e.classes[key] = c
	}
	if n := int(slots); len(c.filter) < n {
		c.filter = append(c.filter, make([]filterEntry, n-len(c.filter))...)
		c.scores = append(c.scores, make([]scoreEntry, n-len(c.scores))...)
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

// classCache is one class's filter results and scores by node slot.
// It takes no lock: a cycle's parallel workers each handle different
// nodes, hence different slots, and the slices only grow in class(),
// before the workers start. Slot 0 (a NodeInfo made outside the cache)
// and slots past the slices are never cached.
type classCache struct {
	filter []filterEntry
	scores []scoreEntry
}

// filterStatus returns the cached filter status of the node, if valid.
func (c *classCache) filterStatus(ni *framework.NodeInfo) (*framework.Status, bool) {
	s := int(ni.Slot)
	if s <= 0 || s >= len(c.filter) {
		return nil, false
	}
	e := &c.filter[s]
	if e.generation != ni.Generation {
		return nil, false
	}
	return e.status, true
}

func (c *classCache) putFilter(ni *framework.NodeInfo, st *framework.Status) {
	if s := int(ni.Slot); s > 0 && s < len(c.filter) {
		c.filter[s] = filterEntry{generation: ni.Generation, status: st}
	}
}

// classScores adapts a classCache to framework.ScoreCache.
type classScores struct{ c *classCache }

// Get implements framework.ScoreCache.
func (s classScores) Get(ni *framework.NodeInfo, set uint64) ([]int64, bool) {
	i := int(ni.Slot)
	if i <= 0 || i >= len(s.c.scores) {
		return nil, false
	}
	e := &s.c.scores[i]
	if e.generation != ni.Generation || e.set != set {
		return nil, false
	}
	return e.scores, true
}

// Put implements framework.ScoreCache.
func (s classScores) Put(ni *framework.NodeInfo, set uint64, scores []int64) {
	if i := int(ni.Slot); i > 0 && i < len(s.c.scores) {
		s.c.scores[i] = scoreEntry{generation: ni.Generation, set: set, scores: scores}
	}
}
