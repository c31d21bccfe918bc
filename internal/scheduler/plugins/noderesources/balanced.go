package noderesources

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// BalancedAllocationArgs are NodeResourcesBalancedAllocationArgs.
type BalancedAllocationArgs struct {
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// BalancedAllocation is the NodeResourcesBalancedAllocation plugin: it
// favours nodes where the fractions of each resource in use, with the
// pod, are close to each other (1 - their standard deviation).
type BalancedAllocation struct {
	resources []ResourceSpec
}

// NewBalancedAllocation builds the plugin.
func NewBalancedAllocation(args []byte, _ framework.Handle) (framework.Plugin, error) {
	var a BalancedAllocationArgs
	if len(args) > 0 {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, fmt.Errorf("decode NodeResourcesBalancedAllocationArgs: %w", err)
		}
	}
	if len(a.Resources) == 0 {
		a.Resources = defaultResources
	}
	return &BalancedAllocation{resources: a.Resources}, nil
}

// Name implements framework.Plugin.
func (*BalancedAllocation) Name() string { return BalancedAllocationName }

// PreScore implements framework.PreScorePlugin: best-effort pods (no
// requests for the scored resources) are skipped.
func (b *BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	writeScoreRequests(state, pod)
	req := scoreRequests(state, pod, false)
	for _, r := range b.resources {
		if req.Get(v1.ResourceName(r.Name)) > 0 {
			return nil
		}
	}
	return framework.NewStatus(framework.Skip)
}

// Score implements framework.ScorePlugin.
func (b *BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s := &allocationScorer{resources: b.resources, score: balancedScore}
	return s.nodeScore(state, pod, ni, true), nil
}

func balancedScore(requested, alloc []int64) int64 {
	var fractions []float64
	var sum float64
	for i := range requested {
		if alloc[i] == 0 {
			continue
		}
		f := min(float64(requested[i])/float64(alloc[i]), 1)
		fractions = append(fractions, f)
		sum += f
	}
	var std float64
	switch n := len(fractions); {
	case n == 2:
		std = math.Abs((fractions[0] - fractions[1]) / 2)
	case n > 2:
		mean := sum / float64(n)
		var v float64
		for _, f := range fractions {
			v += (f - mean) * (f - mean)
		}
		std = math.Sqrt(v / float64(n))
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}

// ScoreExtensions implements framework.ScorePlugin.
func (*BalancedAllocation) ScoreExtensions() framework.ScoreExtensions { return nil }

// NodeLocalScore implements framework.NodeLocalScorer: the raw score
// reads only the pod and the scored node, so it may be cached.
func (*BalancedAllocation) NodeLocalScore() {}
