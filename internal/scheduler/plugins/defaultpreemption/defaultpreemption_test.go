package defaultpreemption

import (
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
	"github.com/skiff/skiff/internal/scheduler/plugins/noderesources"
)

type nopBinder struct{}

func (nopBinder) Name() string { return "nopBinder" }
func (nopBinder) Bind(context.Context, *framework.CycleState, *v1.Pod, string) *framework.Status {
	return nil
}

// preemptCall records one Handle.Preempt call.
type preemptCall struct {
	Node    string
	Victims []string
	Cleared []string
}

// fixture is a framework running NodeResourcesFit and DefaultPreemption
// over a fake snapshot, with the scheduler's side (PDBs, nominated pods,
// evictions) faked.
type fixture struct {
	fw        *framework.Framework
	snapshot  *framework.Snapshot
	nominated map[string][]*framework.PodInfo
	calls     []preemptCall
}

func newFixture(t *testing.T, nodes []*v1.Node, pods []*v1.Pod, pdbs []*policyv1.PodDisruptionBudget, nominated []*v1.Pod) *fixture {
	t.Helper()
	f := &fixture{snapshot: framework.NewSnapshot(pods, nodes), nominated: map[string][]*framework.PodInfo{}}
	for _, p := range nominated {
		f.nominated[p.Status.NominatedNodeName] = append(f.nominated[p.Status.NominatedNodeName], framework.NewPodInfo(p))
	}
	names := func(pods []*v1.Pod) []string {
		var out []string
		for _, p := range pods {
			out = append(out, p.Name)
		}
		return out
	}
	fw, err := framework.New(framework.Config{
		Registry: framework.Registry{
			noderesources.FitName: noderesources.NewFit,
			Name:                  New,
			"nopBinder":           func([]byte, framework.Handle) (framework.Plugin, error) { return nopBinder{}, nil },
		},
		Profile: framework.Profile{
			SchedulerName: "test",
			PreFilter:     []framework.PluginRef{{Name: noderesources.FitName}},
			Filter:        []framework.PluginRef{{Name: noderesources.FitName}},
			PostFilter:    []framework.PluginRef{{Name: Name}},
			Bind:          []framework.PluginRef{{Name: "nopBinder"}},
		},
		Snapshot:      func() framework.NodeInfoLister { return f.snapshot },
		NominatedPods: func(node string) []*framework.PodInfo { return f.nominated[node] },
		PDBs:          func() []*policyv1.PodDisruptionBudget { return pdbs },
		Preempt: func(_ context.Context, _ *v1.Pod, node string, victims, clear []*v1.Pod) error {
			f.calls = append(f.calls, preemptCall{Node: node, Victims: names(victims), Cleared: names(clear)})
			return nil
		},
		Parallelism: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.fw = fw
	return f
}

// run filters pod over every node, as a scheduling cycle does, and runs
// the PostFilter when none fits.
func (f *fixture) run(t *testing.T, pod *v1.Pod) (*framework.PostFilterResult, *framework.Status) {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	statuses := framework.NodeToStatus{}
	if _, st, _ := f.fw.RunPreFilterPlugins(ctx, state, pod, f.snapshot.List()); !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st)
	}
	for _, ni := range f.snapshot.List() {
		st := f.fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni)
		if st.IsSuccess() {
			t.Fatalf("pod fits node %s without preemption", ni.Node().Name)
		}
		statuses[ni.Node().Name] = st
	}
	return f.fw.RunPostFilterPlugins(ctx, state, pod, statuses)
}

func prio(p int32) func(*v1.Pod) {
	return func(pod *v1.Pod) { pod.Spec.Priority = &p }
}

func started(sec int64) func(*v1.Pod) {
	return func(pod *v1.Pod) { pod.Status.StartTime = &metav1.Time{Time: time.Unix(sec, 0)} }
}

func labeled(k, v string) func(*v1.Pod) {
	return func(pod *v1.Pod) { pod.Labels = map[string]string{k: v} }
}

func pod(name, node, cpu string, opts ...func(*v1.Pod)) *v1.Pod {
	p := frameworktest.Pod(name, node, nil, cpu, "")
	for _, o := range opts {
		o(p)
	}
	return p
}

func pdb(name, app string, allowed int32, disrupted ...string) *policyv1.PodDisruptionBudget {
	b := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed},
	}
	if len(disrupted) > 0 {
		b.Status.DisruptedPods = map[string]metav1.Time{}
		for _, d := range disrupted {
			b.Status.DisruptedPods[d] = metav1.Now()
		}
	}
	return b
}

func nodes(cpu string, names ...string) []*v1.Node {
	var out []*v1.Node
	for _, n := range names {
		out = append(out, frameworktest.Node(n, nil, cpu, ""))
	}
	return out
}

func TestPostFilter(t *testing.T) {
	never := v1.PreemptNever
	terminating := func(pod *v1.Pod) {
		pod.DeletionTimestamp = &metav1.Time{Time: time.Unix(10, 0)}
		pod.Status.Conditions = []v1.PodCondition{{Type: v1.DisruptionTarget, Status: v1.ConditionTrue, Reason: v1.PodReasonPreemptionByScheduler}}
	}
	tests := []struct {
		name      string
		nodes     []*v1.Node
		pods      []*v1.Pod
		pdbs      []*policyv1.PodDisruptionBudget
		nominated []*v1.Pod
		preemptor *v1.Pod
		// want is the nominated node ("" for none) and its victims.
		want    *preemptCall
		wantMsg string
	}{{
		name:      "the node whose victim violates no PDB wins",
		nodes:     nodes("2", "n1", "n2"),
		pods:      []*v1.Pod{pod("db", "n1", "2", prio(1), labeled("app", "db")), pod("web", "n2", "2", prio(1), labeled("app", "web"), started(1))},
		pdbs:      []*policyv1.PodDisruptionBudget{pdb("db", "db", 0)},
		preemptor: pod("hi", "", "2", prio(100)),
		want:      &preemptCall{Node: "n2", Victims: []string{"web"}},
	}, {
		name:  "fewest PDB violations wins over lower priorities",
		nodes: nodes("2", "n1", "n2"),
		pods: []*v1.Pod{
			pod("db1", "n1", "1", prio(1), labeled("app", "db")), pod("db2", "n1", "1", prio(1), labeled("app", "db")),
			pod("web1", "n2", "1", prio(50), labeled("app", "web")), pod("web2", "n2", "1", prio(50), labeled("app", "web")),
		},
		pdbs:      []*policyv1.PodDisruptionBudget{pdb("db", "db", 1), pdb("web", "web", 5)},
		preemptor: pod("hi", "", "2", prio(100)),
		want:      &preemptCall{Node: "n2", Victims: []string{"web1", "web2"}},
	}, {
		name:      "a pod a PDB already counts as disrupted does not violate it",
		nodes:     nodes("2", "n1", "n2"),
		pods:      []*v1.Pod{pod("db", "n1", "2", prio(1), labeled("app", "db")), pod("web", "n2", "2", prio(50), labeled("app", "web"))},
		pdbs:      []*policyv1.PodDisruptionBudget{pdb("db", "db", 0, "db")},
		preemptor: pod("hi", "", "2", prio(100)),
		want:      &preemptCall{Node: "n1", Victims: []string{"db"}},
	}, {
		name:      "lowest highest-priority victim",
		nodes:     nodes("2", "n1", "n2"),
		pods:      []*v1.Pod{pod("a", "n1", "2", prio(10)), pod("b", "n2", "2", prio(5))},
		preemptor: pod("hi", "", "2", prio(100)),
		want:      &preemptCall{Node: "n2", Victims: []string{"b"}},
	}, {
		name:  "smallest sum of priorities",
		nodes: nodes("2", "n1", "n2"),
		pods: []*v1.Pod{
			pod("a1", "n1", "1", prio(5)), pod("a2", "n1", "1", prio(5)),
			pod("b1", "n2", "1", prio(5)), pod("b2", "n2", "1", prio(1)),
		},
		preemptor: pod("hi", "", "2", prio(100)),
		want:      &preemptCall{Node: "n2", Victims: []string{"b1", "b2"}},
	}, {
		name:      "latest start time of the most important victims",
		nodes:     nodes("2", "n1", "n2"),
		pods:      []*v1.Pod{pod("old", "n1", "2", prio(1), started(100)), pod("new", "n2", "2", prio(1), started(200))},
		preemptor: pod("hi", "", "2", prio(100)),
		want:      &preemptCall{Node: "n2", Victims: []string{"new"}},
	}, {
		name:  "the most important lower-priority pods are reprieved",
		nodes: nodes("4", "n1"),
		pods: []*v1.Pod{
			pod("keep-hi", "n1", "1", prio(200)), pod("p3", "n1", "1", prio(3)),
			pod("p2", "n1", "1", prio(2)), pod("p1", "n1", "1", prio(1)),
		},
		preemptor: pod("hi", "", "2", prio(100)),
		want:      &preemptCall{Node: "n1", Victims: []string{"p2", "p1"}},
	}, {
		name:      "a PDB-violating pod is reprieved before a non-violating one",
		nodes:     nodes("2", "n1"),
		pods:      []*v1.Pod{pod("db", "n1", "1", prio(1), labeled("app", "db")), pod("web", "n1", "1", prio(5), labeled("app", "web"))},
		pdbs:      []*policyv1.PodDisruptionBudget{pdb("db", "db", 0)},
		preemptor: pod("hi", "", "1", prio(100)),
		want:      &preemptCall{Node: "n1", Victims: []string{"web"}},
	}, {
		name:      "lower-priority pods nominated to the node lose their nomination",
		nodes:     nodes("2", "n1"),
		pods:      []*v1.Pod{pod("low", "n1", "2", prio(1))},
		nominated: []*v1.Pod{pod("mid", "", "1", prio(1), func(p *v1.Pod) { p.Status.NominatedNodeName = "n1" })},
		preemptor: pod("hi", "", "1", prio(100)),
		want:      &preemptCall{Node: "n1", Victims: []string{"low"}, Cleared: []string{"mid"}},
	}, {
		name:      "a higher-priority nominated pod keeps its room",
		nodes:     nodes("2", "n1", "n2"),
		pods:      []*v1.Pod{pod("a", "n1", "1", prio(1)), pod("b", "n2", "2", prio(5))},
		nominated: []*v1.Pod{pod("top", "", "1", prio(1000), func(p *v1.Pod) { p.Status.NominatedNodeName = "n1" })},
		preemptor: pod("hi", "", "2", prio(100)),
		want:      &preemptCall{Node: "n2", Victims: []string{"b"}},
	}, {
		name:      "preemptionPolicy Never",
		nodes:     nodes("2", "n1"),
		pods:      []*v1.Pod{pod("a", "n1", "2", prio(1))},
		preemptor: pod("hi", "", "2", prio(100), func(p *v1.Pod) { p.Spec.PreemptionPolicy = &never }),
		wantMsg:   "preemption: not eligible due to preemptionPolicy=Never.",
	}, {
		name:      "a victim of an earlier preemption still terminating on the nominated node",
		nodes:     nodes("2", "n1", "n2"),
		pods:      []*v1.Pod{pod("a", "n1", "2", prio(1), terminating), pod("b", "n2", "2", prio(1))},
		preemptor: pod("hi", "", "2", prio(100), func(p *v1.Pod) { p.Status.NominatedNodeName = "n1" }),
		wantMsg:   "preemption: not eligible due to a terminating pod on the nominated node.",
	}, {
		name:      "no lower-priority pods",
		nodes:     nodes("2", "n1", "n2"),
		pods:      []*v1.Pod{pod("a", "n1", "2", prio(100)), pod("b", "n2", "2", prio(200))},
		preemptor: pod("hi", "", "2", prio(100)),
		wantMsg:   "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
	}, {
		name:      "evicting every lower-priority pod is not enough",
		nodes:     nodes("2", "n1", "n2"),
		pods:      []*v1.Pod{pod("a", "n1", "2", prio(1)), pod("b", "n2", "1", prio(1)), pod("c", "n2", "1", prio(500))},
		preemptor: pod("hi", "", "3", prio(100)),
		wantMsg:   "preemption: 0/2 nodes are available: 2 Insufficient cpu.",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.nodes, tc.pods, tc.pdbs, tc.nominated)
			res, st := f.run(t, tc.preemptor)
			if tc.want == nil {
				if st.IsSuccess() || len(f.calls) != 0 {
					t.Fatalf("preempted: %v %+v", st, f.calls)
				}
				if st.Message() != tc.wantMsg {
					t.Errorf("message %q, want %q", st.Message(), tc.wantMsg)
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("status %v", st)
			}
			if res == nil || res.NominatedNodeName != tc.want.Node {
				t.Errorf("nominated %+v, want %s", res, tc.want.Node)
			}
			if diff := cmp.Diff([]preemptCall{*tc.want}, f.calls); diff != "" {
				t.Errorf("preempt calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostFilterNotHelpful(t *testing.T) {
	f := newFixture(t, nodes("2", "n1", "n2"), []*v1.Pod{pod("a", "n1", "2", prio(1))}, nil, nil)
	statuses := framework.NodeToStatus{
		"n1": framework.NewStatus(framework.Unschedulable, "Insufficient cpu"),
		"n2": framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
	}
	p := pod("hi", "", "2", prio(100), func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"x": "y"} })
	state := framework.NewCycleState()
	f.fw.RunPreFilterPlugins(context.Background(), state, p, f.snapshot.List())
	res, st := f.fw.RunPostFilterPlugins(context.Background(), state, p, statuses)
	if !st.IsSuccess() || res.NominatedNodeName != "n1" {
		t.Fatalf("got %+v %v, want n1", res, st)
	}
	statuses["n1"] = statuses["n2"]
	res, st = f.fw.RunPostFilterPlugins(context.Background(), state, p, statuses)
	want := "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	if st.Message() != want || res == nil || res.NominatedNodeName != "" {
		t.Errorf("got %+v %q, want a cleared nomination and %q", res, st.Message(), want)
	}
}

func TestSelectCandidate(t *testing.T) {
	v := func(name string, p int32, start int64) *v1.Pod {
		opts := []func(*v1.Pod){prio(p)}
		if start > 0 {
			opts = append(opts, started(start))
		}
		return pod(name, "", "", opts...)
	}
	tests := []struct {
		name  string
		cands []Candidate
		want  string
	}{
		{"no victims at all", []Candidate{{Node: "a", Victims: []*v1.Pod{v("x", 1, 0)}}, {Node: "b"}}, "b"},
		{"fewest PDB violations", []Candidate{
			{Node: "a", Victims: []*v1.Pod{v("x", 1, 0)}, NumPDBViolating: 1},
			{Node: "b", Victims: []*v1.Pod{v("y", 50, 0), v("z", 50, 0)}},
		}, "b"},
		{"lowest highest priority", []Candidate{
			{Node: "a", Victims: []*v1.Pod{v("x", 7, 0)}},
			{Node: "b", Victims: []*v1.Pod{v("y", 6, 0), v("z", 6, 0), v("w", 6, 0)}},
		}, "b"},
		{"smallest sum", []Candidate{
			{Node: "a", Victims: []*v1.Pod{v("x", 7, 0), v("w", 7, 0)}},
			{Node: "b", Victims: []*v1.Pod{v("y", 7, 0), v("z", -3, 0)}},
		}, "b"},
		{"fewest victims", []Candidate{
			{Node: "a", Victims: []*v1.Pod{v("x", math.MinInt32, 0), v("w", math.MinInt32, 0)}},
			{Node: "b", Victims: []*v1.Pod{v("y", math.MinInt32, 0)}},
		}, "b"},
		{"latest start of the most important victims", []Candidate{
			{Node: "a", Victims: []*v1.Pod{v("x", 5, 300), v("w", 5, 100)}},
			{Node: "b", Victims: []*v1.Pod{v("y", 5, 200), v("z", 5, 250)}},
		}, "b"},
		{"not started counts as latest", []Candidate{
			{Node: "a", Victims: []*v1.Pod{v("x", 5, 300)}},
			{Node: "b", Victims: []*v1.Pod{v("y", 5, 0)}},
		}, "b"},
		{"ties go to the first", []Candidate{
			{Node: "a", Victims: []*v1.Pod{v("x", 5, 100)}},
			{Node: "b", Victims: []*v1.Pod{v("y", 5, 100)}},
		}, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SelectCandidate(tc.cands).Node; got != tc.want {
				t.Errorf("SelectCandidate = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSplitByPDBViolation(t *testing.T) {
	pods := []*framework.PodInfo{
		framework.NewPodInfo(pod("db1", "n", "", labeled("app", "db"))),
		framework.NewPodInfo(pod("db2", "n", "", labeled("app", "db"))),
		framework.NewPodInfo(pod("db3", "n", "", labeled("app", "db"))),
		framework.NewPodInfo(pod("plain", "n", "")),
		framework.NewPodInfo(pod("other-ns", "n", "", labeled("app", "db"), func(p *v1.Pod) { p.Namespace = "x" })),
	}
	empty := pdb("all", "", 0)
	empty.Spec.Selector = &metav1.LabelSelector{}
	violating, clean := SplitByPDBViolation(pods, []*policyv1.PodDisruptionBudget{pdb("db", "db", 1, "db2"), empty})
	names := func(l []*framework.PodInfo) []string {
		var out []string
		for _, pi := range l {
			out = append(out, pi.Pod.Name)
		}
		sort.Strings(out)
		return out
	}
	if diff := cmp.Diff([]string{"db3"}, names(violating)); diff != "" {
		t.Errorf("violating (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"db1", "db2", "other-ns", "plain"}, names(clean)); diff != "" {
		t.Errorf("clean (-want +got):\n%s", diff)
	}
}
