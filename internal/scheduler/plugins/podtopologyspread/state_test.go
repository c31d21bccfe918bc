package podtopologyspread

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

// TestMinFollowsUpdates checks the incrementally kept global minimum
// against a scan of every domain after random count changes.
func TestMinFollowsUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	domains := []string{"a", "b", "c", "d", "e"}
	for round := range 200 {
		s := &preFilterState{constraints: []*constraint{{minDomains: 1}}, counts: []map[string]int64{{}}, mins: make([]int64, 1), atMin: make([]int, 1)}
		for _, d := range domains[:1+r.IntN(len(domains))] {
			s.counts[0][d] = int64(r.IntN(4))
		}
		s.computeMin(0)
		for step := range 50 {
			s.add(0, domains[r.IntN(len(domains))], int64(r.IntN(5)-2))
			want := int64(math.MaxInt64)
			for _, v := range s.counts[0] {
				want = min(want, v)
			}
			if got := s.minMatch(0); got != want {
				t.Fatalf("round %d step %d: min %d, want %d (counts %v)", round, step, got, want, s.counts[0])
			}
			if c := s.Clone().(*preFilterState); c.minMatch(0) != want {
				t.Fatalf("round %d step %d: the clone's min differs", round, step)
			}
		}
	}
}

// TestPreFilterExtensions checks that the AddPod and RemovePod extensions
// preemption uses move the counts and the global minimum with the pod.
func TestPreFilterExtensions(t *testing.T) {
	const skew = ErrReasonConstraintsNotMatch
	// One pod per host on a1, a2 and b1: c1 is the emptiest host.
	existing := []*v1.Pod{web("w1", "a1"), web("w2", "a2"), web("w3", "b1")}
	tests := []struct {
		name   string
		remove *v1.Pod
		add    *v1.Pod
		node   string
		before string
		after  string
	}{
		{name: "adding a pod to the emptiest host raises the minimum", add: web("w4", "c1"), node: "a1", before: skew, after: ""},
		{name: "removing a pod elsewhere leaves a fuller host rejected", remove: existing[0], node: "a2", before: skew, after: skew},
		{name: "removing the pod of a host lets it take one", remove: existing[0], node: "a1", before: skew, after: ""},
		{name: "a pod in another namespace changes nothing", add: func() *v1.Pod {
			p := web("w4", "c1")
			p.Namespace = "other"
			return p
		}(), node: "a1", before: skew, after: skew},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, "", zonedNodes()[:4], existing, nil)
			if err != nil {
				t.Fatal(err)
			}
			pod := web("new", "")
			pod.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{webConstraint(v1.LabelHostname, 1, v1.DoNotSchedule)}
			statuses, state := h.Filter(pod)
			if got := statuses[tc.node].Message(); got != tc.before {
				t.Fatalf("before: %q, want %q", got, tc.before)
			}
			ctx := context.Background()
			if tc.remove != nil {
				ni, _ := h.Snapshot.Get(tc.remove.Spec.NodeName)
				if st := h.FW.RunPreFilterExtensionRemovePod(ctx, state, pod, framework.NewPodInfo(tc.remove), ni); !st.IsSuccess() {
					t.Fatal(st.AsError())
				}
			}
			if tc.add != nil {
				ni, _ := h.Snapshot.Get(tc.add.Spec.NodeName)
				if st := h.FW.RunPreFilterExtensionAddPod(ctx, state, pod, framework.NewPodInfo(tc.add), ni); !st.IsSuccess() {
					t.Fatal(st.AsError())
				}
			}
			ni, _ := h.Snapshot.Get(tc.node)
			if got := h.FW.RunFilterPlugins(ctx, state, pod, ni).Message(); got != tc.after {
				t.Errorf("after: %q, want %q", got, tc.after)
			}
		})
	}
}
