//go:build integration

package integration

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestRestartOnSameDataDir restarts a fresh server as is: it must come
// back on its own data dir and port with its bootstrap objects.
func TestRestartOnSameDataDir(t *testing.T) {
	t.Parallel()
	s, c := startAPI(t)
	before, err := c.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Restart()
	c = s.Client()
	after, err := c.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("kubernetes service changed across a restart (-before +after):\n%s", diff)
	}
}

// TestObjectsSurviveRestart creates objects of several kinds, restarts the
// server and reads them back unchanged: same UID, resourceVersion and
// content.
func TestObjectsSurviveRestart(t *testing.T) {
	t.Parallel()
	s, c := startAPI(t)
	ctx := ctxT(t)
	const ns = "keep"
	var created []runtime.Object
	add := func(o runtime.Object, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, o)
	}
	add(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": "a"}}}, metav1.CreateOptions{}))
	add(c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Annotations: map[string]string{"a": "b"}},
		Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"bin": {0, 1, 2, 255}}}, metav1.CreateOptions{}))
	add(c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		StringData: map[string]string{"password": "hunter2"}}, metav1.CreateOptions{}))
	add(c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{}))
	add(c.AppsV1().Deployments(ns).Create(ctx, deployment("web", 2), metav1.CreateOptions{}))
	add(c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}))
	// An updated object keeps its latest resourceVersion.
	cm := mustUpdateCM(t, c, ns, "cm", "2")
	created[1] = cm

	restart(t, s, c)
	c = s.Client()
	for _, want := range created {
		got, err := getLike(ctx, c, want)
		if err != nil {
			t.Errorf("get %T after restart: %v", want, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%T changed across a restart (-before +after):\n%s", want, diff)
		}
	}
	// Writes still work and the resourceVersion keeps growing.
	cm2 := mustUpdateCM(t, c, ns, "cm", "3")
	if rvLess(cm2.ResourceVersion, cm.ResourceVersion) || cm2.ResourceVersion == cm.ResourceVersion {
		t.Errorf("resourceVersion after restart %s is not above %s", cm2.ResourceVersion, cm.ResourceVersion)
	}
}

// getLike reads back the object o names, of the same kind.
func getLike(ctx context.Context, c kubernetes.Interface, o runtime.Object) (runtime.Object, error) {
	switch o := o.(type) {
	case *corev1.Namespace:
		return c.CoreV1().Namespaces().Get(ctx, o.Name, metav1.GetOptions{})
	case *corev1.ConfigMap:
		return c.CoreV1().ConfigMaps(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case *corev1.Secret:
		return c.CoreV1().Secrets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case *corev1.Service:
		return c.CoreV1().Services(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case *corev1.ServiceAccount:
		return c.CoreV1().ServiceAccounts(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case *appsv1.Deployment:
		return c.AppsV1().Deployments(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	}
	panic("unknown kind")
}

func rvLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// TestServersSideBySide runs two servers with their own data dirs and
// ports: neither sees the other's objects.
func TestServersSideBySide(t *testing.T) {
	t.Parallel()
	a, ca := startAPI(t)
	b, cb := startAPI(t)
	if a.Config.HTTPSPort == b.Config.HTTPSPort || a.Config.DataDir == b.Config.DataDir {
		t.Fatalf("servers share a port or data dir: %+v %+v", a.Config, b.Config)
	}
	ctx := ctxT(t)
	inA := mustCreateCM(t, ca, "default", "only-in-a", "a")
	if _, err := cb.CoreV1().ConfigMaps("default").Get(ctx, "only-in-a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("server b: get only-in-a = %v, want NotFound", err)
	}
	inB := mustCreateCM(t, cb, "default", "only-in-a", "b")
	if inA.UID == inB.UID {
		t.Errorf("both servers gave UID %s", inA.UID)
	}
	got, err := ca.CoreV1().ConfigMaps("default").Get(ctx, "only-in-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inA, got); diff != "" {
		t.Errorf("server a's object changed after a write to b (-want +got):\n%s", diff)
	}
	if _, err := ca.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a-only"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.CoreV1().Namespaces().Get(ctx, "a-only", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("server b: get namespace a-only = %v, want NotFound", err)
	}
	// Each server's admin credentials are its own.
	if _, err := newRawFor(t, a, b).getErr("/api/v1/namespaces"); err == nil {
		t.Errorf("server b accepted server a's client certificate")
	}
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
			},
		},
	}
}
