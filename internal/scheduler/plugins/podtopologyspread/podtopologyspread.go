// Package podtopologyspread implements PodTopologySpread: pods matching a
// constraint's selector are kept within maxSkew of each other across the
// domains of its topologyKey. DoNotSchedule constraints filter (with
// minDomains, nodeAffinityPolicy and nodeTaintsPolicy); ScheduleAnyway
// constraints, and the default constraints for pods without any, score.
package podtopologyspread

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "PodTopologySpread"

// Rejection reasons.
const (
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ErrReasonNodeLabelNotMatch   = ErrReasonConstraintsNotMatch + " (missing required label)"
)

// Defaulting types of Args.
const (
	SystemDefaulting = "System"
	ListDefaulting   = "List"
)

// SystemDefaultConstraints apply to pods without constraints of their own
// under System defaulting.
var SystemDefaultConstraints = []v1.TopologySpreadConstraint{
	{TopologyKey: v1.LabelHostname, WhenUnsatisfiable: v1.ScheduleAnyway, MaxSkew: 3},
	{TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.ScheduleAnyway, MaxSkew: 5},
}

// Args are PodTopologySpreadArgs.
type Args struct {
	DefaultConstraints []v1.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
	DefaultingType     string                        `json:"defaultingType,omitempty"`
}

type constraint struct {
	maxSkew            int32
	topologyKey        string
	selector           labels.Selector
	minDomains         int32
	honorNodeAffinity  bool
	honorNodeTaints    bool
	selfMatch          bool
	requiredAffinity   framework.RequiredNodeAffinity
	tolerations        []v1.Toleration
	whenUnsatisfiable  v1.UnsatisfiableConstraintAction
	fromPodConstraints bool
}

// eligible reports whether node counts for c under its inclusion
// policies.
func (c *constraint) eligible(node *v1.Node) bool {
	if c.honorNodeAffinity && !c.requiredAffinity.Match(node) {
		return false
	}
	if c.honorNodeTaints {
		if _, bad := framework.FindMatchingUntoleratedTaint(node.Spec.Taints, c.tolerations, framework.DoNotScheduleTaints); bad {
			return false
		}
	}
	return true
}

// Plugin is the PodTopologySpread plugin.
type Plugin struct {
	h        framework.Handle
	defaults []v1.TopologySpreadConstraint
	system   bool
}

// New builds the plugin.
func New(args []byte, h framework.Handle) (framework.Plugin, error) {
	a := Args{DefaultingType: SystemDefaulting}
	if len(args) > 0 {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, fmt.Errorf("decode PodTopologySpreadArgs: %w", err)
		}
	}
	p := &Plugin{h: h}
	switch a.DefaultingType {
	case "", SystemDefaulting:
		if len(a.DefaultConstraints) > 0 {
			return nil, fmt.Errorf("defaultConstraints must be empty with defaultingType %s", SystemDefaulting)
		}
		p.defaults, p.system = SystemDefaultConstraints, true
	case ListDefaulting:
		for _, c := range a.DefaultConstraints {
			if c.LabelSelector != nil {
				return nil, fmt.Errorf("defaultConstraints must not have a labelSelector")
			}
		}
		p.defaults = a.DefaultConstraints
	default:
		return nil, fmt.Errorf("defaultingType %q is not supported", a.DefaultingType)
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*Plugin) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.KindAssignedPod, ActionType: framework.All},
		{Resource: framework.KindNode, ActionType: framework.All},
	}
}

// constraints returns pod's constraints with action, or the default ones
// when the pod has none at all.
func (p *Plugin) constraints(pod *v1.Pod, action v1.UnsatisfiableConstraintAction) ([]*constraint, error) {
	src := pod.Spec.TopologySpreadConstraints
	fromPod := len(src) > 0
	var defSel labels.Selector
	if !fromPod {
		if len(p.defaults) == 0 {
			return nil, nil
		}
		defSel = p.h.DefaultSelector(pod)
		if defSel == nil || defSel.Empty() {
			return nil, nil
		}
		src = p.defaults
	}
	req := framework.GetRequiredNodeAffinity(pod)
	var out []*constraint
	for _, c := range src {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel := defSel
		if fromPod {
			ls := c.LabelSelector
			if ls != nil && len(c.MatchLabelKeys) > 0 {
				ls = ls.DeepCopy()
				for _, k := range c.MatchLabelKeys {
					if v, ok := pod.Labels[k]; ok {
						ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}})
					}
				}
			}
			s, err := metav1.LabelSelectorAsSelector(ls)
			if err != nil {
				return nil, err
			}
			sel = s
		}
		minDomains := int32(1)
		if c.MinDomains != nil {
			minDomains = *c.MinDomains
		}
		out = append(out, &constraint{
			maxSkew: c.MaxSkew, topologyKey: c.TopologyKey, selector: sel, minDomains: minDomains,
			honorNodeAffinity:  c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == v1.NodeInclusionPolicyHonor,
			honorNodeTaints:    c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == v1.NodeInclusionPolicyHonor,
			selfMatch:          sel.Matches(labels.Set(pod.Labels)),
			requiredAffinity:   req,
			tolerations:        pod.Spec.Tolerations,
			whenUnsatisfiable:  c.WhenUnsatisfiable,
			fromPodConstraints: fromPod,
		})
	}
	return out, nil
}

func hasAllKeys(node *v1.Node, cs []*constraint) bool {
	for _, c := range cs {
		if _, ok := node.Labels[c.topologyKey]; !ok {
			return false
		}
	}
	return true
}

// nodeIndependent reports whether every node with the constraints' keys
// is eligible whatever the pod: no constraint honours taints, and none
// honours a node affinity the pod has.
func nodeIndependent(cs []*constraint) bool {
	for _, c := range cs {
		if c.honorNodeTaints || c.honorNodeAffinity && !c.requiredAffinity.IsEmpty() {
			return false
		}
	}
	return true
}

// eachMatching calls fn with the node of every placed pod that c counts:
// in namespace ns, not being deleted, selected by c, on a node for which
// include reports true (asked once per node). It visits only the pods
// the snapshot's index gives for c's selector.
func eachMatching(lister framework.NodeInfoLister, c *constraint, ns string, include func(*v1.Node) bool, fn func(*v1.Node)) {
	included := map[*framework.NodeInfo]bool{}
	lister.EachPodCandidate(c.selector, func(pi *framework.PodInfo, ni *framework.NodeInfo) {
		if pi.Pod.DeletionTimestamp != nil || pi.Pod.Namespace != ns || !c.selector.Matches(labels.Set(pi.Pod.Labels)) {
			return
		}
		ok, seen := included[ni]
		if !seen {
			ok = include(ni.Node())
			included[ni] = ok
		}
		if ok {
			fn(ni.Node())
		}
	})
}

func countMatching(pods []*framework.PodInfo, sel labels.Selector, ns string) int64 {
	var n int64
	for _, pi := range pods {
		if pi.Pod.DeletionTimestamp != nil || pi.Pod.Namespace != ns {
			continue
		}
		if sel.Matches(labels.Set(pi.Pod.Labels)) {
			n++
		}
	}
	return n
}

const (
	preFilterKey framework.StateKey = "PreFilter" + Name
	preScoreKey  framework.StateKey = "PreScore" + Name
)

type preFilterState struct {
	constraints []*constraint
	// counts[i] maps the domains of constraint i to their matching pods.
	counts []map[string]int64
	// mins[i] is the smallest of counts[i] and atMin[i] the number of
	// domains that have it, kept up to date so that Filter does not scan
	// every domain (every node, for a hostname constraint) per node.
	mins  []int64
	atMin []int
}

func (s *preFilterState) Clone() framework.StateData {
	c := &preFilterState{constraints: s.constraints, counts: make([]map[string]int64, len(s.counts)),
		mins: slices.Clone(s.mins), atMin: slices.Clone(s.atMin)}
	for i, m := range s.counts {
		c.counts[i] = maps.Clone(m)
	}
	return c
}

// computeMin sets mins[i] and atMin[i] from counts[i].
func (s *preFilterState) computeMin(i int) {
	lo, n := int64(math.MaxInt64), 0
	for _, v := range s.counts[i] {
		switch {
		case v < lo:
			lo, n = v, 1
		case v == lo:
			n++
		}
	}
	s.mins[i], s.atMin[i] = lo, n
}

// add changes the count of domain v of constraint i by delta, keeping the
// minimum; it rescans the domains only when the last one at the minimum
// rises above it.
func (s *preFilterState) add(i int, v string, delta int64) {
	m := s.counts[i]
	old, existed := m[v]
	n := old + delta
	m[v] = n
	switch {
	case len(m) == 1 || n < s.mins[i]:
		s.mins[i], s.atMin[i] = n, 1
	case n == s.mins[i]:
		if !existed || old != n {
			s.atMin[i]++
		}
	case existed && old == s.mins[i]:
		if s.atMin[i]--; s.atMin[i] == 0 {
			s.computeMin(i)
		}
	}
}

// minMatch returns the smallest count among domains of constraint i, or
// 0 when there are fewer domains than minDomains (the global minimum is
// then taken as 0, as upstream).
func (s *preFilterState) minMatch(i int) int64 {
	if len(s.counts[i]) == 0 || int32(len(s.counts[i])) < s.constraints[i].minDomains {
		return 0
	}
	return s.mins[i]
}

// PreFilter implements framework.PreFilterPlugin.
func (p *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	cs, err := p.constraints(pod, v1.DoNotSchedule)
	if err != nil {
		return nil, framework.AsStatus(fmt.Errorf("obtaining pod's hard topology spread constraints: %w", err))
	}
	if len(cs) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{constraints: cs, counts: make([]map[string]int64, len(cs)), mins: make([]int64, len(cs)), atMin: make([]int, len(cs))}
	for i := range cs {
		s.counts[i] = map[string]int64{}
	}
	lister := p.h.SnapshotSharedLister()
	// Every eligible node brings its domain, with matching pods or not:
	// the domains decide the global minimum and minDomains. When no
	// inclusion policy depends on the pod, the snapshot knows them.
	if nodeIndependent(cs) {
		keys := make([]string, len(cs))
		for i, c := range cs {
			keys[i] = c.topologyKey
		}
		for i, vals := range lister.TopologyValues(keys) {
			for v := range vals {
				s.counts[i][v] = 0
			}
		}
	} else {
		for _, ni := range lister.List() {
			node := ni.Node()
			if !hasAllKeys(node, cs) {
				continue
			}
			for i, c := range cs {
				if c.eligible(node) {
					if v := node.Labels[c.topologyKey]; s.counts[i][v] == 0 {
						s.counts[i][v] = 0
					}
				}
			}
		}
	}
	for i, c := range cs {
		eachMatching(lister, c, pod.Namespace, func(node *v1.Node) bool {
			return hasAllKeys(node, cs) && c.eligible(node)
		}, func(node *v1.Node) {
			s.counts[i][node.Labels[c.topologyKey]]++
		})
		s.computeMin(i)
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (p *Plugin) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod implements framework.PreFilterExtensions.
func (p *Plugin) AddPod(_ context.Context, state *framework.CycleState, pod *v1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, pod, add, ni, 1)
}

// RemovePod implements framework.PreFilterExtensions.
func (p *Plugin) RemovePod(_ context.Context, state *framework.CycleState, pod *v1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, pod, rm, ni, -1)
}

func (p *Plugin) update(state *framework.CycleState, pod *v1.Pod, pi *framework.PodInfo, ni *framework.NodeInfo, delta int64) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("reading %q from cycleState: %w", preFilterKey, err))
	}
	s := d.(*preFilterState)
	node := ni.Node()
	if pi.Pod.Namespace != pod.Namespace || !hasAllKeys(node, s.constraints) {
		return nil
	}
	for i, c := range s.constraints {
		if c.eligible(node) && c.selector.Matches(labels.Set(pi.Pod.Labels)) {
			s.add(i, node.Labels[c.topologyKey], delta)
		}
	}
	return nil
}

// Filter implements framework.FilterPlugin.
func (p *Plugin) Filter(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("reading %q from cycleState: %w", preFilterKey, err))
	}
	s := d.(*preFilterState)
	node := ni.Node()
	for i, c := range s.constraints {
		v, ok := node.Labels[c.topologyKey]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
		}
		self := int64(0)
		if c.selfMatch {
			self = 1
		}
		skew := s.counts[i][v] + self - s.minMatch(i)
		if skew > int64(c.maxSkew) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
		}
	}
	return nil
}

type preScoreState struct {
	constraints []*constraint
	ignored     sets.Set[string]
	// pairCounts[i] maps domains of constraint i (present among the
	// feasible nodes) to matching pods; nil for the hostname key, which
	// is counted per node in Score.
	pairCounts []map[string]int64
	weights    []float64
	namespace  string
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore implements framework.PreScorePlugin.
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	cs, err := p.constraints(pod, v1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("obtaining pod's soft topology spread constraints: %w", err))
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &preScoreState{constraints: cs, ignored: sets.New[string](), pairCounts: make([]map[string]int64, len(cs)),
		weights: make([]float64, len(cs)), namespace: pod.Namespace}
	for i, c := range cs {
		if c.topologyKey != v1.LabelHostname {
			s.pairCounts[i] = map[string]int64{}
		}
	}
	// Nodes lacking a topology key are not scored, except under the
	// system default constraints, where a node without a zone still gets
	// hostname spreading (and its missing zone counts as the domain "").
	requireAll := cs[0].fromPodConstraints || !p.system
	hostDomains := 0
	for _, ni := range nodes {
		node := ni.Node()
		if requireAll && !hasAllKeys(node, cs) {
			s.ignored.Insert(node.Name)
			continue
		}
		hostDomains++
		for i, c := range cs {
			if s.pairCounts[i] != nil {
				s.pairCounts[i][node.Labels[c.topologyKey]] = 0
			}
		}
	}
	for i := range cs {
		size := hostDomains
		if s.pairCounts[i] != nil {
			size = len(s.pairCounts[i])
		}
		s.weights[i] = math.Log(float64(size + 2))
	}
	lister := p.h.SnapshotSharedLister()
	for i, c := range cs {
		counts := s.pairCounts[i]
		if counts == nil {
			continue
		}
		eachMatching(lister, c, pod.Namespace, func(node *v1.Node) bool {
			if requireAll && !hasAllKeys(node, cs) || !c.eligible(node) {
				return false
			}
			_, ok := counts[node.Labels[c.topologyKey]]
			return ok
		}, func(node *v1.Node) {
			counts[node.Labels[c.topologyKey]]++
		})
	}
	state.Write(preScoreKey, s)
	return nil
}

// Score implements framework.ScorePlugin: a weighted count of matching
// pods in the node's domains (lower is better until NormalizeScore).
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(fmt.Errorf("reading %q from cycleState: %w", preScoreKey, err))
	}
	s := d.(*preScoreState)
	node := ni.Node()
	if s.ignored.Has(node.Name) {
		return 0, nil
	}
	var score float64
	for i, c := range s.constraints {
		v, ok := node.Labels[c.topologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if s.pairCounts[i] == nil {
			cnt = countMatching(ni.Pods, c.selector, s.namespace)
		} else {
			cnt = s.pairCounts[i][v]
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *Plugin) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore implements framework.ScoreExtensions: fewer matching
// pods score higher; ignored nodes score 0.
func (p *Plugin) NormalizeScore(_ context.Context, state *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("reading %q from cycleState: %w", preScoreKey, err))
	}
	s := d.(*preScoreState)
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, sc := range scores {
		if s.ignored.Has(sc.Name) {
			continue
		}
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	for i := range scores {
		switch {
		case s.ignored.Has(scores[i].Name):
			scores[i].Score = 0
		case hi == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (hi + lo - scores[i].Score) / hi
		}
	}
	return nil
}
