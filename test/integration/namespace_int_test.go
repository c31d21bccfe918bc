//go:build integration

package integration

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/testutil"
)

// nsWait covers the controller's deletion delay (5s) plus a requeue
// after content held by a finalizer (15s/2+1).
const nsWait = 45 * time.Second

var widgetsGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

// createWidgetCRD defines the namespaced custom resource widgets.example.com
// and waits until it is served.
func createWidgetCRD(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{
			"group": "example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD: %v", err)
	}
	eventually(t, wait, "widgets to be served", func() (bool, error) {
		_, err := dyn.Resource(widgetsGVR).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil, err
	})
}

func createNamespace(t *testing.T, ctx context.Context, c kubernetes.Interface, name string) {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// namespaceGone waits until namespace name no longer exists.
func namespaceGone(t *testing.T, ctx context.Context, c kubernetes.Interface, name string) {
	t.Helper()
	eventually(t, nsWait, "namespace "+name+" to be removed", func() (bool, error) {
		ns, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return false, &stillThere{ns}
	})
}

type stillThere struct{ ns *corev1.Namespace }

func (e *stillThere) Error() string {
	return "phase " + string(e.ns.Status.Phase) + ", finalizers " + finalizerNames(e.ns.Spec.Finalizers)
}

func finalizerNames(fs []corev1.FinalizerName) string {
	s := "["
	for i, f := range fs {
		if i > 0 {
			s += " "
		}
		s += string(f)
	}
	return s + "]"
}

func TestNamespaceDeletionRemovesContent(t *testing.T) {
	s, c := start(t)
	ctx := ctxT(t)
	dyn, err := dynamic.NewForConfig(s.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	createWidgetCRD(t, ctx, dyn)
	const ns = "doomed"
	createNamespace(t, ctx, c, ns)

	for _, name := range []string{"one", "two"} {
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create configmap %s: %v", name, err)
		}
	}
	if _, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token"}, StringData: map[string]string{"p": "q"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create secret: %v", err)
	}
	labels := map[string]string{"app": "web"}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	widget := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w1"}, "spec": map[string]any{"size": 3},
	}}
	if _, err := dyn.Resource(widgetsGVR).Namespace(ns).Create(ctx, widget, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create widget: %v", err)
	}

	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete namespace: %v", err)
	}
	got, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get namespace being deleted: %v", err)
	}
	if got.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("phase after delete = %q, want Terminating", got.Status.Phase)
	}
	namespaceGone(t, ctx, c, ns)

	// The namespace went only after its content: nothing of it is left.
	checks := map[string]func() (int, error){
		"configmaps": func() (int, error) {
			l, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"secrets": func() (int, error) {
			l, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"deployments": func() (int, error) {
			l, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"widgets": func() (int, error) {
			l, err := dyn.Resource(widgetsGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
	}
	for what, count := range checks {
		n, err := count()
		if err != nil {
			t.Errorf("list %s in %s: %v", what, ns, err)
		} else if n != 0 {
			t.Errorf("%d %s left in deleted namespace %s", n, what, ns)
		}
	}
}

func TestNamespaceDeletionWaitsForFinalizers(t *testing.T) {
	_, c := start(t)
	ctx := ctxT(t)
	const ns = "held"
	createNamespace(t, ctx, c, ns)
	cms := c.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete namespace: %v", err)
	}

	want := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{
		corev1.NamespaceFinalizersRemaining: {Status: corev1.ConditionTrue, Reason: "SomeFinalizerRemain",
			Message: "Some finalizers are remaining: example.com/hold in 1 resource instances"},
		corev1.NamespaceContentRemaining: {Status: corev1.ConditionTrue, Reason: "SomeResourcesRemain",
			Message: "Some resources are remaining: configmaps. has 1 resource instances"},
		corev1.NamespaceDeletionDiscoveryFailure: {Status: corev1.ConditionFalse, Reason: "ResourcesDiscovered",
			Message: "All resources successfully discovered"},
		corev1.NamespaceDeletionContentFailure: {Status: corev1.ConditionFalse, Reason: "ContentDeleted",
			Message: "All content successfully deleted, may be waiting on finalization"},
	}
	eventually(t, nsWait, "the namespace conditions to show the finalizer", func() (bool, error) {
		got, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if got.Status.Phase != corev1.NamespaceTerminating {
			return false, &stillThere{got}
		}
		for typ, w := range want {
			i := slices.IndexFunc(got.Status.Conditions, func(c corev1.NamespaceCondition) bool { return c.Type == typ })
			if i < 0 {
				return false, nil
			}
			g := got.Status.Conditions[i]
			if g.Status != w.Status || g.Reason != w.Reason || g.Message != w.Message {
				t.Logf("condition %s = %s %s %q", typ, g.Status, g.Reason, g.Message)
				return false, nil
			}
		}
		return true, nil
	})
	if _, err := cms.Get(ctx, "plain", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("configmap without finalizer: got err %v, want NotFound", err)
	}
	kept, err := cms.Get(ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("configmap with finalizer: %v", err)
	}
	if kept.DeletionTimestamp == nil {
		t.Errorf("configmap with finalizer has no deletionTimestamp")
	}

	kept.Finalizers = nil
	if _, err := cms.Update(ctx, kept, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("remove finalizer: %v", err)
	}
	namespaceGone(t, ctx, c, ns)
}

func TestNamespaceDefaultServiceAccountAndRootCA(t *testing.T) {
	s, c := start(t)
	ctx := ctxT(t)
	ca := string(s.RESTConfig().CAData)
	if ca == "" {
		t.Fatal("kubeconfig has no CA data")
	}
	createNamespace(t, ctx, c, "fresh")
	for _, ns := range []string{"fresh", "default", "kube-system", "kube-public"} {
		waitServiceAccount(t, ctx, c, ns, "")
		waitRootCA(t, ctx, c, ns, ca)
	}

	// Deleted, the ServiceAccount comes back (a new object).
	sa, err := c.CoreV1().ServiceAccounts("fresh").Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().ServiceAccounts("fresh").Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete serviceaccount: %v", err)
	}
	waitServiceAccount(t, ctx, c, "fresh", sa.UID)

	// Edited or deleted, the ConfigMap is restored.
	cm, err := c.CoreV1().ConfigMaps("fresh").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["ca.crt"] = "tampered"
	if _, err := c.CoreV1().ConfigMaps("fresh").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("edit configmap: %v", err)
	}
	waitRootCA(t, ctx, c, "fresh", ca)
	if err := c.CoreV1().ConfigMaps("fresh").Delete(ctx, "kube-root-ca.crt", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete configmap: %v", err)
	}
	waitRootCA(t, ctx, c, "fresh", ca)

	// One server leads the controllers, through a Lease.
	lease, err := c.CoordinationV1().Leases("kube-system").Get(ctx, "skiff-controller-manager", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("controller lease: %v", err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("controller lease has no holder: %+v", lease.Spec)
	}
}

func TestDisableControllers(t *testing.T) {
	s := testutil.StartServer(t)
	s.Stop()
	s.Config.DisableControllers = []string{"serviceaccount"}
	s.Start()
	c := s.Client()
	ctx := ctxT(t)
	createNamespace(t, ctx, c, "quiet")
	// The root CA publisher shares the namespace informer: once it has
	// acted on the namespace, so would have the serviceaccount controller.
	waitRootCA(t, ctx, c, "quiet", string(s.RESTConfig().CAData))
	if _, err := c.CoreV1().ServiceAccounts("quiet").Get(ctx, "default", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("serviceaccount with the controller disabled: got err %v, want NotFound", err)
	}
}

// waitServiceAccount waits for the default ServiceAccount of ns with a UID
// other than notUID.
func waitServiceAccount(t *testing.T, ctx context.Context, c kubernetes.Interface, ns string, notUID any) {
	t.Helper()
	eventually(t, wait, "serviceaccount "+ns+"/default", func() (bool, error) {
		sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return notUID == "" || sa.UID != notUID, nil
	})
}

// waitRootCA waits for ns's kube-root-ca.crt to hold ca.
func waitRootCA(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, ca string) {
	t.Helper()
	eventually(t, wait, "configmap "+ns+"/kube-root-ca.crt", func() (bool, error) {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cm.Data["ca.crt"] == ca && cm.Annotations["kubernetes.io/description"] != "", nil
	})
}
