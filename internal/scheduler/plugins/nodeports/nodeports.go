// Package nodeports implements the NodePorts filter: a pod's hostPorts
// must be free on the node (0.0.0.0 conflicts with every address).
package nodeports

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "NodePorts"

// ErrReason is the rejection reason.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

const stateKey framework.StateKey = "PreFilter" + Name

type preFilterState []v1.ContainerPort

func (s preFilterState) Clone() framework.StateData { return s }

// Plugin is the NodePorts plugin.
type Plugin struct{}

// New builds the plugin.
func New(_ []byte, _ framework.Handle) (framework.Plugin, error) { return &Plugin{}, nil }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*Plugin) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.KindAssignedPod, ActionType: framework.Delete},
		{Resource: framework.KindNode, ActionType: framework.Add | framework.Update},
	}
}

// PreFilter implements framework.PreFilterPlugin; it skips pods without
// host ports.
func (*Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	ports := framework.PodPorts(pod)
	if len(ports) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(stateKey, preFilterState(ports))
	return nil, nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*Plugin) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (*Plugin) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	var ports []v1.ContainerPort
	if d, err := state.Read(stateKey); err == nil {
		ports = d.(preFilterState)
	} else {
		ports = framework.PodPorts(pod)
	}
	for _, p := range ports {
		if ni.UsedPorts.CheckConflict(p.HostIP, string(p.Protocol), p.HostPort) {
			return framework.NewStatus(framework.Unschedulable, ErrReason)
		}
	}
	return nil
}
