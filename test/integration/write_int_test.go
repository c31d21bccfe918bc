//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

func getCM(t *testing.T, c kubernetes.Interface, ns, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap %s/%s: %v", ns, name, err)
	}
	return cm
}

func wantAPIError(t *testing.T, what string, err error, code int32, reason metav1.StatusReason, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %d %s", what, code, reason)
		return
	}
	st, ok := err.(apierrors.APIStatus)
	if !ok {
		t.Errorf("%s: %v is not an API status", what, err)
		return
	}
	s := st.Status()
	if s.Code != code || s.Reason != reason {
		t.Errorf("%s: got %d %s (%q), want %d %s", what, s.Code, s.Reason, s.Message, code, reason)
	}
	switch {
	case msg == "":
	case strings.HasSuffix(msg, "*"):
		if !strings.Contains(s.Message, strings.TrimSuffix(msg, "*")) {
			t.Errorf("%s: message %q does not contain %q", what, s.Message, strings.TrimSuffix(msg, "*"))
		}
	case s.Message != msg:
		t.Errorf("%s: message = %q, want %q", what, s.Message, msg)
	}
}

// TestWriteSemantics pins create, update, patch, apply and delete
// semantics and the subresources.
func TestWriteSemantics(t *testing.T) {
	t.Parallel()
	_, c := startAPI(t)
	ctx := ctxT(t)
	const ns = "w"
	mustNamespace(t, c, ns)
	cms := c.CoreV1().ConfigMaps(ns)
	deps := c.AppsV1().Deployments(ns)

	t.Run("default namespaces", func(t *testing.T) {
		for _, n := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
			got, err := c.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				t.Errorf("namespace %s: %v", n, err)
				continue
			}
			if got.Status.Phase != corev1.NamespaceActive {
				t.Errorf("namespace %s phase %q, want Active", n, got.Status.Phase)
			}
		}
	})

	t.Run("generateName", func(t *testing.T) {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cm.Name, "gen-") || len(cm.Name) != len("gen-")+5 || cm.GenerateName != "gen-" {
			t.Errorf("generated name %q (generateName %q), want gen- and 5 random characters", cm.Name, cm.GenerateName)
		}
	})

	t.Run("dryRun leaves nothing changed", func(t *testing.T) {
		dry := []string{metav1.DryRunAll}
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("dry-run create stored the object: get = %v", err)
		}
		orig := mustCreateCM(t, c, ns, "real", "1")
		upd := orig.DeepCopy()
		upd.Data["v"] = "2"
		if _, err := cms.Update(ctx, upd, metav1.UpdateOptions{DryRun: dry}); err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Patch(ctx, "real", types.MergePatchType, []byte(`{"data":{"v":"3"}}`), metav1.PatchOptions{DryRun: dry}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "real", metav1.DeleteOptions{DryRun: dry}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(orig, getCM(t, c, ns, "real")); diff != "" {
			t.Errorf("dry-run update/patch/delete changed the object (-before +after):\n%s", diff)
		}
	})

	t.Run("generation follows spec changes only", func(t *testing.T) {
		d, err := deps.Create(ctx, deployment("gen", 1), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Generation != 1 {
			t.Errorf("generation after create %d, want 1", d.Generation)
		}
		d.Labels = map[string]string{"x": "y"}
		if d, err = deps.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if d.Generation != 1 {
			t.Errorf("generation after a metadata change %d, want 1", d.Generation)
		}
		d.Spec.Replicas = ptr.To[int32](3)
		if d, err = deps.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if d.Generation != 2 {
			t.Errorf("generation after a spec change %d, want 2", d.Generation)
		}
		d.Status.Replicas = 3
		d.Status.ObservedGeneration = 2
		if d, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if d.Generation != 2 {
			t.Errorf("generation after a status change %d, want 2", d.Generation)
		}
	})

	t.Run("status subresource and main resource split", func(t *testing.T) {
		d, err := deps.Create(ctx, deployment("split", 2), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Replicas = ptr.To[int32](9)
		d.Status.Replicas = 3
		if d, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 2 || d.Status.Replicas != 3 {
			t.Errorf("after a status update: spec.replicas %d (want 2, unchanged), status.replicas %d (want 3)", *d.Spec.Replicas, d.Status.Replicas)
		}
		d.Status.Replicas = 7
		d.Spec.Replicas = ptr.To[int32](4)
		if d, err = deps.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 4 || d.Status.Replicas != 3 {
			t.Errorf("after a main update: spec.replicas %d (want 4), status.replicas %d (want 3, unchanged)", *d.Spec.Replicas, d.Status.Replicas)
		}
		// A status patch ignores spec too.
		d, err = deps.Patch(ctx, "split", types.MergePatchType, []byte(`{"spec":{"replicas":11},"status":{"replicas":5}}`), metav1.PatchOptions{}, "status")
		if err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 4 || d.Status.Replicas != 5 {
			t.Errorf("after a status patch: spec.replicas %d (want 4), status.replicas %d (want 5)", *d.Spec.Replicas, d.Status.Replicas)
		}
	})

	t.Run("scale subresource", func(t *testing.T) {
		if _, err := deps.Create(ctx, deployment("scaled", 2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		sc, err := deps.GetScale(ctx, "scaled", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Spec.Replicas != 2 || sc.Status.Selector != "app=scaled" || sc.Name != "scaled" {
			t.Errorf("scale = %+v, want spec.replicas 2 and selector app=scaled", sc)
		}
		sc.Spec.Replicas = 5
		if sc, err = deps.UpdateScale(ctx, "scaled", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		d, err := deps.Get(ctx, "scaled", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 5 || d.Generation != 2 || sc.Spec.Replicas != 5 {
			t.Errorf("after scaling to 5: deployment replicas %d generation %d, scale %d", *d.Spec.Replicas, d.Generation, sc.Spec.Replicas)
		}
		stale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "scaled", Namespace: ns, ResourceVersion: "1"}, Spec: autoscalingv1.ScaleSpec{Replicas: 1}}
		_, err = deps.UpdateScale(ctx, "scaled", stale, metav1.UpdateOptions{})
		wantAPIError(t, "scale with a stale resourceVersion", err, 409, metav1.StatusReasonConflict, "")
	})

	t.Run("delete preconditions", func(t *testing.T) {
		cm := mustCreateCM(t, c, ns, "pre", "1")
		err := cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("wrong"))}})
		wantAPIError(t, "uid precondition", err, 409, metav1.StatusReasonConflict,
			`Operation cannot be fulfilled on configmaps "pre": Precondition failed: UID in precondition: wrong, UID in object meta: `+string(cm.UID))
		err = cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr.To("1")}})
		wantAPIError(t, "resourceVersion precondition", err, 409, metav1.StatusReasonConflict,
			`Operation cannot be fulfilled on configmaps "pre": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: `+cm.ResourceVersion)
		if diff := cmp.Diff(cm, getCM(t, c, ns, "pre")); diff != "" {
			t.Errorf("failed delete changed the object:\n%s", diff)
		}
		if err := cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}}); err != nil {
			t.Errorf("delete with matching preconditions: %v", err)
		}
	})

	t.Run("finalizers hold an object", func(t *testing.T) {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		cm := getCM(t, c, ns, "held")
		if cm.DeletionTimestamp == nil {
			t.Fatalf("object with a finalizer has no deletionTimestamp after delete")
		}
		// Deleting again is fine and changes nothing.
		if err := cms.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
			t.Errorf("second delete: %v", err)
		}
		cm = getCM(t, c, ns, "held")
		cm.Finalizers = nil
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "held to be gone", func() (bool, error) {
			_, err := cms.Get(ctx, "held", metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
	})

	t.Run("foreground deletion", func(t *testing.T) {
		if _, err := deps.Create(ctx, deployment("fg", 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := deps.Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
			t.Fatal(err)
		}
		d, err := deps.Get(ctx, "fg", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			t.Skip("deployment already collected by a garbage collector; the finalizer cannot be observed")
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.DeletionTimestamp == nil || !contains(d.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Errorf("after a foreground delete: deletionTimestamp %v, finalizers %v; want set and %q", d.DeletionTimestamp, d.Finalizers, metav1.FinalizerDeleteDependents)
		}
		// Orphan adds the orphan finalizer.
		if _, err := deps.Create(ctx, deployment("orph", 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := deps.Delete(ctx, "orph", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}); err != nil {
			t.Fatal(err)
		}
		if d, err := deps.Get(ctx, "orph", metav1.GetOptions{}); err == nil && !contains(d.Finalizers, metav1.FinalizerOrphanDependents) {
			t.Errorf("after an orphan delete: finalizers %v, want %q", d.Finalizers, metav1.FinalizerOrphanDependents)
		}
	})

	t.Run("terminating namespace", func(t *testing.T) {
		mustNamespace(t, c, "doomed")
		mustCreateCM(t, c, "doomed", "content", "1")
		if err := c.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		n, err := c.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("namespace with content gone at once: %v", err)
		}
		if n.Status.Phase != corev1.NamespaceTerminating || n.DeletionTimestamp == nil {
			t.Errorf("deleted namespace: phase %q deletionTimestamp %v, want Terminating and set", n.Status.Phase, n.DeletionTimestamp)
		}
		_, err = c.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
		wantAPIError(t, "create in a terminating namespace", err, 403, metav1.StatusReasonForbidden,
			`configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated`)
	})

	t.Run("patches", func(t *testing.T) {
		mustCreateCM(t, c, ns, "p", "1")
		cm, err := cms.Patch(ctx, "p", types.JSONPatchType, []byte(`[{"op":"replace","path":"/data/v","value":"2"},{"op":"add","path":"/data/w","value":"x"}]`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"v": "2", "w": "x"}, cm.Data); diff != "" {
			t.Errorf("json patch (-want +got):\n%s", diff)
		}
		_, err = cms.Patch(ctx, "p", types.JSONPatchType, []byte(`[{"op":"test","path":"/data/v","value":"nope"}]`), metav1.PatchOptions{})
		if err == nil || apierrors.ReasonForError(err) == metav1.StatusReasonInternalError {
			t.Errorf("failing json patch test op: err = %v, want a 4xx", err)
		}
		cm, err = cms.Patch(ctx, "p", types.MergePatchType, []byte(`{"data":{"w":null,"z":"3"}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"v": "2", "z": "3"}, cm.Data); diff != "" {
			t.Errorf("merge patch (-want +got):\n%s", diff)
		}
		// Strategic merge: containers merge by name.
		d := deployment("smp", 1)
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "side", Image: "side:1"})
		if _, err := deps.Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		d, err = deps.Patch(ctx, "smp", types.StrategicMergePatchType, []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"side:2"}]}}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var imgs []string
		for _, ct := range d.Spec.Template.Spec.Containers {
			imgs = append(imgs, ct.Name+"="+ct.Image)
		}
		if diff := cmp.Diff([]string{"app=busybox", "side=side:2"}, imgs); diff != "" {
			t.Errorf("strategic merge patch (-want +got):\n%s", diff)
		}
		if d.Generation != 2 {
			t.Errorf("generation after a spec patch %d, want 2", d.Generation)
		}
		_, err = cms.Patch(ctx, "p", types.StrategicMergePatchType, []byte(`{"data":{"v":"9"}}`), metav1.PatchOptions{})
		if err != nil {
			t.Errorf("strategic merge patch on a configmap: %v", err)
		}
		_, err = cms.Patch(ctx, "missing", types.MergePatchType, []byte(`{"data":{"v":"1"}}`), metav1.PatchOptions{})
		wantAPIError(t, "patch of a missing object", err, 404, metav1.StatusReasonNotFound, `configmaps "missing" not found`)
	})

	t.Run("server-side apply conflict", func(t *testing.T) {
		apply := func(manager, v string, force bool) (*corev1.ConfigMap, error) {
			return cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(map[string]string{"k": v}), metav1.ApplyOptions{FieldManager: manager, Force: force})
		}
		cm, err := apply("alice", "1", false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = apply("bob", "2", false)
		wantAPIError(t, "apply by a second manager", err, 409, metav1.StatusReasonConflict, `Apply failed with 1 conflict: conflict with "alice": .data.k`)
		if diff := cmp.Diff(cm, getCM(t, c, ns, "ssa")); diff != "" {
			t.Errorf("conflicting apply changed the object:\n%s", diff)
		}
		// The same value is shared ownership, not a conflict.
		if _, err := apply("bob", "1", false); err != nil {
			t.Errorf("apply of the same value by a second manager: %v", err)
		}
		cm, err = apply("bob", "2", true)
		if err != nil {
			t.Fatal(err)
		}
		var managers []string
		for _, mf := range cm.ManagedFields {
			managers = append(managers, mf.Manager+"/"+string(mf.Operation))
		}
		if cm.Data["k"] != "2" || !contains(managers, "bob/Apply") {
			t.Errorf("forced apply: data %v managers %v", cm.Data, managers)
		}
		// An update by another client of an applied field is not a conflict.
		cm.Data["k"] = "3"
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "carol"}); err != nil {
			t.Errorf("update after apply: %v", err)
		}
	})

	t.Run("pods binding", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bindme"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		bind := func(node string) error {
			return c.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bindme"},
				Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
		}
		if err := bind("n1"); err != nil {
			t.Fatal(err)
		}
		p, err := c.CoreV1().Pods(ns).Get(ctx, "bindme", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "n1" {
			t.Errorf("nodeName after binding %q, want n1", p.Spec.NodeName)
		}
		scheduled := false
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue {
				scheduled = true
			}
		}
		if !scheduled {
			t.Errorf("no PodScheduled=True condition after binding: %+v", p.Status.Conditions)
		}
		err = bind("n2")
		wantAPIError(t, "second binding", err, 409, metav1.StatusReasonConflict, `Operation cannot be fulfilled on pods/binding "bindme": pod bindme is already assigned to node "n1"`)
		if p2, _ := c.CoreV1().Pods(ns).Get(ctx, "bindme", metav1.GetOptions{}); p2 == nil || p2.Spec.NodeName != "n1" {
			t.Errorf("second binding moved the pod")
		}
	})

	t.Run("update of a missing object and without resourceVersion", func(t *testing.T) {
		_, err := cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ghost"}}, metav1.UpdateOptions{})
		wantAPIError(t, "update of a missing config map", err, 404, metav1.StatusReasonNotFound, `configmaps "ghost" not found`)
		mustCreateCM(t, c, ns, "norv", "1")
		if _, err := cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "norv"}, Data: map[string]string{"v": "2"}}, metav1.UpdateOptions{}); err != nil {
			t.Errorf("unconditional update of a config map: %v", err)
		}
	})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
