package nodeaffinity

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func nodes() []*v1.Node {
	return []*v1.Node{
		frameworktest.Node("a", map[string]string{"zone": "z1", "disk": "ssd", "gen": "3"}, "1", "1Gi"),
		frameworktest.Node("b", map[string]string{"zone": "z2", "gen": "5"}, "1", "1Gi"),
		frameworktest.Node("c", map[string]string{"zone": "z3"}, "1", "1Gi"),
	}
}

func TestFilter(t *testing.T) {
	const no = ErrReasonPod
	req := func(terms ...v1.NodeSelectorTerm) *v1.Affinity {
		return &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms}}}
	}
	expr := func(k string, op v1.NodeSelectorOperator, vals ...string) v1.NodeSelectorTerm {
		return v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: k, Operator: op, Values: vals}}}
	}
	tests := []struct {
		name     string
		selector map[string]string
		affinity *v1.Affinity
		want     map[string]string
	}{
		{name: "nodeSelector", selector: map[string]string{"disk": "ssd"}, want: map[string]string{"a": "", "b": no, "c": no}},
		{name: "terms are ORed", affinity: req(expr("zone", v1.NodeSelectorOpIn, "z1"), expr("zone", v1.NodeSelectorOpIn, "z3")), want: map[string]string{"a": "", "b": no, "c": ""}},
		{name: "NotIn and DoesNotExist", affinity: req(v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpNotIn, Values: []string{"z2"}}, {Key: "disk", Operator: v1.NodeSelectorOpDoesNotExist}}}), want: map[string]string{"a": no, "b": no, "c": ""}},
		{name: "Gt", affinity: req(expr("gen", v1.NodeSelectorOpGt, "4")), want: map[string]string{"a": no, "b": "", "c": no}},
		{name: "selector and affinity both apply", selector: map[string]string{"zone": "z2"}, affinity: req(expr("disk", v1.NodeSelectorOpExists)), want: map[string]string{"a": no, "b": no, "c": no}},
		{name: "empty term matches nothing", affinity: req(v1.NodeSelectorTerm{}), want: map[string]string{"a": no, "b": no, "c": no}},
		{name: "matchFields narrows in PreFilter", affinity: req(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"b"}}}}),
			want: map[string]string{"a": "filtered by PreFilterResult", "b": "", "c": "filtered by PreFilterResult"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, "", nodes(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			pod := frameworktest.Pod("p", "", nil, "", "")
			pod.Spec.NodeSelector, pod.Spec.Affinity = tc.selector, tc.affinity
			got, _ := h.Filter(pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestScore(t *testing.T) {
	h, err := frameworktest.New(Name, New, "", nodes(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := frameworktest.Pod("p", "", nil, "", "")
	pod.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{
		{Weight: 2, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpExists}}}},
		{Weight: 8, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{"z2"}}}}},
	}}}
	got, err := h.Score(pod)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"a": 25, "b": 100, "c": 0}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAddedAffinity(t *testing.T) {
	h, err := frameworktest.New(Name, New, `{"addedAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["z3"]}]}]}}}`, nodes(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := h.Filter(frameworktest.Pod("p", "", nil, "", ""))
	if diff := cmp.Diff(map[string]string{"a": ErrReasonEnforced, "b": ErrReasonEnforced, "c": ""}, frameworktest.Reasons(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
