package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
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
	feasible, diag, err := s.findNodesThatFitPod(ctx, fw, state, pod, nodes)
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
		if key, ok := equivalenceClass(pod); ok {
			state.ScoreCache = classScores{s.equivalence.class(key)}
		}
	}
	scores, err := prioritizeNodes(ctx, fw, state, pod, feasible)
	if err != nil {
		return scheduleResult{}, err
	}
	return scheduleResult{host: selectHost(scores, s.rand), evaluated: evaluated, feasible: len(feasible)}, nil
}

func (s *Scheduler) findNodesThatFitPod(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *v1.Pod, all []*framework.NodeInfo) ([]*framework.NodeInfo, Diagnosis, error) {
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
	feasible, err := s.findNodesThatPassFilters(ctx, fw, state, pod, &diag, nodes)
	return feasible, diag, err
}

// filterClass returns the equivalence-class cache of pod's filter
// results, or nil when equivalence classes are off or the pod's filter
// results may depend on more than the node: its own pod (anti-)affinity,
// hard spread constraints or volumes (see equivalenceClass), or pods in
// the cluster with required anti-affinity (which may reject it from
// other nodes of their domain).
func (s *Scheduler) filterClass(fw *framework.Framework, pod *v1.Pod) *classCache {
	if !s.techniques.EquivalenceClasses || len(s.snapshot.HavePodsWithRequiredAntiAffinityList()) > 0 || hardDefaultSpread(fw) {
		return nil
	}
	key, ok := equivalenceClass(pod)
	if !ok {
		return nil
	}
	return s.equivalence.class(key)
}

// hardDefaultSpread reports whether the profile gives pods default
// topology spread constraints that filter (DoNotSchedule): then even a
// pod without constraints of its own is filtered against other nodes.
func hardDefaultSpread(fw *framework.Framework) bool {
	return strings.Contains(string(fw.Profile().PluginArgs["PodTopologySpread"]), string(v1.DoNotSchedule))
}

// findNodesThatPassFilters filters nodes in parallel, starting where the
// previous cycle stopped, until enough feasible nodes are found (all
// nodes from the first when relaxed randomization is off). With
// equivalence classes, a node whose generation has not changed since a
// pod of the same class was filtered against it gets that result again.
func (s *Scheduler) findNodesThatPassFilters(ctx context.Context, fw *framework.Framework, state *framework.CycleState, pod *v1.Pod, diag *Diagnosis, nodes []*framework.NodeInfo) ([]*framework.NodeInfo, error) {
	n := len(nodes)
	if n == 0 {
		return nil, nil
	}
	pct := s.percentageOfNodesToScore
	if p := fw.Profile().PercentageOfNodesToScore; p != nil {
		pct = *p
	}
	want := numFeasibleNodesToFind(pct, int32(n))
	start := s.nextStartNodeIndex
	if !s.techniques.RelaxedRandomization {
		want, start = int32(n), 0
	}
	cls := s.filterClass(fw, pod)
	if !fw.HasFilterPlugins() {
		out := make([]*framework.NodeInfo, want)
		for i := range out {
			out[i] = nodes[(start+i)%n]
		}
		s.nextStartNodeIndex = (start + int(want)) % n
		return out, nil
	}
	feasible := make([]*framework.NodeInfo, want)
	var (
		found     atomic.Int32
		processed atomic.Int32
		mu        sync.Mutex
		errStatus *framework.Status
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	check := func(i int) {
		ni := nodes[(start+i)%n]
		var st *framework.Status
		cached := false
		// Nominated pods make a node's result depend on the pod's
		// priority and the nominations: not cached.
		useClass := cls != nil && len(fw.NominatedPodsForNode(ni.Node().Name)) == 0
		if useClass {
			st, cached = cls.filterStatus(ni)
		}
		if !cached {
			st = fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni)
			if useClass && (st.IsSuccess() || st.IsRejected()) && ctx.Err() == nil {
				cls.putFilter(ni, st)
			}
		}
		if st.IsSuccess() {
			k := found.Add(1)
			if k > want {
				cancel()
				found.Add(-1)
				return
			}
			feasible[k-1] = ni
			processed.Add(1)
			return
		}
		processed.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if !st.IsRejected() {
			errStatus = st
			cancel()
			return
		}
		diag.NodeToStatus[ni.Node().Name] = st
		diag.UnschedulablePlugins.Insert(st.Plugin())
	}
	fw.Parallelize(ctx, n, check)
	if errStatus != nil {
		return nil, errStatus.AsError()
	}
	s.nextStartNodeIndex = (start + int(processed.Load())) % n
	return feasible[:found.Load()], nil
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
