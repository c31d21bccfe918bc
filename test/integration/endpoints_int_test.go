//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func webPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "nginx:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		}}},
	}
}

// endpointsState summarises an Endpoints object as "ready=[pods] notReady=[pods] ports=[...]".
func endpointsState(ep *corev1.Endpoints) string {
	var ready, notReady, ports []string
	for _, ss := range ep.Subsets {
		for _, a := range ss.Addresses {
			ready = append(ready, a.TargetRef.Name)
		}
		for _, a := range ss.NotReadyAddresses {
			notReady = append(notReady, a.TargetRef.Name)
		}
		for _, p := range ss.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d", p.Name, p.Port))
		}
	}
	slices.Sort(ready)
	slices.Sort(notReady)
	ports = slices.Compact(slices.Sorted(slices.Values(ports)))
	return fmt.Sprintf("ready=%v notReady=%v ports=%v", ready, notReady, ports)
}

// slicesState summarises the Service's EndpointSlices as
// "slices=N pod:ready/serving/terminating ...".
func slicesState(ctx context.Context, c *workloadCluster, svc string) (string, error) {
	l, err := c.cs.DiscoveryV1().EndpointSlices(c.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return "", err
	}
	var eps []string
	for _, s := range l.Items {
		if s.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" || s.AddressType != discoveryv1.AddressTypeIPv4 {
			return "", fmt.Errorf("slice %s: labels %v, addressType %s", s.Name, s.Labels, s.AddressType)
		}
		for _, e := range s.Endpoints {
			eps = append(eps, fmt.Sprintf("%s:%v/%v/%v", e.TargetRef.Name, *e.Conditions.Ready, *e.Conditions.Serving, *e.Conditions.Terminating))
		}
	}
	slices.Sort(eps)
	return fmt.Sprintf("slices=%d %v", len(l.Items), eps), nil
}

func TestEndpointsFollowReadiness(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "ep", 1, 0)
	ctx := ctxT(t)

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: c.ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}},
		},
	}
	if _, err := c.cs.CoreV1().Services(c.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	noSelector := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "external", Namespace: c.ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := c.cs.CoreV1().Services(c.ns).Create(ctx, noSelector, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := c.cs.CoreV1().Pods(c.ns).Create(ctx, webPod(c.ns, name), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod: %v", err)
		}
	}

	expect := func(what, wantEP, wantSlices string) {
		t.Helper()
		eventually(t, wait, what, func() (bool, error) {
			ep, err := c.cs.CoreV1().Endpoints(c.ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			gotSlices, err := slicesState(ctx, c, "web")
			if err != nil {
				return false, err
			}
			got := endpointsState(ep)
			return got == wantEP && gotSlices == wantSlices, fmt.Errorf("endpoints %s, %s", got, gotSlices)
		})
	}
	expect("both pods ready", "ready=[a b] notReady=[] ports=[http:8080]", "slices=1 [a:true/true/false b:true/true/false]")

	ep, err := c.cs.CoreV1().Endpoints(c.ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The annotation holds the earliest change a write reflects; a write
	// whose changes fall in an already seen second carries none, as
	// upstream (condition times have second precision).
	if v, ok := ep.Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			t.Errorf("%s annotation %q: %v", corev1.EndpointsLastChangeTriggerTime, v, err)
		}
	}
	for _, ss := range ep.Subsets {
		for _, a := range ss.Addresses {
			if a.NodeName == nil || *a.NodeName == "" || a.IP == "" || a.TargetRef.Kind != "Pod" {
				t.Errorf("address %+v lacks node, IP or pod reference", a)
			}
		}
	}

	c.sim.SetReady(c.ns, "b", false)
	expect("b not ready", "ready=[a] notReady=[b] ports=[http:8080]", "slices=1 [a:true/true/false b:false/false/false]")

	svc, err = c.cs.CoreV1().Services(c.ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.PublishNotReadyAddresses = true
	if _, err := c.cs.CoreV1().Services(c.ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("not-ready addresses published", "ready=[a b] notReady=[] ports=[http:8080]", "slices=1 [a:true/true/false b:true/false/false]")

	if err := c.cs.CoreV1().Pods(c.ns).Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "pod a gone", func() (bool, error) {
		_, err := c.cs.CoreV1().Pods(c.ns).Get(ctx, "a", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	expect("a removed", "ready=[b] notReady=[] ports=[http:8080]", "slices=1 [b:true/false/false]")

	if _, err := c.cs.CoreV1().Endpoints(c.ns).Get(ctx, "external", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("endpoints of a service without selector: %v, want none", err)
	}

	// Deleting the Service removes its Endpoints, and the garbage
	// collector its EndpointSlices.
	if err := c.cs.CoreV1().Services(c.ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "endpoints and slices deleted", func() (bool, error) {
		_, err := c.cs.CoreV1().Endpoints(c.ns).Get(ctx, "web", metav1.GetOptions{})
		state, serr := slicesState(ctx, c, "web")
		return apierrors.IsNotFound(err) && state == "slices=0 []", fmt.Errorf("endpoints: %v; %s %v", err, state, serr)
	})
}

func TestEndpointSlicesSplitAt100(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "eps", 2, 0)
	ctx := ctxT(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: c.ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}},
		},
	}
	if _, err := c.cs.CoreV1().Services(c.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 130
	for i := range n {
		if _, err := c.cs.CoreV1().Pods(c.ns).Create(ctx, webPod(c.ns, fmt.Sprintf("p%03d", i)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, wait, "130 ready endpoints in two slices", func() (bool, error) {
		l, err := c.cs.DiscoveryV1().EndpointSlices(c.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil {
			return false, err
		}
		total, sizes := 0, []int{}
		for _, s := range l.Items {
			ready := 0
			for _, e := range s.Endpoints {
				if *e.Conditions.Ready {
					ready++
				}
			}
			if len(s.Endpoints) > 100 || len(s.Name) != len("web-")+5 {
				return false, fmt.Errorf("slice %s holds %d endpoints", s.Name, len(s.Endpoints))
			}
			total += ready
			sizes = append(sizes, len(s.Endpoints))
		}
		return total == n && len(l.Items) == 2, fmt.Errorf("slices %v, %d ready", sizes, total)
	})
}
