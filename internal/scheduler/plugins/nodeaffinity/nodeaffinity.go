// Package nodeaffinity implements NodeAffinity: Filter enforces the
// pod's nodeSelector and required node affinity (plus the profile's
// addedAffinity); Score sums the weights of the preferred terms a node
// matches.
package nodeaffinity

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "NodeAffinity"

// ErrReasonPod is the rejection reason.
const ErrReasonPod = "node(s) didn't match Pod's node affinity/selector"

// ErrReasonEnforced is the rejection reason of the profile's addedAffinity.
const ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity"

// Args are the plugin arguments (NodeAffinityArgs).
type Args struct {
	AddedAffinity *v1.NodeAffinity `json:"addedAffinity,omitempty"`
}

const (
	preFilterKey framework.StateKey = "PreFilter" + Name
	preScoreKey  framework.StateKey = "PreScore" + Name
)

type preFilterState struct {
	required framework.RequiredNodeAffinity
}

func (s *preFilterState) Clone() framework.StateData { return s }

type preferred struct {
	sel    *framework.NodeSelector
	weight int64
}

type preScoreState []preferred

func (s preScoreState) Clone() framework.StateData { return s }

// Plugin is the NodeAffinity plugin.
type Plugin struct {
	added          *framework.NodeSelector
	addedPreferred []preferred
}

// New builds the plugin.
func New(args []byte, _ framework.Handle) (framework.Plugin, error) {
	p := &Plugin{}
	if len(args) == 0 {
		return p, nil
	}
	var a Args
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("decode NodeAffinityArgs: %w", err)
	}
	if a.AddedAffinity != nil {
		if r := a.AddedAffinity.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			ns, err := framework.NewNodeSelector(r)
			if err != nil {
				return nil, fmt.Errorf("addedAffinity: %w", err)
			}
			p.added = ns
		}
		pr, err := parsePreferred(a.AddedAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		if err != nil {
			return nil, fmt.Errorf("addedAffinity: %w", err)
		}
		p.addedPreferred = pr
	}
	return p, nil
}

func parsePreferred(terms []v1.PreferredSchedulingTerm) ([]preferred, error) {
	var out []preferred
	for _, t := range terms {
		if t.Weight == 0 {
			continue
		}
		ns, err := framework.NewNodeSelector(&v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{t.Preference}})
		if err != nil {
			return nil, err
		}
		out = append(out, preferred{sel: ns, weight: int64(t.Weight)})
	}
	return out, nil
}

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*Plugin) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.KindNode, ActionType: framework.Add | framework.Update}}
}

// PreFilter implements framework.PreFilterPlugin. Terms that pin
// metadata.name with In narrow the nodes to those names.
func (p *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	state.Write(preFilterKey, &preFilterState{required: framework.GetRequiredNodeAffinity(pod)})
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil, nil
	}
	names := sets.New[string]()
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		var termNames sets.Set[string]
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == v1.NodeSelectorOpIn {
				s := sets.New(f.Values...)
				if termNames == nil {
					termNames = s
				} else {
					termNames = termNames.Intersection(s)
				}
			}
		}
		if termNames == nil {
			return nil, nil // this term is not limited by name
		}
		names = names.Union(termNames)
	}
	if names.Len() == 0 {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	}
	return &framework.PreFilterResult{NodeNames: names}, nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*Plugin) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (p *Plugin) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	node := ni.Node()
	if p.added != nil && !p.added.Match(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonEnforced)
	}
	var req framework.RequiredNodeAffinity
	if d, err := state.Read(preFilterKey); err == nil {
		req = d.(*preFilterState).required
	} else {
		req = framework.GetRequiredNodeAffinity(pod)
	}
	if !req.Match(node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	}
	return nil
}

// PreScore implements framework.PreScorePlugin; it skips pods without
// preferred terms (when the profile adds none).
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	var terms []v1.PreferredSchedulingTerm
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		terms = a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	}
	if len(terms) == 0 && len(p.addedPreferred) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	pr, err := parsePreferred(terms)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("parsing pod %s/%s preferred node affinity: %w", pod.Namespace, pod.Name, err))
	}
	state.Write(preScoreKey, preScoreState(pr))
	return nil
}

// Score implements framework.ScorePlugin.
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	var pr []preferred
	if d, err := state.Read(preScoreKey); err == nil {
		pr = d.(preScoreState)
	} else if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		pr, _ = parsePreferred(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	var s int64
	for _, l := range [][]preferred{p.addedPreferred, pr} {
		for _, t := range l {
			if t.sel.Match(ni.Node()) {
				s += t.weight
			}
		}
	}
	return s, nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *Plugin) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore implements framework.ScoreExtensions.
func (*Plugin) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	return framework.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
}

// NodeLocalScore implements framework.NodeLocalScorer: the raw score
// reads only the pod and the scored node, so it may be cached.
func (*Plugin) NodeLocalScore() {}
