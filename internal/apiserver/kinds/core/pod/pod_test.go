package pod

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func newPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-10 * time.Minute))},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "nginx",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
		}}},
	}
}

func TestCreate(t *testing.T) {
	k := Kind()
	p := newPod()
	k.Strategy.Default(p)
	k.Strategy.PrepareForCreate(p)
	if errs := k.Strategy.Validate(p); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if got := p.Status; got.Phase != corev1.PodPending || got.QOSClass != corev1.PodQOSGuaranteed {
		t.Errorf("status = %+v, want Pending/Guaranteed", got)
	}
	c := p.Spec.Containers[0]
	if c.ImagePullPolicy != corev1.PullAlways || c.Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("container defaults = %+v", c)
	}
	if !*p.Spec.EnableServiceLinks || *p.Spec.Priority != 0 || p.Spec.ServiceAccountName != "default" || len(p.Spec.Tolerations) != 2 {
		t.Errorf("spec defaults = %+v", p.Spec)
	}
}

func TestQOSClass(t *testing.T) {
	best := newPod()
	best.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
	burst := newPod()
	burst.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{
		"besteffort": {best, corev1.PodQOSBestEffort},
		"burstable":  {burst, corev1.PodQOSBurstable},
	} {
		Default(tc.pod)
		if got := QOSClass(tc.pod); got != tc.want {
			t.Errorf("%s: QOSClass = %s, want %s", name, got, tc.want)
		}
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newPod()
	Default(old)
	PrepareForCreate(old)
	cases := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   string
	}{
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:2" }, ""},
		{"add toleration", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "a", Operator: "Exists"})
		}, ""},
		{"remove toleration", func(p *corev1.Pod) { p.Spec.Tolerations = nil }, "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"},
		{"add container", func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) }, "spec.containers: Forbidden: pod updates may not add or remove containers"},
		{"node name", func(p *corev1.Pod) { p.Spec.NodeName = "n1" }, "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"},
		{"deadline", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = new(int64) }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			tc.mutate(p)
			errs := ValidateUpdate(p, old)
			got := ""
			if len(errs) > 0 {
				got = errs[0].Error()
			}
			if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
				t.Errorf("ValidateUpdate = %q, want prefix %q", got, tc.want)
			}
		})
	}
}

func TestRow(t *testing.T) {
	alwaysRestart := corev1.ContainerRestartPolicyAlways
	started := true
	base := func() *corev1.Pod {
		p := newPod()
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox"})
		p.Status.Phase = corev1.PodRunning
		return p
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	cases := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []interface{}
	}{
		{"pending", func(p *corev1.Pod) { p.Status = corev1.PodStatus{Phase: corev1.PodPending} },
			[]interface{}{"web", "0/2", "Pending", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"container creating", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.NodeName = "n1"
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
				{Name: "side", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
			}
		}, []interface{}{"web", "0/2", "ContainerCreating", "0", "10m", "<none>", "n1", "<none>", "<none>"}},
		{"running with restarts", func(p *corev1.Pod) {
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.42.0.5"}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "app", Ready: true, State: running, RestartCount: 3, LastTerminationState: corev1.ContainerState{
					Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(now.Add(-5 * time.Minute))}}},
				{Name: "side", Ready: true, State: running},
			}
		}, []interface{}{"web", "2/2", "Running", "3 (5m ago)", "10m", "10.42.0.5", "<none>", "<none>", "<none>"}},
		{"crashloop", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}, RestartCount: 1},
				{Name: "side", Ready: true, State: running},
			}
		}, []interface{}{"web", "1/2", "CrashLoopBackOff", "1", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"completed", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			done := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: done}, {Name: "side", State: done}}
		}, []interface{}{"web", "0/2", "Completed", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"init", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.InitContainers = []corev1.Container{{Name: "i1"}, {Name: "i2"}, {Name: "sc", RestartPolicy: &alwaysRestart}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{
				{Name: "i1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}},
				{Name: "i2", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
				{Name: "sc"},
			}
		}, []interface{}{"web", "0/3", "Init:1/3", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"init error", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i1"}, {Name: "sc", RestartPolicy: &alwaysRestart}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{
				{Name: "sc", Started: &started, Ready: true},
				{Name: "i1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}},
			}
		}, []interface{}{"web", "1/3", "Init:ExitCode:2", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"terminating", func(p *corev1.Pod) {
			ts := metav1.NewTime(now)
			p.DeletionTimestamp = &ts
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "x"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: "x", Status: corev1.ConditionTrue}}
		}, []interface{}{"web", "0/2", "Terminating", "0", "10m", "<none>", "<none>", "<none>", "1/1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.mutate(p)
			if diff := cmp.Diff(tc.want, Kind().Strategy.Row(p, now)); diff != "" {
				t.Errorf("Row (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFields(t *testing.T) {
	got := Kind().Strategy.Fields(&corev1.Pod{})
	if len(got) != 8 || got["spec.hostNetwork"] != "false" {
		t.Errorf("Fields = %v", got)
	}
}
