// Package tainttoleration implements TaintToleration: Filter rejects
// nodes with a NoSchedule or NoExecute taint the pod does not tolerate;
// Score prefers nodes with fewer untolerated PreferNoSchedule taints.
package tainttoleration

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "TaintToleration"

const stateKey framework.StateKey = "PreScore" + Name

type preScoreState []v1.Toleration

func (s preScoreState) Clone() framework.StateData { return s }

// Plugin is the TaintToleration plugin.
type Plugin struct{}

// New builds the plugin.
func New(_ []byte, _ framework.Handle) (framework.Plugin, error) { return &Plugin{}, nil }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*Plugin) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.KindNode, ActionType: framework.Add | framework.Update},
		{Resource: framework.KindPod, ActionType: framework.Update},
	}
}

// Filter implements framework.FilterPlugin.
func (*Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	taint, ok := framework.FindMatchingUntoleratedTaint(ni.Node().Spec.Taints, pod.Spec.Tolerations, framework.DoNotScheduleTaints)
	if !ok {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable,
		fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value))
}

// PreScore implements framework.PreScorePlugin: it keeps the tolerations
// that can tolerate PreferNoSchedule taints.
func (*Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	var tols preScoreState
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == v1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(stateKey, tols)
	return nil
}

// Score implements framework.ScorePlugin: the count of untolerated
// PreferNoSchedule taints (reversed by NormalizeScore).
func (*Plugin) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(stateKey)
	if err != nil {
		return 0, framework.AsStatus(fmt.Errorf("reading %q from cycleState: %w", stateKey, err))
	}
	tols := d.(preScoreState)
	var n int64
	for i := range ni.Node().Spec.Taints {
		t := &ni.Node().Spec.Taints[i]
		if t.Effect != v1.TaintEffectPreferNoSchedule {
			continue
		}
		tolerated := false
		for j := range tols {
			if framework.TolerationToleratesTaint(&tols[j], t) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			n++
		}
	}
	return n, nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *Plugin) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore implements framework.ScoreExtensions.
func (*Plugin) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	return framework.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
}

// NodeLocalScore implements framework.NodeLocalScorer: the raw score
// reads only the pod and the scored node, so it may be cached.
func (*Plugin) NodeLocalScore() {}
