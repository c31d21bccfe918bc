package podtopologyspread

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func zonedNodes() []*v1.Node {
	return []*v1.Node{
		frameworktest.Node("a1", map[string]string{"zone": "a"}, "", ""),
		frameworktest.Node("a2", map[string]string{"zone": "a"}, "", ""),
		frameworktest.Node("b1", map[string]string{"zone": "b"}, "", ""),
		frameworktest.Node("c1", map[string]string{"zone": "c", "pool": "gpu"}, "", ""),
		frameworktest.Node("nolabel", nil, "", ""),
	}
}

func web(name, node string) *v1.Pod {
	return frameworktest.Pod(name, node, map[string]string{"app": "web"}, "", "")
}

func spread(skew int32, when v1.UnsatisfiableConstraintAction) v1.TopologySpreadConstraint {
	return v1.TopologySpreadConstraint{MaxSkew: skew, TopologyKey: "zone", WhenUnsatisfiable: when,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
}

func TestFilter(t *testing.T) {
	const (
		skew    = ErrReasonConstraintsNotMatch
		missing = ErrReasonNodeLabelNotMatch
	)
	three := int32(4)
	ignore := v1.NodeInclusionPolicyIgnore
	tests := []struct {
		name     string
		existing []*v1.Pod
		mutate   func(*v1.Pod)
		want     map[string]string
	}{
		{name: "fills the emptiest zone", existing: []*v1.Pod{web("w1", "a1"), web("w2", "b1")},
			want: map[string]string{"a1": skew, "a2": skew, "b1": skew, "c1": "", "nolabel": missing}},
		{name: "balanced zones accept any", existing: []*v1.Pod{web("w1", "a1"), web("w2", "b1"), web("w3", "c1")},
			want: map[string]string{"a1": "", "a2": "", "b1": "", "c1": "", "nolabel": missing}},
		{name: "minDomains above the domain count makes the minimum 0", existing: []*v1.Pod{web("w1", "a1"), web("w2", "b1"), web("w3", "c1")},
			mutate: func(p *v1.Pod) { p.Spec.TopologySpreadConstraints[0].MinDomains = &three },
			want:   map[string]string{"a1": skew, "a2": skew, "b1": skew, "c1": skew, "nolabel": missing}},
		{name: "nodeAffinityPolicy Honor ignores zones the pod cannot use", existing: []*v1.Pod{web("w1", "a1"), web("w2", "b1")},
			mutate: func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "a"} },
			want:   map[string]string{"a1": "", "a2": "", "b1": "", "c1": "", "nolabel": missing}},
		{name: "nodeAffinityPolicy Ignore counts every zone", existing: []*v1.Pod{web("w1", "a1"), web("w2", "b1")},
			mutate: func(p *v1.Pod) {
				p.Spec.NodeSelector = map[string]string{"zone": "a"}
				p.Spec.TopologySpreadConstraints[0].NodeAffinityPolicy = &ignore
			},
			want: map[string]string{"a1": skew, "a2": skew, "b1": skew, "c1": "", "nolabel": missing}},
		{name: "pods in other namespaces do not count", existing: func() []*v1.Pod {
			p := web("w1", "a1")
			p.Namespace = "other"
			return []*v1.Pod{p}
		}(), want: map[string]string{"a1": "", "a2": "", "b1": "", "c1": "", "nolabel": missing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, "", zonedNodes(), tc.existing, nil)
			if err != nil {
				t.Fatal(err)
			}
			pod := web("new", "")
			pod.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{spread(1, v1.DoNotSchedule)}
			if tc.mutate != nil {
				tc.mutate(pod)
			}
			got, _ := h.Filter(pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestScore(t *testing.T) {
	existing := []*v1.Pod{web("w1", "a1"), web("w2", "a2"), web("w3", "b1")}
	h, err := frameworktest.New(Name, New, "", zonedNodes()[:4], existing, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := web("new", "")
	pod.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{spread(1, v1.ScheduleAnyway)}
	got, err := h.Score(pod)
	if err != nil {
		t.Fatal(err)
	}
	// weight ln(3+2): a 2*1.609=3, b 2, c 0 -> 100*(3+0-s)/3.
	if diff := cmp.Diff(map[string]int64{"a1": 0, "a2": 0, "b1": 33, "c1": 100}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDefaultConstraints(t *testing.T) {
	existing := []*v1.Pod{web("w1", "a1"), web("w2", "a1")}
	sel := func(*v1.Pod) labels.Selector { return labels.SelectorFromSet(labels.Set{"app": "web"}) }
	var nodes []*v1.Node
	for _, n := range zonedNodes()[:4] {
		n.Labels[v1.LabelTopologyZone] = n.Labels["zone"]
		nodes = append(nodes, n)
	}
	h, err := frameworktest.New(Name, New, "", nodes, existing, sel)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Score(web("new", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got["a1"] >= got["a2"] || got["a2"] >= got["b1"] {
		t.Errorf("default spreading should prefer empty hosts, then empty zones: %v", got)
	}
	// Without a selecting owner the defaults do nothing.
	h, _ = frameworktest.New(Name, New, "", nodes, existing, nil)
	got, _ = h.Score(web("new", ""))
	if diff := cmp.Diff(map[string]int64{"a1": 0, "a2": 0, "b1": 0, "c1": 0}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
