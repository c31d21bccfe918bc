// Package noderesources implements NodeResourcesFit (Filter: the pod's
// requests must fit the node's allocatable minus what its pods request;
// Score: a scoring strategy) and NodeResourcesBalancedAllocation (Score:
// prefer nodes whose cpu and memory usage stay balanced).
package noderesources

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Names of the plugins.
const (
	FitName                = "NodeResourcesFit"
	BalancedAllocationName = "NodeResourcesBalancedAllocation"
)

// Scoring strategies (the seeds' worst fit, best fit and hybrid).
const (
	LeastAllocated           = "LeastAllocated"
	MostAllocated            = "MostAllocated"
	RequestedToCapacityRatio = "RequestedToCapacityRatio"
)

// ResourceSpec is a resource and its weight in scoring.
type ResourceSpec struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// UtilizationShapePoint is a point of the RequestedToCapacityRatio
// curve: utilization in percent (0-100) to score (0-10).
type UtilizationShapePoint struct {
	Utilization int32 `json:"utilization"`
	Score       int32 `json:"score"`
}

// ScoringStrategy is NodeResourcesFitArgs.scoringStrategy.
type ScoringStrategy struct {
	Type                     string         `json:"type,omitempty"`
	Resources                []ResourceSpec `json:"resources,omitempty"`
	RequestedToCapacityRatio *struct {
		Shape []UtilizationShapePoint `json:"shape,omitempty"`
	} `json:"requestedToCapacityRatio,omitempty"`
}

// FitArgs are NodeResourcesFitArgs.
type FitArgs struct {
	IgnoredResources      []string         `json:"ignoredResources,omitempty"`
	IgnoredResourceGroups []string         `json:"ignoredResourceGroups,omitempty"`
	ScoringStrategy       *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

// DefaultResources are cpu and memory with weight 1.
var defaultResources = []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}

const preFilterKey framework.StateKey = "PreFilter" + FitName

type preFilterState struct{ req *framework.Resource }

func (s *preFilterState) Clone() framework.StateData { return s }

// Fit is the NodeResourcesFit plugin.
type Fit struct {
	ignored      map[string]bool
	ignoredGroup map[string]bool
	scorer       *allocationScorer
}

// NewFit builds the plugin from FitArgs JSON.
func NewFit(args []byte, _ framework.Handle) (framework.Plugin, error) {
	var a FitArgs
	if len(args) > 0 {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, fmt.Errorf("decode NodeResourcesFitArgs: %w", err)
		}
	}
	st := ScoringStrategy{Type: LeastAllocated}
	if a.ScoringStrategy != nil {
		st = *a.ScoringStrategy
		if st.Type == "" {
			st.Type = LeastAllocated
		}
	}
	res := st.Resources
	if len(res) == 0 {
		res = defaultResources
	}
	for i := range res {
		if res[i].Weight == 0 {
			res = append([]ResourceSpec(nil), res...)
			res[i].Weight = 1
		}
	}
	f := &Fit{ignored: map[string]bool{}, ignoredGroup: map[string]bool{}}
	for _, r := range a.IgnoredResources {
		f.ignored[r] = true
	}
	for _, g := range a.IgnoredResourceGroups {
		f.ignoredGroup[g] = true
	}
	var fn func(requested, allocatable []int64) int64
	switch st.Type {
	case LeastAllocated:
		fn = func(r, a []int64) int64 { return weighted(res, r, a, leastRequestedScore) }
	case MostAllocated:
		fn = func(r, a []int64) int64 { return weighted(res, r, a, mostRequestedScore) }
	case RequestedToCapacityRatio:
		if st.RequestedToCapacityRatio == nil || len(st.RequestedToCapacityRatio.Shape) == 0 {
			return nil, fmt.Errorf("scoringStrategy %s needs requestedToCapacityRatio.shape", st.Type)
		}
		shape := st.RequestedToCapacityRatio.Shape
		for i, p := range shape {
			if p.Utilization < 0 || p.Utilization > 100 || p.Score < 0 || p.Score > 10 || (i > 0 && p.Utilization <= shape[i-1].Utilization) {
				return nil, fmt.Errorf("requestedToCapacityRatio.shape[%d] is not valid: utilization must increase within 0-100 and score be within 0-10", i)
			}
		}
		fn = ratioScorer(res, shape)
	default:
		return nil, fmt.Errorf("scoringStrategy type %q is not supported", st.Type)
	}
	f.scorer = &allocationScorer{resources: res, score: fn}
	return f, nil
}

// Name implements framework.Plugin.
func (*Fit) Name() string { return FitName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*Fit) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.KindAssignedPod, ActionType: framework.Delete | framework.Update},
		{Resource: framework.KindNode, ActionType: framework.Add | framework.Update},
	}
}

// PreFilter implements framework.PreFilterPlugin.
func (*Fit) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	state.Write(preFilterKey, &preFilterState{req: framework.PodRequests(pod, false)})
	return nil, nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*Fit) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// InsufficientResource is one resource a node lacks.
type InsufficientResource struct {
	ResourceName v1.ResourceName
	Reason       string
	Requested    int64
	Used         int64
	Capacity     int64
}

// Filter implements framework.FilterPlugin.
func (f *Fit) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	var req *framework.Resource
	if d, err := state.Read(preFilterKey); err == nil {
		req = d.(*preFilterState).req
	} else {
		req = framework.PodRequests(pod, false)
	}
	ins := f.Insufficient(req, ni)
	if len(ins) == 0 {
		return nil
	}
	reasons := make([]string, len(ins))
	for i, r := range ins {
		reasons[i] = r.Reason
	}
	return framework.NewStatus(framework.Unschedulable, reasons...)
}

// Insufficient lists what ni lacks for req, in upstream's order: pods,
// cpu, memory, ephemeral-storage, then extended resources.
func (f *Fit) Insufficient(req *framework.Resource, ni *framework.NodeInfo) []InsufficientResource {
	var out []InsufficientResource
	alloc := ni.Allocatable
	if int64(len(ni.Pods))+1 > alloc.AllowedPodNumber {
		out = append(out, InsufficientResource{ResourceName: v1.ResourcePods, Reason: "Too many pods", Requested: 1, Used: int64(len(ni.Pods)), Capacity: alloc.AllowedPodNumber})
	}
	if req.MilliCPU == 0 && req.Memory == 0 && req.EphemeralStorage == 0 && len(req.ScalarResources) == 0 {
		return out
	}
	check := func(name v1.ResourceName, want, capacity, used int64) {
		if want > 0 && want > capacity-used {
			out = append(out, InsufficientResource{ResourceName: name, Reason: "Insufficient " + string(name), Requested: want, Used: used, Capacity: capacity})
		}
	}
	check(v1.ResourceCPU, req.MilliCPU, alloc.MilliCPU, ni.Requested.MilliCPU)
	check(v1.ResourceMemory, req.Memory, alloc.Memory, ni.Requested.Memory)
	check(v1.ResourceEphemeralStorage, req.EphemeralStorage, alloc.EphemeralStorage, ni.Requested.EphemeralStorage)
	names := make([]string, 0, len(req.ScalarResources))
	for n := range req.ScalarResources {
		names = append(names, string(n))
	}
	slices.Sort(names)
	for _, n := range names {
		rn := v1.ResourceName(n)
		if f.ignored[n] {
			continue
		}
		if i := strings.IndexByte(n, '/'); i >= 0 && f.ignoredGroup[n[:i]] {
			continue
		}
		check(rn, req.ScalarResources[rn], alloc.ScalarResources[rn], ni.Requested.ScalarResources[rn])
	}
	return out
}

// Score implements framework.ScorePlugin.
func (f *Fit) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	return f.scorer.nodeScore(state, pod, ni, false), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (*Fit) ScoreExtensions() framework.ScoreExtensions { return nil }

// preScoreKey holds the pod's requests for scoring, computed once per
// cycle rather than once per node.
const preScoreKey framework.StateKey = "PreScoreNodeResources"

type podScoreRequests struct{ requested, nonZero *framework.Resource }

func (r *podScoreRequests) Clone() framework.StateData { return r }

// writeScoreRequests stores the pod's requests (actual and with the
// scoring defaults) in state for Score.
func writeScoreRequests(state *framework.CycleState, pod *v1.Pod) {
	state.Write(preScoreKey, &podScoreRequests{requested: framework.PodRequests(pod, false), nonZero: framework.PodRequests(pod, true)})
}

// scoreRequests returns what writeScoreRequests stored, or computes it.
func scoreRequests(state *framework.CycleState, pod *v1.Pod, nonZero bool) *framework.Resource {
	if d, err := state.Read(preScoreKey); err == nil {
		r := d.(*podScoreRequests)
		if nonZero {
			return r.nonZero
		}
		return r.requested
	}
	return framework.PodRequests(pod, nonZero)
}

// PreScore implements framework.PreScorePlugin.
func (*Fit) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	writeScoreRequests(state, pod)
	return nil
}

// allocationScorer scores a node from the requested and allocatable
// amounts of its resources, each including the incoming pod.
type allocationScorer struct {
	resources []ResourceSpec
	score     func(requested, allocatable []int64) int64
}

// nodeScore computes requested (node plus pod) and allocatable for each
// resource. useRequested uses the real requests; otherwise cpu and memory
// count the defaults for unset requests. Resources the node lacks (or
// extended resources the pod does not ask for) get allocatable 0 and are
// skipped by the scorers.
func (s *allocationScorer) nodeScore(state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo, useRequested bool) int64 {
	podReq := scoreRequests(state, pod, !useRequested)
	requested := make([]int64, len(s.resources))
	alloc := make([]int64, len(s.resources))
	nodeReq := ni.NonZeroRequested
	if useRequested {
		nodeReq = ni.Requested
	}
	for i, r := range s.resources {
		name := v1.ResourceName(r.Name)
		pr := podReq.Get(name)
		switch name {
		case v1.ResourceCPU, v1.ResourceMemory:
			alloc[i], requested[i] = ni.Allocatable.Get(name), nodeReq.Get(name)+pr
		default:
			if pr == 0 && framework.IsScalarResourceName(name) {
				continue
			}
			alloc[i], requested[i] = ni.Allocatable.Get(name), ni.Requested.Get(name)+pr
		}
	}
	return s.score(requested, alloc)
}

func weighted(res []ResourceSpec, requested, alloc []int64, f func(r, a int64) int64) int64 {
	var score, weights int64
	for i := range requested {
		if alloc[i] == 0 {
			continue
		}
		score += f(requested[i], alloc[i]) * res[i].Weight
		weights += res[i].Weight
	}
	if weights == 0 {
		return 0
	}
	return score / weights
}

// leastRequestedScore favours free capacity: (capacity-requested)/capacity.
func leastRequestedScore(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}

// mostRequestedScore favours used capacity: requested/capacity, capped.
func mostRequestedScore(requested, capacity int64) int64 {
	if capacity == 0 {
		return 0
	}
	requested = min(requested, capacity)
	return requested * framework.MaxNodeScore / capacity
}

// maxCustomPriorityScore is the top score of a shape point.
const maxCustomPriorityScore = 10

func ratioScorer(res []ResourceSpec, shape []UtilizationShapePoint) func(r, a []int64) int64 {
	scaled := make([]UtilizationShapePoint, len(shape))
	for i, p := range shape {
		scaled[i] = UtilizationShapePoint{Utilization: p.Utilization, Score: p.Score * int32(framework.MaxNodeScore/maxCustomPriorityScore)}
	}
	curve := func(p int64) int64 {
		for i, pt := range scaled {
			if p <= int64(pt.Utilization) {
				if i == 0 {
					return int64(scaled[0].Score)
				}
				prev := scaled[i-1]
				return int64(prev.Score) + (int64(pt.Score)-int64(prev.Score))*(p-int64(prev.Utilization))/(int64(pt.Utilization)-int64(prev.Utilization))
			}
		}
		return int64(scaled[len(scaled)-1].Score)
	}
	return func(requested, alloc []int64) int64 {
		var score, weights int64
		for i := range requested {
			if alloc[i] == 0 {
				continue
			}
			var s int64
			if requested[i] > alloc[i] {
				s = curve(100)
			} else {
				s = curve(requested[i] * 100 / alloc[i])
			}
			score += s * res[i].Weight
			weights += res[i].Weight
		}
		if weights == 0 {
			return 0
		}
		return int64(math.Round(float64(score) / float64(weights)))
	}
}

// NodeLocalScore implements framework.NodeLocalScorer: the raw score
// reads only the pod and the scored node, so it may be cached.
func (*Fit) NodeLocalScore() {}
