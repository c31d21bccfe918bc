package interpodaffinity

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

// The expectations below follow upstream kube-scheduler's InterPodAffinity
// (pkg/scheduler/framework/plugins/interpodaffinity: filtering.go and
// scoring.go) and the API reference of PodAffinityTerm.

func inNS(p *v1.Pod, ns string) *v1.Pod {
	p.Namespace = ns
	return p
}

func withLabel(p *v1.Pod, k, v string) *v1.Pod {
	p.Labels[k] = v
	return p
}

func requiredAffinity(p *v1.Pod, terms ...v1.PodAffinityTerm) *v1.Pod {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &v1.Affinity{}
	}
	p.Spec.Affinity.PodAffinity = &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}
	return p
}

func requiredAnti(p *v1.Pod, terms ...v1.PodAffinityTerm) *v1.Pod {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &v1.Affinity{}
	}
	p.Spec.Affinity.PodAntiAffinity = &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}
	return p
}

func preferred(p *v1.Pod, affinity, anti []v1.WeightedPodAffinityTerm) *v1.Pod {
	p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: affinity},
		PodAntiAffinity: &v1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: anti}}
	return p
}

func weighted(w int32, t v1.PodAffinityTerm) v1.WeightedPodAffinityTerm {
	return v1.WeightedPodAffinityTerm{Weight: w, PodAffinityTerm: t}
}

func modify(t v1.PodAffinityTerm, f func(*v1.PodAffinityTerm)) v1.PodAffinityTerm {
	f(&t)
	return t
}

func namespaces(ns ...string) func(*v1.PodAffinityTerm) {
	return func(t *v1.PodAffinityTerm) { t.Namespaces = ns }
}

func nsSelector(ml map[string]string) func(*v1.PodAffinityTerm) {
	return func(t *v1.PodAffinityTerm) { t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: ml} }
}

var testNamespaces = map[string]labels.Set{"default": {"team": "y"}, "other": {"team": "x"}}

func TestFilterUpstreamSemantics(t *testing.T) {
	const (
		aff      = ErrReasonAffinityRulesNotMatch
		anti     = ErrReasonAntiAffinityRulesNotMatch
		existing = ErrReasonExistingAntiAffinityRulesNotMatch
	)
	dbInOther := func() []*v1.Pod { return []*v1.Pod{inNS(app("db", "a2", "db"), "other")} }
	zoneA := map[string]string{"a1": "", "a2": "", "b1": aff, "x": aff}
	none := map[string]string{"a1": aff, "a2": aff, "b1": aff, "x": aff}
	all := map[string]string{"a1": "", "a2": "", "b1": "", "x": ""}
	tests := []struct {
		name     string
		existing []*v1.Pod
		pod      *v1.Pod
		want     map[string]string
	}{
		// Namespaces: with neither namespaces nor namespaceSelector a term
		// covers the pod's own namespace; namespaces and namespaceSelector
		// are ORed; an empty namespaceSelector covers every namespace.
		{name: "term without namespaces covers only the pod's namespace", existing: dbInOther(),
			pod: requiredAffinity(app("api", "", "api"), term("db", "zone")), want: none},
		{name: "namespaces lists where to look", existing: dbInOther(),
			pod: requiredAffinity(app("api", "", "api"), modify(term("db", "zone"), namespaces("other"))), want: zoneA},
		{name: "empty namespaceSelector covers every namespace", existing: dbInOther(),
			pod: requiredAffinity(app("api", "", "api"), modify(term("db", "zone"), nsSelector(nil))), want: zoneA},
		{name: "namespaceSelector matching the namespace's labels", existing: dbInOther(),
			pod: requiredAffinity(app("api", "", "api"), modify(term("db", "zone"), nsSelector(map[string]string{"team": "x"}))), want: zoneA},
		{name: "namespaceSelector not matching, and it replaces the pod's own namespace", existing: []*v1.Pod{app("db", "a2", "db")},
			pod: requiredAffinity(app("api", "", "api"), modify(term("db", "zone"), nsSelector(map[string]string{"team": "x"}))), want: none},
		{name: "namespaces and namespaceSelector are ORed", existing: dbInOther(),
			pod: requiredAffinity(app("api", "", "api"), modify(modify(term("db", "zone"), namespaces("default")), nsSelector(map[string]string{"team": "x"}))), want: zoneA},

		// matchLabelKeys and mismatchLabelKeys add key in/notin (the
		// incoming pod's value) to the selector.
		{name: "matchLabelKeys: only pods of the same version repel",
			existing: []*v1.Pod{withLabel(app("w1", "a1", "web"), "version", "v1"), withLabel(app("w2", "b1", "web"), "version", "v2")},
			pod: requiredAnti(withLabel(app("new", "", "web"), "version", "v1"), modify(term("web", v1.LabelHostname), func(t *v1.PodAffinityTerm) {
				t.MatchLabelKeys = []string{"version"}
			})),
			want: map[string]string{"a1": anti, "a2": "", "b1": "", "x": ""}},
		{name: "mismatchLabelKeys: only pods of other versions repel",
			existing: []*v1.Pod{withLabel(app("w1", "a1", "web"), "version", "v1"), withLabel(app("w2", "b1", "web"), "version", "v2")},
			pod: requiredAnti(withLabel(app("new", "", "web"), "version", "v1"), modify(term("web", v1.LabelHostname), func(t *v1.PodAffinityTerm) {
				t.MismatchLabelKeys = []string{"version"}
			})),
			want: map[string]string{"a1": "", "a2": "", "b1": anti, "x": ""}},
		{name: "matchLabelKeys with a key the pod lacks is ignored",
			existing: []*v1.Pod{withLabel(app("w1", "a1", "web"), "version", "v1")},
			pod: requiredAnti(app("new", "", "web"), modify(term("web", v1.LabelHostname), func(t *v1.PodAffinityTerm) {
				t.MatchLabelKeys = []string{"version"}
			})),
			want: map[string]string{"a1": anti, "a2": "", "b1": "", "x": ""}},

		// Topology keys missing on the node.
		{name: "anti-affinity: a node without the topology key is not rejected", existing: []*v1.Pod{app("w1", "a1", "web")},
			pod: requiredAnti(app("new", "", "api"), term("web", "zone")), want: map[string]string{"a1": anti, "a2": anti, "b1": "", "x": ""}},
		{name: "existing anti-affinity on a node without the key blocks nothing",
			existing: []*v1.Pod{requiredAnti(app("guard", "x", "guard"), term("batch", "zone"))}, pod: app("job", "", "batch"), want: all},
		{name: "affinity: a node without the topology key is rejected even when matching pods exist", existing: []*v1.Pod{app("db", "x", "db")},
			pod: requiredAffinity(app("api", "", "api"), term("db", v1.LabelHostname)), want: map[string]string{"a1": aff, "a2": aff, "b1": aff, "x": ""}},

		// The first pod of a group with affinity to itself.
		{name: "self-affinity: a matching pod only on a node without the key leaves the pod free", existing: []*v1.Pod{app("c1", "x", "cache")},
			pod: requiredAffinity(app("cache", "", "cache"), term("cache", "zone")), want: map[string]string{"a1": "", "a2": "", "b1": "", "x": aff}},
		{name: "self-affinity: once a pod of its kind exists, only its domain", existing: []*v1.Pod{app("c1", "b1", "cache")},
			pod: requiredAffinity(app("cache", "", "cache"), term("cache", "zone")), want: map[string]string{"a1": aff, "a2": aff, "b1": "", "x": aff}},
		{name: "self-affinity in another namespace is not the first of its kind", existing: []*v1.Pod{inNS(app("c1", "b1", "cache"), "other")},
			pod: requiredAffinity(app("cache", "", "cache"), term("cache", "zone")), want: map[string]string{"a1": "", "a2": "", "b1": "", "x": aff}},
		{name: "two terms: the pod must match both to be the first of its kind",
			pod: requiredAffinity(app("cache", "", "cache"), term("cache", "zone"), term("db", "zone")), want: none},

		// Symmetry: existing pods' required anti-affinity, with their own
		// namespaces.
		{name: "symmetry: existing anti-affinity covers its own namespace only",
			existing: []*v1.Pod{requiredAnti(app("guard", "b1", "guard"), term("batch", "zone"))}, pod: inNS(app("job", "", "batch"), "other"), want: all},
		{name: "symmetry: existing anti-affinity with an empty namespaceSelector covers every namespace",
			existing: []*v1.Pod{requiredAnti(app("guard", "b1", "guard"), modify(term("batch", "zone"), nsSelector(nil)))},
			pod:      inNS(app("job", "", "batch"), "other"), want: map[string]string{"a1": "", "a2": "", "b1": existing, "x": ""}},
		{name: "symmetry by hostname rejects only that node",
			existing: []*v1.Pod{requiredAnti(app("guard", "a1", "guard"), term("batch", v1.LabelHostname))}, pod: app("job", "", "batch"),
			want: map[string]string{"a1": existing, "a2": "", "b1": "", "x": ""}},
		{name: "a pod being deleted still counts", existing: func() []*v1.Pod {
			p := app("w1", "a1", "web")
			now := metav1.Now()
			p.DeletionTimestamp = &now
			return []*v1.Pod{p}
		}(), pod: requiredAnti(app("new", "", "web"), term("web", v1.LabelHostname)), want: map[string]string{"a1": anti, "a2": "", "b1": "", "x": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, "", zoned(), tc.existing, nil)
			if err != nil {
				t.Fatal(err)
			}
			h.Namespaces = testNamespaces
			got, _ := h.Filter(tc.pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestScoreUpstreamSemantics(t *testing.T) {
	// An existing pod on b1 preferring web pods in its zone (10), one on
	// a1 preferring web pods off its host (5).
	symmetric := func() []*v1.Pod {
		return []*v1.Pod{
			preferred(app("likes", "b1", "x"), []v1.WeightedPodAffinityTerm{weighted(10, term("web", "zone"))}, nil),
			preferred(app("shy", "a1", "y"), nil, []v1.WeightedPodAffinityTerm{weighted(5, term("web", v1.LabelHostname))}),
			app("db", "a2", "db"),
		}
	}
	hard := func() []*v1.Pod {
		return []*v1.Pod{requiredAffinity(app("needs-web", "a1", "x"), term("web", "zone"))}
	}
	zero := map[string]int64{"a1": 0, "a2": 0, "b1": 0, "x": 0}
	tests := []struct {
		name     string
		args     string
		existing []*v1.Pod
		pod      *v1.Pod
		want     map[string]int64
	}{
		{name: "existing pods' required affinity scores by hardPodAffinityWeight", existing: hard(), pod: app("p", "", "web"),
			want: map[string]int64{"a1": 100, "a2": 100, "b1": 0, "x": 0}},
		{name: "hardPodAffinityWeight 0 ignores existing required affinity", args: `{"hardPodAffinityWeight": 0}`, existing: hard(),
			pod: app("p", "", "web"), want: zero},
		{name: "existing pods' preferred affinity and anti-affinity score the incoming pod", existing: symmetric(), pod: app("p", "", "web"),
			// raw a1 -5, a2 0, b1 10, x 0: min-max scaled over [-5, 10].
			want: map[string]int64{"a1": 0, "a2": 33, "b1": 100, "x": 33}},
		{name: "ignorePreferredTermsOfExistingPods: a pod without preferred terms is not scored", args: `{"ignorePreferredTermsOfExistingPods": true}`,
			existing: append(symmetric(), hard()...), pod: app("p", "", "web"), want: zero},
		{name: "ignorePreferredTermsOfExistingPods: a pod with preferred terms still gets the existing pods' terms", args: `{"ignorePreferredTermsOfExistingPods": true}`,
			existing: symmetric(), pod: preferred(app("p", "", "web"), []v1.WeightedPodAffinityTerm{weighted(20, term("db", "zone"))}, nil),
			// raw a1 20-5, a2 20, b1 10, x 0.
			want: map[string]int64{"a1": 75, "a2": 100, "b1": 50, "x": 0}},
		{name: "normalization truncates 100*(29/100) to 28 as upstream", existing: []*v1.Pod{app("db", "a1", "db"), app("cache", "a2", "cache")},
			pod:  preferred(app("p", "", "web"), []v1.WeightedPodAffinityTerm{weighted(100, term("db", v1.LabelHostname)), weighted(29, term("cache", v1.LabelHostname))}, nil),
			want: map[string]int64{"a1": 100, "a2": 28, "b1": 0, "x": 0}},
		{name: "preferred term covers its own namespace only", existing: []*v1.Pod{inNS(app("db", "a1", "db"), "other")},
			pod: preferred(app("p", "", "web"), []v1.WeightedPodAffinityTerm{weighted(10, term("db", "zone"))}, nil), want: zero},
		{name: "preferred term with a namespaceSelector", existing: []*v1.Pod{inNS(app("db", "a1", "db"), "other")},
			pod:  preferred(app("p", "", "web"), []v1.WeightedPodAffinityTerm{weighted(10, modify(term("db", "zone"), nsSelector(map[string]string{"team": "x"})))}, nil),
			want: map[string]int64{"a1": 100, "a2": 100, "b1": 0, "x": 0}},
		{name: "preferred anti-affinity: nodes without the topology key score as neutral", existing: []*v1.Pod{app("w", "a1", "web")},
			pod: preferred(app("p", "", "web"), nil, []v1.WeightedPodAffinityTerm{weighted(10, term("web", "zone"))}),
			// raw a1 -10, a2 -10, b1 0, x 0.
			want: map[string]int64{"a1": 0, "a2": 0, "b1": 100, "x": 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, tc.args, zoned(), tc.existing, nil)
			if err != nil {
				t.Fatal(err)
			}
			h.Namespaces = testNamespaces
			got, err := h.Score(tc.pod)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPreFilterExtensions checks the AddPod and RemovePod extensions
// preemption uses to try a node without its victims (or with nominated
// pods): counts for the incoming pod's terms and for the symmetry move
// with the pod.
func TestPreFilterExtensions(t *testing.T) {
	const (
		aff      = ErrReasonAffinityRulesNotMatch
		anti     = ErrReasonAntiAffinityRulesNotMatch
		existing = ErrReasonExistingAntiAffinityRulesNotMatch
	)
	guard := requiredAnti(app("guard", "b1", "guard"), term("batch", "zone"))
	w1 := app("w1", "a1", "web")
	tests := []struct {
		name     string
		existing []*v1.Pod
		pod      *v1.Pod
		remove   *v1.Pod
		add      *v1.Pod
		node     string
		before   string
		after    string
	}{
		{name: "removing the pod an anti-affinity term matched", existing: []*v1.Pod{w1},
			pod: requiredAnti(app("new", "", "web"), term("web", v1.LabelHostname)), remove: w1, node: "a1", before: anti, after: ""},
		{name: "adding a pod an anti-affinity term matches", existing: []*v1.Pod{w1},
			pod: requiredAnti(app("new", "", "web"), term("web", v1.LabelHostname)), add: app("w2", "b1", "web"), node: "b1", before: "", after: anti},
		{name: "removing an existing pod whose anti-affinity matched", existing: []*v1.Pod{guard},
			pod: app("job", "", "batch"), remove: guard, node: "b1", before: existing, after: ""},
		{name: "adding a pod an affinity term needs", existing: []*v1.Pod{app("other", "a1", "x")},
			pod: requiredAffinity(app("api", "", "api"), term("db", "zone")), add: app("db", "b1", "db"), node: "b1", before: aff, after: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, "", zoned(), tc.existing, nil)
			if err != nil {
				t.Fatal(err)
			}
			statuses, state := h.Filter(tc.pod)
			if got := statuses[tc.node].Message(); got != tc.before {
				t.Fatalf("before: %q, want %q", got, tc.before)
			}
			ni, err := h.Snapshot.Get(tc.node)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.remove != nil {
				if st := h.FW.RunPreFilterExtensionRemovePod(ctx, state, tc.pod, framework.NewPodInfo(tc.remove), ni); !st.IsSuccess() {
					t.Fatal(st.AsError())
				}
			}
			if tc.add != nil {
				if st := h.FW.RunPreFilterExtensionAddPod(ctx, state, tc.pod, framework.NewPodInfo(tc.add), ni); !st.IsSuccess() {
					t.Fatal(st.AsError())
				}
			}
			if got := h.FW.RunFilterPlugins(ctx, state, tc.pod, ni).Message(); got != tc.after {
				t.Errorf("after: %q, want %q", got, tc.after)
			}
		})
	}
}
