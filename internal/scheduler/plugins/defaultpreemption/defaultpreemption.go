// Package defaultpreemption implements the DefaultPreemption PostFilter
// as a dry run: for a pod that fits no node it works out, node by node,
// whether evicting lower-priority pods could help, and reports upstream's
// explanation. It does not evict yet (TODO(scheduler): choose victims,
// respect PodDisruptionBudgets, set nominatedNodeName).
package defaultpreemption

import (
	"context"
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "DefaultPreemption"

// Explanations per node.
const (
	ReasonNotHelpful = "Preemption is not helpful for scheduling"
	ReasonNoVictims  = "No preemption victims found for incoming pod"
)

// Plugin is the DefaultPreemption plugin.
type Plugin struct{ h framework.Handle }

// New builds the plugin.
func New(_ []byte, h framework.Handle) (framework.Plugin, error) { return &Plugin{h: h}, nil }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

func priority(p *v1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// PostFilter implements framework.PostFilterPlugin.
func (p *Plugin) PostFilter(ctx context.Context, state *framework.CycleState, pod *v1.Pod, filtered framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == v1.PreemptNever {
		return nil, framework.NewStatus(framework.Unschedulable, "preemption: not eligible due to preemptionPolicy=Never.")
	}
	nodes := p.h.SnapshotSharedLister().List()
	reasons := map[string]int{}
	for _, ni := range nodes {
		st := filtered[ni.Node().Name]
		if st.Code() == framework.UnschedulableAndUnresolvable || st == nil {
			reasons[ReasonNotHelpful]++
			continue
		}
		for _, r := range p.tryNode(ctx, state, pod, ni) {
			reasons[r]++
		}
	}
	msg := fmt.Sprintf("0/%d nodes are available: %s.", len(nodes), Histogram(reasons))
	return nil, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
}

// tryNode removes every lower-priority pod from a copy of ni and runs the
// filters again; it returns why preemption cannot help on ni, or nil when
// it could.
func (p *Plugin) tryNode(ctx context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) []string {
	c := ni.Clone()
	st := state.Clone()
	removed := 0
	for _, pi := range ni.Pods {
		if priority(pi.Pod) < priority(pod) {
			c.RemovePod(pi.Pod)
			if s := p.h.RunPreFilterExtensionRemovePod(ctx, st, pod, pi, c); !s.IsSuccess() {
				return s.Reasons()
			}
			removed++
		}
	}
	if removed == 0 {
		return []string{ReasonNoVictims}
	}
	if s := p.h.RunFilterPlugins(ctx, st, pod, c); !s.IsSuccess() {
		return s.Reasons()
	}
	// Victims exist but evictions are not implemented yet.
	return []string{ReasonNoVictims}
}

// Histogram formats reasons as upstream's FitError does: "N reason"
// entries sorted as strings and joined with ", ".
func Histogram(reasons map[string]int) string {
	out := make([]string, 0, len(reasons))
	for r, n := range reasons {
		out = append(out, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
