package node

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNode(t *testing.T) {
	now := time.Now()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(now.Add(-48 * time.Hour)),
			Labels: map[string]string{"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "true"}},
		Spec: corev1.NodeSpec{Unschedulable: true, PodCIDR: "10.42.0.0/24", PodCIDRs: []string{"10.42.0.0/24"}},
		Status: corev1.NodeStatus{
			Capacity:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.5"}},
			NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.33.0", OSImage: "Debian GNU/Linux 13", ContainerRuntimeVersion: "containerd://2.1.0"},
		},
	}
	k := Kind()
	k.Strategy.Default(n)
	if n.Status.Allocatable.Cpu().String() != "4" {
		t.Errorf("allocatable = %v", n.Status.Allocatable)
	}
	if errs := k.Strategy.Validate(n); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
	want := []interface{}{"n1", "Ready,SchedulingDisabled", "control-plane,master", "2d", "v1.33.0", "192.168.1.5", "<none>", "Debian GNU/Linux 13", "<unknown>", "containerd://2.1.0"}
	if diff := cmp.Diff(want, k.Strategy.Row(n, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	upd := n.DeepCopy()
	upd.Spec.PodCIDR, upd.Spec.PodCIDRs = "10.42.1.0/24", []string{"10.42.1.0/24"}
	upd.Spec.Taints = []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "b"}}
	var got []string
	for _, e := range k.Strategy.ValidateUpdate(upd, n) {
		got = append(got, e.Error())
	}
	wantErrs := []string{
		`spec.taints[1]: Invalid value: {"key":"a","effect":"NoSchedule"}: taints must be unique by key and effect pair`,
		"spec.taints[2].effect: Required value",
		`spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid`,
	}
	if diff := cmp.Diff(wantErrs, got); diff != "" {
		t.Errorf("ValidateUpdate (-want +got):\n%s", diff)
	}
}
