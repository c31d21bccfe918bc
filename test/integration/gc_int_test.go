//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

// ownedConfigMap creates a ConfigMap with the given owner references.
func ownedConfigMap(t *testing.T, ctx context.Context, c *workloadCluster, name string, owners ...metav1.OwnerReference) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns, OwnerReferences: owners}}
	if _, err := c.cs.CoreV1().ConfigMaps(c.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap %s: %v", name, err)
	}
}

func rsRef(rs *appsv1.ReplicaSet) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID}
}

// podsOf lists the pods (being deleted or not) labelled app=name.
func podsOf(ctx context.Context, c *workloadCluster, name string) ([]corev1.Pod, error) {
	l, err := c.cs.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

func configMapGone(t *testing.T, ctx context.Context, c *workloadCluster, name string) {
	t.Helper()
	eventually(t, wait, "configmap "+name+" deleted", func() (bool, error) {
		_, err := c.cs.CoreV1().ConfigMaps(c.ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

// startRS creates a ReplicaSet of two ready pods plus a ConfigMap it owns.
func startRS(t *testing.T, ctx context.Context, c *workloadCluster, name string) *appsv1.ReplicaSet {
	t.Helper()
	if _, err := c.cs.AppsV1().ReplicaSets(c.ns).Create(ctx, newReplicaSet(c.ns, name, 2), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create replicaset: %v", err)
	}
	rs := waitRSStatus(t, ctx, c, name, 2)
	ownedConfigMap(t, ctx, c, name+"-cm", rsRef(rs))
	return rs
}

func TestGCCascadingDeletes(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "gc", 2, 0)
	ctx := ctxT(t)

	t.Run("background", func(t *testing.T) {
		startRS(t, ctx, c, "bg")
		kubectl(t, c.srv, false, "-n", c.ns, "delete", "replicaset", "bg", "--cascade=background")
		eventually(t, wait, "pods of bg deleted", func() (bool, error) {
			pods, err := podsOf(ctx, c, "bg")
			return err == nil && len(pods) == 0, fmt.Errorf("%d pods left (%v)", len(pods), err)
		})
		configMapGone(t, ctx, c, "bg-cm")
	})

	t.Run("foreground", func(t *testing.T) {
		rs := startRS(t, ctx, c, "fg")
		// Watch the owner: it must outlive its pods, holding the finalizer.
		w, err := c.cs.AppsV1().ReplicaSets(c.ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=fg", ResourceVersion: rs.ResourceVersion})
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		defer w.Stop()
		// kubectl waits until the ReplicaSet is gone.
		kubectl(t, c.srv, false, "-n", c.ns, "delete", "replicaset", "fg", "--cascade=foreground", "--timeout=40s")
		sawFinalizer := false
		for ev := range w.ResultChan() {
			if r, ok := ev.Object.(*appsv1.ReplicaSet); ok && r.DeletionTimestamp != nil &&
				slices.Contains(r.Finalizers, metav1.FinalizerDeleteDependents) {
				sawFinalizer = true
			}
			if ev.Type == "DELETED" {
				break
			}
		}
		if !sawFinalizer {
			t.Errorf("the ReplicaSet never carried the foregroundDeletion finalizer")
		}
		// Pods block their owner: none may remain once it is gone.
		if pods, err := podsOf(ctx, c, "fg"); err != nil || len(pods) != 0 {
			t.Errorf("pods left after the foreground deletion: %d (%v)", len(pods), err)
		}
		configMapGone(t, ctx, c, "fg-cm")
	})

	t.Run("orphan", func(t *testing.T) {
		startRS(t, ctx, c, "or")
		kubectl(t, c.srv, false, "-n", c.ns, "delete", "replicaset", "or", "--cascade=orphan")
		eventually(t, wait, "replicaset or deleted", func() (bool, error) {
			_, err := c.cs.AppsV1().ReplicaSets(c.ns).Get(ctx, "or", metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
		pods, err := podsOf(ctx, c, "or")
		if err != nil || len(pods) != 2 {
			t.Fatalf("pods after orphaning: %d (%v), want 2", len(pods), err)
		}
		for _, p := range pods {
			if len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
				t.Errorf("pod %s: ownerReferences %v, deletionTimestamp %v; want released and alive", p.Name, p.OwnerReferences, p.DeletionTimestamp)
			}
		}
		cm, err := c.cs.CoreV1().ConfigMaps(c.ns).Get(ctx, "or-cm", metav1.GetOptions{})
		if err != nil || len(cm.OwnerReferences) != 0 {
			t.Errorf("configmap after orphaning: %v (%v); want kept without owners", cm, err)
		}
	})

	t.Run("dangling and surviving owners", func(t *testing.T) {
		ownedConfigMap(t, ctx, c, "alive")
		alive, err := c.cs.CoreV1().ConfigMaps(c.ns).Get(ctx, "alive", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		live := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "alive", UID: alive.UID}
		dead := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: types.UID("00000000-dead-beef-0000-000000000000")}
		ownedConfigMap(t, ctx, c, "dangling", dead)
		ownedConfigMap(t, ctx, c, "two-owners", dead, live)
		configMapGone(t, ctx, c, "dangling")
		eventually(t, wait, "the dangling reference dropped", func() (bool, error) {
			cm, err := c.cs.CoreV1().ConfigMaps(c.ns).Get(ctx, "two-owners", metav1.GetOptions{})
			return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == alive.UID,
				fmt.Errorf("%v (%v)", cm, err)
		})
		// Deleting the last owner collects the dependent.
		if err := c.cs.CoreV1().ConfigMaps(c.ns).Delete(ctx, "alive", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		configMapGone(t, ctx, c, "two-owners")
	})

	t.Run("foreground without kubectl waits for a blocking configmap", func(t *testing.T) {
		ownedConfigMap(t, ctx, c, "parent")
		parent, err := c.cs.CoreV1().ConfigMaps(c.ns).Get(ctx, "parent", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ref := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "parent", UID: parent.UID, BlockOwnerDeletion: ptr.To(true)}
		ownedConfigMap(t, ctx, c, "child", ref)
		// The child holds a finalizer of its own: the parent must wait.
		child, err := c.cs.CoreV1().ConfigMaps(c.ns).Get(ctx, "child", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		child.Finalizers = []string{"example.com/hold"}
		if _, err := c.cs.CoreV1().ConfigMaps(c.ns).Update(ctx, child, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		fg := metav1.DeletePropagationForeground
		if err := c.cs.CoreV1().ConfigMaps(c.ns).Delete(ctx, "parent", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "child being deleted", func() (bool, error) {
			cm, err := c.cs.CoreV1().ConfigMaps(c.ns).Get(ctx, "child", metav1.GetOptions{})
			return err == nil && cm.DeletionTimestamp != nil, err
		})
		if p, err := c.cs.CoreV1().ConfigMaps(c.ns).Get(ctx, "parent", metav1.GetOptions{}); err != nil || !slices.Contains(p.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("parent while the child is held: %v (%v); want it waiting", p, err)
		}
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := c.cs.CoreV1().ConfigMaps(c.ns).Patch(ctx, "child", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		configMapGone(t, ctx, c, "child")
		configMapGone(t, ctx, c, "parent")
	})

	t.Run("custom resource owner", func(t *testing.T) {
		dyn, err := dynamic.NewForConfig(c.srv.RESTConfig())
		if err != nil {
			t.Fatal(err)
		}
		createWidgetCRD(t, ctx, dyn)
		w := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w1", "namespace": c.ns},
		}}
		w, err = dyn.Resource(widgetsGVR).Namespace(c.ns).Create(ctx, w, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create widget: %v", err)
		}
		ownedConfigMap(t, ctx, c, "widget-cm", metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w1", UID: w.GetUID()})
		// A ConfigMap owned by a Widget that is alive stays.
		kubectl(t, c.srv, false, "-n", c.ns, "get", "configmap", "widget-cm")
		kubectl(t, c.srv, false, "-n", c.ns, "delete", "widget", "w1")
		configMapGone(t, ctx, c, "widget-cm")
	})
}
