package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Bounds of the adaptive number of feasible nodes a cycle looks for.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// Diagnosis explains why no node fits a pod: each node's status, the
// plugins that rejected it, and the PreFilter and PostFilter messages.
type Diagnosis struct {
	NodeToStatus         framework.NodeToStatus
	UnschedulablePlugins sets.Set[string]
	PreFilterMsg         string
	PostFilterMsg        string
}

// FitError is returned when no node fits a pod; its message has
// upstream's shape.
type FitError struct {
	Pod         *v1.Pod
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error renders "0/N nodes are available: <histogram>." followed by the
// PostFilter (preemption) message and a period.
func (f *FitError) Error() string {
	msg := fmt.Sprintf("0/%d nodes are available:", f.NumAllNodes)
	if f.Diagnosis.PreFilterMsg != "" {
		msg += " " + f.Diagnosis.PreFilterMsg + "."
	} else {
		counts := map[string]int{}
		for _, s := range f.Diagnosis.NodeToStatus {
			for _, r := range s.Reasons() {
				counts[r]++
			}
		}
		parts := make([]string, 0, len(counts))
		for r, n := range counts {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
		sort.Strings(parts)
		msg += " " + strings.Join(parts, ", ") + "."
	}
	if f.Diagnosis.PostFilterMsg != "" {
		msg += " " + f.Diagnosis.PostFilterMsg + "."
	}
	return msg
}

// errNoNodesAvailable is upstream's error when the cluster has no nodes.
var errNoNodesAvailable = fmt.Errorf("no nodes available to schedule pods")

// scheduleResult is the outcome of a successful scheduling cycle.
type scheduleResult struct {
	host      string
	evaluated int
	feasible  int
}

// numFeasibleNodesToFind is upstream's adaptive bound: every node below
// 100 nodes; else percentage (or 50% minus 1% per 125 nodes, at least
// 5%) of them, but at least 100.
func numFeasibleNodesToFind(percentage int32, all int32) int32 {
	if all < minFeasibleNodesToFind {
		return all
	}
	if percentage == 0 {
		percentage = int32(50) - all/125
		if percentage < minFeasibleNodesPercentageToFind {
			percentage = minFeasibleNodesPercentageToFind
		}
	}
	n := all * percentage / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// schedulePod runs filters and scores over the snapshot and picks a node.
func (s *Scheduler) schedulePod(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *v1.Pod) (scheduleResult, error) {
	nodes := s.snapshot.List()
	if len(nodes) == 0 {
		return scheduleResult{}, errNoNodesAvailable
	}
	c := podClass{s: s, pod: pod}
	feasible, diag, err := s.findNodesThatFitPod(ctx, fw, state, pod, nodes, &c)
	if err != nil {
		return scheduleResult{}, err
	}
	if len(feasible) == 0 {
		return scheduleResult{}, &FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: diag}
	}
	evaluated := len(feasible) + len(diag.NodeToStatus)
	if len(feasible) == 1 {
		return scheduleResult{host: feasible[0].Node().Name, evaluated: evaluated, feasible: 1}, nil
	}
	if s.techniques.ScoreCaching {
		if cls := c.get(); cls != nil {
			state.ScoreCache = classScores{cls}
		}
	}
	scores, err := prioritizeNodes(ctx, fw, state, pod, feasible)
	if err != nil {
		return scheduleResult{}, err
	}
	return scheduleResult{host: selectHost(scores, s.rand), evaluated: evaluated, feasible: len(feasible)}, nil
}

// podClass finds a pod's equivalence-class cache once per cycle, when
// filtering or scoring first asks for it.
type podClass struct {
	s    *Scheduler
	pod  *v1.Pod
	done bool
	cls  *classCache
}

// get returns the pod's class cache, nil when the pod has no class.
func (c *podClass) get() *classCache {
	if !c.done {
		c.done = true
		if key, ok := equivalenceClass(c.pod); ok {
			c.cls = c.s.equivalence.class(key, c.s.snapshot.Slots)
		}
	}
	return c.cls
}

func (s *Scheduler) findNodesThatFitPod(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *v1.Pod, all []*framework.NodeInfo, c *podClass) ([]*framework.NodeInfo, Diagnosis, error) {
	diag := Diagnosis{NodeToStatus: framework.NodeToStatus{}, UnschedulablePlugins: sets.New[string]()}
	res, st, plugins := fw.RunPreFilterPlugins(ctx, state, pod, all)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return nil, diag, st.AsError()
		}
		for _, ni := range all {
			diag.NodeToStatus[ni.Node().Name] = st
		}
		diag.PreFilterMsg = st.Message()
		diag.UnschedulablePlugins = plugins
		return nil, diag, nil
	}
	nodes := all
	if res != nil && res.NodeNames != nil {
		absent := framework.NewStatus(framework.UnschedulableAndUnresolvable,
			fmt.Sprintf("node(s) didn't satisfy plugin(s) %v", sets.List(plugins)))
		nodes = make([]*framework.NodeInfo, 0, res.NodeNames.Len())
		for _, ni := range all {
			if res.NodeNames.Has(ni.Node().Name) {
				nodes = append(nodes, ni)
			} else {
				diag.NodeToStatus[ni.Node().Name] = absent
			}
		}
		diag.UnschedulablePlugins.Insert(sets.List(plugins)...)
	}
	// The node a preemption nominated is likely the only one that fits:
	// try it first.
	if nom := pod.Status.NominatedNodeName; nom != "" && (res == nil || res.NodeNames == nil || res.NodeNames.Has(nom)) {
		if ni, err := s.snapshot.Get(nom); err == nil && fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
			return []*framework.NodeInfo{ni}, diag, nil
		}
	}
	var cls *classCache
	if s.filterCacheable(fw) {
		cls = c.get()
	}
	feasible, err := s.findNodesThatPassFilters(ctx, fw, state, pod, &diag, nodes, cls)
	return feasible, diag, err
}

// filterCacheable reports whether equivalence classes may be used for
// filtering: they are on, and filter results may not depend on more
// than the pod and the node because of pods in the cluster with
// required anti-affinity (which may reject a pod from other nodes of
// their domain) or of the profile's default hard spread constraints.
// The pod's own constraints are equivalenceClass's to judge.
func (s *Scheduler) filterCacheable(fw *framework.Framework) bool {
	return s.techniques.EquivalenceClasses && len(s.snapshot.HavePodsWithRequiredAntiAffinityList()) == 0 && !s.hardSpread[fw]
}

// hardDefaultSpread reports whether the profile gives pods default
// topology spread constraints that filter (DoNotSchedule): then even a
// pod without constraints of its own is filtered against other nodes.
func hardDefaultSpread(fw *framework.Framework) bool {
	return strings.Contains(string(fw.Profile().PluginArgs["PodTopologySpread"]), string(v1.DoNotSchedule))
}

// filterChunk is how many nodes a filtering worker takes at a time: it
// publishes its count of feasible nodes once per chunk, and the work
// past the last feasible node needed is at most a chunk per worker.
const filterChunk = 16

// findNodesThatPassFilters filters nodes, starting where the previous
// cycle stopped, until enough feasible nodes are found (all nodes from
// the first when relaxed randomization is off). With equivalence
// classes (cls), a node whose generation has not changed since a pod of
// the same class was filtered against it gets that result again.
//
// Workers filter chunks of nodes in order and stop once the chunks done
// hold one feasible node more than wanted; the results are then read in
// order, so that the outcome is what filtering one node after the other
// until that extra feasible node gives, however many workers ran: the
// first wanted feasible nodes, and the infeasible ones before the extra
// one in the diagnosis and counted as processed.
func (s *Scheduler) findNodesThatPassFilters(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *v1.Pod, diag *Diagnosis, nodes []*framework.NodeInfo, cls *classCache) ([]*framework.NodeInfo, error) {
	n := len(nodes)
	if n == 0 {
		return nil, nil
	}
	pct := s.percentageOfNodesToScore
	if p := fw.Profile().PercentageOfNodesToScore; p != nil {
		pct = *p
	}
	want := int(numFeasibleNodesToFind(pct, int32(n)))
	start := s.nextStartNodeIndex
	if !s.techniques.RelaxedRandomization {
		want, start = n, 0
	}
	if !fw.HasFilterPlugins() {
		out := make([]*framework.NodeInfo, want)
		for i := range out {
			out[i] = nodes[(start+i)%n]
		}
		s.nextStartNodeIndex = (start + want) % n
		return out, nil
	}
	if cap(s.filterStatuses) < n {
		s.filterStatuses = make([]*framework.Status, n)
	}
	statuses := s.filterStatuses[:n]
	// Nominated pods make a node's result depend on the pod's priority
	// and the nominations: such nodes are not cached. Without any
	// nomination (the common case) no node needs looking up.
	nominations := s.nominator.count.Load() > 0
	var found atomic.Int32
	filter := func(lo, hi int) bool {
		k := int32(0)
		for i := lo; i < hi; i++ {
			ni := nodes[(start+i)%n]
			var st *framework.Status
			useClass, cached := cls != nil, false
			if nominations && useClass {
				useClass = len(fw.NominatedPodsForNode(ni.Node().Name)) == 0
			}
			if useClass {
				st, cached = cls.filterStatus(ni)
			}
			if !cached {
				if nominations {
					st = fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni)
				} else {
					st = fw.RunFilterPlugins(ctx, state, pod, ni)
				}
				if useClass && (st.IsSuccess() || st.IsRejected()) && ctx.Err() == nil {
					cls.putFilter(ni, st)
				}
			}
			statuses[i] = st
			switch {
			case st.IsSuccess():
				k++
			case !st.IsRejected():
				return false
			}
		}
		return int(found.Add(k)) <= want
	}
	done := framework.ParallelizeChunks(ctx, fw.Parallelism(), n, filterChunk, filter)
	feasible := make([]*framework.NodeInfo, 0, min(want, done))
	processed := done
	var errStatus *framework.Status
	for i, st := range statuses[:done] {
		if st.IsSuccess() {
			if len(feasible) == want {
				processed = i
				break
			}
			feasible = append(feasible, nodes[(start+i)%n])
			continue
		}
		if !st.IsRejected() {
			errStatus = st
			break
		}
		diag.NodeToStatus[nodes[(start+i)%n].Node().Name] = st
		diag.UnschedulablePlugins.Insert(st.Plugin())
	}
	clear(statuses[:done])
	if errStatus != nil {
		return nil, errStatus.AsError()
	}
	s.nextStartNodeIndex = (start + processed) % n
	return feasible, nil
}

func prioritizeNodes(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) ([]framework.NodePluginScores, error) {
	if !fw.HasScorePlugins() {
		out := make([]framework.NodePluginScores, len(nodes))
		for i, ni := range nodes {
			out[i] = framework.NodePluginScores{Name: ni.Node().Name, TotalScore: 1}
		}
		return out, nil
	}
	if st := fw.RunPreScorePlugins(ctx, state, pod, nodes); !st.IsSuccess() {
		return nil, st.AsError()
	}
	scores, st := fw.RunScorePlugins(ctx, state, pod, nodes)
	if !st.IsSuccess() {
		return nil, st.AsError()
	}
	return scores, nil
}

// selectHost returns a node with the highest total score, choosing
// uniformly among ties (reservoir sampling).
func selectHost(scores []framework.NodePluginScores, r *rand.Rand) string {
	best, ties := "", 0
	var top int64
	for _, s := range scores {
		switch {
		case ties == 0 || s.TotalScore > top:
			best, top, ties = s.Name, s.TotalScore, 1
		case s.TotalScore == top:
			ties++
			if r.IntN(ties) == 0 {
				best = s.Name
			}
		}
	}
	return best
}
