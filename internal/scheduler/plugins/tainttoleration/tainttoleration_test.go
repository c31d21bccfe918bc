package tainttoleration

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func tainted(name string, taints ...v1.Taint) *v1.Node {
	n := frameworktest.Node(name, nil, "1", "1Gi")
	n.Spec.Taints = taints
	return n
}

func TestFilter(t *testing.T) {
	nodes := []*v1.Node{
		tainted("cp", v1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: v1.TaintEffectNoSchedule}),
		tainted("exec", v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoExecute}),
		tainted("prefer", v1.Taint{Key: "spot", Value: "true", Effect: v1.TaintEffectPreferNoSchedule}),
		tainted("plain"),
	}
	tests := []struct {
		name string
		tols []v1.Toleration
		want map[string]string
	}{
		{name: "no tolerations", want: map[string]string{
			"cp":   "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
			"exec": "node(s) had untolerated taint {dedicated: db}", "prefer": "", "plain": ""}},
		{name: "NoSchedule toleration does not cover NoExecute", tols: []v1.Toleration{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}},
			want: map[string]string{"cp": "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }", "exec": "node(s) had untolerated taint {dedicated: db}", "prefer": "", "plain": ""}},
		{name: "empty effect covers both", tols: []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "db"}, {Key: "node-role.kubernetes.io/control-plane", Operator: v1.TolerationOpExists}},
			want: map[string]string{"cp": "", "exec": "", "prefer": "", "plain": ""}},
		{name: "wrong value", tols: []v1.Toleration{{Key: "dedicated", Value: "web"}},
			want: map[string]string{"cp": "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }", "exec": "node(s) had untolerated taint {dedicated: db}", "prefer": "", "plain": ""}},
		{name: "exists with empty key tolerates everything", tols: []v1.Toleration{{Operator: v1.TolerationOpExists}},
			want: map[string]string{"cp": "", "exec": "", "prefer": "", "plain": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(Name, New, "", nodes, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			pod := frameworktest.Pod("p", "", nil, "", "")
			pod.Spec.Tolerations = tc.tols
			got, _ := h.Filter(pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestScore(t *testing.T) {
	prefer := func(k string) v1.Taint { return v1.Taint{Key: k, Effect: v1.TaintEffectPreferNoSchedule} }
	nodes := []*v1.Node{tainted("zero"), tainted("one", prefer("a")), tainted("two", prefer("a"), prefer("b"))}
	h, err := frameworktest.New(Name, New, "", nodes, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := frameworktest.Pod("p", "", nil, "", "")
	got, err := h.Score(pod)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"zero": 100, "one": 50, "two": 0}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	pod.Spec.Tolerations = []v1.Toleration{{Key: "b", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectPreferNoSchedule}}
	got, _ = h.Score(pod)
	if diff := cmp.Diff(map[string]int64{"zero": 100, "one": 0, "two": 0}, got); diff != "" {
		t.Errorf("tolerated (-want +got):\n%s", diff)
	}
}
