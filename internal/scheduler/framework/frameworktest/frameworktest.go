// Package frameworktest runs one plugin through the framework's extension
// points over a snapshot, for plugin unit tests. Test-only.
package frameworktest

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

type nopBinder struct{}

func (nopBinder) Name() string { return "nopBinder" }
func (nopBinder) Bind(context.Context, *framework.CycleState, *v1.Pod, string) *framework.Status {
	return nil
}

// Harness runs one plugin over a snapshot.
type Harness struct {
	FW       *framework.Framework
	Snapshot *framework.Snapshot
	// Lister, when set, is what the plugin reads instead of Snapshot
	// (FullWalk(Snapshot) compares the indexed lookups with plain walks).
	Lister framework.NodeInfoLister
	// Namespaces maps namespace names to their labels, for
	// namespaceSelectors.
	Namespaces map[string]labels.Set
}

// New builds a framework where the plugin named name (built by factory
// with args) is enabled at every extension point it implements, over a
// snapshot of nodes and pods (pods with spec.nodeName are placed).
func New(name string, factory framework.PluginFactory, args string, nodes []*v1.Node, pods []*v1.Pod, selector func(*v1.Pod) labels.Selector) (*Harness, error) {
	h := &Harness{Snapshot: framework.NewSnapshot(pods, nodes)}
	lister := func() framework.NodeInfoLister {
		if h.Lister != nil {
			return h.Lister
		}
		return h.Snapshot
	}
	probe, err := factory([]byte(args), nil)
	if err != nil {
		return nil, err
	}
	ref := []framework.PluginRef{{Name: name}}
	prof := framework.Profile{SchedulerName: "test", Bind: []framework.PluginRef{{Name: "nopBinder"}}, PluginArgs: map[string][]byte{}}
	if args != "" {
		prof.PluginArgs[name] = []byte(args)
	}
	if _, ok := probe.(framework.PreFilterPlugin); ok {
		prof.PreFilter = ref
	}
	if _, ok := probe.(framework.FilterPlugin); ok {
		prof.Filter = ref
	}
	if _, ok := probe.(framework.PreScorePlugin); ok {
		prof.PreScore = ref
	}
	if _, ok := probe.(framework.ScorePlugin); ok {
		prof.Score = ref
	}
	if _, ok := probe.(framework.PostFilterPlugin); ok {
		prof.PostFilter = ref
	}
	fw, err := framework.New(framework.Config{
		Registry: framework.Registry{name: factory, "nopBinder": func([]byte, framework.Handle) (framework.Plugin, error) { return nopBinder{}, nil }},
		Profile:  prof, Snapshot: lister,
		NamespaceLabels: func(ns string) labels.Set { return h.Namespaces[ns] },
		DefaultSelector: selector, Parallelism: 1,
	})
	if err != nil {
		return nil, err
	}
	h.FW = fw
	return h, nil
}

// Filter runs PreFilter and Filter and returns each node's status (nil
// for fits); a PreFilter rejection applies to every node.
func (h *Harness) Filter(pod *v1.Pod) (map[string]*framework.Status, *framework.CycleState) {
	ctx := context.Background()
	state := framework.NewCycleState()
	out := map[string]*framework.Status{}
	res, st, _ := h.FW.RunPreFilterPlugins(ctx, state, pod, h.Snapshot.List())
	for _, ni := range h.Snapshot.List() {
		switch {
		case !st.IsSuccess():
			out[ni.Node().Name] = st
		case res != nil && !res.NodeNames.Has(ni.Node().Name):
			out[ni.Node().Name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, "filtered by PreFilterResult")
		default:
			out[ni.Node().Name] = h.FW.RunFilterPlugins(ctx, state, pod, ni)
		}
	}
	return out, state
}

// Score runs PreScore and Score (normalized, weight 1) over every node.
func (h *Harness) Score(pod *v1.Pod) (map[string]int64, error) {
	ctx := context.Background()
	state := framework.NewCycleState()
	nodes := h.Snapshot.List()
	if st := h.FW.RunPreScorePlugins(ctx, state, pod, nodes); !st.IsSuccess() {
		return nil, st.AsError()
	}
	scores, st := h.FW.RunScorePlugins(ctx, state, pod, nodes)
	if !st.IsSuccess() {
		return nil, st.AsError()
	}
	out := map[string]int64{}
	for _, s := range scores {
		out[s.Name] = s.TotalScore
	}
	return out, nil
}

// Node builds a Node with labels and allocatable cpu, memory and pods.
func Node(name string, lbls map[string]string, cpu, mem string) *v1.Node {
	l := map[string]string{v1.LabelHostname: name}
	for k, v := range lbls {
		l[k] = v
	}
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
	n.Status.Allocatable = v1.ResourceList{v1.ResourcePods: resource.MustParse("110")}
	if cpu != "" {
		n.Status.Allocatable[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		n.Status.Allocatable[v1.ResourceMemory] = resource.MustParse(mem)
	}
	return n
}

var uid int

// Pod builds a pod in namespace "default" with labels, on node (may be
// ""), with one container requesting cpu and memory (either may be "").
func Pod(name, node string, lbls map[string]string, cpu, mem string) *v1.Pod {
	uid++
	rl := v1.ResourceList{}
	if cpu != "" {
		rl[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[v1.ResourceMemory] = resource.MustParse(mem)
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: lbls, UID: types.UID(fmt.Sprintf("uid-%d", uid))},
		Spec:       v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c", Image: "app", Resources: v1.ResourceRequirements{Requests: rl}}}},
	}
}

// Reasons returns the message of each node's status ("" for fits).
func Reasons(m map[string]*framework.Status) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v.Message()
	}
	return out
}

// fullWalk is a snapshot whose candidate lookups visit every pod and
// every term instead of using the index.
type fullWalk struct{ *framework.Snapshot }

// FullWalk returns a lister over s whose EachPodCandidate and
// EachTermCandidate walk every pod (and term) of the snapshot: the
// reference the indexed lookups must agree with.
func FullWalk(s *framework.Snapshot) framework.NodeInfoLister { return fullWalk{s} }

func (f fullWalk) EachPodCandidate(_ labels.Selector, fn func(*framework.PodInfo, *framework.NodeInfo)) {
	framework.EachPod(f.NodeInfoList, fn)
}

func (f fullWalk) EachTermCandidate(kind framework.TermKind, _ map[string]string, fn func(*framework.PodInfo, *framework.NodeInfo, *framework.AffinityTerm, int32)) {
	framework.EachTerm(f.NodeInfoList, kind, fn)
}

func (f fullWalk) TopologyValues(keys []string) []map[string]struct{} {
	return framework.TopologyValuesOf(f.NodeInfoList, keys)
}
