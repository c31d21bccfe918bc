package endpoints

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// fixture holds a Controller over a fake clientset whose informer caches
// are filled by hand.
type fixture struct {
	t      *testing.T
	client *fake.Clientset
	ctl    *Controller
	inf    informers.SharedInformerFactory
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	inf := informers.NewSharedInformerFactory(client, 0)
	ctl := New(Config{
		Client:    client,
		Services:  inf.Core().V1().Services(),
		Pods:      inf.Core().V1().Pods(),
		Endpoints: inf.Core().V1().Endpoints(),
	})
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Service:
			err = inf.Core().V1().Services().Informer().GetIndexer().Add(o)
		case *corev1.Pod:
			err = inf.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *corev1.Endpoints:
			err = inf.Core().V1().Endpoints().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{t: t, client: client, ctl: ctl, inf: inf}
}

func (f *fixture) sync(key string) {
	f.t.Helper()
	if err := f.ctl.sync(context.Background(), key); err != nil {
		f.t.Fatalf("sync %s: %v", key, err)
	}
}

func (f *fixture) endpoints(ns, name string) *corev1.Endpoints {
	f.t.Helper()
	ep, err := f.client.CoreV1().Endpoints(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get endpoints: %v", err)
	}
	return ep
}

var readyTime = metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))

func service(name string, mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"team": "a"}},
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

func addr(name, ip string) corev1.EndpointAddress {
	node := "n1"
	return corev1.EndpointAddress{IP: ip, NodeName: &node, TargetRef: &corev1.ObjectReference{
		Kind: "Pod", Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
	}}
}

func TestSyncSubsets(t *testing.T) {
	httpPort := []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}
	tests := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want []corev1.EndpointSubset
	}{{
		name: "ready and not ready",
		svc:  service("web"),
		pods: []*corev1.Pod{pod("b", "10.42.0.12", true), pod("a", "10.42.0.2", true), pod("c", "10.42.0.3", false)},
		want: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{addr("a", "10.42.0.2"), addr("b", "10.42.0.12")},
			NotReadyAddresses: []corev1.EndpointAddress{addr("c", "10.42.0.3")},
			Ports:             httpPort,
		}},
	}, {
		name: "publish not ready",
		svc:  service("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
		pods: []*corev1.Pod{pod("c", "10.42.0.3", false)},
		want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("c", "10.42.0.3")}, Ports: httpPort}},
	}, {
		name: "skips pods without IP, finished, terminating or unmatched",
		svc:  service("web"),
		pods: []*corev1.Pod{
			pod("noip", "", true),
			pod("done", "10.42.0.4", false, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
			pod("gone", "10.42.0.5", true, func(p *corev1.Pod) { p.DeletionTimestamp = &readyTime }),
			pod("other", "10.42.0.6", true, func(p *corev1.Pod) { p.Labels = map[string]string{"app": "db"} }),
			pod("noport", "10.42.0.7", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }),
		},
		want: []corev1.EndpointSubset{},
	}, {
		name: "named port resolved per pod, hostname under subdomain",
		svc:  service("web"),
		pods: []*corev1.Pod{
			pod("a", "10.42.0.2", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "a-host", "web" }),
			pod("b", "10.42.0.3", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }),
		},
		want: []corev1.EndpointSubset{
			{
				Addresses: []corev1.EndpointAddress{func() corev1.EndpointAddress { a := addr("a", "10.42.0.2"); a.Hostname = "a-host"; return a }()},
				Ports:     httpPort,
			},
			{
				Addresses: []corev1.EndpointAddress{addr("b", "10.42.0.3")},
				Ports:     []corev1.EndpointPort{{Name: "http", Port: 9090, Protocol: corev1.ProtocolTCP}},
			},
		},
	}, {
		name: "headless without ports",
		svc: service("web", func(s *corev1.Service) {
			s.Spec.ClusterIP = corev1.ClusterIPNone
			s.Spec.Ports = nil
		}),
		pods: []*corev1.Pod{pod("a", "10.42.0.2", true)},
		want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.42.0.2")}}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{tc.svc}
			for _, p := range tc.pods {
				objs = append(objs, p)
			}
			f := newFixture(t, objs...)
			f.sync("ns/web")
			ep := f.endpoints("ns", "web")
			if diff := cmp.Diff(tc.want, ep.Subsets); diff != "" && !(len(tc.want) == 0 && len(ep.Subsets) == 0) {
				t.Errorf("subsets (-want +got):\n%s", diff)
			}
			if ep.Labels["team"] != "a" {
				t.Errorf("labels = %v, want the service's", ep.Labels)
			}
		})
	}
}

func TestSyncTriggerTimeAndNoOp(t *testing.T) {
	f := newFixture(t, service("web"), pod("a", "10.42.0.2", true))
	f.sync("ns/web")
	ep := f.endpoints("ns", "web")
	if got, want := ep.Annotations[AnnotationTriggerTime], readyTime.UTC().Format(time.RFC3339Nano); got != want {
		t.Errorf("trigger time = %q, want %q", got, want)
	}
	if err := f.inf.Core().V1().Endpoints().Informer().GetIndexer().Add(ep); err != nil {
		t.Fatal(err)
	}
	f.client.ClearActions()
	f.sync("ns/web")
	if acts := f.client.Actions(); len(acts) != 0 {
		t.Errorf("second sync acted: %v", acts)
	}
}

func TestSyncServiceGoneOrWithoutSelector(t *testing.T) {
	existing := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}}
	f := newFixture(t, existing)
	f.sync("ns/web")
	if _, err := f.client.CoreV1().Endpoints("ns").Get(context.Background(), "web", metav1.GetOptions{}); err == nil {
		t.Errorf("endpoints of a deleted service kept")
	}

	manual := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "ns"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}}}}
	f = newFixture(t, service("ext", func(s *corev1.Service) { s.Spec.Selector = nil }), manual)
	f.sync("ns/ext")
	if got := f.endpoints("ns", "ext"); len(got.Subsets) != 1 {
		t.Errorf("user endpoints changed: %v", got.Subsets)
	}
	if acts := f.client.Actions(); len(acts) != 1 { // the Get above
		t.Errorf("controller acted on a selectorless service: %v", acts)
	}
}

func TestTruncate(t *testing.T) {
	var addrs []corev1.EndpointAddress
	for i := range 5 {
		addrs = append(addrs, corev1.EndpointAddress{IP: "10.0.0." + string(rune('1'+i))})
	}
	got, cut := truncate([]corev1.EndpointSubset{{Addresses: addrs[:2], NotReadyAddresses: addrs[2:]}}, 3)
	if !cut || len(got[0].Addresses) != 2 || len(got[0].NotReadyAddresses) != 1 {
		t.Errorf("truncate = %v, %v; want 2 ready and 1 not ready kept", got, cut)
	}
}
