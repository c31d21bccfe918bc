// Package interpodaffinity implements InterPodAffinity: required pod
// affinity and anti-affinity of the incoming pod, the required
// anti-affinity of pods already placed (symmetry), and the preferred
// terms of both sides as a score, all over topology domains.
package interpodaffinity

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "InterPodAffinity"

// Rejection reasons.
const (
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
)

// Args are InterPodAffinityArgs.
type Args struct {
	// HardPodAffinityWeight scores existing pods' required affinity to
	// the incoming pod (default 1).
	HardPodAffinityWeight *int32 `json:"hardPodAffinityWeight,omitempty"`
	// IgnorePreferredTermsOfExistingPods scores only the incoming pod's
	// preferred terms.
	IgnorePreferredTermsOfExistingPods bool `json:"ignorePreferredTermsOfExistingPods,omitempty"`
}

type topologyPair struct{ key, value string }

// topologyCounts counts matching pods (or terms) per topology domain.
// keys counts, per topology key, the domains with a nonzero count, so
// that a node is checked against the keys in use rather than against
// each of its labels.
type topologyCounts struct {
	pairs map[topologyPair]int64
	keys  map[string]int
}

func newTopologyCounts() topologyCounts {
	return topologyCounts{pairs: map[topologyPair]int64{}, keys: map[string]int{}}
}

func (m topologyCounts) clone() topologyCounts {
	return topologyCounts{pairs: maps.Clone(m.pairs), keys: maps.Clone(m.keys)}
}

func (m topologyCounts) add(node *v1.Node, terms []framework.AffinityTerm, delta int64) {
	for i := range terms {
		m.addTerm(node, terms[i].TopologyKey, delta)
	}
}

// addTerm counts delta in node's domain of key, if node has the key.
func (m topologyCounts) addTerm(node *v1.Node, key string, delta int64) {
	v, ok := node.Labels[key]
	if !ok || delta == 0 {
		return
	}
	p := topologyPair{key, v}
	old := m.pairs[p]
	n := old + delta
	switch {
	case n == 0:
		delete(m.pairs, p)
		if m.keys[key]--; m.keys[key] == 0 {
			delete(m.keys, key)
		}
	case old == 0:
		m.pairs[p] = n
		m.keys[key]++
	default:
		m.pairs[p] = n
	}
}

// positive reports whether node's domain of key has a count above 0.
func (m topologyCounts) positive(node *v1.Node, key string) bool {
	v, ok := node.Labels[key]
	return ok && m.pairs[topologyPair{key, v}] > 0
}

const (
	preFilterKey framework.StateKey = "PreFilter" + Name
	preScoreKey  framework.StateKey = "PreScore" + Name
)

type preFilterState struct {
	pod          *framework.PodInfo
	nsLabels     labels.Set
	existingAnti topologyCounts
	affinity     topologyCounts
	anti         topologyCounts
}

func (s *preFilterState) Clone() framework.StateData {
	c := *s
	c.existingAnti, c.affinity, c.anti = s.existingAnti.clone(), s.affinity.clone(), s.anti.clone()
	return &c
}

// Plugin is the InterPodAffinity plugin.
type Plugin struct {
	h    framework.Handle
	args Args
}

// New builds the plugin.
func New(args []byte, h framework.Handle) (framework.Plugin, error) {
	p := &Plugin{h: h}
	if len(args) > 0 {
		if err := json.Unmarshal(args, &p.args); err != nil {
			return nil, fmt.Errorf("decode InterPodAffinityArgs: %w", err)
		}
	}
	if p.args.HardPodAffinityWeight == nil {
		one := int32(1)
		p.args.HardPodAffinityWeight = &one
	}
	if w := *p.args.HardPodAffinityWeight; w < 0 || w > 100 {
		return nil, fmt.Errorf("hardPodAffinityWeight %d is not in 0-100", w)
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*Plugin) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.KindAssignedPod, ActionType: framework.All},
		{Resource: framework.KindNode, ActionType: framework.Add | framework.Update},
	}
}

// namespaceLabels returns a lookup of namespace labels that asks the
// handle once per namespace: a cycle matches terms against every pod of
// the cluster, most of them in a few namespaces.
func (p *Plugin) namespaceLabels() func(ns string) labels.Set {
	seen := map[string]labels.Set{}
	return func(ns string) labels.Set {
		l, ok := seen[ns]
		if !ok {
			l = p.h.NamespaceLabels(ns)
			seen[ns] = l
		}
		return l
	}
}

func matchesAll(terms []framework.AffinityTerm, pod *v1.Pod, ns labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod, ns) {
			return false
		}
	}
	return true
}

// PreFilter implements framework.PreFilterPlugin: it counts, per
// topology domain, the existing pods whose required anti-affinity selects
// the incoming pod, and the pods the incoming pod's required terms
// select.
func (p *Plugin) PreFilter(ctx context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	lister := p.h.SnapshotSharedLister()
	pi := framework.NewPodInfo(pod)
	if pi.ParseError != nil {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, pi.ParseError.Error())
	}
	withAnti := lister.HavePodsWithRequiredAntiAffinityList()
	if len(pi.RequiredAffinityTerms) == 0 && len(pi.RequiredAntiAffinityTerms) == 0 && len(withAnti) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{pod: pi, nsLabels: p.h.NamespaceLabels(pod.Namespace),
		existingAnti: newTopologyCounts(), affinity: newTopologyCounts(), anti: newTopologyCounts()}
	if len(withAnti) > 0 {
		lister.EachTermCandidate(framework.RequiredAntiAffinityTerm, pod.Labels, func(_ *framework.PodInfo, ni *framework.NodeInfo, t *framework.AffinityTerm, _ int32) {
			if t.Matches(pod, s.nsLabels) {
				s.existingAnti.addTerm(ni.Node(), t.TopologyKey, 1)
			}
		})
	}
	nsLabels := p.namespaceLabels()
	if terms := pi.RequiredAffinityTerms; len(terms) > 0 {
		// A pod counts only if it matches every term, so the candidates
		// of any one term will do: one the index narrows, if any.
		narrow := terms[0].Selector
		for i := range terms {
			if framework.Narrows(terms[i].Selector) {
				narrow = terms[i].Selector
				break
			}
		}
		lister.EachPodCandidate(narrow, func(ex *framework.PodInfo, ni *framework.NodeInfo) {
			if matchesAll(terms, ex.Pod, nsLabels(ex.Pod.Namespace)) {
				s.affinity.add(ni.Node(), terms, 1)
			}
		})
	}
	for i := range pi.RequiredAntiAffinityTerms {
		t := &pi.RequiredAntiAffinityTerms[i]
		lister.EachPodCandidate(t.Selector, func(ex *framework.PodInfo, ni *framework.NodeInfo) {
			if t.Matches(ex.Pod, nsLabels(ex.Pod.Namespace)) {
				s.anti.addTerm(ni.Node(), t.TopologyKey, 1)
			}
		})
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

func (s *preFilterState) addExistingAnti(ex *framework.PodInfo, node *v1.Node, delta int64) {
	for i := range ex.RequiredAntiAffinityTerms {
		if t := &ex.RequiredAntiAffinityTerms[i]; t.Matches(s.pod.Pod, s.nsLabels) {
			s.existingAnti.addTerm(node, t.TopologyKey, delta)
		}
	}
}

func (s *preFilterState) addIncoming(ex *framework.PodInfo, node *v1.Node, exNS labels.Set, delta int64) {
	if matchesAll(s.pod.RequiredAffinityTerms, ex.Pod, exNS) {
		s.affinity.add(node, s.pod.RequiredAffinityTerms, delta)
	}
	for i := range s.pod.RequiredAntiAffinityTerms {
		if t := &s.pod.RequiredAntiAffinityTerms[i]; t.Matches(ex.Pod, exNS) {
			s.anti.addTerm(node, t.TopologyKey, delta)
		}
	}
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (p *Plugin) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod implements framework.PreFilterExtensions.
func (p *Plugin) AddPod(_ context.Context, state *framework.CycleState, _ *v1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, add, ni, 1)
}

// RemovePod implements framework.PreFilterExtensions.
func (p *Plugin) RemovePod(_ context.Context, state *framework.CycleState, _ *v1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, rm, ni, -1)
}

func (p *Plugin) update(state *framework.CycleState, pi *framework.PodInfo, ni *framework.NodeInfo, delta int64) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("reading %q from cycleState: %w", preFilterKey, err))
	}
	s := d.(*preFilterState)
	s.addExistingAnti(pi, ni.Node(), delta)
	s.addIncoming(pi, ni.Node(), p.h.NamespaceLabels(pi.Pod.Namespace), delta)
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
	if !s.satisfyAffinity(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	}
	for _, t := range s.pod.RequiredAntiAffinityTerms {
		if s.anti.positive(node, t.TopologyKey) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
		}
	}
	for k := range s.existingAnti.keys {
		if s.existingAnti.positive(node, k) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
		}
	}
	return nil
}

// satisfyAffinity requires every affinity term's domain on node to hold a
// matching pod. The first pod of a group with affinity to itself may go
// to any node with the topology labels when no pod matches anywhere.
func (s *preFilterState) satisfyAffinity(node *v1.Node) bool {
	exist := true
	for _, t := range s.pod.RequiredAffinityTerms {
		v, ok := node.Labels[t.TopologyKey]
		if !ok {
			return false
		}
		if s.affinity.pairs[topologyPair{t.TopologyKey, v}] <= 0 {
			exist = false
		}
	}
	if !exist {
		return len(s.affinity.pairs) == 0 && matchesAll(s.pod.RequiredAffinityTerms, s.pod.Pod, s.nsLabels)
	}
	return true
}

type preScoreState struct {
	scores map[string]map[string]int64 // topology key -> value -> score
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore implements framework.PreScorePlugin: it sums, per topology
// domain, the weights of the incoming pod's preferred terms that select
// pods there (anti-affinity negative), and of the placed pods' terms
// that select the incoming pod: their preferred terms by weight and their
// required affinity by hardPodAffinityWeight. With
// ignorePreferredTermsOfExistingPods an incoming pod without preferred
// terms is not scored at all, as upstream.
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	lister := p.h.SnapshotSharedLister()
	pi := framework.NewPodInfo(pod)
	if pi.ParseError != nil {
		return framework.AsStatus(pi.ParseError)
	}
	hasPreferred := len(pi.PreferredAffinityTerms) > 0 || len(pi.PreferredAntiAffinityTerms) > 0
	if !hasPreferred && (p.args.IgnorePreferredTermsOfExistingPods || len(lister.HavePodsWithAffinityList()) == 0) {
		return framework.NewStatus(framework.Skip)
	}
	s := &preScoreState{scores: map[string]map[string]int64{}}
	add := func(node *v1.Node, key string, w int64) {
		v, ok := node.Labels[key]
		if !ok || w == 0 {
			return
		}
		m := s.scores[key]
		if m == nil {
			m = map[string]int64{}
			s.scores[key] = m
		}
		m[v] += w
	}
	nsOf := p.namespaceLabels()
	for i := range pi.PreferredAffinityTerms {
		t := &pi.PreferredAffinityTerms[i]
		lister.EachPodCandidate(t.Selector, func(ex *framework.PodInfo, ni *framework.NodeInfo) {
			if t.Matches(ex.Pod, nsOf(ex.Pod.Namespace)) {
				add(ni.Node(), t.TopologyKey, int64(t.Weight))
			}
		})
	}
	for i := range pi.PreferredAntiAffinityTerms {
		t := &pi.PreferredAntiAffinityTerms[i]
		lister.EachPodCandidate(t.Selector, func(ex *framework.PodInfo, ni *framework.NodeInfo) {
			if t.Matches(ex.Pod, nsOf(ex.Pod.Namespace)) {
				add(ni.Node(), t.TopologyKey, -int64(t.Weight))
			}
		})
	}
	nsLabels := nsOf(pod.Namespace)
	if hard := int64(*p.args.HardPodAffinityWeight); hard > 0 {
		lister.EachTermCandidate(framework.RequiredAffinityTerm, pod.Labels, func(_ *framework.PodInfo, ni *framework.NodeInfo, t *framework.AffinityTerm, _ int32) {
			if t.Matches(pod, nsLabels) {
				add(ni.Node(), t.TopologyKey, hard)
			}
		})
	}
	lister.EachTermCandidate(framework.PreferredAffinityTerm, pod.Labels, func(_ *framework.PodInfo, ni *framework.NodeInfo, t *framework.AffinityTerm, w int32) {
		if t.Matches(pod, nsLabels) {
			add(ni.Node(), t.TopologyKey, int64(w))
		}
	})
	lister.EachTermCandidate(framework.PreferredAntiAffinityTerm, pod.Labels, func(_ *framework.PodInfo, ni *framework.NodeInfo, t *framework.AffinityTerm, w int32) {
		if t.Matches(pod, nsLabels) {
			add(ni.Node(), t.TopologyKey, -int64(w))
		}
	})
	if len(s.scores) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, s)
	return nil
}

// Score implements framework.ScorePlugin.
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(fmt.Errorf("reading %q from cycleState: %w", preScoreKey, err))
	}
	var score int64
	for key, vals := range d.(*preScoreState).scores {
		if v, ok := ni.Node().Labels[key]; ok {
			score += vals[v]
		}
	}
	return score, nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *Plugin) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore implements framework.ScoreExtensions: min-max scaling to
// [0, MaxNodeScore].
func (*Plugin) NormalizeScore(_ context.Context, state *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	if len(scores) == 0 {
		return nil
	}
	lo, hi := scores[0].Score, scores[0].Score
	for _, s := range scores {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	diff := hi - lo
	for i := range scores {
		var f float64
		if diff > 0 {
			// Upstream's order of operations: it decides which integer
			// a score truncates to (100*(29/100) is 28.999…).
			f = float64(framework.MaxNodeScore) * (float64(scores[i].Score-lo) / float64(diff))
		}
		scores[i].Score = int64(f)
	}
	return nil
}
