package podtopologyspread

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

// The expectations below follow upstream kube-scheduler's
// PodTopologySpread (pkg/scheduler/framework/plugins/podtopologyspread:
// common.go, filtering.go and scoring.go) and the API reference of
// TopologySpreadConstraint.

func deleting(p *v1.Pod) *v1.Pod {
	now := metav1.Now()
	p.DeletionTimestamp = &now
	return p
}

func versioned(p *v1.Pod, v string) *v1.Pod {
	p.Labels["version"] = v
	return p
}

// tainted taints the named nodes NoSchedule.
func tainted(nodes []*v1.Node, names ...string) []*v1.Node {
	for _, n := range nodes {
		for _, name := range names {
			if n.Name == name {
				n.Spec.Taints = []v1.Taint{{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
			}
		}
	}
	return nodes
}

func webConstraint(key string, skew int32, when v1.UnsatisfiableConstraintAction, f ...func(*v1.TopologySpreadConstraint)) v1.TopologySpreadConstraint {
	c := v1.TopologySpreadConstraint{MaxSkew: skew, TopologyKey: key, WhenUnsatisfiable: when,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
	for _, fn := range f {
		fn(&c)
	}
	return c
}

func TestFilterUpstreamSemantics(t *testing.T) {
	const (
		skew    = ErrReasonConstraintsNotMatch
		missing = ErrReasonNodeLabelNotMatch
	)
	honor := v1.NodeInclusionPolicyHonor
	three, four := int32(3), int32(4)
	tests := []struct {
		name        string
		nodes       []*v1.Node
		existing    []*v1.Pod
		pod         *v1.Pod
		constraints []v1.TopologySpreadConstraint
		want        map[string]string
	}{
		{name: "every constraint must hold: zones are balanced but a1 and b1 already have a pod",
			existing:    []*v1.Pod{web("w1", "a1"), web("w2", "b1"), web("w3", "c1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule), webConstraint(v1.LabelHostname, 1, v1.DoNotSchedule)},
			want:        map[string]string{"a1": skew, "a2": "", "b1": skew, "c1": skew, "nolabel": missing}},
		{name: "nodeTaintsPolicy Ignore (default) counts the tainted node's zone",
			nodes: tainted(zonedNodes(), "c1"), existing: []*v1.Pod{web("w1", "a1"), web("w2", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule)},
			want:        map[string]string{"a1": skew, "a2": skew, "b1": skew, "c1": "", "nolabel": missing}},
		{name: "nodeTaintsPolicy Honor leaves out a zone the pod does not tolerate",
			nodes: tainted(zonedNodes(), "c1"), existing: []*v1.Pod{web("w1", "a1"), web("w2", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule, func(c *v1.TopologySpreadConstraint) { c.NodeTaintsPolicy = &honor })},
			want:        map[string]string{"a1": "", "a2": "", "b1": "", "c1": "", "nolabel": missing}},
		{name: "nodeTaintsPolicy Honor counts a zone the pod tolerates",
			nodes: tainted(zonedNodes(), "c1"), existing: []*v1.Pod{web("w1", "a1"), web("w2", "b1")},
			pod: func() *v1.Pod {
				p := web("new", "")
				p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists}}
				return p
			}(),
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule, func(c *v1.TopologySpreadConstraint) { c.NodeTaintsPolicy = &honor })},
			want:        map[string]string{"a1": skew, "a2": skew, "b1": skew, "c1": "", "nolabel": missing}},
		{name: "matchLabelKeys: only pods of the incoming pod's version count",
			existing: []*v1.Pod{versioned(web("w1", "a1"), "v1"), versioned(web("w2", "b1"), "v1"), versioned(web("w3", "a2"), "v2")},
			pod:      versioned(web("new", ""), "v2"),
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule, func(c *v1.TopologySpreadConstraint) {
				c.MatchLabelKeys = []string{"version"}
			})},
			want: map[string]string{"a1": skew, "a2": skew, "b1": "", "c1": "", "nolabel": missing}},
		{name: "without matchLabelKeys every version counts",
			existing:    []*v1.Pod{versioned(web("w1", "a1"), "v1"), versioned(web("w2", "b1"), "v1"), versioned(web("w3", "a2"), "v2")},
			pod:         versioned(web("new", ""), "v2"),
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule)},
			want:        map[string]string{"a1": skew, "a2": skew, "b1": skew, "c1": "", "nolabel": missing}},
		{name: "minDomains above the number of zones: the global minimum is 0",
			existing:    []*v1.Pod{web("w1", "a1"), web("w2", "b1"), web("w3", "c1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule, func(c *v1.TopologySpreadConstraint) { c.MinDomains = &four })},
			want:        map[string]string{"a1": skew, "a2": skew, "b1": skew, "c1": skew, "nolabel": missing}},
		{name: "minDomains above the number of zones with room in maxSkew",
			existing:    []*v1.Pod{web("w1", "a1"), web("w2", "b1"), web("w3", "c1"), web("w4", "c1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 2, v1.DoNotSchedule, func(c *v1.TopologySpreadConstraint) { c.MinDomains = &four })},
			want:        map[string]string{"a1": "", "a2": "", "b1": "", "c1": skew, "nolabel": missing}},
		{name: "minDomains equal to the number of zones keeps the real minimum",
			existing:    []*v1.Pod{web("w1", "a1"), web("w2", "b1"), web("w3", "c1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule, func(c *v1.TopologySpreadConstraint) { c.MinDomains = &three })},
			want:        map[string]string{"a1": "", "a2": "", "b1": "", "c1": "", "nolabel": missing}},
		{name: "pods being deleted are not counted",
			existing:    []*v1.Pod{deleting(web("w1", "a1")), web("w2", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule)},
			want:        map[string]string{"a1": "", "a2": "", "b1": skew, "c1": "", "nolabel": missing}},
		{name: "an incoming pod its selector does not match adds nothing to the skew",
			existing:    []*v1.Pod{web("w1", "a1"), web("w2", "b1")},
			pod:         frameworktest.Pod("api", "", map[string]string{"app": "api"}, "", ""),
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule)},
			want:        map[string]string{"a1": "", "a2": "", "b1": "", "c1": "", "nolabel": missing}},
		{name: "a nil labelSelector selects no pod",
			existing:    []*v1.Pod{web("w1", "a1"), web("w2", "a1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.DoNotSchedule, func(c *v1.TopologySpreadConstraint) { c.LabelSelector = nil })},
			want:        map[string]string{"a1": "", "a2": "", "b1": "", "c1": "", "nolabel": missing}},
		{name: "ScheduleAnyway constraints do not filter",
			existing:    []*v1.Pod{web("w1", "a1"), web("w2", "a1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.ScheduleAnyway)},
			want:        map[string]string{"a1": "", "a2": "", "b1": "", "c1": "", "nolabel": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := tc.nodes
			if nodes == nil {
				nodes = zonedNodes()
			}
			h, err := frameworktest.New(Name, New, "", nodes, tc.existing, nil)
			if err != nil {
				t.Fatal(err)
			}
			pod := tc.pod
			if pod == nil {
				pod = web("new", "")
			}
			pod.Spec.TopologySpreadConstraints = tc.constraints
			got, _ := h.Filter(pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestScoreUpstreamSemantics(t *testing.T) {
	honor := v1.NodeInclusionPolicyHonor
	wellKnownZones := func() []*v1.Node {
		return []*v1.Node{
			frameworktest.Node("a1", map[string]string{v1.LabelTopologyZone: "a"}, "", ""),
			frameworktest.Node("a2", map[string]string{v1.LabelTopologyZone: "a"}, "", ""),
			frameworktest.Node("b1", map[string]string{v1.LabelTopologyZone: "b"}, "", ""),
			frameworktest.Node("nolabel", nil, "", ""),
		}
	}
	tests := []struct {
		name        string
		nodes       []*v1.Node
		existing    []*v1.Pod
		constraints []v1.TopologySpreadConstraint
		selector    func(*v1.Pod) labels.Selector
		want        map[string]int64
	}{
		{name: "two soft constraints add up",
			nodes: zonedNodes()[:4], existing: []*v1.Pod{web("w1", "a1"), web("w2", "a2"), web("w3", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.ScheduleAnyway), webConstraint(v1.LabelHostname, 1, v1.ScheduleAnyway)},
			// zone weight ln(3+2), hostname weight ln(4+2): a1 2*1.609+1*1.792=5,
			// a2 5, b1 1.609+1.792=3, c1 0 -> 100*(5+0-s)/5.
			want: map[string]int64{"a1": 0, "a2": 0, "b1": 40, "c1": 100}},
		{name: "maxSkew-1 is added to every counted domain",
			nodes: zonedNodes()[:4], existing: []*v1.Pod{web("w1", "a1"), web("w2", "a2"), web("w3", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 3, v1.ScheduleAnyway)},
			// a 2*1.609+2=5, b 1.609+2=4, c 2 -> 100*(5+2-s)/5.
			want: map[string]int64{"a1": 40, "a2": 40, "b1": 60, "c1": 100}},
		{name: "nodes without the topology key are not scored",
			existing:    []*v1.Pod{web("w1", "a1"), web("w2", "a2"), web("w3", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.ScheduleAnyway)},
			// a 3, b 2, c 0 -> 100*(3+0-s)/3; nolabel 0.
			want: map[string]int64{"a1": 0, "a2": 0, "b1": 33, "c1": 100, "nolabel": 0}},
		{name: "nodeTaintsPolicy Honor: pods on nodes the pod does not tolerate are not counted",
			nodes: tainted(zonedNodes()[:3], "a2"), existing: []*v1.Pod{web("w1", "a2"), web("w2", "a2"), web("w3", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.ScheduleAnyway, func(c *v1.TopologySpreadConstraint) { c.NodeTaintsPolicy = &honor })},
			// weight ln(2+2): a 0, b 1.386 -> 1.
			want: map[string]int64{"a1": 100, "a2": 100, "b1": 0}},
		{name: "nodeTaintsPolicy Ignore counts them",
			nodes: tainted(zonedNodes()[:3], "a2"), existing: []*v1.Pod{web("w1", "a2"), web("w2", "a2"), web("w3", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.ScheduleAnyway)},
			// a 2*1.386=3, b 1 -> 100*(3+1-s)/3.
			want: map[string]int64{"a1": 33, "a2": 33, "b1": 100}},
		{name: "pods being deleted are not counted",
			nodes: zonedNodes()[:4], existing: []*v1.Pod{deleting(web("w1", "a1")), web("w2", "a2"), web("w3", "b1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.ScheduleAnyway)},
			// a 1.609, b 1.609 -> 2, c 0.
			want: map[string]int64{"a1": 0, "a2": 0, "b1": 0, "c1": 100}},
		{name: "matchLabelKeys narrows the counted pods",
			nodes: zonedNodes()[:4], existing: []*v1.Pod{versioned(web("w1", "a1"), "v2"), versioned(web("w2", "a2"), "v2"), versioned(web("w3", "b1"), "v1")},
			constraints: []v1.TopologySpreadConstraint{webConstraint("zone", 1, v1.ScheduleAnyway, func(c *v1.TopologySpreadConstraint) {
				c.MatchLabelKeys = []string{"version"}
			})},
			// the incoming pod is v1: a 0, b 1.609 -> 2, c 0.
			want: map[string]int64{"a1": 100, "a2": 100, "b1": 0, "c1": 100}},
		{name: "system defaults: a node without a zone still gets hostname spreading",
			nodes: wellKnownZones(), existing: []*v1.Pod{web("w1", "a1"), web("w2", "a1")},
			selector: func(*v1.Pod) labels.Selector { return labels.SelectorFromSet(labels.Set{"app": "web"}) },
			// hostname (maxSkew 3) weight ln(4+2); zone (maxSkew 5) weight
			// ln(3+2), the missing zone being a domain "": a1 2*1.792+2 +
			// 2*1.609+4 = 13, a2 2+7.22 = 9, b1 2+4 = 6, nolabel 2 (no zone
			// term) -> 100*(13+2-s)/13.
			want: map[string]int64{"a1": 15, "a2": 46, "b1": 69, "nolabel": 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := tc.nodes
			if nodes == nil {
				nodes = zonedNodes()
			}
			h, err := frameworktest.New(Name, New, "", nodes, tc.existing, tc.selector)
			if err != nil {
				t.Fatal(err)
			}
			pod := versioned(web("new", ""), "v1")
			pod.Spec.TopologySpreadConstraints = tc.constraints
			got, err := h.Score(pod)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
