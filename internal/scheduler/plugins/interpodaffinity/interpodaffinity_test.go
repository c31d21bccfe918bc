package interpodaffinity

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func term(app, key string) v1.PodAffinityTerm {
	return v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: key}
}

func zoned() []*v1.Node {
	return []*v1.Node{
		frameworktest.Node("a1", map[string]string{"zone": "a"}, "", ""),
		frameworktest.Node("a2", map[string]string{"zone": "a"}, "", ""),
		frameworktest.Node("b1", map[string]string{"zone": "b"}, "", ""),
		frameworktest.Node("x", nil, "", ""),
	}
}

func app(name, node, a string) *v1.Pod {
	return frameworktest.Pod(name, node, map[string]string{"app": a}, "", "")
}

func TestFilter(t *testing.T) {
	antiSelf := app("web-new", "", "web")
	antiSelf.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term("web", v1.LabelHostname)}}}
	withDB := app("api", "", "api")
	withDB.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term("db", "zone")}}}
	selfAffinity := app("cache", "", "cache")
	selfAffinity.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term("cache", "zone")}}}
	// An existing pod that refuses app=batch in its zone.
	guard := app("guard", "b1", "guard")
	guard.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term("batch", "zone")}}}

	const (
		aff      = ErrReasonAffinityRulesNotMatch
		anti     = ErrReasonAntiAffinityRulesNotMatch
		existing = ErrReasonExistingAntiAffinityRulesNotMatch
	)
	tests := []struct {
		name     string
		existing []*v1.Pod
		pod      *v1.Pod
		want     map[string]string
	}{
		{name: "anti-affinity one per node", existing: []*v1.Pod{app("w1", "a1", "web"), app("w2", "b1", "web")}, pod: antiSelf,
			want: map[string]string{"a1": anti, "a2": "", "b1": anti, "x": ""}},
		{name: "affinity to a zone with a db", existing: []*v1.Pod{app("db", "a2", "db")}, pod: withDB,
			want: map[string]string{"a1": "", "a2": "", "b1": aff, "x": aff}},
		{name: "affinity with no matching pod anywhere", pod: withDB,
			want: map[string]string{"a1": aff, "a2": aff, "b1": aff, "x": aff}},
		{name: "first pod of a self-affine group goes to any node with the key", pod: selfAffinity,
			want: map[string]string{"a1": "", "a2": "", "b1": "", "x": aff}},
		{name: "symmetry: existing pod's anti-affinity", existing: []*v1.Pod{guard}, pod: app("job", "", "batch"),
			want: map[string]string{"a1": "", "a2": "", "b1": existing, "x": ""}},
		{name: "existing anti-affinity does not select others", existing: []*v1.Pod{guard}, pod: app("job", "", "web"),
			want: map[string]string{"a1": "", "a2": "", "b1": "", "x": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, "", zoned(), tc.existing, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := h.Filter(tc.pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestScore(t *testing.T) {
	pod := app("p", "", "web")
	pod.Spec.Affinity = &v1.Affinity{
		PodAffinity:     &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{{Weight: 10, PodAffinityTerm: term("db", "zone")}}},
		PodAntiAffinity: &v1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{{Weight: 5, PodAffinityTerm: term("web", v1.LabelHostname)}}},
	}
	h, err := frameworktest.New(Name, New, "", zoned(), []*v1.Pod{app("db", "a1", "db"), app("w", "a2", "web")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Score(pod)
	if err != nil {
		t.Fatal(err)
	}
	// raw: a1 10, a2 10-5, b1 0, x 0 -> min-max over [0, 10].
	if diff := cmp.Diff(map[string]int64{"a1": 100, "a2": 50, "b1": 0, "x": 0}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
