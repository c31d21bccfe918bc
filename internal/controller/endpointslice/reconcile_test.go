package endpointslice

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var readyTime = metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))

func service(mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector:  map[string]string{"app": "web"},
			ClusterIP: "10.43.0.5",
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")},
			},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func pod(name, ip string, ready bool, mutate ...func(*corev1.Pod)) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			NodeName: "n1",
			Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
				{Name: "web", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			}}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: readyTime}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func noZone(string) string { return "" }

func TestDesiredGroupsConditions(t *testing.T) {
	deleting := func(p *corev1.Pod) { p.DeletionTimestamp = &readyTime }
	tests := []struct {
		name                        string
		svc                         *corev1.Service
		pod                         *corev1.Pod
		ready, serving, terminating bool
	}{
		{"ready", service(), pod("a", "10.42.0.2", true), true, true, false},
		{"not ready", service(), pod("a", "10.42.0.2", false), false, false, false},
		{"terminating ready", service(), pod("a", "10.42.0.2", true, deleting), false, true, true},
		{"publish not ready", service(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pod("a", "10.42.0.2", false, deleting), true, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			groups := desiredGroups(tc.svc, []*corev1.Pod{tc.pod}, func(string) string { return "z1" })
			if len(groups) != 1 {
				t.Fatalf("groups = %d, want 1", len(groups))
			}
			for _, g := range groups {
				ep := g.endpoints[0]
				got := [3]bool{*ep.Conditions.Ready, *ep.Conditions.Serving, *ep.Conditions.Terminating}
				if want := [3]bool{tc.ready, tc.serving, tc.terminating}; got != want {
					t.Errorf("ready/serving/terminating = %v, want %v", got, want)
				}
				if *g.ports[0].Port != 8080 || *ep.NodeName != "n1" || *ep.Zone != "z1" || ep.TargetRef.Name != "a" {
					t.Errorf("endpoint = %+v, ports %+v", ep, g.ports)
				}
			}
		})
	}
}

func pods(n int) []*corev1.Pod {
	out := make([]*corev1.Pod, n)
	for i := range n {
		out[i] = pod(fmt.Sprintf("p%03d", i), fmt.Sprintf("10.42.%d.%d", i/200, i%200+1), true)
	}
	return out
}

// apply plays a plan on a list of slices the way the API would.
func applyPlan(existing []*discoveryv1.EndpointSlice, p plan) []*discoveryv1.EndpointSlice {
	byName := map[string]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		byName[s.Name] = s
	}
	for i, s := range p.create {
		s = s.DeepCopy()
		s.Name = fmt.Sprintf("%snew%d-%d", s.GenerateName, len(byName), i)
		byName[s.Name] = s
	}
	for _, s := range p.update {
		byName[s.Name] = s
	}
	for _, s := range p.delete {
		delete(byName, s.Name)
	}
	var out []*discoveryv1.EndpointSlice
	for _, s := range byName {
		out = append(out, s)
	}
	return out
}

func TestPlanSlices(t *testing.T) {
	svc := service()
	// 250 endpoints make three slices of at most 100.
	p := planSlices(svc, nil, desiredGroups(svc, pods(250), noZone), time.Time{})
	if len(p.create) != 3 || len(p.update)+len(p.delete) != 0 {
		t.Fatalf("plan = %d creates, %d updates, %d deletes; want 3 creates", len(p.create), len(p.update), len(p.delete))
	}
	got := applyPlan(nil, p)
	total := 0
	for _, s := range got {
		if len(s.Endpoints) > MaxEndpointsPerSlice {
			t.Errorf("slice of %d endpoints", len(s.Endpoints))
		}
		total += len(s.Endpoints)
		want := map[string]string{"team": "a", discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: ManagedBy}
		if diff := cmp.Diff(want, s.Labels); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		if s.GenerateName != "web-" || s.OwnerReferences[0].UID != "svc-uid" || s.AddressType != discoveryv1.AddressTypeIPv4 {
			t.Errorf("slice meta = %+v", s.ObjectMeta)
		}
	}
	if total != 250 {
		t.Errorf("endpoints = %d, want 250", total)
	}

	// The same state again is a no-op.
	p = planSlices(svc, got, desiredGroups(svc, pods(250), noZone), time.Time{})
	if len(p.create)+len(p.update)+len(p.delete) != 0 {
		t.Errorf("steady state plan = %+v, want nothing", p)
	}

	// One pod turning unready updates one slice only.
	ps := pods(250)
	ps[7].Status.Conditions[0].Status = corev1.ConditionFalse
	p = planSlices(svc, got, desiredGroups(svc, ps, noZone), readyTime.Time)
	if len(p.create) != 0 || len(p.update) != 1 || len(p.delete) != 0 {
		t.Errorf("plan after one change = %d/%d/%d, want one update", len(p.create), len(p.update), len(p.delete))
	}
	if p.update[0].Annotations[corev1.EndpointsLastChangeTriggerTime] == "" {
		t.Errorf("updated slice lacks the trigger time")
	}

	// Scaling to nothing leaves one placeholder slice.
	p = planSlices(svc, got, desiredGroups(svc, nil, noZone), time.Time{})
	left := applyPlan(got, p)
	if len(left) != 1 || len(left[0].Endpoints) != 0 || len(left[0].Ports) != 0 {
		t.Errorf("after scale to zero: %d slices, first %+v", len(left), left[0])
	}
	// And scaling up again reuses it.
	p = planSlices(svc, left, desiredGroups(svc, pods(3), noZone), time.Time{})
	if len(p.create) != 0 || len(p.update) != 1 || len(p.delete) != 0 {
		t.Errorf("scale up from placeholder = %d/%d/%d, want one update", len(p.create), len(p.update), len(p.delete))
	}
}

func TestPlanDeletesForeignAndReusesSlices(t *testing.T) {
	svc := service()
	foreign := newSlice(service(func(s *corev1.Service) { s.UID = "old" }), nil, []discoveryv1.Endpoint{{Addresses: []string{"10.42.9.9"}}})
	foreign.Name = "web-old"
	p := planSlices(svc, []*discoveryv1.EndpointSlice{foreign}, desiredGroups(svc, pods(2), noZone), time.Time{})
	if len(p.create) != 0 || len(p.update) != 1 || len(p.delete) != 0 {
		t.Fatalf("plan = %d/%d/%d, want the foreign slice reused", len(p.create), len(p.update), len(p.delete))
	}
	if u := p.update[0]; u.Name != "web-old" || u.OwnerReferences[0].UID != "svc-uid" || len(u.Endpoints) != 2 {
		t.Errorf("reused slice = %+v", u)
	}
}

func TestTracker(t *testing.T) {
	tr := newTracker()
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{UID: "u1", ResourceVersion: "10"}}
	tr.wrote("ns/web", s)
	if !tr.stale("ns/web", nil) {
		t.Errorf("missing created slice not stale")
	}
	old := s.DeepCopy()
	old.ResourceVersion = "9"
	if !tr.stale("ns/web", []*discoveryv1.EndpointSlice{old}) {
		t.Errorf("older slice not stale")
	}
	if tr.stale("ns/web", []*discoveryv1.EndpointSlice{s}) {
		t.Errorf("current slice stale")
	}
	tr.deleted("ns/web", s)
	if !tr.stale("ns/web", []*discoveryv1.EndpointSlice{s}) {
		t.Errorf("deleted slice still cached not stale")
	}
	tr.observedDeletion("ns/web", s)
	if tr.stale("ns/web", []*discoveryv1.EndpointSlice{s}) {
		t.Errorf("stale after the deletion was observed")
	}
}
